"""The two sides of a diff: profiles, rendered trees or files, stdin, or a profile at a git revision."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from leanvibe_stack import yamlio
from leanvibe_stack.errors import InputError, Problem, ProfileError
from leanvibe_stack.manifest import Manifest

GIT_PREFIX = "git:"


def side_name(spec: str) -> str:
    return "stdin" if spec == "-" else spec


def load_side(spec: str, *, profile: str | None = None, profiles_dir: Path | None = None) -> list[Manifest]:
    """The objects of one side of a diff.

    In this order: `git:REV` (the profile `profile` rendered from the repo's profiles at REV), `-`
    (manifests on stdin), an existing directory (rendered manifests), an existing file (manifests when
    a document has apiVersion and kind, else a profile file), otherwise a profile name.  Profiles are
    rendered without validation: a diff shows what changes, valid or not.
    """
    from leanvibe_stack.validate.inputs import load_manifests

    if spec.startswith(GIT_PREFIX):
        if not profile:
            raise InputError(f"{spec}: a git: side needs --profile NAME (the profile to render at that revision)")
        return git_side(spec[len(GIT_PREFIX):], profile, profiles_dir)
    path = Path(spec)
    if spec == "-" or path.is_dir() or (path.is_file() and _holds_manifests(path)):
        return load_manifests([spec])
    if not path.exists() and ("/" in spec or spec.endswith((".yaml", ".yml", ".json"))):
        raise InputError(f"{spec}: no such file or directory")
    return _render(spec, profiles_dir)


def _render(spec: str, profiles_dir: Path | None) -> list[Manifest]:
    """The profile's objects, unvalidated: a diff shows what changes, valid or not."""
    from leanvibe_stack.profiles import load_profile
    from leanvibe_stack.render import render_stack

    loaded = load_profile(spec, profiles_dir)
    return render_stack(loaded.stack)


def _holds_manifests(path: Path) -> bool:
    """Whether a file holds Kubernetes objects (any document with apiVersion and kind), not a profile."""
    try:
        documents = yamlio.load_all(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return True  # load_manifests reports why it cannot be read
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in documents)


def git_side(rev: str, profile: str, profiles_dir: Path | None = None) -> list[Manifest]:
    """Render `profile` from the repo's profiles as they were at `rev`, without touching the working tree.

    The repo is the one holding the working directory; the profiles are `profiles/` at its top (or
    `profiles_dir`, which must lie inside the repo).  Templates and code are the running ones.
    """
    if not rev:
        raise InputError("git:: give a revision, e.g. git:HEAD or git:origin/main")
    if "/" in profile or profile.endswith((".yaml", ".yml")):
        raise InputError(f"--profile {profile}: give a profile name for git: sides, not a path")
    top = Path(_git(["rev-parse", "--show-toplevel"], Path.cwd(), f"git:{rev}: not inside a git repository"))
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], top,
                  f"git:{rev}: unknown revision {rev!r}")
    relative = _relative_profiles(top, profiles_dir)
    archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", commit, "--", relative],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise InputError(f"git:{rev}: no {relative}/ directory at {rev}")
    with tempfile.TemporaryDirectory(prefix="leanvibe-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            _extract(tar, Path(tmp))
        directory = Path(tmp) / relative
        if not (directory / f"{profile}.yaml").is_file():
            names = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
            raise InputError(f"git:{rev}: no profile {profile!r} in {relative}/ at {rev} (there: {names})")
        try:
            return _render(profile, directory)
        except ProfileError as error:
            raise ProfileError([_at_revision(problem, tmp, rev) for problem in error.problems]) from error


def _at_revision(problem: Problem, tmp: str, rev: str) -> Problem:
    """A problem of a profile extracted to `tmp`, with its paths written as git's `REV:path`."""
    def spelled(text: str) -> str:
        for prefix in dict.fromkeys([tmp, str(Path(tmp).resolve())]):
            text = text.replace(f"{prefix}/", f"{rev}:")
        return text

    location = problem.location
    if location is not None:
        location = dataclasses.replace(location, file=spelled(str(location.file)))
    return dataclasses.replace(problem, message=spelled(problem.message), location=location)


def _git(args: list[str], cwd: Path, error: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as missing:
        raise InputError("git: sides need git, which is not installed") from missing
    if result.returncode != 0 or not result.stdout.strip():
        raise InputError(error)
    return result.stdout.strip()


def _relative_profiles(top: Path, profiles_dir: Path | None) -> str:
    if profiles_dir is None:
        return "profiles"
    try:
        return profiles_dir.resolve().relative_to(top.resolve()).as_posix()
    except ValueError as outside:
        raise InputError(f"--profiles-dir {profiles_dir} is not inside the git repository {top}") from outside


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
    else:  # pragma: no cover - Python < 3.11.4; git archive writes only the repo's own paths
        tar.extractall(target)
