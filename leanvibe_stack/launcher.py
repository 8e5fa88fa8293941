"""The console entry point: answers `--version`, and an unchanged render, before importing the CLI framework.

Importing typer (and click under it) is ~70 ms of a ~90 ms `--version`; version checks run in
scripts and CI often enough to be worth the shortcut.  A render whose inputs did not change since
its last run is replayed by `rendercache` without importing typer, pydantic or the models.  Both
answers are the CLI's own output (tested).

The console script (`console`) ends the process as soon as the output is flushed, without the
interpreter's teardown: freeing a large render object by object took 0.3-0.5 s of a 10,000-rule
render, work nobody waits for (mypy ends the same way).  `main` itself returns or raises SystemExit, so
it can run in-process.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from leanvibe_stack import __version__

BROKEN_PIPE_EXIT_CODE = 128 + 13  # as the CLI exits when the reader goes away (`| head`)


def main() -> None:
    """Run the CLI; `leanvibe-stack --version` alone and a kept render are answered without loading it."""
    args = sys.argv[1:]
    if args == ["--version"]:
        sys.stdout.write(f"leanvibe-stack {__version__}\n")
        return
    entry = None
    if args[:1] == ["render"]:  # only a render may be kept: no other command pays for the cache's imports
        from leanvibe_stack import rendercache

        entry = rendercache.entry_for(args)
    try:
        if entry is not None and rendercache.replay(entry):
            return
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as the CLI does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        raise SystemExit(BROKEN_PIPE_EXIT_CODE) from None
    from leanvibe_stack.cli import main as run_cli

    if entry is None:
        run_cli()
        return
    with rendercache.recording(entry):
        run_cli()


def console() -> NoReturn:
    """The console script: `main`, then the exit code without the interpreter's teardown (see above)."""
    try:
        main()
        code = 0
    except SystemExit as finished:
        code = finished.code if isinstance(finished.code, int) else (0 if finished.code is None else 1)
        if isinstance(finished.code, str):  # what sys.exit("message") prints
            sys.stderr.write(f"{finished.code}\n")
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away after the last write: as the CLI answers it
        code = BROKEN_PIPE_EXIT_CODE
    sys.stderr.flush()
    os._exit(code)
