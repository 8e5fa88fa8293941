"""Who scrapes, pushes to, queries and alerts whom: a graph derived from the rendered objects alone.

Nothing here is drawn by hand.  Every edge comes from a config file a pod actually loads (found the
way `validate` finds it: `--config.file` through volumeMounts to a ConfigMap key) or from Grafana's
mounted datasource files, and every address is resolved the way cluster DNS would resolve it:

* Prometheus `scrape_configs`: a static target names a Service (→ the workloads its selector picks;
  `localhost` is Prometheus itself); `kubernetes_sd_configs` are run over the rendered objects with
  the job's `keep`/`drop` relabeling, so a job that discovers rendered pods or Services points at
  their workloads.  A job whose targets are outside the render (or cannot be decided offline: node
  or ingress roles, EC2, relabeling on runtime labels such as pod names) becomes a node named
  after the job.
* Prometheus `alerting.alertmanagers` and the Loki ruler's `alertmanager_url` give `alerts` edges;
  Promtail `clients[].url` gives `pushes logs`; Grafana datasources give `queries`; Alertmanager's
  `receivers` give `notifies` edges to one node per receiver, labelled with its integrations.

`build` returns a `Graph`; `to_mermaid` and `to_dot` print it.  Order is deterministic: nodes in the
order edges first mention them (Prometheus, Alertmanager, Loki, Promtail, Grafana configs in that
order), then workloads no edge mentions, in render order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import (
    GRAFANA_DATASOURCES,
    WORKLOAD_KINDS,
    Bundle,
    ConfigFile,
    Pod,
    as_dict,
    as_list,
    dicts,
    program_of,
)
from leanvibe_stack.validate.dns import service_host, service_of

SCRAPES, ALERTS, PUSHES, QUERIES, NOTIFIES = "scrapes", "alerts", "pushes logs", "queries", "notifies"
VERBS = (SCRAPES, ALERTS, PUSHES, QUERIES, NOTIFIES)
NodeKey = tuple[str, ...]  # ("workload", kind, namespace, name) | ("job", owner, job) | ("receiver", name) | ...


@dataclass(frozen=True)
class Node:
    """One box of the diagram."""

    id: str  # unique, [A-Za-z_][A-Za-z0-9_]*: safe as a Mermaid and a DOT id
    label: str
    kind: str  # "workload" | "job" | "receiver" | "external" | "service"
    key: NodeKey


@dataclass(frozen=True)
class Edge:
    """`source --verb--> target`; `detail` says which job/datasource/URL, `via` which Service it resolved to."""

    source: str
    target: str
    verb: str
    detail: str = ""
    via: str = ""  # "Service <namespace>/<name>" when an address resolved to a rendered Service

    @property
    def label(self) -> str:
        return f"{self.verb} ({self.detail})" if self.detail else self.verb


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def workload_id(self, kind: str, namespace: str, name: str) -> str | None:
        """The id of a rendered workload's node, if the graph has one."""
        key = ("workload", kind, namespace, name)
        return next((n.id for n in self.nodes if n.key == key), None)

    def edges_from(self, source: str, verb: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.source == source and (verb is None or e.verb == verb)]


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


@dataclass
class _Builder:
    bundle: Bundle
    labels: dict[NodeKey, tuple[str, str]] = field(default_factory=dict)  # key -> (label, kind)
    edges: dict[tuple[NodeKey, NodeKey, str, str], str] = field(default_factory=dict)  # -> via

    def node(self, key: NodeKey, label: str, kind: str) -> NodeKey:
        self.labels.setdefault(key, (label, kind))
        return key

    def workload(self, owner: Manifest) -> NodeKey:
        return self.node(("workload", owner.kind, owner.namespace, owner.name), _workload_label(owner), "workload")

    def edge(self, source: NodeKey, target: NodeKey, verb: str, detail: str = "", via: str = "") -> None:
        self.edges.setdefault((source, target, verb, detail), via)

    def to_endpoint(self, source: NodeKey, verb: str, detail: str, host: str, namespace: str, shown: str) -> None:
        """An edge to whatever `host` resolves to: rendered workloads, a rendered Service, or an outside node."""
        service = resolve_service(self.bundle, host, namespace)
        if service is None:
            self.edge(source, self.node(("external", shown), shown, "external"), verb, detail)
            return
        via = f"Service {service.namespace}/{service.name}"
        owners = service_workloads(self.bundle, service)
        if not owners:
            target = self.node(("service", service.namespace, service.name), f"Service {service.name}", "service")
            self.edge(source, target, verb, detail, via)
        for owner in owners:
            self.edge(source, self.workload(owner), verb, detail, via)

    def graph(self) -> Graph:
        ordered: list[NodeKey] = []
        for source, target, _, _ in self.edges:
            ordered.extend(k for k in (source, target) if k not in ordered)
        for owner in self.bundle.of_kind(*WORKLOAD_KINDS):
            key = self.workload(owner)
            if key not in ordered:
                ordered.append(key)
        ids = _unique_ids(ordered, self.labels)
        nodes = [Node(ids[key], self.labels[key][0], self.labels[key][1], key) for key in ordered]
        edges = [Edge(ids[s], ids[t], verb, detail, via) for (s, t, verb, detail), via in self.edges.items()]
        return Graph(nodes, edges)


def build(manifests: list[Manifest] | Bundle) -> Graph:
    """The graph of a rendered stack (or any set of objects `validate` would accept)."""
    bundle = manifests if isinstance(manifests, Bundle) else Bundle(manifests)
    builder = _Builder(bundle)
    configs = {program: _configs(bundle, program) for program in ("prometheus", "alertmanager", "loki", "promtail")}
    for config in configs["prometheus"]:
        _prometheus(builder, config)
    for config in configs["loki"]:
        _loki(builder, config)
    for config in configs["promtail"]:
        _promtail(builder, config)
    _grafana(builder)
    for config in configs["alertmanager"]:
        _alertmanager(builder, config)
    return builder.graph()


def _configs(bundle: Bundle, program: str) -> list[ConfigFile]:
    """One parsed config per workload (replicas and sidecars of one workload share it)."""
    found: dict[tuple[str, str, str], ConfigFile] = {}
    for config in bundle.configs:
        if config.program == program and isinstance(config.data, dict):
            owner = config.pod.owner
            found.setdefault((owner.kind, owner.namespace, owner.name), config)
    return list(found.values())


def _prometheus(builder: _Builder, config: ConfigFile) -> None:
    source = builder.workload(config.pod.owner)
    namespace = config.pod.namespace
    for job in dicts(config.data.get("scrape_configs")):
        _scrape_job(builder, config, source, job)
    for i, am in enumerate(dicts(as_dict(config.data.get("alerting")).get("alertmanagers"))):
        for static in dicts(am.get("static_configs")):
            for target in as_list(static.get("targets")):
                host = _host_of_target(str(target))
                builder.to_endpoint(source, ALERTS, "", host, namespace, str(target))
        for dns in dicts(am.get("dns_sd_configs")):
            for name in as_list(dns.get("names")):
                builder.to_endpoint(source, ALERTS, "", _srv_host(str(name)), namespace, str(name))
        for sd in dicts(am.get("kubernetes_sd_configs")):
            owners = discovered_workloads(builder.bundle, sd, as_list(am.get("relabel_configs")), namespace)
            for owner in owners or []:
                builder.edge(source, builder.workload(owner), ALERTS)
            if not owners:
                label = f"alertmanagers[{i}] (kubernetes_sd: {sd.get('role', '?')})"
                builder.edge(source, builder.node(("external", label), label, "external"), ALERTS)


def _scrape_job(builder: _Builder, config: ConfigFile, source: NodeKey, job: dict[str, Any]) -> None:
    name = str(job.get("job_name", ""))
    namespace = config.pod.namespace
    relabels = as_list(job.get("relabel_configs"))
    detail = f"job {name}"
    outside: list[str] = []  # how the job finds targets the render does not hold
    for static in dicts(job.get("static_configs")):
        for target in as_list(static.get("targets")):
            host = _host_of_target(str(target))
            if host in ("localhost", "127.0.0.1", "[::1]"):
                builder.edge(source, source, SCRAPES, detail)
                continue
            service = resolve_service(builder.bundle, host, namespace)
            owners = service_workloads(builder.bundle, service) if service else []
            if service is None or not owners:
                outside.append(str(target))
                continue
            for owner in owners:
                builder.edge(source, builder.workload(owner), SCRAPES, detail,
                             f"Service {service.namespace}/{service.name}")
    for key, value in job.items():
        if not key.endswith("_sd_configs"):
            continue
        mechanism = key.removesuffix("_configs")
        for sd in dicts(value):
            discovered = discovered_workloads(builder.bundle, sd, relabels, namespace) \
                if key == "kubernetes_sd_configs" else None
            for owner in discovered or []:
                builder.edge(source, builder.workload(owner), SCRAPES, detail)
            if not discovered:
                role = f": {sd['role']}" if key == "kubernetes_sd_configs" and "role" in sd else ""
                outside.append(f"{mechanism}{role}")
    if outside:
        label = f"job {name} ({', '.join(dict.fromkeys(outside))})"
        builder.edge(source, builder.node(("job", *source[1:], name), label, "job"), SCRAPES)


def _loki(builder: _Builder, config: ConfigFile) -> None:
    ruler = as_dict(config.data.get("ruler"))
    for url in str(ruler.get("alertmanager_url", "") or "").split(","):
        host = urlsplit(url.strip()).hostname
        if host:
            builder.to_endpoint(builder.workload(config.pod.owner), ALERTS, "ruler", _srv_host(host),
                                config.pod.namespace, url.strip())


def _promtail(builder: _Builder, config: ConfigFile) -> None:
    for client in dicts(config.data.get("clients")):
        url = str(client.get("url", ""))
        host = urlsplit(url).hostname
        if host:
            builder.to_endpoint(builder.workload(config.pod.owner), PUSHES, "", host, config.pod.namespace, url)


def _grafana(builder: _Builder) -> None:
    for pod in builder.bundle.pods:
        for _, container in pod.containers():
            if program_of(container) != "grafana":
                continue
            for mounted in builder.bundle.mounted_files(pod, container):
                if not (mounted.path.startswith(GRAFANA_DATASOURCES) and mounted.path.endswith((".yaml", ".yml"))):
                    continue
                text = mounted.text()
                data = _parse(text) if text is not None else None
                for datasource in dicts(as_dict(data).get("datasources")):
                    url = str(datasource.get("url", ""))
                    host = urlsplit(url).hostname
                    if host:
                        detail = str(datasource.get("name") or datasource.get("type") or "")
                        builder.to_endpoint(builder.workload(pod.owner), QUERIES, detail, host, pod.namespace, url)


def _alertmanager(builder: _Builder, config: ConfigFile) -> None:
    source = builder.workload(config.pod.owner)
    for receiver in dicts(config.data.get("receivers")):
        name = str(receiver.get("name", ""))
        kinds = [key.removesuffix("_configs") for key, value in receiver.items()
                 if key.endswith("_configs") and value]
        label = f"receiver {name}: {', '.join(kinds) if kinds else 'no integrations'}"
        builder.edge(source, builder.node(("receiver", *source[1:], name), label, "receiver"), NOTIFIES)


def _parse(text: str) -> Any:
    from leanvibe_stack import yamlio

    try:
        return yamlio.load(text)
    except yamlio.YAMLError:
        return None


# --------------------------------------------------------------------------------------------
# Addresses → Services → workloads
# --------------------------------------------------------------------------------------------


def _host_of_target(target: str) -> str:
    """The host of a `host:port` target (IPv6 in brackets kept)."""
    if target.startswith("["):
        return target[: target.find("]") + 1]
    return target.rpartition(":")[0] if ":" in target else target


def _srv_host(host: str) -> str:
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


# --------------------------------------------------------------------------------------------
# kubernetes_sd_configs over the rendered objects
# --------------------------------------------------------------------------------------------

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
    from leanvibe_stack.validate.routing import go_regex

    labels = dict(meta)
    for rule in dicts(relabels):
        action = str(rule.get("action", "replace")).lower()
        if action in ("keep", "drop"):
            values = [_value(labels, str(name), role) for name in as_list(rule.get("source_labels"))]
            if any(v is None for v in values):
                return None
            joined = str(rule.get("separator", ";")).join(v or "" for v in values)
            try:
                matched = re.match(go_regex(str(rule.get("regex", "(.*)"))), joined) is not None
            except re.error:
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
    "pod": ("pod_label_", "pod_labelpresent_", "pod_annotation_", "pod_annotationpresent_"),
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


# --------------------------------------------------------------------------------------------
# Ids and labels
# --------------------------------------------------------------------------------------------


def _workload_label(owner: Manifest) -> str:
    return f"{owner.name} ({owner.kind})"


_ID_PREFIX = {"workload": "", "job": "job_", "receiver": "receiver_", "external": "ext_", "service": "svc_"}
_RESERVED = {"end", "graph", "subgraph", "flowchart", "node", "edge", "digraph", "strict", "style", "class",
             "classdef", "click", "linkstyle", "default"}


def _unique_ids(keys: Iterable[NodeKey], labels: Mapping[NodeKey, tuple[str, str]]) -> dict[NodeKey, str]:
    ids: dict[NodeKey, str] = {}
    taken: set[str] = set()
    for key in keys:
        kind = labels[key][1]
        base = _sanitize(_ID_PREFIX[kind] + (key[-1] if kind != "external" else key[1]))
        if kind == "workload" and base in taken:
            base = _sanitize(f"{key[2]}_{key[3]}")
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        ids[key] = candidate
        taken.add(candidate)
    return ids


def _sanitize(text: str) -> str:
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", text)).strip("_") or "node"
    if cleaned[0].isdigit() or cleaned.lower() in _RESERVED:
        cleaned = f"n_{cleaned}"
    return cleaned


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def to_mermaid(graph: Graph, title: str = "") -> str:
    """A Mermaid `flowchart LR`: `id["label"]` nodes and `a -->|"label"| b` edges, labels quoted."""
    lines = ["flowchart LR"]
    if title:
        lines.append(f"    %% {title}")
    lines += [f'    {node.id}["{_mermaid_text(node.label)}"]' for node in graph.nodes]
    lines += [f'    {e.source} -->|"{_mermaid_text(e.label)}"| {e.target}' for e in graph.edges]
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace("#", "#35;").replace('"', "#quot;").replace("\n", " ")


_DOT_SHAPES = {"workload": "box", "job": "ellipse", "receiver": "note", "external": "box", "service": "box"}


def to_dot(graph: Graph, title: str = "stack") -> str:
    """A Graphviz `digraph`: every id and label quoted."""
    lines = [f"digraph {_dot_text(title)} {{", "    rankdir=LR;", "    node [shape=box];"]
    for node in graph.nodes:
        style = ', style="dashed"' if node.kind in ("external", "job") else ""
        lines.append(f"    {_dot_text(node.id)} [label={_dot_text(node.label)}, "
                     f"shape={_DOT_SHAPES[node.kind]}{style}];")
    for edge in graph.edges:
        tooltip = f", tooltip={_dot_text(edge.via)}" if edge.via else ""
        lines.append(f"    {_dot_text(edge.source)} -> {_dot_text(edge.target)} [label={_dot_text(edge.label)}"
                     f"{tooltip}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
