"""Supported software only: every image's release line, checked against its end of support.

`catalogue/releases.yaml` lists, per project, the image repositories it publishes and each release
line (`MAJOR.MINOR`) with the date its support ends and the source of that date.  An image past its
line's date is `image.end-of-life` (a warning naming the newest line still supported); an image of a
known project whose line the catalogue does not list is `image.unknown-version` (a warning: add the
line, with its source, when you adopt it).  Images of projects the catalogue does not know are left
alone.  The check date is today, or `LEANVIBE_TODAY` (YYYY-MM-DD) so runs are reproducible.

The Kubernetes minor the objects are validated for (`global.kubernetes_version`, or `--kube-version`) is
checked the same way against `catalogue/kubernetes.yaml`: `kubernetes.end-of-life` (a warning).

Check ids: `image.end-of-life`, `image.unknown-version`, `kubernetes.end-of-life`.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.errors import InputError
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, warning

TODAY_VARIABLE = "LEANVIBE_TODAY"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


@dataclass(frozen=True)
class Line:
    """One release line of a project and the last day it is supported."""

    version: str  # MAJOR.MINOR
    end_of_support: datetime.date | None  # None: still supported with no end announced
    source: str


@dataclass(frozen=True)
class Project:
    name: str
    repositories: tuple[str, ...]  # without registry, e.g. prometheus/prometheus, prom/prometheus
    lines: dict[str, Line]


def check(bundle: Bundle, today: datetime.date | None = None) -> list[Finding]:
    day = today or check_date()
    findings = []
    for pod in bundle.pods:
        for path, container in pod.containers():
            image = str(container.get("image", ""))
            project, version = identify(image)
            if project is None or version is None:
                continue
            line = project.lines.get(version)
            if line is None:
                findings.append(warning("image.unknown-version", pod.ref, f"{path}.image",
                                        f"{image}: {project.name} {version} is not in the release catalogue "
                                        f"(known: {', '.join(project.lines)}); add its line and end of support, "
                                        "with the source, to leanvibe_stack/validate/catalogue/releases.yaml"))
            elif line.end_of_support is not None and line.end_of_support < day:
                findings.append(warning("image.end-of-life", pod.ref, f"{path}.image",
                                        f"{image}: {project.name} {version} has been unsupported since "
                                        f"{line.end_of_support.isoformat()} ({line.source}); "
                                        f"{_newest_supported(project, day)}"))
    return findings


def check_kubernetes(kube_version: str, today: datetime.date | None = None) -> list[Finding]:
    """kubernetes.end-of-life when the target Kubernetes minor is past its end of support."""
    project = kubernetes_lines()
    match = _VERSION.match(kube_version.strip())
    if match is None:
        return []  # not a version: the schema check reports it
    day = today or check_date()
    line = project.lines.get(f"{match[1]}.{match[2]}")
    if line is None or line.end_of_support is None or line.end_of_support >= day:
        return []
    return [warning("kubernetes.end-of-life", None, "kubernetes_version",
                    f"Kubernetes {line.version} has been unsupported since {line.end_of_support.isoformat()} "
                    f"({line.source}); {_newest_supported(project, day)}: move global.kubernetes_version "
                    "(or --kube-version) and the clusters to one of them")]


def identify(image: str) -> tuple[Project | None, str | None]:
    """The catalogue project of an image and its `MAJOR.MINOR` (None where either is unknown)."""
    reference = image.split("@", 1)[0]
    repository, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
    parts = repository.split("/")
    if len(parts) > 2 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # drop the registry
    path = "/".join(parts)
    project = next((p for p in catalogue() if path in p.repositories), None)
    match = _VERSION.match(tag)
    return project, f"{match[1]}.{match[2]}" if match else None


def check_date() -> datetime.date:
    """Today, or LEANVIBE_TODAY."""
    value = os.environ.get(TODAY_VARIABLE)
    if not value:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise InputError(f"{TODAY_VARIABLE}={value!r} is not a date such as 2026-12-05") from error


def _newest_supported(project: Project, day: datetime.date) -> str:
    supported = [line for line in project.lines.values() if line.end_of_support is None or line.end_of_support >= day]
    if not supported:
        return "no line in the catalogue is supported any more"
    shown = [line.version + (f" (until {line.end_of_support.isoformat()})" if line.end_of_support else "")
             for line in sorted(supported, key=lambda line: tuple(int(n) for n in line.version.split(".")))]
    return f"supported: {', '.join(shown)}"


@functools.cache
def catalogue() -> tuple[Project, ...]:
    text = resources.files("leanvibe_stack.validate").joinpath("catalogue", "releases.yaml").read_text("utf-8")
    return tuple(_project(name, data) for name, data in (yamlio.load(text) or {}).items())


@functools.cache
def kubernetes_lines() -> Project:
    """The Kubernetes minors (a project without images: the cluster the objects go to)."""
    text = resources.files("leanvibe_stack.validate").joinpath("catalogue", "kubernetes.yaml").read_text("utf-8")
    return _project("kubernetes", {"images": [], **(yamlio.load(text) or {})})


def _project(name: str, data: dict[str, Any]) -> Project:
    lines = {str(version): Line(str(version), _date(entry.get("end_of_support")), str(entry["source"]))
             for version, entry in (data.get("lines") or {}).items()}
    return Project(name, tuple(str(r) for r in data["images"]), lines)


def _date(value: Any) -> datetime.date | None:
    if value is None:
        return None
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))
