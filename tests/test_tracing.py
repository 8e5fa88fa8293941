"""Tracing: the OpenTelemetry Collector gateway and Jaeger v2, their configs, objects, checks and graph edges."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.graph import TRACES, build
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import validate
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.tracing import listen_ports
from tests.conftest import find

NAMESPACE = "leanvibe-monitoring"
JAEGER_OTLP = f"jaeger.{NAMESPACE}.svc.cluster.local:4317"


def config_of(manifests: list[Manifest], name: str) -> Any:
    return yamlio.load(find(manifests, "ConfigMap", f"{name}-config")["data"]["config.yaml"])


def container(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = find(manifests, kind, name)["spec"]["template"]["spec"]["containers"]
    return containers[0]


def edited(manifests: list[Manifest]) -> list[Manifest]:
    return [Manifest(copy.deepcopy(m.obj), m.component, m.source) for m in manifests]


def findings(manifests: list[Manifest], check: str) -> list[str]:
    report = validate(manifests, kube_version="1.36")
    return [f.message for f in report.findings if f.check == check]


# --- the collector ---------------------------------------------------------------------------------------


def test_the_collector_pipeline_limits_memory_first_and_labels_pods_before_batching(production: list[Manifest]) -> None:
    pipeline = config_of(production, "otel-collector")["service"]["pipelines"]["traces"]
    assert pipeline == {"receivers": ["otlp", "zipkin"], "processors": ["memory_limiter", "k8s_attributes", "batch"],
                        "exporters": ["otlp_grpc"]}


def test_the_exporter_endpoint_is_the_rendered_jaeger_service(production: list[Manifest]) -> None:
    exporter = config_of(production, "otel-collector")["exporters"]["otlp_grpc"]
    assert exporter["endpoint"] == JAEGER_OTLP
    service = find(production, "Service", "jaeger")
    assert {"name": "otlp-grpc", "port": 4317, "targetPort": "otlp-grpc"} in service["spec"]["ports"]
    assert findings(production, "url.unresolved") == []


def test_every_server_listens_on_all_interfaces(production: list[Manifest]) -> None:
    for name in ("otel-collector", "jaeger"):
        config = config_of(production, name)
        text = yamlio.dump(config)
        assert "localhost" not in text and "127.0.0.1" not in text
        assert config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["host"] \
            == "0.0.0.0"
    receivers = config_of(production, "otel-collector")["receivers"]
    assert receivers["otlp"]["protocols"] == {"grpc": {"endpoint": "0.0.0.0:4317"},
                                              "http": {"endpoint": "0.0.0.0:4318"}}
    assert receivers["zipkin"] == {"endpoint": "0.0.0.0:9411"}


@pytest.mark.parametrize("kind, name", [("Deployment", "otel-collector"), ("StatefulSet", "jaeger")])
def test_config_ports_container_ports_and_service_ports_agree(production: list[Manifest], kind: str, name: str) -> None:
    declared = {p["name"]: p["containerPort"] for p in container(production, kind, name)["ports"]}
    assert sorted(declared.values()) == sorted(listen_ports(config_of(production, name)))
    for port in find(production, "Service", name)["spec"]["ports"]:
        assert declared[port["targetPort"]] == port["port"]
    annotations = find(production, kind, name)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == declared["metrics"]


def test_the_collector_service_offers_otlp_and_zipkin(production: list[Manifest]) -> None:
    ports = {p["name"]: p["port"] for p in find(production, "Service", "otel-collector")["spec"]["ports"]}
    assert ports == {"otlp-grpc": 4317, "otlp-http": 4318, "zipkin": 9411}


def test_k8s_attributes_may_read_pods_namespaces_and_replicasets_only(production: list[Manifest]) -> None:
    account = find(production, "ServiceAccount", "otel-collector")
    assert account["automountServiceAccountToken"] is True
    rules = find(production, "ClusterRole", f"{NAMESPACE}-otel-collector")["rules"]
    assert rules == [{"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]},
                     {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]}]
    binding = find(production, "ClusterRoleBinding", f"{NAMESPACE}-otel-collector")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "otel-collector", "namespace": NAMESPACE}]
    associations = config_of(production, "otel-collector")["processors"]["k8s_attributes"]["pod_association"]
    assert associations[-1] == {"sources": [{"from": "connection"}]}


def test_applications_reach_the_collector_and_only_the_collector_reaches_jaegers_otlp(
        production: list[Manifest]) -> None:
    collector = find(production, "NetworkPolicy", "otel-collector")["spec"]["ingress"]
    assert collector[0]["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "leanvibe-production"}}}]
    assert sorted(p["port"] for p in collector[0]["ports"]) == [4317, 4318, 9411]
    jaeger = find(production, "NetworkPolicy", "jaeger")["spec"]["ingress"]
    otlp = next(rule for rule in jaeger if {"protocol": "TCP", "port": 4317} in rule["ports"])
    assert otlp["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "otel-collector",
                                                              "app.kubernetes.io/instance": "production"}}}]
    query = next(rule for rule in jaeger if {"protocol": "TCP", "port": 16686} in rule["ports"])
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "grafana",
                                            "app.kubernetes.io/instance": "production"}}} in query["from"]


def test_two_collectors_get_a_disruption_budget(rendered: dict[str, list[Manifest]]) -> None:
    assert find(rendered["production"], "Deployment", "otel-collector")["spec"]["replicas"] == 2
    assert find(rendered["production"], "PodDisruptionBudget", "otel-collector")
    assert not [m for m in rendered["development"] if m.kind == "PodDisruptionBudget" and m.name == "otel-collector"]


# --- Jaeger ---------------------------------------------------------------------------------------------------


def test_production_keeps_traces_in_badger_on_a_volume(production: list[Manifest]) -> None:
    badger = config_of(production, "jaeger")["extensions"]["jaeger_storage"]["backends"]["traces"]["badger"]
    assert badger["ephemeral"] is False  # upstream's default is a temporary directory
    statefulset = find(production, "StatefulSet", "jaeger")
    claims = statefulset["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["storage"]
    mount = next(m for m in container(production, "StatefulSet", "jaeger")["volumeMounts"] if m["name"] == "storage")
    for directory in badger["directories"].values():
        assert directory.startswith(mount["mountPath"] + "/")
    assert statefulset["spec"]["replicas"] == 1


def test_development_keeps_a_bounded_number_of_traces_in_memory(rendered: dict[str, list[Manifest]]) -> None:
    backend = config_of(rendered["development"], "jaeger")["extensions"]["jaeger_storage"]["backends"]["traces"]
    assert list(backend) == ["memory"] and backend["memory"]["max_traces"] > 0
    assert "volumeClaimTemplates" not in find(rendered["development"], "StatefulSet", "jaeger")["spec"]


def test_the_query_service_is_jaeger_on_16686(production: list[Manifest]) -> None:
    """Grafana's Jaeger datasource (another change) depends on this name and port: keep them stable."""
    ports = {p["name"]: p["port"] for p in find(production, "Service", "jaeger")["spec"]["ports"]}
    assert ports == {"query-http": 16686, "query-grpc": 16685, "otlp-grpc": 4317}


# --- checks on rendered objects ---------------------------------------------------------------------------------


def _set_config(manifests: list[Manifest], name: str, change: Any) -> None:
    config_map = find(manifests, "ConfigMap", f"{name}-config")
    data = yamlio.load(config_map["data"]["config.yaml"])
    change(data)
    config_map["data"]["config.yaml"] = yamlio.dump(data)


def test_a_pipeline_naming_an_undeclared_exporter_is_reported(production: list[Manifest]) -> None:
    broken = edited(production)
    _set_config(broken, "otel-collector",
                lambda c: c["service"]["pipelines"]["traces"]["exporters"].append("otlp_grpc/backup"))
    assert any("'otlp_grpc/backup'" in m for m in findings(broken, "otel.unknown-component"))


def test_a_container_port_differing_from_the_config_is_reported(production: list[Manifest]) -> None:
    broken = edited(production)
    ports = container(broken, "Deployment", "otel-collector")["ports"]
    next(p for p in ports if p["name"] == "zipkin")["containerPort"] = 9412
    messages = findings(broken, "otel.port-mismatch")
    assert any("listens on 9411" in m for m in messages)
    assert any("(9412) is opened by nothing" in m for m in messages)


def test_the_shipped_profiles_pass_every_tracing_check(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        report = validate(manifests, kube_version="1.36")
        assert [f for f in report.findings if f.check.startswith("otel.")] == []


def test_the_graph_shows_the_collector_pushing_traces_to_jaeger(production: list[Manifest]) -> None:
    graph = build(Bundle(production))
    names = {node.id: node.label for node in graph.nodes}
    edges = [(names[e.source], names[e.target], e.detail) for e in graph.edges if e.verb == TRACES]
    assert edges == [("otel-collector (Deployment)", "jaeger (StatefulSet)", "otlp_grpc")]
