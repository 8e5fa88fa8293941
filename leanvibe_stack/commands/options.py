"""Options several commands share, declared once so their names, environment variables and help agree.

Only typer and the standard library here: every command module imports this at start-up, `--help` included.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

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


def required_profile(profile: str | None) -> str:
    """The --profile of a command that renders exactly one profile."""
    from leanvibe_stack.errors import UsageError

    if profile is None:
        raise UsageError("give --profile NAME (or set LEANVIBE_PROFILE)")
    return profile
