"""`leanvibe-stack diff OLD NEW`: what changes between two profiles, trees or git revisions, object by object."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leanvibe_stack.errors import UsageError

if TYPE_CHECKING:
    from leanvibe_stack.diff import Comparison


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


SIDE_HELP = ("A profile name or file, a directory or file of rendered manifests, `-` for stdin, or git:REV "
             "(--profile rendered from the repo's profiles/ at REV). An existing path wins over a profile name.")
OldSide = Annotated[str | None, typer.Argument(metavar="OLD", help="The old side. " + SIDE_HELP, show_default=False)]
NewSide = Annotated[str | None, typer.Argument(metavar="NEW", help="The new side (same forms).", show_default=False)]
GitProfile = Annotated[
    str | None,
    typer.Option("--profile", "-p", envvar="LEANVIBE_PROFILE",
                 help="The profile to render at each git:REV side (a name in the repo's profiles/)."),
]
ProfilesDir = Annotated[
    Path | None,
    typer.Option("--profiles-dir", help="Where profile names are found (default: ./profiles if present, else the "
                 "shipped ones); for git: sides, a directory inside the repo (default: profiles/)."),
]
Output = Annotated[
    DiffFormat,
    typer.Option("--output", help="text (coloured on a terminal), markdown (a PR comment) or json (stable)."),
]
Stat = Annotated[bool, typer.Option("--stat", help="Counts only: no diffs.")]
Color = Annotated[
    bool | None,
    typer.Option("--color/--no-color", help="Colour the text output (default: when stdout is a terminal and "
                 "NO_COLOR is unset).", show_default=False),
]
Context = Annotated[int, typer.Option("--context", "-U", min=0, help="Lines of context around each change.")]
FailOnImmutable = Annotated[
    bool,
    typer.Option("--fail-on-immutable", help="Exit 1 only for changes `kubectl apply` cannot make to an existing "
                 "object (immutable fields) or must not make (a Loki schema period that has started), 0 otherwise, "
                 "different or not: for CI."),
]


def diff(old: OldSide = None, new: NewSide = None, profile: GitProfile = None, profiles_dir: ProfilesDir = None,
         output: Output = DiffFormat.text, stat: Stat = False, color: Color = None, context: Context = 3,
         fail_on_immutable: FailOnImmutable = False) -> None:
    """Show what changes between two sides, object by object, with an alerting summary.

    Objects are matched by (apiVersion, kind, namespace, name). Config files embedded in ConfigMaps
    are diffed as their own text; checksum/config changes collapse into one note per pod naming the
    config that caused them. Changes the API server refuses on update (a workload's selector, a
    StatefulSet's volumeClaimTemplates, ...) are marked REFUSED ON UPDATE with the way through; a
    change to a Loki schema period that has started (on or before LEANVIBE_TODAY or today) is marked
    REFUSED (loki.schema-period-started): it would change how stored logs are read.
    Exit codes: 0 identical, 1 different (with --fail-on-immutable: 1 only for refused changes),
    2 bad arguments or input.

    Example: leanvibe-stack diff git:HEAD production --profile production --output markdown
    """
    from leanvibe_stack.diff import GIT_PREFIX, compare, load_side, side_name

    _check_arguments(old, new)
    assert old is not None and new is not None
    uses_git = any(side.startswith(GIT_PREFIX) for side in (old, new))
    if profile is not None and not uses_git and profile != os.environ.get("LEANVIBE_PROFILE"):
        raise UsageError("--profile names the profile to render at a git:REV side; there is none")
    before = load_side(old, profile=profile, profiles_dir=profiles_dir)
    after = load_side(new, profile=profile, profiles_dir=profiles_dir)
    comparison = compare(before, after, (side_name(old), side_name(new)), context=context)
    sys.stdout.write(_format(comparison, output, stat, _colour(color)))
    if comparison.refused if fail_on_immutable else not comparison.identical:
        raise typer.Exit(1)


def _check_arguments(old: str | None, new: str | None) -> None:
    if old is None or new is None:
        raise UsageError("give two sides to compare: leanvibe-stack diff OLD NEW "
                         "(profiles, directories, files, -, git:REV)")
    if old == new == "-":
        raise UsageError("only one side can be read from stdin (-)")


def _format(comparison: Comparison, output: DiffFormat, stat: bool, color: bool) -> str:
    from leanvibe_stack.diff import as_json, as_markdown, as_stat, as_text

    if output is DiffFormat.markdown:
        return as_markdown(comparison, stat=stat)
    if output is DiffFormat.json:
        return as_json(comparison, stat=stat)
    return as_stat(comparison) if stat else as_text(comparison, color=color)


def _colour(option: bool | None) -> bool:
    if option is not None:
        return option
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def register(app: typer.Typer) -> None:
    """Add `diff` to the CLI."""
    app.command()(diff)
