"""Command-line interface: thin typer commands over library calls.

Heavy modules are imported inside commands so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from leanvibe_stack import __version__

app = typer.Typer(
    name="leanvibe-stack",
    help="Render LeanVibe's observability stack into Kubernetes manifests from typed profiles.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", envvar="LEANVIBE_PROFILE",
                 help="Profile name (resolved in --profiles-dir) or path to a profile file."),
]
ProfilesDirOption = Annotated[
    Path | None,
    typer.Option("--profiles-dir",
                 help="Directory of profiles [default: ./profiles if present, else the shipped ones]."),
]


P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """User errors print one line on stderr and exit with their code (2: bad input), no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from leanvibe_stack.errors import LeanvibeError

        try:
            return command(*args, **kwargs)
        except LeanvibeError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(error.exit_code) from error

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leanvibe-stack {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Render LeanVibe's observability stack into Kubernetes manifests from typed profiles."""


@app.command()
@reports_errors
def render(
    profile: ProfileOption = None,
    profiles_dir: ProfilesDirOption = None,
    all_profiles: Annotated[
        bool, typer.Option("--all", help="Render every profile into OUTPUT_DIR/<profile>/ [default dir: out].")
    ] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-o", help="Write one file per object plus kustomization.yaml here."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if OUTPUT_DIR is stale.")
    ] = False,
) -> None:
    """Render a profile as one YAML stream on stdout, or as files under --output-dir."""
    from leanvibe_stack import api

    if all_profiles and profile == os.environ.get("LEANVIBE_PROFILE"):
        profile = None  # an explicit --all wins over the environment's default profile
    if all_profiles == (profile is not None):
        _usage("give exactly one of --profile NAME or --all")
    if check and output_dir is None and profile is not None:
        _usage("--check compares against a directory: add --output-dir (or use --all)")
    root = None
    if all_profiles:
        root = output_dir or Path("out")
        targets = api.render_all(profiles_dir, root)
    else:
        assert profile is not None
        rendered = api.render_profile(profile, profiles_dir)
        if output_dir is None:
            sys.stdout.write(api.stream(rendered))
            return
        targets = {output_dir: api.tree(rendered)}
    if check:
        diffs = api.check_trees(targets, root)
        if diffs:
            sys.stdout.write("".join(diffs))
            typer.echo("rendered output differs from the files on disk; refresh with "
                       "`leanvibe-stack render --all --output-dir out` and review the diff", err=True)
            raise typer.Exit(1)
        typer.echo(f"up to date: {', '.join(str(t) for t in targets)}", err=True)
        return
    removed = api.write_trees(targets, root)
    for target, files in targets.items():
        typer.echo(f"wrote {len(files)} files to {target}", err=True)
    for orphan in removed:
        typer.echo(f"removed {orphan} (its profile no longer exists)", err=True)


def _usage(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def main() -> None:
    """Console entry point."""
    app()
