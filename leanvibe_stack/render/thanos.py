"""Thanos: the sidecar in the Prometheus pods, Query, the store gateway and the compactor.

Query finds the sidecars and store gateways by the SRV records of their headless Services' `grpc` port
(`dnssrv+_grpc._tcp.<service>`), listed in its endpoint config file with the other clusters' endpoints
(each over TLS from Secrets).  Every component reads objstore.yml from the Secret of
`thanos.object_store`; the workloads that do say which bucket it names (`leanvibe.ai/objstore-bucket`),
and list the Secret as created outside the stack.
"""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.base import SecretRef
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.models.thanos import RemoteEndpoint, Thanos
from leanvibe_stack.render.common import (
    REPLICA_LABEL,
    RESTRICTED_CONTAINER,
    Component,
    IngressRule,
    Peer,
    checksum,
    image_ref,
    pod_placement,
    service_account,
    ui_peers,
    yaml_file,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

HTTP_PORT = 10902
GRPC_PORT = 10901
OBJSTORE_DIR = "/etc/thanos/objstore"
OBJSTORE_FILE = f"{OBJSTORE_DIR}/objstore.yml"
ENDPOINTS_DIR = "/etc/thanos/query"
REMOTE_TLS_DIR = "/etc/thanos/remote"
DATA_DIR = "/var/thanos"
# Prometheus cuts a block every 2 h; with min = max = 2 h it never compacts them locally, so the sidecar
# uploads each block as it is cut (docs/components/sidecar.md: "must be set to equal values to disable local
# compaction in order to use Thanos sidecar upload").
BLOCK_DURATION = "2h"
BUCKET_ANNOTATION = "leanvibe.ai/objstore-bucket"
EXTERNAL_SECRETS = "leanvibe.ai/external-secrets"


def render(stack: Stack, topo: Topology) -> list[Manifest]:
    thanos = stack.thanos
    if thanos is None or topo.thanos_query is None or topo.thanos_store is None or topo.thanos_compactor is None:
        return []
    return [*_query(stack, thanos, topo, topo.thanos_query), *_store(stack, thanos, topo, topo.thanos_store),
            *_compactor(stack, thanos, topo, topo.thanos_compactor)]


# --- what the Prometheus pods get ----------------------------------------------------------------------

def prometheus_args(stack: Stack) -> list[str]:
    """The Prometheus flags Thanos needs: no local compaction while the sidecar uploads."""
    if stack.thanos is None:
        return []
    return [f"--storage.tsdb.min-block-duration={BLOCK_DURATION}",
            f"--storage.tsdb.max-block-duration={BLOCK_DURATION}"]


def sidecar_container(stack: Stack, prometheus_port: int, tsdb_path: str, volume: str) -> dict[str, Any] | None:
    """The sidecar: reads the replica's TSDB (`volume` at `tsdb_path`), asks Prometheus on the loopback for its
    external labels, serves gRPC to Query and uploads every block."""
    if stack.thanos is None:
        return None
    sidecar = stack.thanos.sidecar
    return {
        "name": "thanos-sidecar",
        "image": image_ref(sidecar.image, stack.global_),
        "imagePullPolicy": stack.global_.image_pull_policy,
        "args": ["sidecar", f"--prometheus.url=http://127.0.0.1:{prometheus_port}", f"--tsdb.path={tsdb_path}",
                 f"--objstore.config-file={OBJSTORE_FILE}", f"--grpc-address=0.0.0.0:{GRPC_PORT}",
                 f"--http-address=0.0.0.0:{HTTP_PORT}", *sidecar.extra_args],
        "ports": [{"name": "grpc", "containerPort": GRPC_PORT}, {"name": "thanos-http", "containerPort": HTTP_PORT}],
        "resources": sidecar.resources.model_dump(mode="json", exclude_none=True),
        "livenessProbe": sidecar.liveness_probe.kubernetes("thanos-http"),
        "readinessProbe": sidecar.readiness_probe.kubernetes("thanos-http"),
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": volume, "mountPath": tsdb_path},
                         {"name": "objstore", "mountPath": OBJSTORE_DIR, "readOnly": True}],
    }


def objstore_volume(stack: Stack) -> dict[str, Any] | None:
    """The Secret volume holding objstore.yml (only its one key, under the name the flag reads)."""
    if stack.thanos is None:
        return None
    ref = stack.thanos.object_store.secret
    return {"name": "objstore", "secret": {"secretName": ref.secret, "items": [{"key": ref.key,
                                                                                "path": "objstore.yml"}]}}


def workload_annotations(stack: Stack) -> dict[str, str]:
    """Annotations of a workload that reads the bucket: which bucket, and the Secrets created outside the stack."""
    if stack.thanos is None:
        return {}
    return {EXTERNAL_SECRETS: stack.thanos.object_store.secret.secret,
            BUCKET_ANNOTATION: stack.thanos.object_store.bucket}


def sidecar_scrape_configs(stack: Stack) -> list[dict[str, Any]]:
    """The sidecar's own metrics (uploads, bucket operations), scraped from every Prometheus pod by its
    `thanos-http` port: the Prometheus pods carry no scrape annotation (their `prometheus` job scrapes them)."""
    if stack.thanos is None:
        return []
    return [{
        "job_name": "thanos-sidecar",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"own_namespace": True}}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name",
                               "__meta_kubernetes_pod_container_port_name"],
             "action": "keep", "regex": "prometheus;thanos-http"},
            {"source_labels": ["__meta_kubernetes_namespace"], "action": "replace",
             "target_label": "kubernetes_namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace",
             "target_label": "kubernetes_pod_name"},
        ],
    }]


def grafana_target(topo: Topology) -> tuple[Component, int] | None:
    """Where Grafana's Prometheus datasource points with Thanos on: Query, which deduplicates the replicas."""
    return (topo.thanos_query, HTTP_PORT) if topo.thanos_query is not None else None


# --- Query ---------------------------------------------------------------------------------------------

def endpoint_config(thanos: Thanos, topo: Topology) -> dict[str, Any]:
    """Query's endpoint config file: the local StoreAPIs by SRV record, then every remote one over TLS."""
    local = [topo.prometheus.fqdn(topo.prometheus.headless)]
    if topo.thanos_store is not None:
        local.append(topo.thanos_store.fqdn(topo.thanos_store.headless))
    endpoints: list[dict[str, Any]] = [{"address": f"dnssrv+_grpc._tcp.{host}"} for host in local]
    for name, remote in thanos.query.remote_endpoints.items():
        endpoints.append({"address": remote.address, "client_config": _client_config(name, remote)})
    return {"endpoints": endpoints}


def _client_config(name: str, remote: RemoteEndpoint) -> dict[str, Any]:
    tls: dict[str, Any] = {"enabled": True, "ca_file": f"{REMOTE_TLS_DIR}/{name}/ca.crt"}
    if remote.tls.cert is not None:
        tls |= {"cert_file": f"{REMOTE_TLS_DIR}/{name}/tls.crt", "key_file": f"{REMOTE_TLS_DIR}/{name}/tls.key"}
    config: dict[str, Any] = {"tls_config": tls}
    if remote.tls.server_name:
        config["server_name"] = remote.tls.server_name
    return config


def _remote_files(thanos: Thanos) -> list[tuple[str, SecretRef, str]]:
    """(endpoint name, Secret key, file name) of every TLS file the remote endpoints read."""
    files = []
    for name, remote in thanos.query.remote_endpoints.items():
        files.append((name, remote.tls.ca, "ca.crt"))
        if remote.tls.cert is not None and remote.tls.key is not None:
            files += [(name, remote.tls.cert, "tls.crt"), (name, remote.tls.key, "tls.key")]
    return files


def _query(stack: Stack, thanos: Thanos, topo: Topology, c: Component) -> list[Manifest]:
    query = thanos.query
    endpoints = endpoint_config(thanos, topo)
    partial = "--query.partial-response" if query.partial_response else "--no-query.partial-response"
    args = ["query", f"--http-address=0.0.0.0:{HTTP_PORT}", f"--grpc-address=0.0.0.0:{GRPC_PORT}",
            f"--query.replica-label={REPLICA_LABEL}", f"--endpoint.sd-config-file={ENDPOINTS_DIR}/endpoints.yaml",
            partial, f"--query.timeout={query.query_timeout}",
            f"--store.response-timeout={query.store_response_timeout}", *query.extra_args]
    files = _remote_files(thanos)
    volumes: list[dict[str, Any]] = [{"name": "endpoints", "configMap": {"name": f"{c.name}-endpoints"}}]
    mounts = [{"name": "endpoints", "mountPath": ENDPOINTS_DIR, "readOnly": True}]
    if files:
        volumes.append({"name": "remote-tls", "projected": {"sources": [
            {"secret": {"name": ref.secret, "items": [{"key": ref.key, "path": f"{name}/{file}"}]}}
            for name, ref, file in files]}})
        mounts.append({"name": "remote-tls", "mountPath": REMOTE_TLS_DIR, "readOnly": True})
    secrets = sorted({ref.secret for _, ref, _ in files})
    grafana_peers = [Peer(topo.grafana), *ui_peers(stack.global_)]
    objects = [
        service_account(c, query, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-endpoints", extra_labels={},
                      data={"endpoints.yaml": yaml_file(endpoints)}),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False,
                      ports=[{"name": "http", "port": HTTP_PORT, "targetPort": "http"}]),
        render_object("thanos-query/deployment.yaml.j2", c.name, c=c, w=query, replicas=query.replicas,
                      placement=pod_placement(query, spread=c),
                      image=image_ref(query.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=args, external_secrets=secrets, volumes=volumes, mounts=mounts,
                      # Query would re-read the file within --endpoint.sd-config-reload-interval (5m); rolling
                      # the stateless replicas applies a change at once, and `diff` says so.
                      checksum=checksum(endpoints),
                      port=HTTP_PORT, grpc_port=GRPC_PORT),
    ]
    if query.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        rules = [IngressRule([(HTTP_PORT, "TCP")], [*grafana_peers, Peer(topo.prometheus)])
                 .as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    return objects


# --- store gateway and compactor ------------------------------------------------------------------------

def _store(stack: Stack, thanos: Thanos, topo: Topology, c: Component) -> list[Manifest]:
    store = thanos.store
    args = ["store", f"--data-dir={DATA_DIR}", f"--objstore.config-file={OBJSTORE_FILE}",
            f"--index-cache-size={store.index_cache_size}", f"--http-address=0.0.0.0:{HTTP_PORT}",
            f"--grpc-address=0.0.0.0:{GRPC_PORT}", *store.extra_args]
    grpc = [{"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc"}]
    objects = [
        service_account(c, store, automount=False),
        # The headless Service's SRV records (`_grpc._tcp`) list every replica for Query.
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True, ports=grpc),
        render_object("thanos-store/statefulset.yaml.j2", c.name, c=c, w=store, replicas=store.replicas,
                      placement=pod_placement(store, spread=c),
                      image=image_ref(store.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=args, annotations=workload_annotations(stack), volumes=[objstore_volume(stack)],
                      port=HTTP_PORT, grpc_port=GRPC_PORT, data_dir=DATA_DIR,
                      objstore_dir=OBJSTORE_DIR),
    ]
    if store.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled and topo.thanos_query is not None:
        rules = [IngressRule([(GRPC_PORT, "TCP")], [Peer(topo.thanos_query)]).as_policy_rule(c.namespace),
                 IngressRule([(HTTP_PORT, "TCP")], [Peer(topo.prometheus)]).as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    return objects


def _compactor(stack: Stack, thanos: Thanos, topo: Topology, c: Component) -> list[Manifest]:
    compactor = thanos.compactor
    retention = compactor.retention
    args = ["compact", "--wait", f"--data-dir={DATA_DIR}", f"--objstore.config-file={OBJSTORE_FILE}",
            f"--http-address=0.0.0.0:{HTTP_PORT}", f"--retention.resolution-raw={retention.raw}",
            f"--retention.resolution-5m={retention.five_minutes}", f"--retention.resolution-1h={retention.one_hour}",
            *([] if compactor.downsampling else ["--downsampling.disable"]), *compactor.extra_args]
    objects = [
        service_account(c, compactor, automount=False),
        # The StatefulSet's governing Service: a stable DNS name for its one pod (nothing but Prometheus
        # connects to a compactor).
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True,
                      ports=[{"name": "http", "port": HTTP_PORT, "targetPort": "http"}]),
        # A StatefulSet of one: its controller never runs two pods of one ordinal, even during a rollout
        # (a Deployment's surge would run two compactors on one bucket).
        render_object("thanos-compactor/statefulset.yaml.j2", c.name, c=c, w=compactor,
                      placement=pod_placement(compactor),
                      image=image_ref(compactor.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=args, annotations=workload_annotations(stack), volumes=[objstore_volume(stack)],
                      port=HTTP_PORT, data_dir=DATA_DIR, objstore_dir=OBJSTORE_DIR),
    ]
    if stack.global_.network_policy.enabled:
        rules = [IngressRule([(HTTP_PORT, "TCP")], [Peer(topo.prometheus)]).as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    return objects

