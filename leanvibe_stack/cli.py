"""The command-line application: the typer app, its global options and the one error boundary.

Every command lives in `leanvibe_stack.commands` (one module each) and is added by `register_all`;
nothing in the package imports this module except the launcher.  Heavy modules are imported inside
commands so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from leanvibe_stack import __version__
from leanvibe_stack.commands import register_all
from leanvibe_stack.errors import LeanvibeError

BUG_EXIT_CODE = 3
BROKEN_PIPE_EXIT_CODE = 128 + 13  # as if killed by SIGPIPE, like any Unix filter
_debug = {"on": False}


class ErrorBoundary(TyperGroup):
    """Runs every command (sub-commands included) and turns what they raise into messages and exit codes.

    User errors (`LeanvibeError`) print their message on stderr and exit with their code (2: bad input),
    without a traceback.  Anything else is a bug: exit 3 with a one-line hint; `--debug` shows the traceback.
    """

    def invoke(self, ctx: Any) -> Any:  # typer types `ctx` with the vendored click's Context it does not export
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits and usage errors: typer prints them
            raise
        except BrokenPipeError as error:  # the reader went away (`| head`): stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
            raise typer.Exit(BROKEN_PIPE_EXIT_CODE) from error
        except LeanvibeError as error:
            _traceback_if_debugging()
            for line in error.lines():
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(error.exit_code) from error
        except Exception as error:  # the one place that turns bugs into exit 3
            _traceback_if_debugging()
            typer.echo(f"error: internal error ({type(error).__name__}: {error}); this is a bug in "
                       "leanvibe-stack: rerun with --debug and report the traceback", err=True)
            raise typer.Exit(BUG_EXIT_CODE) from error


def _traceback_if_debugging() -> None:
    if _debug["on"]:
        import traceback

        traceback.print_exc(file=sys.stderr)


app = typer.Typer(
    name="leanvibe-stack",
    cls=ErrorBoundary,
    help="Render LeanVibe's observability stack into Kubernetes manifests from typed profiles.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help, as kubectl and helm print it: rich's formatting costs ~100 ms of start-up (issue 7).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leanvibe-stack {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="LEANVIBE_DEBUG", help="Show tracebacks of errors.")
    ] = False,
) -> None:
    """Render LeanVibe's observability stack into Kubernetes manifests from typed profiles."""
    _debug["on"] = debug


register_all(app)


def main() -> None:
    """Console entry point."""
    # A render allocates hundreds of thousands of small, acyclic, short-lived objects (YAML nodes,
    # dicts): at the default threshold (700) the cycle collector runs thousands of times over them,
    # a third of a 10,000-rule render's time.  Collecting less often leaves peak memory the same
    # (measured: benchmarks/run.py); this process is ours, a library caller's GC is left alone.
    gc.set_threshold(100_000, 50, 100)
    app()
