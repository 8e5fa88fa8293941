"""Where an address leads in the rendered objects: host → Service → workloads, and which workloads a
`kubernetes_sd_configs` entry with the job's keep/drop relabeling discovers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle, Pod, as_dict, as_list, dicts
from leanvibe_stack.validate.dns import service_host, service_of


def host_of_target(target: str) -> str:
    """The host of a `host:port` target (IPv6 in brackets kept)."""
    if target.startswith("["):
        return target[: target.find("]") + 1]
    return target.rpartition(":")[0] if ":" in target else target


def srv_host(host: str) -> str:
    """`_http._tcp.alertmanager-headless.ns.svc` (an SRV name) → the Service's own name."""
    labels = host.split(".")
    if len(labels) > 2 and labels[0].startswith("_") and labels[1] in ("_tcp", "_udp"):
        return ".".join(labels[2:])
    return host


def resolve_service(bundle: Bundle, host: str, client_namespace: str) -> Manifest | None:
    """The rendered Service a host names, as cluster DNS resolves it from a pod in `client_namespace`.

    Read by `validate.dns` (the reading `url.unresolved` uses): `svc`, `svc.ns`, `svc.ns.svc[.DOMAIN]`,
    `<pod>.svc` and `<pod>.svc.ns.svc...` (StatefulSet pod names); an SRV name (`_port._tcp.svc...`)
    resolves to its Service.  Any DOMAIN is taken for the cluster's, since only a rendered Service is
    returned.  None for an address outside the cluster or a Service the render does not hold.
    """
    name = service_host(host)
    if name is None:
        return None
    service, namespace = service_of(bundle, name, client_namespace)
    return bundle.get("Service", namespace, service)


def service_workloads(bundle: Bundle, service: Manifest) -> list[Manifest]:
    """The workloads owning the pods a Service's selector picks (none for a selector-less Service)."""
    selector = as_dict(as_dict(service.obj.get("spec")).get("selector"))
    if not selector:
        return []
    owners: list[Manifest] = []
    for pod in bundle.pods:
        if pod.namespace == service.namespace and all(pod.labels.get(k) == v for k, v in selector.items()) \
                and pod.owner not in owners:
            owners.append(pod.owner)
    return owners


# --- kubernetes_sd_configs over the rendered objects --------------------------------------------------

_UNKNOWN = None  # a label whose value exists only at runtime (pod names, IPs, node names)
_NAME_RE = re.compile(r"[^a-zA-Z0-9_]")
META = "__meta_kubernetes_"


def discovered_workloads(bundle: Bundle, sd: Mapping[str, Any], relabels: list[Any],
                         own_namespace: str) -> list[Manifest] | None:
    """The rendered workloads a `kubernetes_sd_configs` entry plus the job's keep/drop relabeling selects.

    Targets are built per role (`pod`, `service`, `endpoints`) with the meta labels Prometheus would
    attach that are known before deployment.  None when the answer cannot be decided offline: another
    role, `selectors`, or a keep/drop rule reading a label whose value exists only at runtime.
    """
    role = str(sd.get("role", ""))
    if role not in ("pod", "service", "endpoints") or sd.get("selectors") or sd.get("api_server"):
        return None
    namespaces = _namespaces(sd, own_namespace)
    targets = [(owner, meta) for owner, meta in _targets(bundle, role)
               if namespaces is None or meta[f"{META}namespace"] in namespaces]
    found: list[Manifest] = []
    for owner, meta in targets:
        kept = _keeps(meta, relabels, role)
        if kept is None:
            return None
        if kept and owner not in found:
            found.append(owner)
    return found


def _namespaces(sd: Mapping[str, Any], own_namespace: str) -> set[str] | None:
    spec = as_dict(sd.get("namespaces"))
    names = {str(n) for n in as_list(spec.get("names"))}
    if spec.get("own_namespace") is True:
        names.add(own_namespace)
    return names or None


def _keeps(meta: dict[str, str | None], relabels: list[Any], role: str) -> bool | None:
    """Whether the target survives the job's relabeling; None when a rule reads a runtime-only label."""
    from leanvibe_stack import goregex

    labels = dict(meta)
    for rule in dicts(relabels):
        action = str(rule.get("action", "replace")).lower()
        if action in ("keep", "drop"):
            values = [_value(labels, str(name), role) for name in as_list(rule.get("source_labels"))]
            if any(v is None for v in values):
                return None
            joined = str(rule.get("separator", ";")).join(v or "" for v in values)
            try:  # Prometheus 3 anchors relabel regexes as ^(?s:regex)$
                matched = goregex.compile(str(rule.get("regex", "(.*)")), dot_nl=True).fullmatch(joined)
            except goregex.GoRegexError:
                return None
            if matched != (action == "keep"):
                return False
        elif action in ("keepequal", "dropequal", "labelkeep", "labeldrop"):
            return None
        elif "target_label" in rule:  # replace, hashmod, lowercase, uppercase: the value is now ours to not know
            labels[str(rule["target_label"])] = _UNKNOWN
    return True


# Label families that are simply absent (the empty string) when an object lacks the key.
_FAMILIES = {
    # A container without ports is one target with no port labels at all.
    "pod": ("pod_label_", "pod_labelpresent_", "pod_annotation_", "pod_annotationpresent_", "pod_container_port_"),
    "service": ("service_label_", "service_labelpresent_", "service_annotation_", "service_annotationpresent_"),
    "endpoints": ("service_label_", "service_labelpresent_", "service_annotation_", "service_annotationpresent_",
                  "endpoints_label_", "endpoints_labelpresent_", "endpoints_annotation_",
                  "endpoints_annotationpresent_", "pod_label_", "pod_labelpresent_", "pod_annotation_",
                  "pod_annotationpresent_"),
}


def _value(labels: dict[str, str | None], name: str, role: str) -> str | None:
    if name in labels:
        return labels[name]
    if name.startswith(META) and name.removeprefix(META).startswith(_FAMILIES[role]):
        return ""
    return _UNKNOWN


def _targets(bundle: Bundle, role: str) -> Iterator[tuple[Manifest, dict[str, str | None]]]:
    if role == "pod":
        for pod in bundle.pods:
            yield from ((pod.owner, meta) for meta in _pod_targets(pod))
        return
    for service in bundle.of_kind("Service"):
        base = {f"{META}namespace": service.namespace, f"{META}service_name": service.name,
                **_map_labels("service", _metadata(service, "labels"), _metadata(service, "annotations"))}
        spec = as_dict(service.obj.get("spec"))
        owners = service_workloads(bundle, service)
        for port in dicts(spec.get("ports")):
            if role == "service":
                meta = {**base, f"{META}service_port_name": str(port.get("name", "")),
                        f"{META}service_port_number": str(port.get("port", "")),
                        f"{META}service_port_protocol": str(port.get("protocol", "TCP")),
                        f"{META}service_type": str(spec.get("type", "ClusterIP"))}
                yield from ((owner, meta) for owner in owners)
                continue
            for pod in (p for p in bundle.pods if p.owner in owners):
                meta = {**base, f"{META}endpoints_name": service.name,
                        **_map_labels("endpoints", _metadata(service, "labels"), {}),
                        f"{META}endpoint_port_name": str(port.get("name", "")),
                        f"{META}endpoint_port_protocol": str(port.get("protocol", "TCP")),
                        f"{META}endpoint_address_target_kind": "Pod",
                        **_map_labels("pod", pod.labels, pod.annotations)}
                yield pod.owner, meta


def _pod_targets(pod: Pod) -> Iterator[dict[str, str | None]]:
    base: dict[str, str | None] = {f"{META}namespace": pod.namespace, **_map_labels("pod", pod.labels,
                                                                                     pod.annotations)}
    controller = {"Deployment": ("ReplicaSet", _UNKNOWN), "StatefulSet": ("StatefulSet", pod.owner.name),
                  "DaemonSet": ("DaemonSet", pod.owner.name), "Job": ("Job", pod.owner.name)}.get(pod.owner.kind)
    if controller:
        base[f"{META}pod_controller_kind"], base[f"{META}pod_controller_name"] = controller
    for container in dicts(pod.spec.get("containers")):
        meta = {**base, f"{META}pod_container_name": str(container.get("name", "")),
                f"{META}pod_container_image": str(container.get("image", "")),
                f"{META}pod_container_init": "false"}
        ports = dicts(container.get("ports"))
        if not ports:
            yield meta
        for port in ports:
            yield {**meta, f"{META}pod_container_port_name": str(port.get("name", "")),
                   f"{META}pod_container_port_number": str(port.get("containerPort", "")),
                   f"{META}pod_container_port_protocol": str(port.get("protocol", "TCP"))}


def _metadata(manifest: Manifest, key: str) -> dict[str, Any]:
    return as_dict(as_dict(manifest.obj.get("metadata")).get(key))


def _map_labels(prefix: str, labels: Mapping[str, Any], annotations: Mapping[str, Any]) -> dict[str, str | None]:
    meta: dict[str, str | None] = {}
    for family, mapping in (("label", labels), ("annotation", annotations)):
        for key, value in mapping.items():
            name = _NAME_RE.sub("_", str(key))
            meta[f"{META}{prefix}_{family}_{name}"] = str(value)
            meta[f"{META}{prefix}_{family}present_{name}"] = "true"
    return meta
