"""Manifests to validate from files, directories or stdin (`-`), as kubectl would read them."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from leanvibe_stack import yamlio
from leanvibe_stack.errors import InputError
from leanvibe_stack.manifest import Manifest

SUFFIXES = (".yaml", ".yml", ".json")
NOT_OBJECTS = {"Kustomization"}  # kustomization.yaml sits beside rendered objects


def load_manifests(paths: list[str]) -> list[Manifest]:
    """Every Kubernetes object in the given files, directories (recursively) and `-` (stdin)."""
    manifests: list[Manifest] = []
    for spec in paths:
        if spec == "-":
            manifests += _parse(sys.stdin.read(), "<stdin>")
            continue
        path = Path(spec)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
            if not files:
                raise InputError(f"{path}: no .yaml, .yml or .json files in this directory")
            for file in files:
                manifests += _parse(_read(file), str(file))
        elif path.is_file():
            manifests += _parse(_read(path), str(path))
        else:
            raise InputError(f"{spec}: no such file or directory")
    return manifests


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from error


_LoaderBase: Any = yamlio.FastLoader


def _resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """Implicit tags as kubectl resolves them: sigs.k8s.io/yaml decodes with go-yaml v2 (`resolve.go`), which
    differs from PyYAML's YAML 1.1 set.  A bare `=` (YAML 1.1's "value" type, which PyYAML cannot construct),
    a timestamp and a sexagesimal `12:30` stay strings; `y`/`n` are booleans; `1e3` and `0o17` are numbers."""
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first in _GO_YAML:
        for char in first:
            table.setdefault(char, []).append((f"tag:yaml.org,2002:{tag}", re.compile(pattern)))
    return table


_GO_YAML = (
    ("bool", r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
     "yYnNtTfFoO"),
    ("int", r"^[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
              r"|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^<<$", "<"),
)
_BOOLEANS = {"y": True, "yes": True, "true": True, "on": True, "n": False, "no": False, "false": False, "off": False}


class _StrictLoader(_LoaderBase):  # type: ignore[misc]
    """Reads YAML as kubectl does: go-yaml's implicit types, duplicate keys refused (a silent last-wins hides
    the first value), and a mapping as a key (what an un-rendered `{{ .Values.x }}` parses to) refused."""

    yaml_implicit_resolvers = _resolvers()

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping or list as a key (an un-rendered template such as `{{ x }}`?): "
                    "kubectl refuses it", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_go_bool(self, node: yaml.ScalarNode) -> bool:
        return _BOOLEANS[str(self.construct_scalar(node)).lower()]

    def construct_go_int(self, node: yaml.ScalarNode) -> int:
        """Go's strconv.ParseInt with base 0, after go-yaml drops the underscores: 0b, 0o, 0x, and 0 for octal."""
        text = str(self.construct_scalar(node)).replace("_", "")
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        if digits[:2] in ("0b", "0o", "0x"):
            return sign * int(digits, 0)
        return sign * int(digits, 8 if digits.startswith("0") and len(digits) > 1 else 10)


_StrictLoader.add_constructor("tag:yaml.org,2002:bool", _StrictLoader.construct_go_bool)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_go_int)


def _parse(text: str, source: str) -> list[Manifest]:
    if source.endswith(".json"):
        try:
            return _manifests([json.loads(text)], source)
        except json.JSONDecodeError as error:
            raise InputError(f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}") from error
    try:
        documents = [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yamlio.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InputError(f"{where}: not valid YAML: {getattr(error, 'problem', error)}") from error
    return _manifests(documents, source)


def _manifests(documents: list[Any], source: str) -> list[Manifest]:
    manifests = []
    for index, document in enumerate(documents):
        for obj in _objects(document, source, index):
            if obj.get("kind") not in NOT_OBJECTS:
                manifests.append(Manifest(obj=obj, component="", source=source))
    return manifests


def _objects(document: Any, source: str, index: int) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise InputError(f"{source}: document {index + 1} is not a Kubernetes object (a mapping)")
    if document.get("kind") == "List" or str(document.get("kind", "")).endswith("List") and "items" in document:
        return [item for item in document.get("items") or [] if isinstance(item, dict)]
    return [document]
