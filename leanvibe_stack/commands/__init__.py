"""More commands, one module each; `register(app)` adds them to the CLI.

Modules import their heavy dependencies inside the command functions, so `--help` stays cheap.
"""

from __future__ import annotations

import importlib

import typer

MODULES = ("diff", "profiles", "schema", "routes", "graph")


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"leanvibe_stack.commands.{name}").register(app)
