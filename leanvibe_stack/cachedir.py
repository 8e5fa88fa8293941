"""Where the caches live: a private per-user directory, and files written there atomically.

Both caches (the real tools' verdicts, `validate/toolcache.py`, and whole renders, `rendercache.py`) keep
their entries in `$<VARIABLE>` when it names a directory, else in `<tmp>/leanvibe-<name>-<uid>`, created
mode 0700 and checked to be the user's own directory (as Jinja checks its bytecode cache: another user
must not be able to plant an entry).  `<VARIABLE>=off` turns a cache off.  A cache that cannot be read
or written is skipped, never an error: both are safe to delete at any time.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

OFF = {"off", "0", "false", "no"}


def directory(variable: str, name: str) -> Path | None:
    """The cache directory, created if needed; None when turned off or not safe to use."""
    configured = os.environ.get(variable, "").strip()
    if configured.lower() in OFF:
        return None
    try:
        if configured:
            path = Path(configured)
            path.mkdir(parents=True, exist_ok=True)
            return path
        return _private_dir(name)
    except OSError:
        return None


def _private_dir(name: str) -> Path | None:
    if not hasattr(os, "getuid"):  # no per-user ownership to check
        return None
    path = Path(tempfile.gettempdir()) / f"leanvibe-{name}-{os.getuid()}"
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


def write_atomically(path: Path, text: str) -> None:
    """Write a cache entry whole (readers see all of it or none), or not at all."""
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
