"""What `render --check` reports for a rendered tree that differs from the files on disk."""

from __future__ import annotations

import difflib
from pathlib import Path

from leanvibe_stack import yamlio
from leanvibe_stack.diff.comparison import Comparison, Key, compare
from leanvibe_stack.diff.formats import as_text
from leanvibe_stack.errors import InputError
from leanvibe_stack.manifest import Manifest


def tree_drift(files: dict[str, str], target: Path) -> str:
    """What `render --check` prints for one stale tree (empty when the disk matches `files`).

    The objects are compared with `compare` (per-object diffs, embedded files, checksum notes,
    alerting); then files missing, extra or renumbered; then a plain diff of each file whose bytes
    differ while its objects do not (a comment edited by hand, kustomization.yaml).
    """
    entries = {p.name: p for p in target.glob("*")} if target.is_dir() else {}
    folders = [f"{p}: a directory where only rendered files belong\n" for p in entries.values() if p.is_dir()]
    committed = {name: _read(p) for name, p in entries.items() if not p.is_dir()}
    if committed == files and not folders:
        return ""
    sides = (f"{target} (committed)", f"{target} (rendered)")
    old, old_files = _parse_tree(committed, target)
    new, new_files = _parse_tree(files, target)
    try:
        comparison = compare(old, new, sides)
        objects, touched = as_text(comparison), _touched_files(comparison, old_files, new_files)
    except InputError as error:
        objects, touched = f"{error}\n", set()
    lines = folders + _file_lines(committed, files, target)
    diffs = [_file_diff(committed[n], files[n], target / n) for n in sorted(committed.keys() & files.keys())
             if committed[n] != files[n] and n not in touched]
    return f"{target} is stale:\n" + objects + "".join(lines) + "".join(diffs)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"<cannot read: {error}>\n"


def _parse_tree(files: dict[str, str], target: Path) -> tuple[list[Manifest], dict[Key, str]]:
    """The objects of a tree's YAML files (kustomization.yaml and unparsable files skipped) and their files."""
    manifests: list[Manifest] = []
    for name, text in sorted(files.items()):
        if name == "kustomization.yaml" or not name.endswith((".yaml", ".yml")):
            continue
        try:
            documents = yamlio.load_all(text)
        except yamlio.YAMLError:
            continue  # shown as a plain file diff
        manifests += [Manifest(d, "", str(target / name)) for d in documents if isinstance(d, dict)]
    return manifests, {m.key: Path(m.source).name for m in manifests}


def _touched_files(comparison: Comparison, old: dict[Key, str], new: dict[Key, str]) -> set[str]:
    keys = [m.key for m in (*comparison.added, *comparison.removed, *(c.manifest for c in comparison.changed))]
    return {files[key] for key in keys for files in (old, new) if key in files}


def _file_lines(committed: dict[str, str], files: dict[str, str], target: Path) -> list[str]:
    missing = sorted(files.keys() - committed.keys())
    extra = sorted(committed.keys() - files.keys())
    renumbered = {name for name in missing if files[name] in {committed[e] for e in extra}}
    lines = [f"missing from {target}: {name}\n" for name in missing if name not in renumbered]
    lines += [f"extra file in {target}: {name}\n" for name in extra
              if committed[name] not in {files[m] for m in renumbered}]
    if renumbered:
        lines.append(f"{len(renumbered)} file(s) in {target} renumbered (same object, new file name)\n")
    return lines


def _file_diff(committed: str, rendered: str, path: Path) -> str:
    return "".join(difflib.unified_diff(committed.splitlines(keepends=True), rendered.splitlines(keepends=True),
                                        f"{path} (committed)", f"{path} (rendered)"))
