"""What exists in the cluster besides the objects under validation: what Kubernetes bootstraps in every
cluster (`catalogue/kubernetes-bootstrap.yaml`), and what the user declares with `validate --external FILE`.

A reference to such an object (a binding's role, a pod's Secret) is satisfied without the object being
rendered or annotated.  Objects are named as findings name them: `Kind/name` for cluster-scoped ones,
`Kind/namespace/name` for the others.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from leanvibe_stack import yamlio
from leanvibe_stack.errors import InputError

ObjectKey = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name

# Objects of every namespace: the ServiceAccount the API server's admission gives each namespace, and the
# root CA bundle root-ca-cert-publisher writes into each (controller_policy.go names both controllers).
IN_EVERY_NAMESPACE = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
CONTROLLER_ROLE = "system:controller:"


def parse_ref(text: str) -> ObjectKey | None:
    """`Kind/name` or `Kind/namespace/name` as a key; None when the text is neither."""
    parts = text.strip().split("/")
    if len(parts) == 2 and all(parts):
        return parts[0], "", parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    return None


@functools.cache
def bootstrap() -> frozenset[ObjectKey]:
    """The objects every cluster has: the catalogue's, and each controller role's binding of the same name."""
    text = resources.files("leanvibe_stack.validate").joinpath("catalogue", "kubernetes-bootstrap.yaml") \
        .read_text(encoding="utf-8")
    keys = set()
    for entry in yamlio.load(text)["objects"]:
        key = parse_ref(str(entry))
        if key is None:
            raise ValueError(f"kubernetes-bootstrap.yaml: {entry!r} is not Kind/name or Kind/namespace/name")
        keys.add(key)
        if key[0] == "ClusterRole" and key[2].startswith(CONTROLLER_ROLE):
            keys.add(("ClusterRoleBinding", "", key[2]))
    return frozenset(keys)


@dataclass(frozen=True)
class Cluster:
    """The objects known to exist outside the bundle."""

    declared: frozenset[ObjectKey] = field(default_factory=frozenset)

    def has(self, kind: str, namespace: str, name: str) -> bool:
        key = (kind, namespace, name)
        return key in self.declared or key in bootstrap() or (bool(namespace) and (kind, name) in IN_EVERY_NAMESPACE)


def load_external(paths: list[Path]) -> Cluster:
    """The objects `--external FILE` declares.  A file holds either a YAML list of `Kind/namespace/name`
    (`Kind/name` when cluster-scoped), or Kubernetes objects (`kubectl get secrets -A -o yaml` output, a
    List or a multi-document stream), of which only kind, namespace and name are read."""
    keys: set[ObjectKey] = set()
    for path in paths:
        keys |= _keys(path)
    return Cluster(frozenset(keys))


def _keys(path: Path) -> set[ObjectKey]:
    try:
        text = path.read_text(encoding="utf-8")
        nodes = [node for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None]
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: --external: cannot read: {error}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{where}: --external: not valid YAML: {getattr(error, 'problem', error)}") from error
    keys: set[ObjectKey] = set()
    for node in nodes:
        if isinstance(node, yaml.SequenceNode):
            keys |= {_entry(path, item) for item in node.value}
        elif isinstance(node, yaml.MappingNode):
            keys |= _objects(path, node, yaml.SafeLoader("").construct_document(node))
        else:
            raise InputError(f"{path}:{node.start_mark.line + 1}: --external: expected a list of Kind/namespace/name "
                             "or Kubernetes objects")
    return keys


def _entry(path: Path, node: yaml.Node) -> ObjectKey:
    key = parse_ref(node.value) if isinstance(node, yaml.ScalarNode) else None
    if key is None:
        raise InputError(f"{path}:{node.start_mark.line + 1}: --external: an entry is Kind/namespace/name "
                         f"(Kind/name when cluster-scoped), e.g. Secret/monitoring/smtp")
    return key


def _objects(path: Path, node: yaml.Node, document: Any) -> set[ObjectKey]:
    items = document.get("items") if str(document.get("kind", "")).endswith("List") else [document]
    keys = set()
    for item in items if isinstance(items, list) else []:
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(metadata, dict) or not item.get("kind") or not metadata.get("name"):
            raise InputError(f"{path}:{node.start_mark.line + 1}: --external: every object needs kind and "
                             "metadata.name")
        keys.add((str(item["kind"]), str(metadata.get("namespace") or ""), str(metadata["name"])))
    return keys
