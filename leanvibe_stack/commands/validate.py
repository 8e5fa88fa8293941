"""`leanvibe-stack validate`: check a rendered profile, or manifests from files, as one system."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from leanvibe_stack.commands.options import (
    KubeVersionOption,
    OutputFormat,
    ProfileOption,
    ProfilesDirOption,
    SetOption,
)
from leanvibe_stack.errors import UsageError


def validate(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Manifest files or directories (recursively), or - for stdin.", show_default=False),
    ] = None,
    profile: ProfileOption = None,
    profiles_dir: ProfilesDirOption = None,
    overrides: SetOption = None,
    kube_version: KubeVersionOption = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", help="Findings on stdout as text lines or stable JSON.")
    ] = OutputFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
    require_tools: Annotated[
        bool, typer.Option("--require-tools", help="A missing promtool or amtool is an error, not a warning.")
    ] = False,
    no_tools: Annotated[bool, typer.Option("--no-tools", help="Skip promtool and amtool.")] = False,
    rule_tests: Annotated[
        Path | None,
        typer.Option("--rule-tests", help="Directory of promtool rule unit tests (default: <profiles>/rule-tests)."),
    ] = None,
    checks: Annotated[
        list[str] | None,
        typer.Option("--checks", help="Report only these check ids or groups (the part before the dot: schema, ref, "
                     "routing, ...), or the set third-party; comma-separated, repeatable. Default: all."),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", help="Do not report these check ids, groups or sets; comma-separated, repeatable."),
    ] = None,
    external: Annotated[
        list[Path] | None,
        typer.Option("--external", help="A YAML file naming objects that exist in the cluster but not in the "
                     "manifests: a list of Kind/namespace/name (Kind/name when cluster-scoped), or Kubernetes "
                     "objects (kubectl get ... -o yaml). Repeatable."),
    ] = None,
    list_checks: Annotated[
        bool, typer.Option("--list-checks", help="Print every check id, its group and the named sets, then exit.")
    ] = False,
) -> None:
    """Validate a rendered profile, or manifests from files, as one system.

    Exit codes: 0 clean, 1 findings (errors; warnings too with --strict), 2 bad input.
    """
    from leanvibe_stack import api
    from leanvibe_stack.validate.cluster import load_external
    from leanvibe_stack.validate.report import as_json, as_text, print_summary
    from leanvibe_stack.validate.selection import list_checks as listing
    from leanvibe_stack.validate.selection import select

    if list_checks:
        sys.stdout.write(listing())
        return
    choices = {"selection": select(checks, skip), "cluster": load_external(external or [])}
    if paths and profile == os.environ.get("LEANVIBE_PROFILE"):
        profile = None  # explicit paths win over the environment's default profile
    if bool(paths) == (profile is not None):
        raise UsageError("give either --profile NAME or manifest PATHs (- for stdin)")
    tests = sorted(rule_tests.glob("*_test.yml")) if rule_tests else api.rule_tests(profiles_dir)
    if profile is not None:
        report = api.validate_profile(profile, profiles_dir, kube_version=kube_version, run_tools=not no_tools,
                                      require_tools=require_tools, tests=tests, overrides=overrides, **choices)
    else:
        report = api.validate_paths(paths or [], kube_version=kube_version, run_tools=not no_tools,
                                    require_tools=require_tools, tests=tests, **choices)
    sys.stdout.write(as_json(report, strict) if output is OutputFormat.json else as_text(report))
    print_summary(report, sys.stderr)
    if report.failed(strict):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `validate` to the CLI."""
    app.command()(validate)
