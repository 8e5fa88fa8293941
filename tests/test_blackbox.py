"""Synthetic monitoring: blackbox_exporter, its probe jobs, their checks and their alerts' routes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.graph import PROBES, SCRAPES, build
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.blackbox import target_problem
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.validate import validate
from leanvibe_stack.validate.bundle import Bundle, scrape_address
from leanvibe_stack.validate.routing import receivers_for
from leanvibe_stack.validate.security import check as security_check
from tests.conftest import PROFILES, find, require_tool

EXPORTER = "blackbox-exporter.leanvibe-monitoring.svc.cluster.local:9115"


def config_of(manifests: list[Manifest], name: str, key: str) -> Any:
    return yamlio.load(find(manifests, "ConfigMap", name)["data"][key])


def probe_jobs(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    jobs = config_of(manifests, "prometheus-config", "prometheus.yml")["scrape_configs"]
    return {job["job_name"]: job for job in jobs if job.get("metrics_path") == "/probe"}


def edited(manifests: list[Manifest]) -> list[Manifest]:
    return [Manifest(copy.deepcopy(m.obj), m.component, m.source) for m in manifests]


def set_config(manifests: list[Manifest], name: str, key: str, data: Any) -> None:
    find(manifests, "ConfigMap", name)["data"][key] = yamlio.dump(data)


# --- rendering ----------------------------------------------------------------------------------------


def test_every_probe_is_a_job_that_asks_the_exporter_with_the_target_as_parameter(production: list[Manifest]) -> None:
    jobs = probe_jobs(production)
    assert sorted(jobs) == ["probe-neo4j", "probe-public-endpoints", "probe-redis", "probe-runbooks"]
    public = jobs["probe-public-endpoints"]
    assert public["params"] == {"module": ["https_2xx"]}
    assert public["static_configs"] == [{"targets": ["https://leanvibe.ai"], "labels": {
        "service": "public-endpoints", "team": "platform", "probe_severity": "critical"}}]  # customers reach it
    assert jobs["probe-runbooks"]["static_configs"][0]["labels"]["probe_severity"] == "warning"
    relabel = public["relabel_configs"]
    assert {"source_labels": ["__address__"], "target_label": "__param_target"} in relabel
    assert {"source_labels": ["__param_target"], "target_label": "instance"} in relabel
    assert {"source_labels": ["__param_module"], "target_label": "module"} in relabel
    assert relabel[-1] == {"target_label": "__address__", "replacement": EXPORTER}
    assert scrape_address(public) == EXPORTER


@pytest.mark.parametrize("profile, namespace", [("production", "leanvibe-production"),
                                                ("staging", "leanvibe-staging"),
                                                ("development", "leanvibe-development")])
def test_service_targets_follow_the_profiles_application_namespace(
        rendered: dict[str, list[Manifest]], profile: str, namespace: str) -> None:
    jobs = probe_jobs(rendered[profile])
    assert jobs["probe-redis"]["static_configs"][0]["targets"] == [f"redis-cluster.{namespace}.svc.cluster.local:6379"]
    assert jobs["probe-neo4j"]["static_configs"][0]["targets"] == [f"neo4j-cluster.{namespace}.svc.cluster.local:7687"]


def test_only_production_probes_the_public_endpoints(rendered: dict[str, list[Manifest]]) -> None:
    assert "probe-public-endpoints" in probe_jobs(rendered["production"])
    assert "probe-public-endpoints" not in probe_jobs(rendered["staging"])
    assert "probe-public-endpoints" not in probe_jobs(rendered["development"])


def test_blackbox_yml_states_the_modules_of_the_profile(production: list[Manifest]) -> None:
    assert config_of(production, "blackbox-exporter-config", "blackbox.yml") == {"modules": {
        "https_2xx": {"timeout": "5s", "prober": "http", "http": {
            "method": "GET", "follow_redirects": True, "fail_if_ssl": False, "fail_if_not_ssl": True,
            "preferred_ip_protocol": "ip4", "ip_protocol_fallback": True}},
        "tcp_connect": {"timeout": "5s", "prober": "tcp", "tcp": {
            "tls": False, "preferred_ip_protocol": "ip4", "ip_protocol_fallback": True}},
    }}


def test_the_exporter_is_restricted_and_reachable_only_by_prometheus(production: list[Manifest]) -> None:
    deployment = find(production, "Deployment", "blackbox-exporter")
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert "sysctls" not in pod["spec"]["securityContext"]  # no icmp module: nothing to allow
    container = pod["spec"]["containers"][0]
    assert container["args"] == ["--config.file=/etc/blackbox_exporter/blackbox.yml", "--web.listen-address=:9115"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9115"
    policy = find(production, "NetworkPolicy", "blackbox-exporter")
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "production"}}}],
        "ports": [{"protocol": "TCP", "port": 9115}]}]
    assert find(production, "PodDisruptionBudget", "blackbox-exporter")["spec"]["maxUnavailable"] == 1


def test_icmp_modules_let_the_pods_own_group_ping_without_net_raw() -> None:
    loaded = load_profile("production", PROFILES, [
        "blackbox_exporter.modules.icmp={prober: icmp}",
        "blackbox_exporter.probes.gateway={module: icmp, targets: [10.0.0.1]}",
    ])
    manifests = render_stack(loaded.stack)
    pod = find(manifests, "Deployment", "blackbox-exporter")["spec"]["template"]["spec"]
    assert pod["securityContext"]["sysctls"] == [{"name": "net.ipv4.ping_group_range", "value": "65534 65534"}]
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert security_check(Bundle(manifests)) == []  # still the restricted Pod Security Standard


def test_a_profile_without_the_exporter_renders_none_of_it() -> None:
    loaded = load_profile("production", PROFILES, ["blackbox_exporter=null"])
    manifests = render_stack(loaded.stack)
    assert not [m for m in manifests if m.name.startswith("blackbox-exporter")]
    assert probe_jobs(manifests) == {}


@pytest.mark.parametrize("prober, target, problem", [
    ("http", "https://leanvibe.ai/health", None),
    ("http", "leanvibe.ai:443", "is not an http(s) URL"),
    ("tcp", "redis.example.com:6379", None),
    ("tcp", "[2001:db8::1]:6379", None),
    ("tcp", "redis.example.com", "needs host:port"),
    ("tcp", "redis.example.com:99999", "outside 1-65535"),
    ("dns", "10.0.0.10", None),
    ("dns", "10.0.0.10:53", None),
    ("icmp", "10.0.0.1", None),
    ("icmp", "[2001:db8::1]", None),
    ("icmp", "10.0.0.1:22", "without a port"),
])
def test_targets_have_the_form_their_prober_needs(prober: str, target: str, problem: str | None) -> None:
    found = target_problem(prober, target)
    assert (found is None) if problem is None else (found is not None and problem in found), found


# --- validation ----------------------------------------------------------------------------------------


def test_a_probe_job_asking_for_an_undefined_module_is_an_error(production: list[Manifest]) -> None:
    manifests = edited(production)
    config = config_of(manifests, "prometheus-config", "prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "probe-redis")
    job["params"]["module"] = ["tcp_conect"]
    set_config(manifests, "prometheus-config", "prometheus.yml", config)
    findings = [f for f in validate(manifests, kube_version="1.36").findings if f.check == "probe.unknown-module"]
    assert len(findings) == 1
    assert "job probe-redis asks blackbox_exporter for module 'tcp_conect'" in findings[0].message
    assert "https_2xx, tcp_connect" in findings[0].message


def test_probed_targets_are_not_read_as_scrape_addresses_but_the_exporter_is(production: list[Manifest]) -> None:
    assert not [f for f in validate(production, kube_version="1.36").findings if f.check == "url.unresolved"]
    manifests = edited(production)
    config = config_of(manifests, "prometheus-config", "prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "probe-redis")
    job["relabel_configs"][-1]["replacement"] = "blackbox.leanvibe-monitoring.svc:9115"
    set_config(manifests, "prometheus-config", "prometheus.yml", config)
    unresolved = [f for f in validate(manifests, kube_version="1.36").findings if f.check == "url.unresolved"]
    assert [f.message for f in unresolved] == [
        "blackbox.leanvibe-monitoring.svc names Service 'blackbox' in namespace 'leanvibe-monitoring', "
        "which is not rendered (if it exists in the cluster, list it in a --external file)"]


@pytest.mark.parametrize("job, expected", [
    ({"relabel_configs": [{"target_label": "__address__", "replacement": "x:1"}]}, "x:1"),
    ({"relabel_configs": [{"target_label": "__address__", "replacement": "x:1"},
                          {"source_labels": ["a"], "target_label": "__address__"}]}, None),
    ({"relabel_configs": [{"source_labels": ["__address__"], "target_label": "__param_target"}]}, None),
    ({"relabel_configs": [{"target_label": "__address__", "regex": "y", "replacement": "x:1"}]}, None),
    ({"relabel_configs": [{"target_label": "__address__", "replacement": "$1:9100"}]}, None),
    ({}, None),
])
def test_scrape_address_is_the_constant_relabeling_writes(job: dict[str, Any], expected: str | None) -> None:
    assert scrape_address(job) == expected


def test_blackbox_exporter_checks_the_rendered_config(production: list[Manifest]) -> None:
    require_tool("prometheus-blackbox-exporter")
    report = validate(production, kube_version="1.36", run_tools=True)
    assert [r.status for r in report.tools if r.name == "blackbox-exporter"] == ["passed"]
    manifests = edited(production)
    broken = config_of(manifests, "blackbox-exporter-config", "blackbox.yml")
    broken["modules"]["tcp_connect"]["tcp"]["tls_skip"] = True
    set_config(manifests, "blackbox-exporter-config", "blackbox.yml", broken)
    report = validate(manifests, kube_version="1.36", run_tools=True)
    failed = [f for f in report.findings if f.check == "tool.blackbox-exporter"]
    assert len(failed) == 1 and "tls_skip" in failed[0].message


def test_the_graph_shows_prometheus_scraping_the_exporter_which_probes_the_targets(production: list[Manifest]) -> None:
    graph = build(production)
    exporter = graph.workload_id("Deployment", "leanvibe-monitoring", "blackbox-exporter")
    prometheus = graph.workload_id("StatefulSet", "leanvibe-monitoring", "prometheus")
    assert exporter and prometheus
    scraped = {e.detail for e in graph.edges_from(prometheus, SCRAPES) if e.target == exporter}
    assert {"job probe-redis", "job probe-neo4j", "job probe-public-endpoints", "job probe-runbooks"} <= scraped
    probed = {graph.node(e.target).label for e in graph.edges_from(exporter, PROBES)}
    assert "job probe-public-endpoints (https://leanvibe.ai)" in probed


# --- alerts and their routes -------------------------------------------------------------------------


@pytest.mark.parametrize("labels, receivers", [
    # The data stores' probes warn (RedisDown pages for the outage); the public site's probe pages.
    ({"alertname": "ProbeFailed", "severity": "warning", "category": "synthetic", "service": "redis"},
     ["database-team"]),
    ({"alertname": "CriticalProbeFailed", "severity": "critical", "category": "synthetic",
      "service": "public-endpoints", "team": "platform"}, ["pagerduty-critical", "platform-team"]),
    ({"alertname": "ProbeSlow", "severity": "warning", "category": "synthetic", "service": "public-endpoints",
      "team": "platform"}, ["platform-team"]),
    ({"alertname": "ProbeSlow", "severity": "warning", "category": "synthetic"}, ["platform-team"]),
])
def test_probe_alerts_reach_the_team_of_what_they_probe(
        production: list[Manifest], labels: dict[str, str], receivers: list[str]) -> None:
    route = config_of(production, "alertmanager-config", "alertmanager.yml")["route"]
    assert receivers_for(route, {"cluster": "leanvibe-production", **labels}) == receivers


def test_every_synthetic_alert_has_a_runbook_and_a_rule_test(production: list[Manifest]) -> None:
    rules = [rule for mounted, data in Bundle(production).rule_files if mounted.key == "leanvibe.synthetic.rules.yml"
             for group in data["groups"] for rule in group["rules"]]
    tests = (PROFILES / "rule-tests" / "synthetic_test.yml").read_text(encoding="utf-8")
    assert len(rules) == 7
    for rule in rules:
        assert rule["annotations"]["runbook_url"].startswith("https://runbooks.leanvibe.ai/")
        assert f"alertname: {rule['alert']}" in tests, rule["alert"]
        assert f"alertname: {rule['alert']}, exp_alerts: []" in tests, f"{rule['alert']}: no case where it is silent"
