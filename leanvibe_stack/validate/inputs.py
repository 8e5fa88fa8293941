"""Manifests to validate from files, directories or stdin (`-`), as kubectl would read them."""

from __future__ import annotations

import json
import sys
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


class _StrictLoader(_LoaderBase):  # type: ignore[misc]
    """Rejects duplicate keys, as kubectl does (a silent last-wins hides the first value)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


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
