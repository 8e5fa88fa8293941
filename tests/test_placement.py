"""Issue 15 item 7: what an operator's cluster needs of each component (where its pods run, its metadata),
and an Ingress for the web UIs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leanvibe_stack.graph import SERVES
from leanvibe_stack.graph import build as build_graph
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.pods import OWN_LABELS
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.render.common import Component
from leanvibe_stack.validate import validate
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.secrets import create_commands, secret_uses
from tests.conftest import PROFILES, find

# Profile key -> (workload kind, name, whether its replicas spread over nodes by default).
WORKLOADS = {
    "prometheus": ("StatefulSet", "prometheus", True),
    "alertmanager": ("StatefulSet", "alertmanager", True),
    "loki": ("StatefulSet", "loki", True),
    "fluent_bit": ("DaemonSet", "fluent-bit", False),
    "grafana": ("Deployment", "grafana", False),
    "node_exporter": ("DaemonSet", "node-exporter", False),
    "kube_state_metrics": ("Deployment", "kube-state-metrics", False),
    "blackbox_exporter": ("Deployment", "blackbox-exporter", False),
    "otel_collector": ("Deployment", "otel-collector", True),
    "jaeger": ("StatefulSet", "jaeger", False),
    "thanos.query": ("Deployment", "thanos-query", True),
    "thanos.store": ("StatefulSet", "thanos-store", True),
    "thanos.compactor": ("StatefulSet", "thanos-compactor", False),
}
ZONES = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1a"]}]}]}}}
TAINT = {"key": "dedicated", "operator": "Equal", "value": "monitoring", "effect": "NoSchedule"}
ROLE = "arn:aws:iam::123456789012:role/leanvibe-monitoring"


def render(*overrides: str) -> list[Manifest]:
    return render_stack(load_profile("production", PROFILES, list(overrides)).stack)


def component_objects(objects: list[Manifest], name: str) -> list[Manifest]:
    return [m for m in objects if m.obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == name]


@pytest.fixture(scope="module")
def operated() -> list[Manifest]:
    """Production with every pod setting given to every component."""
    overrides = []
    for key, (_, name, _) in WORKLOADS.items():
        overrides += [
            f'{key}.node_selector={{"node-pool": "monitoring"}}',
            f"{key}.affinity={json.dumps(ZONES)}",
            f"{key}.tolerations={json.dumps([TAINT])}",
            f"{key}.priority_class_name=monitoring-critical",
            f'{key}.service_account_annotations={{"eks.amazonaws.com/role-arn": "{ROLE}"}}',
            f'{key}.labels={{"team": "platform", "cost-center": "obs-{name}"}}',
            f'{key}.pod_annotations={{"linkerd.io/inject": "disabled"}}',
        ]
    return render(*overrides)


@pytest.mark.parametrize("key", WORKLOADS)
def test_every_component_runs_where_the_profile_says(operated: list[Manifest], key: str) -> None:
    kind, name, spreads = WORKLOADS[key]
    pod = find(operated, kind, name)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"node-pool": "monitoring"}
    assert pod["tolerations"] == [TAINT]
    assert pod["priorityClassName"] == "monitoring-critical"
    assert pod["affinity"]["nodeAffinity"] == ZONES["nodeAffinity"]
    # The profile's node affinity adds to the default spreading of replicas; it does not replace it.
    assert ("podAntiAffinity" in pod["affinity"]) is spreads


@pytest.mark.parametrize("key", WORKLOADS)
def test_every_component_carries_the_profiles_metadata(operated: list[Manifest], key: str) -> None:
    kind, name, _ = WORKLOADS[key]
    workload = find(operated, kind, name)
    template = workload["spec"]["template"]["metadata"]
    assert template["labels"]["team"] == "platform"
    assert template["annotations"]["linkerd.io/inject"] == "disabled"
    assert find(operated, "ServiceAccount", name)["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    objects = component_objects(operated, name)
    assert len(objects) >= 3
    assert all(m.obj["metadata"]["labels"]["cost-center"] == f"obs-{name}" for m in objects)
    # Never in a selector: a label change must not orphan pods (selectors are immutable on StatefulSets).
    assert "team" not in workload["spec"]["selector"]["matchLabels"]
    for claim in workload["spec"].get("volumeClaimTemplates", []):
        assert "team" not in claim["metadata"]["labels"]


def test_the_stacks_own_annotations_stay_beside_the_profiles(operated: list[Manifest]) -> None:
    annotations = find(operated, "StatefulSet", "loki")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and "checksum/config" in annotations


def test_the_operated_render_is_still_valid(operated: list[Manifest]) -> None:
    report = validate(operated, kube_version="1.36")
    assert [f for f in report.findings if f.severity == "error"] == []


def test_a_pod_anti_affinity_from_the_profile_replaces_the_default() -> None:
    required = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
         "topologyKey": "topology.kubernetes.io/zone"}]}}
    pod = find(render(f"prometheus.affinity={json.dumps(required)}"), "StatefulSet", "prometheus")
    assert pod["spec"]["template"]["spec"]["affinity"] == required


def test_shipped_profiles_keep_the_defaults(production: list[Manifest]) -> None:
    pod = find(production, "StatefulSet", "prometheus")["spec"]["template"]["spec"]
    assert set(pod["affinity"]) == {"podAntiAffinity"}
    assert "nodeSelector" not in pod and "priorityClassName" not in pod and "tolerations" not in pod
    assert "annotations" not in find(production, "ServiceAccount", "prometheus")["metadata"]


def test_the_labels_a_profile_may_not_set_are_the_stacks_own() -> None:
    component = Component("x", "role", "instance", "1.0", "ns", "cluster.local")
    assert set(component.labels()) == OWN_LABELS


# --- Ingress --------------------------------------------------------------------------------------


def ingress_of(objects: list[Manifest], name: str) -> dict[str, Any]:
    return find(objects, "Ingress", name)


def test_production_serves_grafana_at_its_root_url_over_https(production: list[Manifest]) -> None:
    ingress = ingress_of(production, "grafana")["spec"]
    env = find(production, "Deployment", "grafana")["spec"]["template"]["spec"]["containers"][0]["env"]
    [root_url] = [e["value"] for e in env if e["name"] == "GF_SERVER_ROOT_URL"]
    assert root_url == "https://grafana.leanvibe.ai"
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["rules"][0]["host"] == "grafana.leanvibe.ai"
    assert ingress["tls"] == [{"hosts": ["grafana.leanvibe.ai"], "secretName": "grafana-tls"}]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "grafana", "port": {"name": "http"}}


def test_staging_hosts_derive_from_its_environment(rendered: dict[str, list[Manifest]]) -> None:
    assert ingress_of(rendered["staging"], "grafana")["spec"]["rules"][0]["host"] == "grafana.staging.leanvibe.ai"
    assert not [m for m in rendered["development"] if m.kind == "Ingress"]


def test_prometheus_and_alertmanager_get_an_ingress_only_with_the_authentication_named() -> None:
    guarded = '{"class_name": "nginx", "tls_secret": "ui-tls", "authentication": "oauth2-proxy via auth-url"}'
    objects = render(f"prometheus.ingress={guarded}", f"alertmanager.ingress={guarded}")
    for name in ("prometheus", "alertmanager"):
        ingress = ingress_of(objects, name)
        assert ingress["metadata"]["annotations"] == {"leanvibe.ai/authentication": "oauth2-proxy via auth-url"}
        assert ingress["spec"]["rules"][0]["host"] == f"{name}.leanvibe.ai"
        args = find(objects, "StatefulSet", name)["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--web.external-url=https://{name}.leanvibe.ai" in args
    report = validate(objects, kube_version="1.36")
    assert [f for f in report.findings if f.check.startswith("ingress.")] == []


def test_the_certificate_secret_is_listed_with_a_tls_create_command(production: list[Manifest]) -> None:
    uses = [u for u in secret_uses(Bundle(production)) if u.secret == "grafana-tls"]
    assert [(u.key, u.workload) for u in uses] == [("tls.crt", "Ingress/grafana"), ("tls.key", "Ingress/grafana")]
    assert create_commands(uses) == ["kubectl -n leanvibe-monitoring create secret tls grafana-tls "
                                     "--cert=./grafana-tls/tls.crt --key=./grafana-tls/tls.key "
                                     "--dry-run=client -o yaml"]


def test_the_ingress_controllers_namespace_is_admitted_by_the_network_policy(production: list[Manifest]) -> None:
    policy = find(production, "NetworkPolicy", "grafana")["spec"]
    peers = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in peers


def test_the_graph_shows_who_the_ingress_serves(production: list[Manifest]) -> None:
    graph = build_graph(production)
    labels = {node.id: node.label for node in graph.nodes}
    served = [(labels[e.source], labels[e.target], e.via) for e in graph.edges if e.verb == SERVES]
    assert served == [("https://grafana.leanvibe.ai", "grafana (Deployment)", "Service leanvibe-monitoring/grafana")]
