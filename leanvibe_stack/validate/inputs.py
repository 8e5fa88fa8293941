"""Manifests to validate from files, directories or stdin (`-`), as kubectl would read them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


def _parse(text: str, source: str) -> list[Manifest]:
    try:
        documents = yamlio.load_all(text)
    except yamlio.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InputError(f"{where}: not valid YAML or JSON: {getattr(error, 'problem', error)}") from error
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
