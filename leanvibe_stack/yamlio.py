"""YAML emission shared by rendered objects and embedded config files.

Byte-stable by construction: insertion key order (set by templates and models), multi-line
strings in `|` block style, no line wrapping, and the same bytes whether libyaml's emitter or
the pure-Python one writes them.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml import YAMLError

__all__ = ["FastLoader", "YAMLError", "dump", "load", "load_all"]

try:  # libyaml only speeds up parsing; parsed values are identical either way
    FastLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    FastLoader = yaml.SafeLoader


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    class Dumper(base):  # type: ignore[valid-type,misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # repeated values are written out, never as &anchors

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
    return yaml.load(text, Loader=FastLoader)


def load_all(text: str) -> list[Any]:
    """Parse a multi-document stream, skipping empty documents."""
    return [doc for doc in yaml.load_all(text, Loader=FastLoader) if doc is not None]
