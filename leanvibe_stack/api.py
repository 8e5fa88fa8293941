"""Library entry points the CLI (and tests) call: load + render + write/check."""

from __future__ import annotations

from pathlib import Path

from leanvibe_stack import output
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import default_profiles_dir, load_profile, renderable_profiles
from leanvibe_stack.render import render_stack

Tree = dict[str, str]


def render_profile(spec: str, profiles_dir: Path | None = None) -> list[Manifest]:
    """Load a profile by name or path and render every object of its stack."""
    loaded = load_profile(spec, profiles_dir)
    return render_stack(loaded.stack, loaded.name)


def stream(manifests: list[Manifest]) -> str:
    return output.stream(manifests)


def tree(manifests: list[Manifest]) -> Tree:
    return output.tree(manifests)


def render_all(profiles_dir: Path | None, out: Path) -> dict[Path, Tree]:
    """Every profile except abstract parents, as a tree under out/<profile>/; nothing is written here."""
    directory = profiles_dir or default_profiles_dir()
    return {
        out / name: output.tree(render_profile(name, directory))
        for name in renderable_profiles(directory)
    }


def write_trees(targets: dict[Path, Tree], root: Path | None = None) -> list[Path]:
    """Write every tree; with `root` (render --all), also remove trees of profiles that are gone."""
    for target, files in targets.items():
        output.write_tree(files, target)
    orphans = output.orphan_trees(root, targets) if root else []
    for orphan in orphans:
        output.remove_tree(orphan)
    return orphans


def check_trees(targets: dict[Path, Tree], root: Path | None = None) -> list[str]:
    """Diffs between each rendered tree and the disk; with `root`, trees of profiles that are gone too."""
    diffs = [diff for target, files in targets.items() for diff in output.drift(files, target)]
    orphans = output.orphan_trees(root, targets) if root else []
    return diffs + [f"{orphan}: rendered tree of no current profile; delete it\n" for orphan in orphans]
