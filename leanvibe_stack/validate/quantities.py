"""Resource quantities (`8 GB`, `1.5.0Gi`, `-1`) parsed with the Kubernetes grammar: the strict schemas accept
any string or number where a quantity belongs.  Check id: `quantity.malformed`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from leanvibe_stack.validate.bundle import as_dict, as_list
from leanvibe_stack.validate.findings import Finding, ObjectRef, PathPart, error, json_path, show

# Kubernetes' quantity grammar (k8s.io/apimachinery/pkg/api/resource): a signed decimal number and
# an optional binary suffix, decimal suffix or decimal exponent.
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$")
QUANTITY_FORM = (
    "a number with an optional suffix: Ki Mi Gi Ti Pi Ei (binary), m k M G T P E (decimal) "
    'or an exponent, e.g. "500m", "512Mi", "8Gi", "1e9"'
)

_POD_SPECS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_LIMIT_RANGE_KEYS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")


def quantities(obj: dict[str, Any]) -> Iterator[tuple[list[PathPart], Any]]:
    """(path, value) of every resource quantity of an object."""
    kind = obj.get("kind")
    spec = as_dict(obj.get("spec"))
    pod_path = _POD_SPECS.get(str(kind))
    if pod_path is not None:
        yield from _pod_quantities(as_dict(_get(obj, pod_path)), list(pod_path))
    if kind == "StatefulSet":
        for i, template in enumerate(as_list(spec.get("volumeClaimTemplates"))):
            claim = as_dict(as_dict(template).get("spec"))
            yield from _claim_quantities(claim, ["spec", "volumeClaimTemplates", i, "spec"])
    elif kind == "PersistentVolumeClaim":
        yield from _claim_quantities(spec, ["spec"])
    elif kind == "PersistentVolume":
        yield from _entries(spec.get("capacity"), ["spec", "capacity"])
    elif kind == "ResourceQuota":
        yield from _entries(spec.get("hard"), ["spec", "hard"])
    elif kind == "LimitRange":
        for i, limit in enumerate(as_list(spec.get("limits"))):
            for key in _LIMIT_RANGE_KEYS:
                yield from _entries(as_dict(limit).get(key), ["spec", "limits", i, key])


def _pod_quantities(pod: dict[str, Any], path: list[PathPart]) -> Iterator[tuple[list[PathPart], Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(as_list(pod.get(key))):
            yield from _resources(as_dict(container).get("resources"), [*path, key, i, "resources"])
    yield from _resources(pod.get("resources"), [*path, "resources"])  # pod-level resources (1.32+)
    for i, volume in enumerate(as_list(pod.get("volumes"))):
        volume = as_dict(volume)
        empty_dir = as_dict(volume.get("emptyDir"))
        if "sizeLimit" in empty_dir:
            yield [*path, "volumes", i, "emptyDir", "sizeLimit"], empty_dir["sizeLimit"]
        claim = as_dict(_get(volume, ("ephemeral", "volumeClaimTemplate", "spec")))
        yield from _claim_quantities(claim, [*path, "volumes", i, "ephemeral", "volumeClaimTemplate", "spec"])


def _claim_quantities(spec: dict[str, Any], path: list[PathPart]) -> Iterator[tuple[list[PathPart], Any]]:
    yield from _resources(spec.get("resources"), [*path, "resources"])


def _resources(resources: Any, path: list[PathPart]) -> Iterator[tuple[list[PathPart], Any]]:
    resources = as_dict(resources)
    for key in ("requests", "limits"):
        yield from _entries(resources.get(key), [*path, key])


def _entries(mapping: Any, path: list[PathPart]) -> Iterator[tuple[list[PathPart], Any]]:
    for key, value in as_dict(mapping).items():
        yield [*path, str(key)], value


def findings(obj: dict[str, Any], ref: ObjectRef) -> list[Finding]:
    """A `quantity.malformed` error for every quantity of the object that the grammar refuses."""
    findings = []
    for path, value in quantities(obj):
        problem = quantity_problem(value)
        if problem:
            findings.append(error("quantity.malformed", ref, json_path(path), problem))
    return findings


def quantity_problem(value: Any) -> str | None:
    """Why a resource quantity is invalid, or None.  Non-scalars are the schema check's to report."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value} is not a quantity: write {QUANTITY_FORM}"
        return f"{value} is negative: resource quantities must be zero or more" if value < 0 else None
    if not isinstance(value, str):
        return None
    if not QUANTITY.fullmatch(value):
        suggestion = _suggest_quantity(value)
        fix = f"write {' or '.join(suggestion)} ({QUANTITY_FORM})" if suggestion else f"write {QUANTITY_FORM}"
        return f"{show(value)} is not a Kubernetes quantity: {fix}"
    if value.startswith("-") and float(re.split(r"[a-zA-Z]", value, maxsplit=1)[0] or "0") != 0:
        return f"{show(value)} is negative: resource quantities must be zero or more"
    return None


_QUANTITY_PARTS = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))([A-Za-z]*)$")


def _suggest_quantity(value: str) -> list[str]:
    """Likely intended spellings: `8 GB` -> `"8G"` (decimal) and `"8Gi"` (binary); `512mib` -> `"512Mi"`."""
    match = _QUANTITY_PARTS.fullmatch(re.sub(r"\s+", "", value))
    if match is None:
        return []
    number, unit = match[1], match[2].lower()
    if unit in ("", "b"):
        candidates = [number]
    elif len(unit) >= 2 and unit[1] == "i" and unit[:1] in "kmgtpe" and unit[2:] in ("", "b"):
        candidates = [f"{number}{unit[0].upper()}i"]
    elif unit[:1] in "kmgtpe" and unit[1:] in ("", "b"):
        decimal = "k" if unit[0] == "k" else unit[0].upper()
        candidates = [f"{number}{decimal}", f"{number}{unit[0].upper()}i"]
    else:
        return []
    return [json.dumps(c) for c in candidates if QUANTITY.fullmatch(c) and c != value]


def _get(obj: dict[str, Any], path: Sequence[str]) -> Any:
    node: Any = obj
    for key in path:
        node = as_dict(node).get(key)
    return node


_MULTIPLIERS = {"": 1.0, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
                "E": 1e18, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60}


def quantity_bytes(value: Any) -> float | None:
    """A quantity's value (`150Gi` -> 161061273600.0), or None when it is not a valid quantity."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    text = str(value)
    if not QUANTITY.fullmatch(text):
        return None
    number, suffix = text, ""
    for i, char in enumerate(text):
        if char.isalpha():
            number, suffix = text[:i], text[i:]
            break
    if suffix[:1] in ("e", "E") and suffix[1:].lstrip("+-").isdigit():
        return float(number) * 10.0 ** int(suffix[1:])
    return float(number) * _MULTIPLIERS[suffix]
