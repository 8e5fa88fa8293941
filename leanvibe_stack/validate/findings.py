"""What every check reports: a Finding with a stable check id, the object and the path."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from leanvibe_stack.manifest import Manifest

Severity = Literal["error", "warning"]
PathPart = str | int
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which Kubernetes object a finding is about."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: Manifest) -> ObjectRef:
        return cls(manifest.kind, manifest.namespace, manifest.name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Finding:
    """One problem: `check` is a stable id (documented in the README), `path` a JSON or config path."""

    check: str
    severity: Severity
    object: ObjectRef | None
    path: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["object"] = asdict(self.object) if self.object else None
        return data

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (str(self.object or ""), self.check, self.path, self.severity, self.message)


def error(check: str, obj: ObjectRef | None, path: str, message: str) -> Finding:
    return Finding(check, "error", obj, path, message)


def warning(check: str, obj: ObjectRef | None, path: str, message: str) -> Finding:
    return Finding(check, "warning", obj, path, message)


def json_path(parts: Sequence[PathPart]) -> str:
    """`spec.template.spec.containers[0].ports[0].containerPort`; keys with dots or slashes are quoted:
    `metadata.labels["app.kubernetes.io/name"]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def show(value: Any, limit: int = 60) -> str:
    """A value as JSON, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = str(value)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
