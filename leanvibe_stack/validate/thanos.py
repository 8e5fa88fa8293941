"""Thanos as one system: flags, object-store config, Query's endpoints, deduplication, blocks, the compactor.

Read from the rendered objects: every container running the `thanos` image (its command is the first
argument), the Prometheus containers beside the sidecars, the Query endpoint config file it mounts, and
Grafana's datasources.  Check ids:

* `thanos.flag`: an argument `thanos <command>` 0.42 refuses (unknown, deprecated, or inline objstore config);
* `thanos.objstore-inline`: the object-store config is not read from a Secret (`--objstore.config`, or a
  `--objstore.config-file` that no Secret volume provides);
* `thanos.bucket`: a workload reading the bucket does not say which (`leanvibe.ai/objstore-bucket`), or two
  say different buckets (sidecars upload to one, the store gateway reads another);
* `thanos.endpoint-unresolved`: a Query endpoint that names no rendered Service and port (an SRV name needs
  a headless Service with that port name), or an outside address read without TLS;
* `thanos.dedup-label`: Query's replica label is missing from the external labels of a Prometheus whose
  sidecar it queries, is the same on every replica, or Query deduplicates on no label of a replicated one;
* `thanos.block-duration`: Prometheus with min = max block duration and no sidecar uploading (local
  compaction is off for nothing), or an uploading sidecar beside a Prometheus that compacts locally;
* `thanos.compactor-singleton`: more than one compactor pod can run against one bucket;
* `thanos.grafana-datasource`: Grafana's Prometheus datasource bypasses a rendered Query.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from leanvibe_stack import yamlio
from leanvibe_stack.models.thanos import COMMANDS, flag_problem
from leanvibe_stack.validate.bundle import Bundle, Pod, as_dict, dicts, program_of
from leanvibe_stack.validate.dns import resolve, service_host
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

CHECKS = ("thanos.flag", "thanos.objstore-inline", "thanos.bucket", "thanos.endpoint-unresolved", "thanos.dedup-label",
          "thanos.block-duration", "thanos.compactor-singleton", "thanos.grafana-datasource")
BUCKET_ANNOTATION = "leanvibe.ai/objstore-bucket"
BLOCK_FLAGS = ("--storage.tsdb.min-block-duration", "--storage.tsdb.max-block-duration")


@dataclass(frozen=True)
class Thanos:
    """One Thanos container: its command and flags (`--name` -> values, repeatable flags kept in order)."""

    pod: Pod
    path: str
    container: dict[str, Any]
    command: str
    args: list[str]

    def values(self, flag: str) -> list[str]:
        return [arg.partition("=")[2] for arg in self.args if arg.partition("=")[0] == flag]

    def has(self, flag: str) -> bool:
        return any(arg.partition("=")[0] == flag for arg in self.args)


def containers(bundle: Bundle) -> list[Thanos]:
    found = []
    for pod in bundle.pods:
        for path, container in pod.containers():
            if program_of(container) != "thanos":
                continue
            words = [str(w) for w in [*(container.get("command") or [])[1:], *(container.get("args") or [])]]
            if words and words[0] in COMMANDS:
                found.append(Thanos(pod, path, container, words[0], words[1:]))
    return found


def check(bundle: Bundle) -> list[Finding]:
    thanos = containers(bundle)
    if not thanos and not _equal_blocks(bundle):
        return []
    findings: list[Finding] = []
    for run in (_flags(thanos), _objstore(bundle, thanos), _buckets(thanos), _endpoints(bundle, thanos),
                _dedup(bundle, thanos), _blocks(bundle, thanos), _compactors(thanos), _grafana(bundle, thanos)):
        findings.extend(run)
    return findings


def _flags(thanos: list[Thanos]) -> Iterator[Finding]:
    for t in thanos:
        for i, arg in enumerate(t.args):
            problem = flag_problem(t.command, arg)
            if problem:
                yield error("thanos.flag", t.pod.ref, f"{t.path}.args[{i + 1}]", problem)


# --- object storage ---------------------------------------------------------------------------------------

def _reads_bucket(t: Thanos) -> bool:
    return t.command in ("sidecar", "store", "compact") and (t.has("--objstore.config-file")
                                                             or t.has("--objstore.config"))


def _objstore(bundle: Bundle, thanos: list[Thanos]) -> Iterator[Finding]:
    for t in thanos:
        if t.has("--objstore.config"):
            yield error("thanos.objstore-inline", t.pod.ref, f"{t.path}.args",
                        "--objstore.config writes the object-store config, credentials included, into the pod "
                        "spec: mount it from a Secret and name the file with --objstore.config-file")
        for file in t.values("--objstore.config-file"):
            kinds = {m.source_kind for m in bundle.mounted_files(t.pod, t.container) if m.path == file}
            if kinds != {"Secret"}:
                source = f"comes from a {'/'.join(sorted(kinds))}" if kinds else "is mounted from no volume"
                yield error("thanos.objstore-inline", t.pod.ref, f"{t.path}.args",
                            f"--objstore.config-file={file} {source}: the object-store config (and its "
                            "credentials) must come from a Secret")
        if t.command in ("sidecar", "store", "compact") and not _reads_bucket(t):
            yield error("thanos.objstore-inline", t.pod.ref, f"{t.path}.args",
                        f"`thanos {t.command}` without --objstore.config-file"
                        + (": the sidecar uploads nothing, so Prometheus' local compaction must stay on "
                           "(and then Thanos is only a query proxy)" if t.command == "sidecar" else
                           ": it would not start"))


def bucket_of(t: Thanos) -> str | None:
    annotations = as_dict(as_dict(t.pod.owner.obj.get("metadata")).get("annotations"))
    value = annotations.get(BUCKET_ANNOTATION)
    return str(value) if value else None


def _buckets(thanos: list[Thanos]) -> Iterator[Finding]:
    readers = [t for t in thanos if _reads_bucket(t)]
    named = {b for t in readers if (b := bucket_of(t)) is not None}
    for t in readers:
        bucket = bucket_of(t)
        if bucket is None:
            yield error("thanos.bucket", t.pod.ref, f"metadata.annotations.{BUCKET_ANNOTATION}",
                        f"`thanos {t.command}` reads a bucket its workload does not name: the environment checks "
                        f"cannot see whether it is this environment's (annotation {BUCKET_ANNOTATION})")
        elif len(named) > 1:
            yield error("thanos.bucket", t.pod.ref, f"metadata.annotations.{BUCKET_ANNOTATION}",
                        f"bucket {bucket!r}, while other Thanos workloads use {sorted(named - {bucket})}: "
                        "what the sidecars upload, the store gateway and compactor would never see")


# --- Query endpoints ----------------------------------------------------------------------------------------

def endpoint_files(bundle: Bundle, t: Thanos) -> list[tuple[str, Any]]:
    """(file path, parsed endpoint config) of each --endpoint.sd-config-file a Query container mounts."""
    files = []
    for path in t.values("--endpoint.sd-config-file"):
        for mounted in bundle.mounted_files(t.pod, t.container):
            if mounted.path == path:
                text = mounted.text()
                try:
                    files.append((path, yamlio.load(text) if text is not None else None))
                except yamlio.YAMLError:
                    files.append((path, None))
    return files


def endpoint_addresses(bundle: Bundle, t: Thanos) -> list[tuple[str, dict[str, Any]]]:
    """(address, its entry) of every endpoint a Query lists in its config file."""
    return [(str(entry.get("address", "")), entry) for _, data in endpoint_files(bundle, t)
            for entry in dicts(as_dict(data).get("endpoints"))]


def _endpoints(bundle: Bundle, thanos: list[Thanos]) -> Iterator[Finding]:
    for t in (t for t in thanos if t.command == "query"):
        for i, (address, entry) in enumerate(endpoint_addresses(bundle, t)):
            problem = _endpoint_problem(bundle, t.pod.namespace, address, entry)
            if problem:
                yield error("thanos.endpoint-unresolved", t.pod.ref, f"endpoints[{i}].address", problem)


def _endpoint_problem(bundle: Bundle, namespace: str, address: str, entry: dict[str, Any]) -> str | None:
    srv = address.startswith("dnssrv+")
    host_port = address.split("+", 1)[1] if address.startswith(("dns+", "dnssrv+", "dnssrvnoa+")) else address
    host, _, port = (host_port, "", "") if srv else host_port.rpartition(":")
    if not host:
        return f"{address!r} has no port (host:port)"
    found = resolve(bundle, host, namespace)
    if found is None:
        tls = as_dict(as_dict(as_dict(entry.get("client_config")).get("tls_config")))
        if srv or service_host(host) is not None:
            return f"{address!r} is not a name cluster DNS answers for a rendered Service"
        if not tls or tls.get("enabled") is False:
            return (f"{address!r} is outside the cluster and read without TLS: declare it in "
                    "thanos.query.remote_endpoints (TLS from Secrets)")
        return None
    name, service, service_ns, manifest = found
    if manifest is None:
        return f"{address!r} names Service {service_ns}/{service}, which is not rendered"
    spec = as_dict(manifest.obj.get("spec"))
    ports = dicts(spec.get("ports"))
    if srv:
        if name.srv_port is None:
            return f"{address!r}: an SRV lookup needs `_<port name>._tcp.` before the Service name"
        if not any(p.get("name") == name.srv_port and p.get("protocol", "TCP") == "TCP" for p in ports):
            return (f"{address!r}: Service {service} has no TCP port named {name.srv_port!r}, so the SRV "
                    f"record does not exist (ports: {sorted(str(p.get('name')) for p in ports)})")
        if spec.get("clusterIP") != "None":
            return (f"{address!r}: Service {service} is not headless: its SRV record names one virtual address, "
                    "and Query sees one replica at a time instead of deduplicating them all")
        return None
    if not any(str(p.get("port")) == port for p in ports):
        return f"{address!r}: Service {service} has no port {port}"
    return None


# --- deduplication and blocks -------------------------------------------------------------------------------

def _prometheus_beside(bundle: Bundle, sidecar: Thanos) -> tuple[dict[str, Any], list[str]] | None:
    """(external labels, args) of the Prometheus in the sidecar's pod."""
    for config in bundle.configs:
        if config.program == "prometheus" and config.pod == sidecar.pod and isinstance(config.data, dict):
            labels = as_dict(as_dict(config.data.get("global")).get("external_labels"))
            return labels, [str(a) for a in config.container.get("args") or []]
    return None


def _replicas(pod: Pod) -> int:
    replicas = as_dict(pod.owner.obj.get("spec")).get("replicas", 1)
    return replicas if isinstance(replicas, int) else 1


def _dedup(bundle: Bundle, thanos: list[Thanos]) -> Iterator[Finding]:
    sidecars = [t for t in thanos if t.command == "sidecar"]
    for query in (t for t in thanos if t.command == "query"):
        labels = query.values("--query.replica-label")
        for sidecar in sidecars:
            beside = _prometheus_beside(bundle, sidecar)
            if beside is None:
                continue
            external = beside[0]
            where = f"{query.path}.args"
            for label in labels:
                if label not in external:
                    yield error("thanos.dedup-label", query.pod.ref, where,
                                f"Query deduplicates on {label!r}, which is not an external label of "
                                f"{sidecar.pod.ref} (its labels: {sorted(external)}): its replicas' series stay "
                                "doubled")
                elif _replicas(sidecar.pod) > 1 and "$" not in str(external[label]):
                    yield error("thanos.dedup-label", sidecar.pod.ref, "prometheus.yml: global.external_labels",
                                f"{label!r} is {external[label]!r} on every replica: the replicas upload blocks "
                                "with the same labels, which the compactor cannot tell apart (it halts on the "
                                "overlap); use the pod name ($POD_NAME)")
            if _replicas(sidecar.pod) > 1 and not set(labels) & set(external):
                yield error("thanos.dedup-label", query.pod.ref, f"{query.path}.args",
                            f"{sidecar.pod.ref} runs {_replicas(sidecar.pod)} replicas, but Query deduplicates on "
                            f"none of its external labels ({sorted(external)}): set --query.replica-label")


def _block_args(args: list[str]) -> tuple[str | None, str | None]:
    values = {arg.partition("=")[0]: arg.partition("=")[2] for arg in args}
    return values.get(BLOCK_FLAGS[0]), values.get(BLOCK_FLAGS[1])


def _equal_blocks(bundle: Bundle) -> list[tuple[Pod, str]]:
    """(pod, container path) of every Prometheus with min = max block duration (local compaction off)."""
    found = []
    for pod in bundle.pods:
        for path, container in pod.containers():
            if program_of(container) == "prometheus":
                low, high = _block_args([str(a) for a in container.get("args") or []])
                if low is not None and low == high:
                    found.append((pod, path))
    return found


def _blocks(bundle: Bundle, thanos: list[Thanos]) -> Iterator[Finding]:
    uploading = {id(t.pod.spec) for t in thanos if t.command == "sidecar" and _reads_bucket(t)}
    for pod, path in _equal_blocks(bundle):
        if id(pod.spec) not in uploading:
            yield error("thanos.block-duration", pod.ref, f"{path}.args",
                        "min = max block duration stops Prometheus compacting its blocks, which only a sidecar "
                        "uploading them justifies; none does in this pod: drop both flags")
    for sidecar in (t for t in thanos if t.command == "sidecar" and _reads_bucket(t)):
        beside = _prometheus_beside(bundle, sidecar)
        low, high = _block_args(beside[1]) if beside else (None, None)
        if beside is not None and (low is None or low != high):
            yield error("thanos.block-duration", sidecar.pod.ref, f"{sidecar.path}.args",
                        "the sidecar uploads, but Prometheus compacts locally (min and max block duration not "
                        "equal): compacted blocks are never uploaded; set both to 2h")


def _compactors(thanos: list[Thanos]) -> Iterator[Finding]:
    by_bucket: dict[str | None, list[Thanos]] = {}
    for t in (t for t in thanos if t.command == "compact"):
        by_bucket.setdefault(bucket_of(t), []).append(t)
    for bucket, compactors in by_bucket.items():
        # A DaemonSet (or any other kind) runs a compactor per node: count it as more than one.
        pods = sum(_replicas(t.pod) if t.pod.owner.kind in ("StatefulSet", "Deployment") else 2 for t in compactors)
        for t in compactors:
            strategy = as_dict(as_dict(t.pod.owner.obj.get("spec")).get("strategy")).get("type", "RollingUpdate")
            if pods > 1:
                yield error("thanos.compactor-singleton", t.pod.ref, "spec.replicas",
                            f"{pods} compactor pods on bucket {bucket or '(unnamed)'}: two compactors merge the same "
                            "blocks into overlapping ones and halt; run exactly one")
            elif t.pod.owner.kind == "Deployment" and strategy != "Recreate":
                yield error("thanos.compactor-singleton", t.pod.ref, "spec.strategy",
                            "a rolling update starts the new compactor before the old one stops: two run on one "
                            "bucket; use a StatefulSet of one (or strategy Recreate)")


def _grafana(bundle: Bundle, thanos: list[Thanos]) -> Iterator[Finding]:
    queries = [t for t in thanos if t.command == "query"]
    if not queries:
        return
    prometheus_services = {(pod.namespace, service.name) for pod in bundle.pods for service in bundle.of_kind("Service")
                           if any(program_of(c) == "prometheus" for _, c in pod.containers())
                           and service.namespace == pod.namespace and _selects(service.obj, pod)}
    for mounted, data in bundle.grafana_datasources:
        for i, source in enumerate(dicts(as_dict(data).get("datasources"))):
            if source.get("type") != "prometheus":
                continue
            host = urlsplit(str(source.get("url", ""))).hostname or ""
            found = resolve(bundle, host, mounted.source.namespace if mounted.source else "")
            if found is not None and (found[2], found[1]) in prometheus_services:
                ref = ObjectRef.of(mounted.source) if mounted.source else None
                yield error("thanos.grafana-datasource", ref, f"{posixpath.basename(mounted.path)}: "
                            f"datasources[{i}].url",
                            f"datasource {source.get('name')!r} queries Prometheus Service {found[1]} while Thanos "
                            "Query is rendered: panels see one replica's gaps and miss the bucket's history; point "
                            "it at Query")


def _selects(service: dict[str, Any], pod: Pod) -> bool:
    selector = as_dict(as_dict(service.get("spec")).get("selector"))
    return bool(selector) and all(pod.labels.get(k) == v for k, v in selector.items())
