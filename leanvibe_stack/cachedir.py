"""Where the caches live (a private per-user directory, files written there atomically), and what the
installed program is, for the caches whose answers depend on it.

The caches (the real tools' verdicts, `validate/toolcache.py`; whole renders, `rendercache.py`, and other
profiles' identities, `environments.py`, which share a directory) keep their entries in `$<VARIABLE>` when
it names a directory, else in `<tmp>/leanvibe-<name>-<uid>`, created mode 0700 and checked to be the
user's own directory (as Jinja checks its bytecode cache: another user must not be able to plant an
entry).  `<VARIABLE>=off` turns a cache off.  A cache that cannot be read or written is skipped, never an
error: all are safe to delete at any time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

OFF = {"off", "0", "false", "no"}
RENDER_VARIABLE, RENDER_NAME = "LEANVIBE_RENDER_CACHE", "render-cache"  # whole renders, other profiles' identities
PACKAGE = Path(__file__).resolve().parent
CHECKOUT_TEMPLATES = PACKAGE.parent / "templates"  # render/engine.py's templates when running from a checkout
_METADATA = (".dist-info", ".egg-info", ".egg-link", ".pth")


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


@functools.cache
def program() -> str:
    """The sha256 of what this program is: the Python (version, executable, import path), the name and bytes of
    every file of this package (code, templates, shipped profiles, catalogues; bytecode aside), and the
    metadata names of every installed distribution, which carry their versions.  Once per process (~4 ms)."""
    digest = hashlib.sha256()
    header = {"python": [sys.version, sys.executable, sys.path], "installed": _installed()}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for root in (PACKAGE, CHECKOUT_TEMPLATES):
        _add_tree(digest, root)
    return digest.hexdigest()


def _installed() -> list[str]:
    names = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            names += [f"{entry}/{name}" for name in os.listdir(entry or ".") if name.endswith(_METADATA)]
    return sorted(names)


def _add_tree(digest: Any, root: Path) -> None:
    """Every file under `root` (bytecode aside): its name, length and bytes."""
    for directory, subdirectories, files in os.walk(root):  # top-down, in the order sorted here
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(files):
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                data = handle.read()
            digest.update(f"\n{os.path.relpath(path, root)}\n{len(data)}\n".encode())
            digest.update(data)
