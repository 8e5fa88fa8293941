"""The value every stage passes on: one Kubernetes object and where it came from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Manifest:
    """A rendered Kubernetes object, the component it belongs to and its source template."""

    obj: dict[str, Any]
    component: str
    source: str

    # Read defensively: `validate PATH` hands over objects that may lack any of these.
    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self._metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self._metadata.get("namespace", ""))

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity of the object in a cluster: (apiVersion, kind, namespace, name)."""
        return (str(self.obj.get("apiVersion", "")), self.kind, self.namespace, self.name)

    @property
    def _metadata(self) -> dict[str, Any]:
        metadata = self.obj.get("metadata")
        return metadata if isinstance(metadata, dict) else {}


def json_size(value: Any) -> int:
    """Bytes of `value` as Go's encoding/json writes it compactly (the encoder kubectl uses).

    The measure of what the API server and client-side `kubectl apply` accept: the renderer packs rule
    files by it and `validate` checks object sizes with it.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    # Python writes `<`, `>`, `&`, U+2028 and U+2029 raw; Go escapes them as \u003c, \u003e, \u0026, \u2028, \u2029.
    escaped = 5 * (text.count("<") + text.count(">") + text.count("&")) + 3 * (text.count("\u2028")
                                                                               + text.count("\u2029"))
    return len(text.encode("utf-8", "surrogatepass")) + escaped
