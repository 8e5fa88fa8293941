"""Least privilege: what each role grants, how the kubelet is scraped, and the dangerous-RBAC check."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.validate import rbac
from leanvibe_stack.validate.bundle import Bundle
from tests.conftest import PROFILES, find

TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


def cluster_role(manifests: list[Manifest], component: str) -> dict[str, Any]:
    [role] = [m.obj for m in manifests if m.kind == "ClusterRole" and m.name.endswith(f"-{component}")]
    return role


def granted(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {(resource, verb) for rule in role["rules"] for resource in rule.get("resources", [])
            for verb in rule["verbs"]}


def scrape_job(manifests: list[Manifest], job: str) -> dict[str, Any]:
    config = yaml.safe_load(find(manifests, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    [found] = [j for j in config["scrape_configs"] if j["job_name"] == job]
    return dict(found)


def dangerous(manifests: list[Manifest]) -> list[str]:
    return [f"{f.object} {f.path}: {f.message}" for f in rbac.check(Bundle(manifests))]


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_prometheus_reads_kubelet_metrics_without_the_node_proxy(
        rendered: dict[str, list[Manifest]], profile: str) -> None:
    grants = granted(cluster_role(rendered[profile], "prometheus"))
    assert ("nodes/metrics", "get") in grants
    assert not {resource for resource, _ in grants if resource == "nodes/proxy"}
    # Discovery only reads: nothing Prometheus holds can change the cluster.
    assert {verb for _, verb in grants} == {"get", "list", "watch"}


@pytest.mark.parametrize("job, path", [("kubernetes-nodes", None), ("kubernetes-cadvisor", "/metrics/cadvisor")])
def test_the_kubelet_is_scraped_on_its_own_port_with_the_service_account_token(
        production: list[Manifest], job: str, path: str | None) -> None:
    config = scrape_job(production, job)
    assert config["scheme"] == "https"
    assert config["authorization"] == {"type": "Bearer", "credentials_file": TOKEN}
    # Verified against the cluster CA (README: scraping the kubelet says when to skip verification).
    assert config["tls_config"] == {"ca_file": CA, "insecure_skip_verify": False}
    assert config.get("metrics_path") == path
    assert config["kubernetes_sd_configs"] == [{"role": "node"}]
    # Node discovery's own address (the kubelet's InternalIP:10250) is kept: no API server, no proxy path.
    targets = {r.get("target_label") for r in config["relabel_configs"]}
    assert not targets & {"__address__", "__metrics_path__"}


def test_the_log_agent_gets_single_pods_and_never_lists_or_watches(production: list[Manifest]) -> None:
    role = cluster_role(production, "fluent-bit")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    assert "annotations" not in role["metadata"]


def test_a_log_agent_asking_the_kubelet_gets_nodes_proxy_with_a_documented_exception() -> None:
    stack = load_profile("production", PROFILES,
                         ["fluent_bit.config.pipeline.filters.kubernetes.use_kubelet=true"]).stack
    manifests = render_stack(stack)
    role = cluster_role(manifests, "fluent-bit")
    assert ("nodes/proxy", "get") in granted(role)
    assert "nodes/proxy" in role["metadata"]["annotations"][rbac.EXCEPTION]
    assert dangerous(manifests) == []


def test_the_shipped_profiles_grant_nothing_dangerous(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        assert dangerous(manifests) == []


def _with_rule(manifests: list[Manifest], rule: dict[str, Any], annotation: str | None = None) -> list[Manifest]:
    edited = copy.deepcopy(manifests)
    role = next(m.obj for m in edited if m.kind == "ClusterRole" and m.name.endswith("-prometheus"))
    role["rules"].append(rule)
    if annotation is not None:
        role["metadata"]["annotations"] = {rbac.EXCEPTION: annotation}
    return edited


@pytest.mark.parametrize("rule, says", [
    ({"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}, "nodes/proxy"),
    ({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}, "pods/exec"),
    ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, "`*` verbs"),
    ({"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}, "`*` resources"),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}, "list on secrets cluster-wide"),
    ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate"]}, "escalate"),
    ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}, "bind"),
    ({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}, "impersonate"),
])
def test_a_dangerous_rule_is_reported_with_its_path(production: list[Manifest], rule: dict[str, Any],
                                                     says: str) -> None:
    [finding] = dangerous(_with_rule(production, rule))
    assert "ClusterRole/leanvibe-monitoring-prometheus rules[3]" in finding
    assert says in finding and rbac.EXCEPTION in finding


def test_secrets_named_one_by_one_are_not_every_secret(production: list[Manifest]) -> None:
    rule = {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["alertmanager-slack"], "verbs": ["get"]}
    assert dangerous(_with_rule(production, rule)) == []


def test_a_documented_exception_silences_the_role_and_an_empty_one_does_not(production: list[Manifest]) -> None:
    rule = {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}
    assert dangerous(_with_rule(production, rule, "Scrapes a kubelet API only the node proxy serves.")) == []
    assert len(dangerous(_with_rule(production, rule, "  "))) == 1
