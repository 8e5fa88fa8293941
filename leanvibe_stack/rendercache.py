"""An unchanged render replayed: `render --profile P` answers from its last run when nothing it depends on changed.

A cold render is mostly start-up (importing typer, pydantic and building the profile models: ~400 ms of a
~580 ms production render), paid again by every `render | kubectl apply`, every `render > file` in CI, every
pre-commit run, although the inputs rarely changed since the last time.  So a successful render to stdout
(exit 0) is kept, and replayed without importing any of that when a run asks the same question again.

"The same question" is decided in two steps, so a stale answer is never given:

1. The entry's name is the sha256 of what the command line and the installed program are: the arguments
   (verbatim: the profile name, `--profiles-dir`, every `--set`, `--kube-version`, `--only`, `--no-validate`),
   the working directory, every `LEANVIBE_*` variable (`LEANVIBE_PROFILE`, `LEANVIBE_TODAY`, ...), today's
   date (support windows are judged on it), and the installed program (`cachedir.program`: Python, every file
   of this package, every installed distribution's version, so another version of pydantic, Jinja or
   kubernetes-validate, whose schemas decide the verdict, is another entry).
2. The entry keeps what the render read and looked at (`sources`: each profile file of the `extends` chain
   and each dashboard by sha256, each path looked for and where each name resolved).  Before replaying,
   every one of those questions is asked of the disk again; one different answer and the render runs.

Only a plain render to stdout is kept: `--output-dir`, `--all`, `--check`, `--help`, `--debug` or any other
option (or an option spelt some other way, e.g. `-pNAME`) runs the command as always.  A render that exits
0 is kept with everything it printed (its warnings on stderr too); a failed one is never kept.

Where: `$LEANVIBE_RENDER_CACHE`, or the private per-user `<tmp>/leanvibe-render-cache-<uid>` (`cachedir`);
`LEANVIBE_RENDER_CACHE=off` turns it off.  When an entry is stored, those not rewritten for a week go, and
the oldest beyond the 100 newest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from leanvibe_stack import cachedir, sources

ENV = cachedir.RENDER_VARIABLE
FORMAT = 1  # bump when the key or the entry changes shape: old entries are then never read
MAX_AGE_SECONDS = 7 * 24 * 3600
MAX_ENTRIES = 100  # beyond it the least recently written go (a 10,000-rule render keeps ~20 MB)
_VALUED = {"--profile", "-p", "--profiles-dir", "--set", "--kube-version", "--only"}
_FLAGS = {"--no-validate"}


def cacheable(args: list[str]) -> bool:
    """Whether a command line is a plain `render` to stdout with only the options a cached answer covers."""
    if not args or args[0] != "render":
        return False
    rest = iter(args[1:])
    for argument in rest:
        name, has_value, _ = argument.partition("=")
        if name in _FLAGS and not has_value:
            continue
        if name not in _VALUED or (has_value and not name.startswith("--")):
            return False
        if not has_value and next(rest, None) is None:
            return False
    return True


def key(args: list[str]) -> str:
    """The entry's name: the sha256 of the command line, its environment and the installed program."""
    header = {
        "format": FORMAT,
        "args": args,
        "cwd": os.getcwd(),
        "env": {name: value for name, value in os.environ.items() if name.startswith("LEANVIBE_") and name != ENV},
        "today": time.strftime("%Y-%m-%d"),
        "program": cachedir.program(),
    }
    return hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()


def entry_for(args: list[str]) -> Path | None:
    """Where the answer to this command line is kept; None when it is not cacheable or the cache is off."""
    if not cacheable(args):
        return None
    cache = cachedir.directory(ENV, cachedir.RENDER_NAME)
    try:
        return None if cache is None else cache / f"render-{key(args)}.json"
    except OSError:  # e.g. the working directory was removed: the CLI says so, the cache stays out of it
        return None


def replay(entry: Path) -> bool:
    """Print the kept answer if every input is unchanged; False when the command must run."""
    kept = _load(entry)
    if kept is None or not sources.unchanged(kept["observed"]):
        return False
    sys.stdout.write(kept["stdout"])
    sys.stdout.flush()
    sys.stderr.write(kept["stderr"])
    return True


def _load(path: Path) -> dict[str, Any] | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        observed = sources.from_json(entry["observed"])
        if not (isinstance(entry["stdout"], str) and isinstance(entry["stderr"], str)):
            return None
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: render
        return None
    return {"observed": observed, "stdout": entry["stdout"], "stderr": entry["stderr"]}


class _Copy(io.TextIOBase):
    """A text stream that writes through to another and keeps a copy of what was written.

    It has no `buffer`, so typer's echo writes text through it rather than bytes around it."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.target.write(text)
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # TextIOBase declares it read-only
        return self.target.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.target.errors


@contextlib.contextmanager
def recording(entry: Path) -> Iterator[None]:
    """Run the command with its output copied; keep the copy if the command exits 0."""
    out, err = _Copy(sys.stdout), _Copy(sys.stderr)
    sources.start()
    sys.stdout, sys.stderr = out, err
    try:
        yield
    except SystemExit as finished:
        if finished.code in (0, None):
            kept = {"observed": sources.observed(), "stdout": "".join(out.parts), "stderr": "".join(err.parts)}
            cachedir.write_atomically(entry, json.dumps(kept))
            _forget_old(entry.parent)
        raise
    finally:
        sys.stdout, sys.stderr = out.target, err.target


def _forget_old(cache: Path) -> None:
    """Remove entries not written for a week, and the oldest beyond MAX_ENTRIES."""
    entries = []
    for path in cache.glob("*.json"):
        with contextlib.suppress(OSError):
            entries.append((path.stat().st_mtime, path))
    entries.sort(reverse=True)
    now = time.time()
    for rank, (written, path) in enumerate(entries):
        if rank >= MAX_ENTRIES or now - written > MAX_AGE_SECONDS:
            with contextlib.suppress(OSError):
                path.unlink()
