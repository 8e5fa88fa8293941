"""`leanvibe-stack profiles list|show`: which profiles exist, what one sets, and where each value came from.

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from leanvibe_stack.commands.options import OutputFormat, ProfilesDirOption, SetOption
from leanvibe_stack.models.identity import IDENTITY_KEYS

if TYPE_CHECKING:
    from leanvibe_stack.errors import Location, Problem

YamlPath = tuple[str | int, ...]
DEFAULT = "default"  # provenance of a value no profile file (nor --set) wrote
DERIVED = "derived"  # ... but set from `global` by the identity conventions (models/identity.py)
SET = "--set"
_COMMENT_COLUMN_LIMIT = 64  # provenance comments align up to this column; longer lines get theirs after 2 spaces


@dataclass(frozen=True)
class ProfileRow:
    """One profile file as `profiles list` shows it (its own keys, not merged)."""

    name: str
    extends: str | None
    abstract: bool
    description: str
    path: Path


def profile_rows(profiles_dir: Path) -> tuple[list[ProfileRow], list[Problem]]:
    """A row per `*.yaml` in the directory, by name, plus the problems of files that cannot be read."""
    from leanvibe_stack.errors import Location, Problem, ProfileError
    from leanvibe_stack.profiles import available_profiles, load_yaml_file

    if not profiles_dir.is_dir():
        raise ProfileError([Problem(f"profiles directory {profiles_dir} does not exist or is not a directory")])
    rows, problems = [], []
    for name in available_profiles(profiles_dir):
        path = profiles_dir / f"{name}.yaml"
        try:
            data, _ = load_yaml_file(path)
        except ProfileError as error:
            problems.extend(error.problems or [Problem(str(error), location=Location(path, 1))])
            continue
        extends, description = data.get("extends"), data.get("description", "")
        rows.append(ProfileRow(name=name, extends=None if extends is None else str(extends),
                               abstract=data.get("abstract") is True,
                               description=description if isinstance(description, str) else str(description),
                               path=path))
    return rows, problems


def rows_table(rows: list[ProfileRow]) -> str:
    """An aligned plain-text table, header first."""
    cells = [("NAME", "EXTENDS", "ABSTRACT", "DESCRIPTION")]
    cells += [(r.name, r.extends or "-", "yes" if r.abstract else "no", r.description) for r in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(3)]
    return "".join("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]])
                   .rstrip() + "\n" for row in cells)


def rows_json(rows: list[ProfileRow]) -> str:
    import json

    return json.dumps([{"name": r.name, "extends": r.extends, "abstract": r.abstract, "description": r.description,
                        "path": str(r.path)} for r in rows], indent=2) + "\n"


@dataclass(frozen=True)
class ShownProfile:
    """A merged, validated profile as plain data in the profile's key order, and where each value came from."""

    data: dict[str, Any]
    provenance: Callable[[YamlPath], str]


def shown_profile(spec: str, profiles_dir: Path | None = None, overrides: list[str] | None = None, *,
                  defaults: bool = True) -> ShownProfile:
    """Load `spec` like `render` does (an abstract profile is shown as if concrete) and dump it.

    Keys follow the merged files' order (parent first, then what children add), then defaults in model
    order; `defaults=False` leaves out values no file (nor --set) wrote. File paths (dashboards) print
    relative to the profiles directory.
    """
    from leanvibe_stack.profiles import (
        default_profiles_dir,
        is_abstract,
        load_profile,
        load_with_parents,
        merge,
        parse_set,
        resolve_profile,
    )

    path = resolve_profile(spec, profiles_dir)
    by_name = not (spec.endswith((".yaml", ".yml")) or "/" in spec)
    base_dir = (profiles_dir or default_profiles_dir()) if by_name else path.parent
    extra = ["abstract=false"] if is_abstract(path) else []  # show a parent-only profile on its own
    loaded = load_profile(spec, profiles_dir, [*(overrides or []), *extra])
    raw, _ = load_with_parents(path, profiles_dir=profiles_dir)
    for argument in [*(overrides or []), *extra]:
        raw, _ = merge(raw, {}, *parse_set(argument))
    for key in ("extends", "abstract"):
        raw.pop(key, None)
    dumped = _plain(loaded.stack.model_dump(by_alias=True), base_dir)
    data = _ordered(dumped, raw, defaults)
    locations = loaded.locations

    def provenance(where: YamlPath) -> str:
        return _provenance(where, raw, locations, base_dir)

    return ShownProfile(data=data, provenance=provenance)


def _plain(value: Any, base_dir: Path) -> Any:
    """Dumped model data as YAML-ready builtins; paths relative to `base_dir` when inside it."""
    if isinstance(value, dict):
        return {str(key): _plain(item, base_dir) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, base_dir) for item in value]
    if isinstance(value, Path):
        return _relative(value, base_dir)
    return value


def _relative(path: Path | str, base_dir: Path) -> str:
    try:
        return Path(path).resolve().relative_to(base_dir.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def _ordered(value: Any, raw: Any, defaults: bool) -> Any:
    """`value` with mapping keys in `raw`'s order, then the defaults (unless `defaults` is false) but no nulls."""
    if isinstance(value, dict):
        if not isinstance(raw, dict):  # written as something else (normalised by a model): all of it was set
            return {key: _ordered(item, None, True) for key, item in value.items()}
        keys = [key for key in raw if key in value]
        if defaults:  # unset optional settings (null) are left out: null in a profile means "not set" anyway
            keys += [key for key in value if key not in raw and value[key] is not None]
        return {key: _ordered(value[key], raw.get(key), defaults) for key in keys}
    if isinstance(value, list):
        items = raw if isinstance(raw, list) else []
        return [_ordered(item, items[i] if i < len(items) else None, defaults) for i, item in enumerate(value)]
    return value


def _provenance(where: YamlPath, raw: Any, locations: Mapping[YamlPath, Location], base_dir: Path) -> str:
    """`file:line` (relative to `base_dir`) of the value at `where`, `--set`, or `default` (no file wrote it)."""
    node, depth = raw, 0
    for part in where:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
        depth += 1
    if depth < len(where) and isinstance(node, dict):
        # the nearest written mapping does not have the key: derived from the environment, or the model's default
        return DERIVED if tuple(where) in IDENTITY_KEYS else DEFAULT
    for end in range(len(where), 0, -1):  # a --set mapping or list records only its own path
        location = locations.get(where[:end])
        if location is not None:
            return SET if not location.line else f"{_relative(location.file, base_dir)}:{location.line}"
    return DEFAULT


def dump_yaml(data: dict[str, Any], provenance: Callable[[YamlPath], str] | None = None) -> str:
    """YAML in the stable style of rendered output; with `provenance`, each value line ends with `# <where>`."""
    from leanvibe_stack import yamlio

    text = yamlio.dump(data)
    return annotate(text, provenance) if provenance is not None else text


def annotate(text: str, comment_for: Callable[[YamlPath], str]) -> str:
    """Append `# comment_for(path)` to the line of every scalar and list in a YAML document.

    Comments go where YAML allows them: after a value on its key's line, after the header of a `|` block
    (never inside its text), after the closing quote of a multi-line quoted scalar. Mapping keys whose
    values are mappings get none (their entries may come from several files).
    """
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    notes: dict[int, str] = {}

    def note(line: int, where: YamlPath) -> None:
        notes[line] = comment_for(where).replace("\n", " ")

    def scalar_line(node: yaml.ScalarNode) -> int:
        return int(node.start_mark.line if node.style in ("|", ">") else node.end_mark.line)

    def visit(node: yaml.Node, where: YamlPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*where, str(key.value))
                if isinstance(value, yaml.ScalarNode):
                    note(scalar_line(value), child)
                elif isinstance(value, yaml.SequenceNode) or not value.value:  # a list, or an empty mapping
                    note(int(key.start_mark.line), child)
                visit(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                if isinstance(item, yaml.ScalarNode):
                    note(scalar_line(item), (*where, index))
                else:
                    visit(item, (*where, index))

    if root is not None:
        visit(root, ())
    lines = text.splitlines()
    fitting = [len(lines[number]) for number in notes if len(lines[number]) <= _COMMENT_COLUMN_LIMIT]
    column = max(fitting, default=0)
    for number, comment in notes.items():
        lines[number] = f"{lines[number].ljust(column)}  # {comment}"
    return "".join(f"{line}\n" for line in lines)


profiles_app = typer.Typer(help="List the profiles, and show what one sets and where each value came from.",
                           no_args_is_help=True, rich_markup_mode=None)


@profiles_app.command("list")
def list_profiles(
    profiles_dir: ProfilesDirOption = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", help="An aligned table, or a JSON array of objects.")
    ] = OutputFormat.text,
) -> None:
    """List every profile in the profiles directory: name, parent, whether abstract, description.

    Abstract profiles (parents only, never rendered) are listed too.

    The description is the file's own `description:`.

    Unreadable files are reported on stderr (exit 2) after the others are listed.
    """
    import sys

    from leanvibe_stack.errors import ProfileError
    from leanvibe_stack.profiles import default_profiles_dir

    directory = profiles_dir or default_profiles_dir()
    rows, problems = profile_rows(directory)
    if not rows and not problems:
        typer.echo(f"no profiles (*.yaml) in {directory}", err=True)
    if rows or output is OutputFormat.json:
        sys.stdout.write(rows_json(rows) if output is OutputFormat.json else rows_table(rows))
    if problems:
        raise ProfileError(problems)


@profiles_app.command("show")
def show(
    name: Annotated[
        str, typer.Argument(help="Profile name (resolved in --profiles-dir) or path to a profile file.",
                            show_default=False)
    ],
    profiles_dir: ProfilesDirOption = None,
    provenance: Annotated[
        bool, typer.Option("--provenance", help="End each value's line with `# FILE:LINE` (file relative "
                           "to the profiles directory), `# --set` or `# default`.")
    ] = False,
    no_defaults: Annotated[
        bool, typer.Option("--no-defaults", help="Leave out values no profile file (nor --set) writes.")
    ] = False,
    overrides: SetOption = None,
) -> None:
    """Print the merged, validated profile as YAML: every value `render` uses, defaults included.

    Keys follow the profile files' order (the parent's, then what the child adds), then defaults.

    Validation errors print as `file:line: field: message` (exit 2).

    An abstract profile is shown as if it were concrete.
    """
    import sys

    shown = shown_profile(name, profiles_dir, overrides, defaults=not no_defaults)
    sys.stdout.write(dump_yaml(shown.data, shown.provenance if provenance else None))


def register(app: typer.Typer) -> None:
    """Add `profiles list` and `profiles show` to the CLI."""
    app.add_typer(profiles_app, name="profiles")
