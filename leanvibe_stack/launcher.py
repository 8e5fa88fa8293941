"""The console entry point: answers `--version`, and an unchanged render, before importing the CLI framework.

Importing typer (and click under it) is ~70 ms of a ~90 ms `--version`; version checks run in
scripts and CI often enough to be worth the shortcut.  A render whose inputs did not change since
its last run is replayed by `rendercache` without importing typer, pydantic or the models.  Both
answers are the CLI's own output (tested).
"""

from __future__ import annotations

import os
import sys

from leanvibe_stack import __version__

BROKEN_PIPE_EXIT_CODE = 128 + 13  # as the CLI exits when the reader goes away (`| head`)


def main() -> None:
    """Run the CLI; `leanvibe-stack --version` alone and a kept render are answered without loading it."""
    args = sys.argv[1:]
    if args == ["--version"]:
        sys.stdout.write(f"leanvibe-stack {__version__}\n")
        return
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
