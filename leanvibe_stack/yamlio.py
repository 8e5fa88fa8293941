"""YAML emission shared by rendered objects and embedded config files.

Byte-stable by construction: insertion key order (set by templates and models), multi-line
strings in `|` block style, no line wrapping, and the pure-Python emitter so every machine
writes the same bytes whether or not libyaml is installed.
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


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # repeated values are written out, never as &anchors


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """One YAML document, without the `---` marker."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=float("inf"), allow_unicode=True)


def load(text: str) -> Any:
    """Parse one YAML document."""
    return yaml.load(text, Loader=FastLoader)


def load_all(text: str) -> list[Any]:
    """Parse a multi-document stream, skipping empty documents."""
    return [doc for doc in yaml.load_all(text, Loader=FastLoader) if doc is not None]
