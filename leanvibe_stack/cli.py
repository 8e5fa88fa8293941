"""Command-line interface: thin typer commands over library calls.

Heavy modules are imported inside commands so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from leanvibe_stack import __version__

if TYPE_CHECKING:
    from leanvibe_stack.validate import Report

app = typer.Typer(
    name="leanvibe-stack",
    help="Render LeanVibe's observability stack into Kubernetes manifests from typed profiles.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help, as kubectl and helm print it: rich's formatting costs ~100 ms of start-up (issue 7).
    rich_markup_mode=None,
)

ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", envvar="LEANVIBE_PROFILE",
                 help="Profile name (resolved in --profiles-dir) or path to a profile file."),
]
ProfilesDirOption = Annotated[
    Path | None,
    typer.Option("--profiles-dir",
                 help="Directory of profiles (default: ./profiles if present, else the shipped ones)."),
]


P = ParamSpec("P")
R = TypeVar("R")


_debug = {"on": False}
BUG_EXIT_CODE = 3


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """User errors print their message on stderr and exit with their code (2: bad input), no traceback.

    Anything else is a bug: exit 3 with a one-line hint; `--debug` shows the traceback.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from leanvibe_stack.errors import LeanvibeError

        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
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

    return wrapper


def _traceback_if_debugging() -> None:
    if _debug["on"]:
        import traceback

        traceback.print_exc(file=sys.stderr)


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


SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override one profile value: PATH=VALUE (VALUE is YAML), e.g. "
                 "prometheus.replicas=3; keys with dots in brackets: a.b[key.with.dots].c=1. Repeatable."),
]
KubeVersionOption = Annotated[
    str | None,
    typer.Option("--kube-version", help="Kubernetes version to validate against (default: the profile's)."),
]


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
@reports_errors
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
        _usage("give exactly one of --profile NAME or --all")
    if check and output_dir is None and profile is not None:
        _usage("--check compares against a directory: add --output-dir (or use --all)")
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


@app.command()
@reports_errors
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
) -> None:
    """Validate a rendered profile, or manifests from files, as one system.

    Exit codes: 0 clean, 1 findings (errors; warnings too with --strict), 2 bad input.
    """
    from leanvibe_stack import api
    from leanvibe_stack.validate.report import as_json, as_text, print_summary

    if paths and profile == os.environ.get("LEANVIBE_PROFILE"):
        profile = None  # explicit paths win over the environment's default profile
    if bool(paths) == (profile is not None):
        _usage("give either --profile NAME or manifest PATHs (- for stdin)")
    tests = sorted(rule_tests.glob("*_test.yml")) if rule_tests else api.rule_tests(profiles_dir)
    if profile is not None:
        report = api.validate_profile(profile, profiles_dir, kube_version=kube_version, run_tools=not no_tools,
                                      require_tools=require_tools, tests=tests, overrides=overrides)
    else:
        report = api.validate_paths(paths or [], kube_version=kube_version, run_tools=not no_tools,
                                    require_tools=require_tools, tests=tests)
    sys.stdout.write(as_json(report, strict) if output is OutputFormat.json else as_text(report))
    print_summary(report, sys.stderr)
    if report.failed(strict):
        raise typer.Exit(1)


def _usage(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _register_commands() -> None:
    from leanvibe_stack.commands import register_all

    register_all(app)


_register_commands()


def main() -> None:
    """Console entry point."""
    # A render allocates hundreds of thousands of small, acyclic, short-lived objects (YAML nodes,
    # dicts): at the default threshold (700) the cycle collector runs thousands of times over them,
    # a third of a 10,000-rule render's time.  Collecting less often leaves peak memory the same
    # (measured: benchmarks/run.py); this process is ours, a library caller's GC is left alone.
    gc.set_threshold(100_000, 50, 100)
    app()
