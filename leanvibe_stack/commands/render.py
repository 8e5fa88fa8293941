"""`leanvibe-stack render`: a profile as one YAML stream on stdout, or as files under --output-dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leanvibe_stack.commands.options import KubeVersionOption, ProfileOption, ProfilesDirOption, SetOption
from leanvibe_stack.errors import UsageError

if TYPE_CHECKING:
    from leanvibe_stack.validate import Report


def render(
    profile: ProfileOption = None,
    profiles_dir: ProfilesDirOption = None,
    all_profiles: Annotated[
        bool, typer.Option("--all", help="Render every profile into OUTPUT_DIR/<profile>/ (default dir: out).")
    ] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-o", help="Write one file per object plus kustomization.yaml here."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if OUTPUT_DIR is stale.")
    ] = False,
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Skip the in-process validation of the rendered objects.")
    ] = False,
    kube_version: KubeVersionOption = None,
    overrides: SetOption = None,
    only: Annotated[
        str | None,
        typer.Option("--only", help="Output only these components, comma-separated (e.g. prometheus,grafana); "
                     "the whole stack is still validated. Namespaces are always included."),
    ] = None,
) -> None:
    """Render a profile as one YAML stream on stdout, or as files under --output-dir.

    Rendered objects are validated first (schemas, cross-references, routing, PromQL, security;
    promtool/amtool only run in `validate`): on errors nothing is printed or written and the exit
    code is 1.
    """
    from leanvibe_stack import api

    if all_profiles and profile == os.environ.get("LEANVIBE_PROFILE"):
        profile = None  # an explicit --all wins over the environment's default profile
    if all_profiles == (profile is not None):
        raise UsageError("give exactly one of --profile NAME or --all")
    if check and output_dir is None and profile is not None:
        raise UsageError("--check compares against a directory: add --output-dir (or use --all)")
    try:
        if all_profiles:
            root: Path | None = output_dir or Path("out")
            assert root is not None
            progress = _show_progress if _progress_enabled() else None
            rendered = api.render_all(profiles_dir, root, validate=not no_validate, overrides=overrides,
                                      progress=progress)
        else:
            assert profile is not None
            root = None
            one = api.render_profile(profile, profiles_dir, validate=not no_validate, kube_version=kube_version,
                                     overrides=overrides)
            rendered = {output_dir or Path("-"): one}
    except api.ValidationFailed as failed:
        _show_findings(failed.report)
        raise
    if only is not None:
        rendered = {target: api.only(result, only.split(",")) for target, result in rendered.items()}
    for result in rendered.values():
        if result.report and result.report.findings:
            typer.echo(f"{result.name}:", err=True)
            _show_findings(result.report)
    if output_dir is None and not all_profiles:
        sys.stdout.write(api.stream(next(iter(rendered.values())).manifests))
        return
    targets = {target: api.tree(result.manifests) for target, result in rendered.items()}
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


def _progress_enabled() -> bool:
    """Progress lines only for a person watching a terminal, never in CI logs or pipes."""
    return sys.stderr.isatty()


def _show_progress(profile: str) -> None:
    typer.echo(f"rendering {profile} ...", err=True)


def _show_findings(report: Report) -> None:
    from leanvibe_stack.validate.report import as_text

    sys.stderr.write(as_text(report))


def register(app: typer.Typer) -> None:
    """Add `render` to the CLI."""
    app.command()(render)
