"""The real tools' verdicts, kept between runs: an unchanged re-run of `validate` runs no tool.

A verdict (exit code and output) is stored under the sha256 of everything that decides it: the tool's
name and `--version` output, its arguments, and the name and content of every file it reads (the caller
names them and runs the tool from the directory they are in, so no temporary path enters the key).  Any
change to an input or to the tool's version is a different key, so a verdict is never reused for
anything but the same input to the same tool version.  A run that timed out or could not start is never
stored.

Where: `$LEANVIBE_TOOL_CACHE`, or the private per-user `<tmp>/leanvibe-tool-cache-<uid>` (`cachedir`);
`LEANVIBE_TOOL_CACHE=off` turns it off.  Entries are written atomically, so concurrent runs may share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from leanvibe_stack import cachedir

ENV = "LEANVIBE_TOOL_CACHE"
FORMAT = 1  # bump when the key or the entry changes shape: old entries are then never read


@dataclass(frozen=True)
class Verdict:
    """What a tool said: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str


def directory() -> Path | None:
    """The cache directory, created if needed; None when turned off or not safe to use."""
    return cachedir.directory(ENV, "tool-cache")


def key(tool: str, version: str, args: list[str], files: dict[str, str | None]) -> str:
    """The sha256 naming one verdict: tool, version, arguments, and each file read (None: absent)."""
    digest = hashlib.sha256()
    header = {"format": FORMAT, "tool": tool, "version": version, "args": args, "files": sorted(files)}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for name in sorted(files):
        text = files[name]
        # Lengths first, so no two different inputs concatenate to the same bytes.
        data = b"" if text is None else text.encode("utf-8", errors="surrogateescape")
        digest.update(f"\n{name}\n{-1 if text is None else len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def load(cache: Path, entry: str) -> Verdict | None:
    try:
        data = json.loads((cache / f"{entry}.json").read_text(encoding="utf-8"))
        verdict = Verdict(data["returncode"], data["stdout"], data["stderr"])
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: run the tool
        return None
    if not (isinstance(verdict.returncode, int) and isinstance(verdict.stdout, str)
            and isinstance(verdict.stderr, str)):
        return None
    return verdict


def store(cache: Path, entry: str, verdict: Verdict) -> None:
    cachedir.write_atomically(cache / f"{entry}.json",
           json.dumps({"returncode": verdict.returncode, "stdout": verdict.stdout, "stderr": verdict.stderr}))


# --- the tool's version ---------------------------------------------------------------------------------------

_versions: dict[str, str | None] = {}
_versions_lock = threading.Lock()


def version(program: str, cache: Path | None, timeout: float) -> str | None:
    """The output of `program --version`, or None (then nothing this tool says is cached).

    A native binary is asked once while its file stays the same one (path, inode, size, mtime and ctime:
    replacing or rewriting it changes them), and the answer is kept in this process and in the cache.  A
    script (`#!`) is asked every time: the program it starts may change while the script does not.
    """
    identity = _identity(program)
    if identity is None:
        return _ask_version(program, timeout)
    memo = cache / f"version-{identity}.txt" if cache is not None else None
    with _versions_lock:
        if identity in _versions:
            return _versions[identity]
    found: str | None = None
    if memo is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            found = memo.read_text(encoding="utf-8") or None
    if found is None:
        found = _ask_version(program, timeout)
        if found is not None and memo is not None:
            cachedir.write_atomically(memo, found)
    with _versions_lock:
        _versions[identity] = found
    return found


def _identity(program: str) -> str | None:
    """A digest of which file `program` is, or None for a script or a file we cannot read."""
    try:
        real = os.path.realpath(program)
        with open(real, "rb") as handle:
            if handle.read(2) == b"#!":
                return None
        found = os.stat(real)
    except OSError:
        return None
    parts = (real, found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _ask_version(program: str, timeout: float) -> str | None:
    try:
        result = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=timeout,
                                check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (result.stdout + result.stderr).strip()  # kingpin prints it on stderr in older releases
    return text if result.returncode == 0 and text else None
