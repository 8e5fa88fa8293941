"""Find, load and merge profiles, remembering the file and line of every value.

A profile is a YAML mapping that may `extends:` another one (by name or relative path).  The
child is deep-merged over its parent: mappings merge key by key, any other value (lists
included) replaces the parent's, and `null` deletes the parent's key.  Collections users
override (scrape jobs, rules, receivers, routes, dashboards) are mappings keyed by name, so a
child changes one entry without copying the rest.

One module on purpose (~700 lines): reading a file, merging parents and `--set`, and turning model
errors into `file:line` messages all share one table of value locations, kept private to it.

That table is lazy: a file is parsed once without it (most profiles load without any error, and a
10,000-rule profile spends a third of its load time and ~30 MB on a location per key), and only the
first lookup (an error, or a finding that points at the profile) parses the files again with lines.
"""

from __future__ import annotations

import difflib
import gc
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from leanvibe_stack import sources, yamlio
from leanvibe_stack.credentials import REFERENCE_HINT, article, looks_like
from leanvibe_stack.errors import Location, Problem, ProfileError

if TYPE_CHECKING:  # the models (pydantic) load only when a profile is validated: `profiles list` needs none
    from pydantic import ValidationError

    from leanvibe_stack.models.stack import Stack

PACKAGE_PROFILES = Path(__file__).parent / "profiles"
REPO_PROFILES = Path(__file__).parent.parent / "profiles"
MAX_PROFILE_BYTES = 32_000_000  # 5x a 10,000-rule profile; bounds memory before parsing
MAX_NODES = 2_000_000  # bounds the work of one file
MAX_ALIAS_EXPANSION = 100_000  # nodes copied through `*alias` references ("billion laughs")
MAX_DEPTH = 64  # deeper nesting (or an alias that contains itself) is not a profile
_STR_TAG, _MAP_TAG, _SEQ_TAG = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "map", "seq"))
_COLLECTION_TAGS = {_MAP_TAG, _SEQ_TAG}

YamlPath = tuple[str | int, ...]
# Keys whose values are file paths, resolved against the directory of the profile that set them.
_PATH_FIELDS: tuple[tuple[str | None, ...], ...] = (("grafana", "dashboards", None, "file"),)


class Locations(Mapping[YamlPath, Location]):
    """Where each value of a profile was written, worked out on the first lookup.

    `compute` builds the table (parsing files again with line tracking, then merging as the data was
    merged); it runs at most once, and is dropped after, so nothing it held stays alive.
    """

    def __init__(self, compute: Callable[[], dict[YamlPath, Location]]) -> None:
        self._compute: Callable[[], dict[YamlPath, Location]] | None = compute
        self._table: dict[YamlPath, Location] = {}

    @classmethod
    def known(cls, table: dict[YamlPath, Location]) -> Locations:
        """A table already at hand."""
        locations = cls(dict)
        locations._compute, locations._table = None, table
        return locations

    def table(self) -> dict[YamlPath, Location]:
        if self._compute is not None:
            self._table, self._compute = self._compute(), None
        return self._table

    def __getitem__(self, path: YamlPath) -> Location:
        return self.table()[path]

    def __iter__(self) -> Iterator[YamlPath]:
        return iter(self.table())

    def __len__(self) -> int:
        return len(self.table())

    def __reduce__(self) -> tuple[Any, ...]:
        return Locations.known, (self.table(),)  # the closures do not pickle; their table does


def _table(locations: Mapping[YamlPath, Location]) -> Mapping[YamlPath, Location]:
    """The dict behind `locations`: reading a Mapping subclass item by item runs Python code per key."""
    return locations.table() if isinstance(locations, Locations) else locations


@dataclass(frozen=True)
class LoadedProfile:
    """A merged, validated profile and where each of its values was written."""

    name: str
    path: Path
    stack: Stack
    locations: Mapping[YamlPath, Location]


def shipped_profiles_dir() -> Path:
    """Profiles inside the installed package, or the repo's when running from a checkout."""
    return PACKAGE_PROFILES if sources.is_dir(PACKAGE_PROFILES) else REPO_PROFILES


def default_profiles_dir(cwd: Path | None = None) -> Path:
    """`./profiles` when the working directory has one (the repo workflow), else the shipped ones."""
    local = (cwd or Path.cwd()) / "profiles"
    return local if sources.is_dir(local) else shipped_profiles_dir()


def available_profiles(profiles_dir: Path) -> list[str]:
    """Names of the profiles in a directory."""
    return [path.stem for path in sources.profile_files(profiles_dir)]


def renderable_profiles(profiles_dir: Path) -> list[str]:
    """Names of the profiles in a directory that can be rendered (not `abstract: true`)."""
    return [name for name in available_profiles(profiles_dir) if not is_abstract(profiles_dir / f"{name}.yaml")]


def is_abstract(path: Path) -> bool:
    """Whether a profile file declares itself a parent only (`abstract: true`), never rendered itself."""
    data, _ = load_yaml_file(path)
    return data.get("abstract") is True


def resolve_profile(spec: str, profiles_dir: Path | None = None) -> Path:
    """Turn `--profile` (a name or a path to a file) into a file path."""
    if spec.endswith((".yaml", ".yml")) or "/" in spec:
        path = Path(spec)
        if not sources.is_file(path):
            raise ProfileError([Problem(f"profile file {spec} does not exist or is not a file")])
        return path
    directory = profiles_dir or default_profiles_dir()
    path = directory / f"{spec}.yaml"
    if not sources.is_file(path):
        names = ", ".join(renderable_profiles(directory)) or "none"
        raise ProfileError([Problem(f"no profile named {spec!r} in {directory} (available: {names})")])
    return path


def load_profile(spec: str, profiles_dir: Path | None = None, overrides: list[str] | None = None) -> LoadedProfile:
    """Load, merge and validate a profile; `overrides` are `--set path=value` arguments, applied last."""
    path = resolve_profile(spec, profiles_dir)
    data, locations = load_with_parents(path, (), profiles_dir)
    for argument in overrides or []:
        data, locations = merge_layer(data, locations, *parse_set(argument))
    data.pop("extends", None)
    leaks = _credentials(data, locations)
    if leaks:
        raise ProfileError(leaks)
    if data.pop("abstract", False) is True:
        raise ProfileError([Problem(f"profile {spec!r} is abstract (a parent for others); render a profile "
                                    "that extends it", location=locations.get(("abstract",)))])
    from pydantic import ValidationError

    from leanvibe_stack.models.stack import Stack

    try:
        stack = Stack.model_validate(data)
    except ValidationError as error:
        raise ProfileError(_problems(error, locations, path, data)) from error
    name = path.stem if path.suffix in (".yaml", ".yml") else spec
    return LoadedProfile(name=name, path=path, stack=stack, locations=locations)


_SET_SEGMENT = re.compile(r'\[([^\]]+)\]|"([^"]+)"|([^.\["]+)')


def parse_set(argument: str) -> tuple[dict[str, Any], dict[YamlPath, Location]]:
    """`a.b[key.with.dots].c=value` as an override mapping; the value is YAML (`3`, `true`, `[a, b]`)."""
    where = Location(f"--set {argument}", 0)
    path_text, equals, value_text = argument.partition("=")
    path = _set_path(path_text)
    if not equals or path is None:
        raise ProfileError([Problem("expected PATH=VALUE, e.g. prometheus.replicas=3 or "
                                    "prometheus.rule_groups[leanvibe.enterprise.rules].interval=1m", location=where)])
    try:
        node = _compose(value_text) if value_text.strip() else None
        value = _build(node, Path("--set"))[0] if node is not None else ""
    except RecursionError as error:
        raise ProfileError([Problem(f"value is nested more than {MAX_DEPTH} levels deep", field=_dotted(path),
                                    location=where)]) from error
    except (yaml.YAMLError, ProfileError) as error:
        reason = getattr(error, "problem", None) or error
        raise ProfileError([Problem(f"value is not valid YAML: {reason}", field=_dotted(path), location=where)]) \
            from error
    override: dict[str, Any] = {}
    cursor = override
    for key in path[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[path[-1]] = value
    return override, {path[:end]: where for end in range(1, len(path) + 1)}


def _set_path(text: str) -> tuple[str, ...] | None:
    segments, position = [], 0
    while position < len(text):
        match = _SET_SEGMENT.match(text, position)
        if match is None:
            return None
        segments.append(next(group for group in match.groups() if group is not None))
        position = match.end()
        if position < len(text) and text[position] == ".":
            position += 1
            if position == len(text):
                return None
    return tuple(segments) or None


def _credentials(data: dict[str, Any], locations: Mapping[YamlPath, Location]) -> list[Problem]:
    """Literal credentials anywhere in the merged profile, each with where it was written."""
    found: list[Problem] = []

    def scan(collection: dict[str, Any] | list[Any], path: YamlPath) -> None:
        items = collection.items() if isinstance(collection, dict) else enumerate(collection)
        for key, value in items:
            if isinstance(value, str):
                what = looks_like(value)
                if what is not None:
                    where = (*path, key)
                    found.append(Problem(f"looks like {article(what)}; credentials are never written into profiles: "
                                         f"{REFERENCE_HINT}", field=_dotted(where), location=locations.get(where)))
            elif isinstance(value, dict | list):
                scan(value, (*path, key))

    scan(data, ())
    return found


def load_with_parents(path: Path, chain: tuple[Path, ...] = (),
                      profiles_dir: Path | None = None) -> tuple[dict[str, Any], Mapping[YamlPath, Location]]:
    """A profile file merged over its `extends` chain, unvalidated, with the location of every value."""
    resolved = sources.resolve(path)
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ProfileError([Problem(f"`extends` cycle: {cycle}", location=Location(path, 1))])
    data, locations = load_yaml_file(path)
    parent = data.get("extends")
    if parent is None:
        return data, locations
    if not isinstance(parent, str):
        raise ProfileError([Problem("must name a profile", field="extends", location=locations[("extends",)])])
    candidates = _parent_candidates(path, parent, profiles_dir)
    parent_path = next((candidate for candidate in candidates if sources.is_file(candidate)), None)
    if parent_path is None:
        looked = ", ".join(str(candidate) for candidate in candidates)
        close = difflib.get_close_matches(parent, _profile_names(candidates), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ProfileError([Problem(f"parent profile {parent!r} not found (looked at {looked}){hint}", "extends",
                                    locations[("extends",)])])
    if sources.resolve(parent_path) in (*chain, resolved):
        cycle = " -> ".join(str(p) for p in (*chain, resolved, sources.resolve(parent_path)))
        raise ProfileError([Problem(f"`extends` cycle: {cycle}", "extends", locations[("extends",)])])
    base, base_locations = load_with_parents(parent_path, (*chain, resolved), profiles_dir)
    base.pop("abstract", None)  # being a parent-only profile is not inherited
    return merge_layer(base, base_locations, data, locations)


def merge_layer(
    base: dict[str, Any],
    base_locations: Mapping[YamlPath, Location],
    layer: dict[str, Any],
    layer_locations: Mapping[YamlPath, Location],
) -> tuple[dict[str, Any], Mapping[YamlPath, Location]]:
    """`merge`, except that a layer giving the profile another environment inherits nothing the parent
    wrote for its own environment (models/identity.py: bucket, tenant, cluster, namespaces, URLs)."""
    from leanvibe_stack.models.identity import changes_environment, forget

    if changes_environment(base, layer):
        base, removed = forget(base)
        parent_locations = base_locations
        base_locations = Locations(lambda: {path: loc for path, loc in _table(parent_locations).items()
                                            if path not in removed})
    return merge(base, base_locations, layer, layer_locations)


def _profile_names(candidates: list[Path]) -> list[str]:
    """The profiles in the directories looked at."""
    return sorted({name for candidate in candidates for name in available_profiles(candidate.parent)})


def _parent_candidates(child: Path, parent: str, profiles_dir: Path | None) -> list[Path]:
    """Where `extends: PARENT` may be, in order: a path is relative to the child; a name is looked up like
    `--profile NAME`, in the child's own directory, then `--profiles-dir` (or ./profiles), then the shipped
    profiles, so a profile anywhere on disk can extend a shipped one by name."""
    if parent.endswith((".yaml", ".yml")) or "/" in parent:
        return [child.parent / parent]
    places: list[Path] = []
    for directory in (child.parent, profiles_dir or default_profiles_dir(), shipped_profiles_dir()):
        if all(sources.resolve(directory) != sources.resolve(place) for place in places):
            places.append(directory)
    return [directory / f"{parent}.yaml" for directory in places]


def merge(
    base: dict[str, Any],
    base_locations: Mapping[YamlPath, Location],
    override: dict[str, Any],
    override_locations: Mapping[YamlPath, Location],
) -> tuple[dict[str, Any], Locations]:
    """Deep-merge `override` over `base`; see the module docstring for the rules."""
    replaced: set[YamlPath] = set()
    merged = _merge_mapping(base, override, (), replaced)

    def locations() -> dict[YamlPath, Location]:
        table = {
            path: loc for path, loc in _table(base_locations).items()
            if not any(path[:end] in replaced for end in range(1, len(path) + 1))
        }
        table.update(_table(override_locations))
        return table

    return merged, Locations(locations)


def _merge_mapping(
    base: dict[str, Any], override: dict[str, Any], prefix: YamlPath, replaced: set[YamlPath]
) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        path = (*prefix, key)
        if value is None:
            merged.pop(key, None)
            replaced.add(path)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_mapping(merged[key], value, path, replaced)
        else:
            merged[key] = value
            replaced.add(path)
    return merged


def load_yaml_file(path: Path) -> tuple[dict[str, Any], Locations]:
    """Parse one profile file into plain data plus the location of every key (worked out when first asked)."""
    if sources.is_dir(path):
        raise ProfileError([Problem("is a directory, expected a profile file", location=Location(path, 1))])
    raw = sources.read_bytes(path)
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError([Problem(f"file is larger than {MAX_PROFILE_BYTES} bytes", location=Location(path, 1))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ProfileError([Problem(f"not UTF-8 text ({error.reason} at byte {error.start})",
                                    location=Location(path, line))]) from error
    try:
        with _no_cycle_collection():
            node = _compose(text)
            if node is None or not isinstance(node, yaml.MappingNode):
                raise ProfileError([Problem("a profile must be a YAML mapping of settings",
                                            location=Location(path, 1))])
            data, locations = _build(node, path)
            del node  # freed here, while the collector is off: no cycles among nodes
    except yaml.YAMLError as error:
        raise ProfileError([_yaml_problem(error, text, path)]) from error
    except RecursionError as error:  # the parser itself recurses per nesting level
        raise ProfileError([Problem(f"nested more than {MAX_DEPTH} levels deep",
                                    location=_too_deep(text, path))]) from error
    _resolve_path_fields(data, path.parent)
    return data, Locations(lambda: _located(text, path)) if locations is None else locations


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """No cyclic garbage collection while a file is parsed.

    Parsing allocates a few objects per byte (nodes, marks, the data) and none of them form cycles,
    yet each 700 (or, under the CLI, 100,000) allocations the collector walks the young ones: ~15 %
    of the parse of a 6 MB profile.  Reference counting still frees everything as before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _located(text: str, path: Path) -> dict[YamlPath, Location]:
    """Where every key of a file was written: the file (which built without error) parsed again with lines."""
    with _no_cycle_collection():
        builder = _Builder(path)
        builder.build(typing.cast(yaml.Node, _compose(text)), ())
    return builder.locations


def _too_deep(text: str, path: Path) -> Location:
    """Where nesting first exceeds MAX_DEPTH, found with the (non-recursive) scanner."""
    depth = 0
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, yaml.BlockMappingStartToken | yaml.BlockSequenceStartToken
                      | yaml.FlowMappingStartToken | yaml.FlowSequenceStartToken):
            depth += 1
            if depth > MAX_DEPTH:
                return Location(path, token.start_mark.line + 1, token.start_mark.column + 1)
        elif isinstance(token, yaml.BlockEndToken | yaml.FlowMappingEndToken | yaml.FlowSequenceEndToken):
            depth -= 1
    return Location(path, 1)


def _yaml_problem(error: yaml.YAMLError, text: str, path: Path) -> Problem:
    """A parser error as file:line:column, the offending line and a caret under the column."""
    mark = getattr(error, "problem_mark", None)
    if mark is None and isinstance(error, yaml.reader.ReaderError):  # a control character: no mark
        line = text.count("\n", 0, error.position) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return Problem(f"invalid YAML: control character #x{code:04x} is not allowed", location=Location(path, line))
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 0)
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    excerpt = f"\n    {source}\n    {' ' * max(column - 1, 0)}^" if source.strip() else ""
    problem = getattr(error, "problem", None) or str(error)
    return Problem(f"invalid YAML: {problem}{excerpt}", location=Location(path, line, column))


# Timestamps stay strings: profile fields that hold dates are typed as text.
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Loader(yaml.SafeLoader):
    """The pure-Python parser: the reference, and the one whose errors users read."""

    yaml_implicit_resolvers = _RESOLVERS


class _FastLoader(yamlio.FastLoader):
    """libyaml's parser with the same resolvers: the same nodes and marks, ten times faster."""

    yaml_implicit_resolvers = _RESOLVERS


def _compose(text: str) -> yaml.Node | None:
    """The node tree of one YAML document, parsed by libyaml when it is there.

    A document libyaml rejects is parsed again by the pure-Python parser, whose messages (and
    handling of control characters and nesting) are the ones users see; libyaml bounds nesting at
    1,000 levels itself, so its parser cannot exhaust the C stack first.
    """
    try:
        return yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError:
        return yaml.compose(text, Loader=_Loader)


def _build(node: yaml.Node, path: Path) -> tuple[Any, Locations | None]:
    """Python data from a composed YAML node tree: by `_FastBuilder` when the tree is plain data (then
    the locations are left for later: None), else by `_Builder`, which raises the error with its line."""
    try:
        return _FastBuilder().value(node, 0), None
    except _Unusual:
        builder = _Builder(path)
        return builder.build(node, ()), Locations.known(builder.locations)


class _Unusual(Exception):
    """A node `_FastBuilder` leaves to `_Builder`."""


_PLAIN_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{kind}" for kind in ("int", "float", "bool", "null"))


class _FastBuilder:
    """What `_Builder` builds from plain data (text-keyed mappings, lists, implicit scalars, aliases),
    without recording locations, in a fifth of its time.

    At anything else (a merge key, a key twice or not text, another tag, a value its constructor
    rejects, too many nodes, levels or alias copies) it stops with `_Unusual`, and `_Builder` builds the
    tree again: so every error, and every value of an unusual document, is `_Builder`'s own.  It counts
    nodes and alias copies as `_Builder` does, so it stops no later.  Scalar values are read in the
    loops, not through a call each: they are most of the nodes.
    """

    def __init__(self) -> None:
        self.constructor = yaml.SafeLoader("")
        self.nodes = 1
        self.expanded = 0
        self.sizes: dict[int, int] = {}

    def value(self, node: yaml.Node, depth: int) -> Any:
        kind = node.__class__
        if kind is yaml.ScalarNode:
            if node.tag == _STR_TAG:
                return node.value
            if node.tag not in _PLAIN_SCALAR_TAGS:
                raise _Unusual
            try:
                return self.constructor.construct_object(node, deep=True)
            except (ValueError, TypeError, OverflowError, yaml.YAMLError) as error:
                raise _Unusual from error
        if depth > MAX_DEPTH:
            raise _Unusual
        if id(node) in self.sizes:  # an alias: a copy, counted
            self.expanded += self.sizes[id(node)]
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise _Unusual
        start = self.nodes
        self.nodes += len(node.value)
        if self.nodes > MAX_NODES:
            raise _Unusual
        scalar, text, deeper = yaml.ScalarNode, _STR_TAG, depth + 1
        value: Any
        if kind is yaml.MappingNode and node.tag == _MAP_TAG:
            value = {}
            for key_node, item in node.value:
                if key_node.tag != text or key_node.__class__ is not scalar or key_node.value in value:
                    raise _Unusual
                value[key_node.value] = (item.value if item.tag == text and item.__class__ is scalar
                                         else self.value(item, deeper))
        elif kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
            value = [item.value if item.tag == text and item.__class__ is scalar else self.value(item, deeper)
                     for item in node.value]
        else:
            raise _Unusual
        self.sizes.setdefault(id(node), self.nodes - start)
        return value


class _Builder:
    """Turns a composed YAML node tree into Python data, recording where each key was written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.locations: dict[YamlPath, Location] = {}
        self.constructor = yaml.SafeLoader("")
        self.nodes = 0
        self.expanded = 0
        self.sizes: dict[int, int] = {}

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ProfileError([Problem(f"more than {MAX_NODES} YAML nodes", location=self._at(node))])
        if path not in self.locations:  # a mapping value's location is its key's, recorded already
            self.locations[path] = self._at(node)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self._scalar(node, path)
        if len(path) > MAX_DEPTH:
            raise ProfileError([Problem(f"nested more than {MAX_DEPTH} levels deep (or an alias that contains "
                                        "itself)", field=_dotted(path[:8]) + "...", location=self._at(node))])
        if node.tag not in _COLLECTION_TAGS:
            raise ProfileError([Problem(f"unsupported YAML tag {node.tag}", field=_dotted(path),
                                        location=self._at(node))])
        # A collection met again is an alias: count what it copies before copying it.
        if id(node) in self.sizes:
            self.expanded += self.sizes[id(node)]
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise ProfileError([Problem(f"aliases expand to more than {MAX_ALIAS_EXPANSION} YAML nodes "
                                            "(an alias bomb?)", location=self._at(node))])
        start = self.nodes
        if isinstance(node, yaml.MappingNode):
            value: Any = self._mapping(node, path)
        else:
            value = [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        self.sizes.setdefault(id(node), self.nodes - start)
        return value

    def _scalar(self, node: yaml.Node, path: YamlPath) -> Any:
        if node.tag == _STR_TAG:  # most scalars: skip the constructor's bookkeeping
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as error:  # e.g. `!!float x`, `!!int 1e999`
            raise ProfileError([Problem(f"{node.tag} value {node.value!r} is invalid ({error})",
                                        field=_dotted(path), location=self._at(node))]) from error

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ProfileError([Problem("merge keys (<<) are not supported: use `extends:` to share settings",
                                            field=_dotted(path), location=self._at(key_node))])
            key = self._scalar(key_node, path)
            if not isinstance(key, str):
                raise ProfileError([Problem(f"keys must be text, got {key!r} (quote it)", field=_dotted(path),
                                            location=self._at(key_node))])
            if key in result:
                first = self.locations[(*path, key)]
                raise ProfileError([Problem(f"duplicate key {key!r} (first set at line {first.line})",
                                            field=_dotted((*path, key)), location=self._at(key_node))])
            self.locations[(*path, key)] = self._at(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _at(self, node: yaml.Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)


def _resolve_path_fields(data: dict[str, Any], base_dir: Path) -> None:
    for pattern in _PATH_FIELDS:
        for parent, key in _matching_parents(data, pattern):
            if isinstance(parent.get(key), str):
                path = base_dir / parent[key]
                try:
                    parent[key] = str(sources.resolve(path))
                except (OSError, ValueError):  # e.g. a NUL in the name: the model reports it at the line
                    parent[key] = str(path)


def _matching_parents(data: Any, pattern: tuple[str | None, ...]) -> list[tuple[dict[str, Any], str]]:
    if not isinstance(data, dict) or not pattern:
        return []
    head, rest = pattern[0], pattern[1:]
    if not rest:
        return [(data, head)] if head is not None and head in data else []
    children = data.values() if head is None else [data.get(head)]
    return [match for child in children for match in _matching_parents(child, rest)]


def _problems(error: ValidationError, locations: Mapping[YamlPath, Location], path: Path,
              data: dict[str, Any]) -> list[Problem]:
    from leanvibe_stack.models.base import split_at

    problems: dict[tuple[Any, ...], Problem] = {}
    for item in error.errors(include_url=False):
        relative, item["msg"] = split_at(str(item["msg"]).removeprefix("Value error, "))
        loc = _data_path((*item["loc"], *relative), data)
        # A value that fits no member of a union yields one error per member: keep the first.
        problems.setdefault(loc, Problem(_message(item, loc), field=_dotted(loc),
                                         location=_nearest(loc, locations, path)))
    # A union member that failed deeper explains more than the members that failed at the top.
    kept = [p for loc, p in problems.items() if not any(other[: len(loc)] == loc and other != loc
                                                        for other in problems)]
    return sorted(kept, key=lambda p: (str(p.location.file), p.location.line) if p.location else ("", 0))


_UNION_TAG = re.compile(r"^[A-Z]\w*$|[\[('\"]")


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """The error's location as a path into the profile data, without pydantic's union-member tags."""
    path: list[Any] = []
    current = data
    for i, part in enumerate(loc):
        if _is_tag_of_same_named_field(loc, i, current):
            continue
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif isinstance(part, str) and _UNION_TAG.search(part):
            continue
        else:
            current = None
        path.append(part)
    return tuple(path)


def _is_tag_of_same_named_field(loc: tuple[Any, ...], i: int, current: Any) -> bool:
    """Whether loc[i] is a discriminated union's tag followed by the member's field of the same name, as
    pydantic reports `{prober: http, http: {...}}`: the tag `http`, then the field `http`."""
    part = loc[i]
    if not (isinstance(part, str) and i + 1 < len(loc) and loc[i + 1] == part and isinstance(current, dict)):
        return False
    inner = current.get(part)
    return part in current and not (isinstance(inner, dict) and part in inner)


def _message(item: Any, loc: tuple[Any, ...]) -> str:
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        suggestion = _closest_field(loc)
        return "unknown setting" + (f"; did you mean `{suggestion}`?" if suggestion else "")
    given = item.get("input")
    given = str(given) if isinstance(given, Path) else given
    if item["type"] != "missing" and not isinstance(given, dict | list) and repr(given) not in message:
        message += f" (got {given!r})"
    return message


def _closest_field(loc: tuple[Any, ...]) -> str | None:
    """The valid setting nearest to an unknown key, among the fields of the model that holds it."""
    from leanvibe_stack.models.stack import Stack

    names = _field_names(Stack, loc[:-1])
    matches = difflib.get_close_matches(str(loc[-1]), sorted(names), n=1, cutoff=0.6) if names else []
    return matches[0] if matches else None


def _field_names(annotation: Any, path: tuple[Any, ...]) -> set[str]:
    """Field names (aliases) of the model reached by following `path` from `annotation`."""
    from pydantic import BaseModel

    models = [t for t in _members(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    if not path:
        return {field.alias or name for model in models for name, field in model.model_fields.items()}
    head, rest = path[0], path[1:]
    for model in models:
        for name, field in model.model_fields.items():
            if head in (name, field.alias):
                return _field_names(field.annotation, rest)
    for container in _members(annotation):
        args = typing.get_args(container)
        if typing.get_origin(container) in (dict, list) and args:
            return _field_names(args[-1], rest)
    return set()


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _nearest(loc: tuple[Any, ...], locations: Mapping[YamlPath, Location], path: Path) -> Location:
    for end in range(len(loc), -1, -1):
        if loc[:end] in locations:
            return locations[loc[:end]]
    return Location(path, 1)


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)
