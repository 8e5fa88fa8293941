"""Every command of the CLI, one module each; `register(app)` adds a module's command(s) to the app.

Modules import their heavy dependencies inside the command functions, so `--help` stays cheap.  Shared
options live in `options`; errors are turned into messages and exit codes by the app (`cli.ErrorBoundary`).
"""

from __future__ import annotations

import importlib

import typer

MODULES = ("render", "validate", "diff", "secrets", "profiles", "schema", "routes", "graph")


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"leanvibe_stack.commands.{name}").register(app)
