"""YAML emission shared by rendered objects and embedded config files.

Byte-stable by construction: insertion key order (set by templates and models), multi-line
strings in `|` block style, no line wrapping, and the same bytes whether libyaml's emitter or
the pure-Python one writes them.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml import YAMLError

__all__ = ["FastLoader", "FastResolver", "YAMLError", "dump", "load", "load_all"]

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


def _dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    class Dumper(FastResolver, base):  # type: ignore[valid-type,misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # repeated values are written out, never as &anchors

        def represent_data(self, data: Any) -> yaml.Node:
            # The three types nearly every node has, without SafeRepresenter's per-node alias
            # bookkeeping and MRO walk; everything else (and their output) is SafeDumper's.
            kind = type(data)
            node: yaml.Node
            if kind is str:
                node = _represent_str(self, data)
            elif kind is dict:
                node = self.represent_mapping(_MAP, data)
            elif kind is list:
                node = self.represent_sequence(_SEQ, data)
            else:
                node = super().represent_data(data)
            return node

    Dumper.add_representer(str, _represent_str)
    return Dumper


# libyaml's emitter writes the same bytes as the pure-Python one for everything we emit (a test
# compares both on every profile) and is ten times faster; the pure one stays as the fallback.
PURE_DUMPER = _dumper(yaml.SafeDumper)
FAST_DUMPER = _dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))
NO_WRAP = 2**31 - 1  # libyaml takes an int; no line is ever that long


def dump(data: Any, *, pure: bool = False) -> str:
    """One YAML document, without the `---` marker."""
    dumper = PURE_DUMPER if pure else FAST_DUMPER
    return yaml.dump(data, Dumper=dumper, sort_keys=False, width=NO_WRAP, allow_unicode=True)


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
