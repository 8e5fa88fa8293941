"""The user's files a render reads and the paths it looks for, remembered so a cached render can be proved current.

Loading a profile reads its `extends` chain and the dashboards it names, and decides where a name resolves by
looking for files (`./profiles/NAME.yaml`, then the shipped ones).  Every such read and look goes through
this module, which notes what it found: the sha256 of a file's bytes, whether a path is a file or a
directory, where a path resolves.  `rendercache.py` stores these notes beside a render's output and, before
replaying it, asks the disk every question again (`unchanged`): one different answer and the render runs.
A read or look that bypassed this module would be a stale-cache bug, so the package reads user files
nowhere else (tests/test_render_cache.py greps for it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

Observation = tuple[str, str, str]  # (question, absolute path, answer)
PROFILE_PATTERN = "*.yaml"  # the files a directory of profiles holds

_seen: dict[tuple[str, str], str] = {}
_collectors: list[dict[tuple[str, str], str]] = []  # `collect` blocks open now, innermost last


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _answer(question: str, path: str) -> str:
    if question == "is_file":
        return str(os.path.isfile(path))
    if question == "is_dir":
        return str(os.path.isdir(path))
    if question == "resolve":
        return str(Path(path).resolve())
    if question == "profiles":
        return _names(path)
    if question == "sha256":
        try:
            return _digest(path)
        except OSError as error:
            return f"unreadable: {error.errno}"
    raise ValueError(f"unknown question {question!r}")


def _note(question: str, path: Path, answer: str) -> None:
    seen = (question, os.path.abspath(path))
    for observations in (_seen, *_collectors):
        observations[seen] = answer


def read_bytes(path: Path) -> bytes:
    """A file's bytes, noted by digest (OSError as Path.read_bytes raises it)."""
    data = path.read_bytes()
    _note("sha256", path, hashlib.sha256(data).hexdigest())
    return data


def read_text(path: Path) -> str:
    """A UTF-8 file's text, noted by the digest of its bytes."""
    return read_bytes(path).decode("utf-8")


def is_file(path: Path) -> bool:
    found = path.is_file()
    _note("is_file", path, str(found))
    return found


def is_dir(path: Path) -> bool:
    found = path.is_dir()
    _note("is_dir", path, str(found))
    return found


def resolve(path: Path) -> Path:
    """The absolute path with symlinks followed (which file a relative name means now)."""
    found = path.resolve()
    _note("resolve", path, str(found))
    return found


def _names(directory: str) -> str:
    return "\n".join(sorted(path.name for path in Path(directory).glob(PROFILE_PATTERN)))


def profile_files(directory: Path) -> list[Path]:
    """The profile files in a directory (a new or removed one changes which environments exist)."""
    names = _names(str(directory))
    _note("profiles", directory, names)
    return [directory / name for name in names.split("\n") if name]


def start() -> None:
    """Forget what was seen: the next observations are one render's."""
    _seen.clear()


@contextlib.contextmanager
def collect() -> Iterator[list[Observation]]:
    """What is read or looked at inside the block (the list is filled when it ends): a result kept in memory
    by the caller is only as current as these, which `note` records again each time the result is reused."""
    observations: dict[tuple[str, str], str] = {}
    found: list[Observation] = []
    _collectors.append(observations)
    try:
        yield found
    finally:
        _collectors.remove(observations)
        found += [(question, path, answer) for (question, path), answer in observations.items()]


def note(observations: list[Observation]) -> None:
    """Record again what an earlier `collect` block saw (its result is being reused)."""
    for question, path, answer in observations:
        _seen[(question, path)] = answer


def observed() -> list[Observation]:
    """Everything read or looked at since `start`, in a stable order."""
    return sorted((question, path, answer) for (question, path), answer in _seen.items())


def from_json(value: object) -> list[Observation]:
    """Observations as a cache entry stored them (JSON lists); TypeError or ValueError when they are not."""
    if not isinstance(value, list):
        raise TypeError("observations are a list")
    return [(str(question), str(path), str(answer)) for question, path, answer in value]


def unchanged(observations: list[Observation]) -> bool:
    """Whether the disk still answers every question as it did."""
    return all(_answer(question, path) == answer for question, path, answer in observations)
