"""The real tools' verdicts, kept between runs: an unchanged re-run of `validate` runs no tool.

A verdict (exit code and output) is stored under the sha256 of everything that decides it: the tool's
name and `--version` output, its arguments, and the name and content of every file it reads (the caller
names them and runs the tool from the directory they are in, so no temporary path enters the key).  Any
change to an input or to the tool's version is a different key, so a verdict is never reused for
anything but the same input to the same tool version.  A run that timed out or could not start is never
stored.

Where: `$LEANVIBE_TOOL_CACHE`, or a private per-user directory under the temp dir
(`<tmp>/leanvibe-tool-cache-<uid>`, mode 0700 and owned by the user, checked as Jinja checks its bytecode
cache: another user must not be able to plant a verdict).  `LEANVIBE_TOOL_CACHE=off` turns it off.  Safe
to delete at any time; entries are written atomically, so concurrent runs may share it.  A cache that
cannot be read or written is skipped, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ENV = "LEANVIBE_TOOL_CACHE"
OFF = {"off", "0", "false", "no"}
FORMAT = 1  # bump when the key or the entry changes shape: old entries are then never read


@dataclass(frozen=True)
class Verdict:
    """What a tool said: its exit code and output."""

    returncode: int
    stdout: str
    stderr: str


def directory() -> Path | None:
    """The cache directory, created if needed; None when turned off or not safe to use."""
    configured = os.environ.get(ENV, "").strip()
    if configured.lower() in OFF:
        return None
    try:
        if configured:
            path = Path(configured)
            path.mkdir(parents=True, exist_ok=True)
            return path
        return _private_dir()
    except OSError:
        return None


def _private_dir() -> Path | None:
    if not hasattr(os, "getuid"):  # no per-user ownership to check
        return None
    path = Path(tempfile.gettempdir()) / f"leanvibe-tool-cache-{os.getuid()}"
    try:
        path.mkdir(mode=stat.S_IRWXU)
    except FileExistsError:
        pass
    found = os.lstat(path)
    if found.st_uid != os.getuid() or not stat.S_ISDIR(found.st_mode):
        return None  # someone else's, or a symlink: never trusted
    if stat.S_IMODE(found.st_mode) != stat.S_IRWXU:
        os.chmod(path, stat.S_IRWXU)
    return path


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
    _write(cache / f"{entry}.json",
           json.dumps({"returncode": verdict.returncode, "stdout": verdict.stdout, "stderr": verdict.stderr}))


def _write(path: Path, text: str) -> None:
    """Atomically (readers see the whole file or none), or not at all."""
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)


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
            _write(memo, found)
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
