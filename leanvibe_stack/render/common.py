"""What every component renderer shares: identity, names, DNS, images, checksums, policies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_json_string  # what json.dumps uses (C)
from typing import Any

from pydantic import BaseModel

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.ingress import GuardedUiIngress, UiIngress
from leanvibe_stack.models.stack import GlobalSettings
from leanvibe_stack.models.workload import ConfigReloader, Image, Workload
from leanvibe_stack.render.engine import render_object

PART_OF = "leanvibe-stack"
# The label that tells Prometheus replicas apart: every series, alert and remote read carries this replica's pod
# name (Prometheus 3 expands $VAR in external labels; POD_NAME comes from the downward API).  Alertmanager
# drops it to merge the replicas' alerts; Thanos Query deduplicates on it.
REPLICA_LABEL = "replica"


def yaml_file(data: Any) -> str:
    """An embedded config file's text, serialized from its model (never hand-indented)."""
    return yamlio.dump(data)


def indented_json(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, in half its time for parsed JSON (the standard
    library's C encoder does not indent; its Python one takes 0.1 s for 200 dashboards).  A value of any
    other type than JSON's own goes to json.dumps whole, so the text is always the standard library's."""
    try:
        return _indented(value, "\n")
    except _NotJson:
        return json.dumps(value, indent=2, ensure_ascii=False)


class _NotJson(Exception):
    """A value json.dumps would write some other way (a tuple, a str subclass, a key that is not text...)."""


_JSON_CONSTANTS = {None: "null", True: "true", False: "false"}


def _indented(value: Any, newline: str) -> str:
    kind = type(value)
    if kind is str:
        return encode_json_string(value)
    if kind is dict or kind is list:
        if not value:
            return "{}" if kind is dict else "[]"
        inner = newline + "  "
        if kind is dict:
            items = [f"{encode_json_string(_json_key(key))}: {_indented(item, inner)}" for key, item in value.items()]
            return "{" + inner + ("," + inner).join(items) + newline + "}"
        return "[" + inner + ("," + inner).join(_indented(item, inner) for item in value) + newline + "]"
    if kind is int:
        return int.__repr__(value)
    if kind is float and value == value and value not in (float("inf"), float("-inf")):
        return float.__repr__(value)
    if kind is bool or value is None:
        return _JSON_CONSTANTS[value]
    raise _NotJson(kind)


def _json_key(key: Any) -> str:
    if type(key) is not str:
        raise _NotJson(type(key))  # json.dumps writes other keys as text of its own making
    return key


@dataclass(frozen=True)
class Component:
    """Identity of one component: the source of its object names, labels and DNS names."""

    name: str
    role: str
    instance: str
    version: str
    namespace: str
    cluster_domain: str
    # The profile's extra labels of the component (`labels`), on every object and pod beside the stack's own.
    extra_labels: tuple[tuple[str, str], ...] = ()

    @property
    def headless(self) -> str:
        """Name of the headless Service that gives each StatefulSet pod a stable DNS name."""
        return f"{self.name}-headless"

    def fqdn(self, service: str | None = None) -> str:
        """Cluster DNS name of one of this component's Services."""
        return f"{service or self.name}.{self.namespace}.svc.{self.cluster_domain}"

    def pod_fqdn(self, ordinal: int) -> str:
        """Stable DNS name of StatefulSet pod number `ordinal`."""
        return f"{self.name}-{ordinal}.{self.fqdn(self.headless)}"

    def labels(self) -> dict[str, str]:
        """Labels of every object of this component: the stack's recommended labels, then the profile's."""
        return {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/version": self.version,
            "app.kubernetes.io/component": self.role,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": PART_OF,
            **dict(self.extra_labels),
        }

    def selector(self) -> dict[str, str]:
        """Labels that select this component's pods: never the version, so upgrades keep matching."""
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.instance}


def component(name: str, role: str, instance: str, workload: Workload, settings: GlobalSettings,
              namespace: str | None = None) -> Component:
    return Component(
        name=name,
        role=role,
        instance=instance,
        version=workload.image.version,
        namespace=namespace or settings.namespace,
        cluster_domain=settings.cluster_domain,
        extra_labels=tuple(sorted(workload.labels.items())),
    )


def service_account(c: Component, workload: Workload, automount: bool) -> Manifest:
    """The component's ServiceAccount, with the profile's annotations (e.g. the cloud IAM role it assumes)."""
    return render_object("common/serviceaccount.yaml.j2", c.name, c=c, automount=automount,
                         annotations=workload.service_account_annotations)


def ui_host(c: Component, settings: GlobalSettings) -> str:
    """Host name of a component's web UI: in its external URL, and the host its Ingress serves."""
    return f"{c.name}.{settings.external_url_base}"


def ui_ingress(c: Component, settings: GlobalSettings, ingress: UiIngress, port: str) -> Manifest:
    """The Ingress of a web UI: HTTPS for its external host, every path to the component's Service `port`."""
    annotations = dict(ingress.annotations)
    if isinstance(ingress, GuardedUiIngress):
        annotations["leanvibe.ai/authentication"] = ingress.authentication
    return render_object("common/ingress.yaml.j2", c.name, c=c, ingress=ingress, host=ui_host(c, settings),
                         port=port, annotations=annotations)


def kubernetes_shape(model: BaseModel) -> Any:
    """A profile model that mirrors a Kubernetes type (models/pods.py), as the API spells it."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def pod_placement(workload: Workload, spread: Component | None = None) -> dict[str, Any]:
    """The pod-spec fields that say where the pods run (nodeSelector, affinity, tolerations, priorityClassName).

    `spread`: the replicas of this component prefer different nodes by default (a node failure takes one of
    them); the profile's podAntiAffinity, if any, replaces that default, its other affinities add to it.
    """
    affinity: dict[str, Any] = {}
    if spread:
        affinity["podAntiAffinity"] = {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"labelSelector": {"matchLabels": spread.selector()},
                                "topologyKey": "kubernetes.io/hostname"},
        }]}
    if workload.affinity:
        affinity.update(kubernetes_shape(workload.affinity))
    placement: dict[str, Any] = {
        "nodeSelector": dict(workload.node_selector),
        "affinity": affinity,
        "tolerations": [kubernetes_shape(toleration) for toleration in workload.tolerations],
        "priorityClassName": workload.priority_class_name,
    }
    return {field: value for field, value in placement.items() if value}


def image_ref(image: Image, settings: GlobalSettings) -> str:
    registry = (settings.image_registry or image.registry).rstrip("/")
    return f"{registry}/{image.repository}:{image.tag}" + (f"@{image.digest}" if image.digest else "")


def checksum(*configs: Any) -> str:
    """sha256 of the configuration a pod mounts that its program cannot reload, so a change to it rolls the
    pods (what a program re-reads in place stays out of it: README, Reloads)."""
    text = json.dumps(configs, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Peer:
    """Pods allowed to connect to a component (a NetworkPolicy `from` entry)."""

    component: Component | None = None
    namespace: str | None = None

    def as_policy_peer(self, own_namespace: str) -> dict[str, Any]:
        peer: dict[str, Any] = {}
        namespace = self.component.namespace if self.component else self.namespace
        if namespace and namespace != own_namespace:
            peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
        if self.component:
            peer["podSelector"] = {"matchLabels": self.component.selector()}
        return peer


@dataclass(frozen=True)
class IngressRule:
    """Who may connect to which ports of a component."""

    ports: list[tuple[int, str]]
    peers: list[Peer] = field(default_factory=list)

    def as_policy_rule(self, own_namespace: str) -> dict[str, Any]:
        return {
            "from": [peer.as_policy_peer(own_namespace) for peer in self.peers],
            "ports": [{"protocol": protocol, "port": port} for port, protocol in self.ports],
        }


def ui_peers(settings: GlobalSettings) -> list[Peer]:
    """Namespaces allowed to reach the web UIs (e.g. an ingress controller's)."""
    return [Peer(namespace=ns) for ns in settings.network_policy.ui_namespaces]


# The container-level restricted Pod Security Standard (the pod level comes from the pod's securityContext).
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]}}


def reloader_container(reloader: ConfigReloader, settings: GlobalSettings, port: int,
                       mounts: list[tuple[str, str]]) -> dict[str, Any]:
    """The config-reloader sidecar: watches the mounted config directories (`mounts`: volume name, path) and
    POSTs the program's /-/reload on the pod's loopback, the only address it calls; it serves nothing itself
    (no --listen-address), so it opens no port."""
    return {
        "name": "config-reloader",
        "image": image_ref(reloader.image, settings),
        "imagePullPolicy": settings.image_pull_policy,
        "args": [f"--reload-url=http://127.0.0.1:{port}/-/reload",
                 *(f"--watched-dir={path}" for _, path in mounts)],
        "resources": reloader.resources.model_dump(mode="json"),
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": name, "mountPath": path, "readOnly": True} for name, path in mounts],
    }
