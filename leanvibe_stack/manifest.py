"""The value every stage passes on: one Kubernetes object and where it came from."""

from __future__ import annotations

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
