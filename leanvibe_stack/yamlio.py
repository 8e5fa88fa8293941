"""YAML emission shared by rendered objects and embedded config files.

Byte-stable by construction: insertion key order (set by templates and models), multi-line
strings in `|` block style, no line wrapping, and the same bytes whether libyaml's emitter or
the pure-Python one writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import yaml
from yaml import YAMLError

__all__ = ["FastLoader", "FastResolver", "YAMLError", "dump", "load", "load_all", "recall", "remembering"]

_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "map", "seq"))


class FastResolver:
    """PyYAML's implicit-tag resolution without its per-call overhead; the same tags.

    PyYAML resolves every scalar twice over (parser and emitter both ask), concatenating lists and
    walking path resolvers nobody registers.  Mixed in before a loader or dumper class, this keeps
    the class's own `yaml_implicit_resolvers` table; classes that register path or wildcard
    resolvers must not use it (checked by a test).
    """

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, Any]]]

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return _MAP if kind is yaml.MappingNode else _SEQ
        if implicit[0]:
            for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                if regexp.match(value):
                    return str(tag)
        return _STR

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """No path resolvers: nothing to track while descending."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track while ascending."""


# libyaml only speeds up parsing; parsed values are identical either way.
_CLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FastLoader(FastResolver, _CLoader):  # type: ignore[misc,valid-type]
    """libyaml's parser, SafeLoader's tags."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_STR, value, style=style)


def _reference_dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    """SafeDumper's own representation with `|` for multi-line strings: what `dump` writes, the slow way."""

    class Dumper(FastResolver, base):  # type: ignore[valid-type,misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # repeated values are written out, never as &anchors

    Dumper.add_representer(str, _represent_str)
    return Dumper


def _dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    class Dumper(_reference_dumper(base)):  # type: ignore[misc]
        def represent_data(self, data: Any) -> yaml.Node:
            # The nodes SafeRepresenter builds for the types nearly every node has, built directly: no
            # per-node alias bookkeeping, MRO walk or style search.  Block style throughout, as `dump` asks
            # (default_flow_style=False); everything else (and its output) is SafeDumper's.
            kind = type(data)
            if kind is str:
                return yaml.ScalarNode(_STR, data, style="|" if "\n" in data else None)
            represent = self.represent_data
            if kind is dict:
                return yaml.MappingNode(_MAP, [(represent(key), represent(value)) for key, value in data.items()],
                                        flow_style=False)
            if kind is list:
                return yaml.SequenceNode(_SEQ, [represent(item) for item in data], flow_style=False)
            node: yaml.Node = super().represent_data(data)
            return node

    return Dumper


# libyaml's emitter writes the same bytes as the pure-Python one for everything we emit (a test
# compares both on every profile) and is ten times faster; the pure one stays as the fallback.
PURE_DUMPER = _dumper(yaml.SafeDumper)
FAST_DUMPER = _dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))
# SafeRepresenter's own nodes, emitted by libyaml: what FAST_DUMPER's shortcut must write (checked by tests).
REFERENCE_DUMPER = _reference_dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))
NO_WRAP = 2**31 - 1  # libyaml takes an int; no line is ever that long
DUMP_OPTIONS: dict[str, Any] = {"sort_keys": False, "width": NO_WRAP, "allow_unicode": True}


def dump(data: Any, *, pure: bool = False) -> str:
    """One YAML document, without the `---` marker (remembered with its data inside `remembering`)."""
    text: str = yaml.dump(data, Dumper=PURE_DUMPER if pure else FAST_DUMPER, **DUMP_OPTIONS)
    memo = _MEMO.get()
    if memo is not None:
        try:
            memo[text] = _as_loaded(data)
        except _NotPlain:
            pass  # a type whose loaded form is not simply a copy: parsing the text stays the only way
    return text


def load(text: str) -> Any:
    """Parse one YAML document."""
    loader = FastLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _Builder(loader).build(node)
    finally:
        loader.dispose()


def load_all(text: str) -> list[Any]:
    """Parse a multi-document stream, skipping empty documents."""
    loader = FastLoader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            document = None if node is None else _Builder(loader).build(node)
            if document is not None:
                documents.append(document)
        return documents
    finally:
        loader.dispose()


class _Builder:
    """Python values from composed nodes, as SafeLoader builds them, in a third of its time.

    Strings, text-keyed mappings and sequences (nearly every node we parse) are built directly;
    anything else (numbers, booleans, merge keys, odd keys) goes through SafeLoader's own
    constructor, so values and errors are the same.  A node met twice (an alias) yields the same
    object, as with SafeLoader, so aliases never multiply work.
    """

    def __init__(self, constructor: yaml.constructor.SafeConstructor) -> None:
        self.constructor = constructor
        self.built: dict[int, Any] = {}

    def build(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if id(node) in self.built:
            return self.built[id(node)]
        if tag == _MAP and all(key.tag == _STR for key, _ in node.value):
            mapping: dict[str, Any] = {}
            self.built[id(node)] = mapping
            for key, value in node.value:
                mapping[key.value] = self.build(value)
            return mapping
        if tag == _SEQ:
            sequence: list[Any] = []
            self.built[id(node)] = sequence
            sequence.extend(self.build(item) for item in node.value)
            return sequence
        value = self.constructor.construct_object(node, deep=True)
        self.built[id(node)] = value
        return value


# --- the data of dumped texts, for whoever parses the same text again -------------------------------------
#
# `render --profile` validates what it has just rendered: the checks read the config files from the rendered
# objects' text, as `validate out/...` does, and parsing that text again took a third of a 10,000-rule
# validation.  Within `remembering()`, `dump` keeps a copy of the data of every text it writes, and `recall`
# hands it back for exactly that text: the copy is what parsing the text gives (plain values only, a test
# compares both on every profile), made when the text was written so later changes to the data cannot reach
# it, and handed out once, so whoever gets it owns it as they would own a fresh parse.

_MEMO: ContextVar[dict[str, Any] | None] = ContextVar("leanvibe_yaml_memo", default=None)
MISSING: Any = object()  # `recall`'s answer for a text `dump` did not write


@contextmanager
def remembering() -> Iterator[None]:
    """Within this block, every text `dump` writes can be `recall`ed once instead of parsed."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def recall(text: str) -> Any:
    """The data `dump` wrote as exactly this text inside the current `remembering()` block, once; else MISSING."""
    memo = _MEMO.get()
    return MISSING if memo is None else memo.pop(text, MISSING)


class _NotPlain(Exception):
    """A value whose parsed form is not a plain copy of it."""


_SCALARS = frozenset({str, int, bool, float, type(None)})


def _as_loaded(value: Any) -> Any:
    """A copy of dumped data as parsing its text builds it: new dicts and lists, the same (immutable) scalars.

    Only for the types whose text parses back to an equal value of the same type (str, int, bool, float, null,
    mappings and sequences: libyaml quotes a string that would read as anything else); any other type raises
    _NotPlain.
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        return {key if type(key) is str else _scalar(key): _as_loaded(item) for key, item in value.items()}
    if kind is list:
        return [_as_loaded(item) for item in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if type(value) not in _SCALARS:
        raise _NotPlain(type(value))
    return value
