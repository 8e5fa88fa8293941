"""Changes the API server refuses on update, and the way through each.

`kubectl apply` sends a changed object as an update; for these fields the API server answers
"field is immutable" (or "Forbidden: updates to statefulset spec for fields other than ...") and the
whole apply of that object fails, so a diff must say so before anyone applies it.  Sources: the
Kubernetes API reference and the validation of each kind (apps/v1 Deployment, ReplicaSet, DaemonSet
and StatefulSet; batch/v1 Job; core/v1 Service, PersistentVolumeClaim, ConfigMap, Secret and Pod;
rbac.authorization.k8s.io/v1 RoleBinding and ClusterRoleBinding).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.quantities import quantity_bytes

# What a StatefulSet update may change; the API server forbids every other spec field.
STATEFULSET_MUTABLE = frozenset({"replicas", "ordinals", "template", "updateStrategy",
                                 "persistentVolumeClaimRetentionPolicy", "minReadySeconds"})
SELECTOR_KINDS = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job")


@dataclass(frozen=True)
class Refusal:
    """One change the API server refuses: the field and how to apply the new object anyway.

    With `check` set, the API server would accept the change but it must not be applied as it is
    (it rewrites how stored data is read, see stored_data.py); `check` names the rule.
    """

    field: str
    way_through: str
    check: str = ""


def refusals(old: Manifest, new: Manifest) -> tuple[Refusal, ...]:
    """Every change from `old` to `new` that an update of the object cannot make."""
    if old.kind != new.kind:
        return ()
    return tuple(_refusals(old.kind, old.obj, new.obj, new))


def _refusals(kind: str, old: dict[str, Any], new: dict[str, Any], manifest: Manifest) -> Iterator[Refusal]:
    before, after = _dict(old.get("spec")), _dict(new.get("spec"))
    where = f"-n {manifest.namespace} " if manifest.namespace else ""
    recreate = (f"delete it first, keeping its pods and volumes (`kubectl {where}delete {kind.lower()} "
                f"{manifest.name} --cascade=orphan`), then apply; delete the orphaned pods once the new ones run")
    if kind in SELECTOR_KINDS and before.get("selector") != after.get("selector"):
        yield Refusal("spec.selector", recreate)
    if kind == "StatefulSet":
        yield from _statefulset(before, after, recreate)
    elif kind == "Job" and before.get("template") != after.get("template"):
        yield Refusal("spec.template", f"delete the Job (`kubectl {where}delete job {manifest.name}`), then apply")
    elif kind == "Service":
        yield from _service(before, after, f"kubectl {where}delete service {manifest.name}")
    elif kind == "PersistentVolumeClaim":
        yield from _claim(before, after)
    elif kind in ("ConfigMap", "Secret") and old.get("immutable") is True:
        if any(old.get(key) != new.get(key) for key in ("data", "binaryData", "stringData", "immutable")):
            yield Refusal("data", f"an immutable {kind} never changes: create one under a new name and point "
                                  "its users at it, or delete and re-create it")
    elif kind in ("RoleBinding", "ClusterRoleBinding") and old.get("roleRef") != new.get("roleRef"):
        yield Refusal("roleRef", f"delete the binding (`kubectl {where}delete {kind.lower()} {manifest.name}`), "
                                 "then apply: its subjects lose the role in between")
    elif kind == "Pod" and _pod_spec_changed(before, after):
        yield Refusal("spec", f"delete the Pod (`kubectl {where}delete pod {manifest.name}`), then apply")


def _statefulset(before: dict[str, Any], after: dict[str, Any], recreate: str) -> Iterator[Refusal]:
    for field in sorted((before.keys() | after.keys()) - STATEFULSET_MUTABLE - {"selector"}):
        if before.get(field) == after.get(field):
            continue
        way = recreate
        if field == "volumeClaimTemplates":
            way = ("existing volumes keep their size and class: for a larger size, expand each PVC "
                   "(`kubectl patch pvc ...`, if its StorageClass allows expansion); then " + recreate)
        yield Refusal(f"spec.{field}", way)


def _service(before: dict[str, Any], after: dict[str, Any], delete: str) -> Iterator[Refusal]:
    external = "ExternalName"
    if before.get("clusterIP") != after.get("clusterIP") and external not in (before.get("type"),
                                                                              after.get("type")):
        yield Refusal("spec.clusterIP", f"a Service keeps its cluster IP (and headless stays headless): "
                                        f"`{delete}`, then apply; clients see it gone in between")


def _claim(before: dict[str, Any], after: dict[str, Any]) -> Iterator[Refusal]:
    for field in sorted((before.keys() | after.keys()) - {"resources", "volumeAttributesClassName"}):
        if before.get(field) != after.get(field):
            yield Refusal(f"spec.{field}", "a bound claim keeps it: create a new claim and move the data")
    old_size, new_size = (_storage(spec) for spec in (before, after))
    if old_size is not None and new_size is not None and new_size < old_size:
        yield Refusal("spec.resources.requests.storage", "a volume never shrinks: create a smaller claim and "
                                                        "move the data")


def _storage(spec: dict[str, Any]) -> float | None:
    requests = _dict(_dict(spec.get("resources")).get("requests"))
    return quantity_bytes(requests["storage"]) if "storage" in requests else None


def _pod_spec_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """A Pod's spec may change only in container images, activeDeadlineSeconds and added tolerations."""
    def fixed(spec: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations")}
        for key in ("containers", "initContainers"):
            rest[key] = [{k: v for k, v in _dict(c).items() if k != "image"} for c in rest.get(key) or []]
        return rest

    return fixed(before) != fixed(after)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
