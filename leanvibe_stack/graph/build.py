"""Builds the graph from the configs the pods load: one function per program whose config has edges."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from leanvibe_stack.graph.discovery import (
    discovered_workloads,
    host_of_target,
    resolve_service,
    service_workloads,
    srv_host,
)
from leanvibe_stack.graph.model import (
    ALERTS,
    BLOCKS,
    NOTIFIES,
    PROBES,
    PUSHES,
    QUERIES,
    SCRAPES,
    SERVES,
    TRACES,
    Edge,
    Graph,
    Node,
    NodeKey,
)
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import thanos
from leanvibe_stack.validate.bundle import (
    COLLECTOR_PROGRAMS,
    GRAFANA_DATASOURCES,
    WORKLOAD_KINDS,
    Bundle,
    ConfigFile,
    as_dict,
    as_list,
    dicts,
    is_probe_job,
    loki_outputs,
    program_of,
    scrape_address,
)


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
    programs = ("prometheus", "alertmanager", "loki", "fluent-bit", *COLLECTOR_PROGRAMS)
    configs = {program: _configs(bundle, program) for program in programs}
    for config in configs["prometheus"]:
        _prometheus(builder, config)
    for config in configs["loki"]:
        _loki(builder, config)
    for config in configs["fluent-bit"]:
        _fluent_bit(builder, config)
    for program in COLLECTOR_PROGRAMS:
        for config in configs[program]:
            _collector(builder, config)
    _grafana(builder)
    _thanos(builder)
    for config in configs["alertmanager"]:
        _alertmanager(builder, config)
    _ingresses(builder)
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
                host = host_of_target(str(target))
                builder.to_endpoint(source, ALERTS, "", host, namespace, str(target))
        for dns in dicts(am.get("dns_sd_configs")):
            for name in as_list(dns.get("names")):
                builder.to_endpoint(source, ALERTS, "", srv_host(str(name)), namespace, str(name))
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
    if is_probe_job(job):
        targets = [str(t) for static in dicts(job.get("static_configs")) for t in as_list(static.get("targets"))]
        _probe_job(builder, source, name, namespace, str(scrape_address(job)), targets)
        return
    for static in dicts(job.get("static_configs")):
        for target in as_list(static.get("targets")):
            host = host_of_target(str(target))
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


def _probe_job(builder: _Builder, source: NodeKey, name: str, namespace: str, address: str,
               targets: list[str]) -> None:
    """A job whose targets are parameters of one exporter (blackbox_exporter): Prometheus scrapes the
    exporter, and the exporter probes the targets (one node for all the job's targets)."""
    detail = f"job {name}"
    service = resolve_service(builder.bundle, host_of_target(address), namespace)
    owners = service_workloads(builder.bundle, service) if service else []
    if service is None or not owners:  # the exporter is not in the render: show where Prometheus sends it
        builder.to_endpoint(source, SCRAPES, detail, host_of_target(address), namespace, address)
        return
    probed = builder.node(("job", *source[1:], name), f"{detail} ({', '.join(targets)})", "job")
    for owner in owners:
        builder.edge(source, builder.workload(owner), SCRAPES, detail, f"Service {service.namespace}/{service.name}")
        builder.edge(builder.workload(owner), probed, PROBES, detail)


def _loki(builder: _Builder, config: ConfigFile) -> None:
    ruler = as_dict(config.data.get("ruler"))
    for url in str(ruler.get("alertmanager_url", "") or "").split(","):
        host = urlsplit(url.strip()).hostname
        if host:
            builder.to_endpoint(builder.workload(config.pod.owner), ALERTS, "ruler", srv_host(host),
                                config.pod.namespace, url.strip())


def _fluent_bit(builder: _Builder, config: ConfigFile) -> None:
    # One edge per Loki address, naming the outputs that push there.
    aliases: dict[str, list[str]] = {}
    for where, output in loki_outputs(config.data):
        url = f"http://{output.get('host', '')}:{output.get('port')}{output.get('uri', '')}"
        aliases.setdefault(url, []).append(str(output.get("alias") or where))
    for url, names in aliases.items():
        host = urlsplit(url).hostname
        if host:
            builder.to_endpoint(builder.workload(config.pod.owner), PUSHES, ", ".join(names), host,
                                config.pod.namespace, url)


def _collector(builder: _Builder, config: ConfigFile) -> None:
    """A collector-shaped program (the OpenTelemetry Collector, Jaeger) pushes traces where its exporters send."""
    source = builder.workload(config.pod.owner)
    for name, exporter in as_dict(config.data.get("exporters")).items():
        endpoint = str(as_dict(exporter).get("endpoint", ""))
        host = urlsplit(endpoint).hostname if "://" in endpoint else host_of_target(endpoint)
        if host:
            builder.to_endpoint(source, TRACES, str(name), host, config.pod.namespace, endpoint)


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


def _ingresses(builder: _Builder) -> None:
    """Each Ingress host (what users open) to the workloads behind the Services its paths send to."""
    for ingress in builder.bundle.of_kind("Ingress"):
        for rule in dicts(as_dict(ingress.obj.get("spec")).get("rules")):
            host = str(rule.get("host") or "*")
            source = builder.node(("ingress", host, ingress.namespace), f"https://{host}", "external")
            for path in dicts(as_dict(rule.get("http")).get("paths")):
                name = as_dict(as_dict(path.get("backend")).get("service")).get("name")
                service = builder.bundle.get("Service", ingress.namespace, str(name)) if name else None
                if service is None:
                    continue  # validate reports it (ingress.backend)
                via = f"Service {service.namespace}/{service.name}"
                for owner in service_workloads(builder.bundle, service):
                    builder.edge(source, builder.workload(owner), SERVES, str(path.get("path", "/")), via)


def _thanos(builder: _Builder) -> None:
    """Query reads every StoreAPI its endpoint file lists; sidecars, store gateways and compactors use the bucket."""
    verbs = {"sidecar": "uploads", "store": "reads", "compact": "compacts"}
    for t in thanos.containers(builder.bundle):
        source = builder.workload(t.pod.owner)
        if t.command == "query":
            for address, _ in thanos.endpoint_addresses(builder.bundle, t):
                host = address.split("+", 1)[1] if address.startswith(("dns+", "dnssrv+")) else address
                host = host if address.startswith("dnssrv+") else host.rpartition(":")[0]
                builder.to_endpoint(source, QUERIES, "StoreAPI", srv_host(host), t.pod.namespace, address)
        elif t.command in verbs:
            bucket = thanos.bucket_of(t) or "object store"
            target = builder.node(("bucket", bucket), f"bucket {bucket}", "external")
            builder.edge(source, target, BLOCKS, verbs[t.command])


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


# --- ids and labels --------------------------------------------------------------------------------

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
