"""The console entry point: answers `--version` before importing the CLI framework.

Importing typer (and click under it) is ~70 ms of a ~90 ms `--version`; version checks run in
scripts and CI often enough to be worth the shortcut.  The output is the CLI's own (tested).
"""

from __future__ import annotations

import sys

from leanvibe_stack import __version__


def main() -> None:
    """Run the CLI; `leanvibe-stack --version` alone is answered without loading it."""
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"leanvibe-stack {__version__}\n")
        return
    from leanvibe_stack.cli import main as run_cli

    run_cli()
