"""Thanos (issue 17): sidecar, Query, store gateway, compactor; their models, checks, alerts, graph and secrets."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.graph import BLOCKS, QUERIES, build
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.thanos import S3Config, flag_problem
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.validate import thanos as thanos_check
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.dns import resolve
from leanvibe_stack.validate.secrets import secret_uses
from tests.conftest import PROFILES, find, require_tool

NAMESPACE = "leanvibe-monitoring"
REMOTE = """extends: {profiles}/production.yaml
thanos:
  query:
    remote_endpoints:
      staging:
        address: thanos-grpc.staging.leanvibe.ai:443
        environment: staging
        tls:
          ca: {{secret: thanos-remote-staging, key: ca.crt}}
          cert: {{secret: thanos-remote-staging, key: tls.crt}}
          key: {{secret: thanos-remote-staging, key: tls.key}}
global:
  shared_names: [staging.leanvibe.ai]
"""


def pod(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(manifests, kind, name)["spec"]["template"]["spec"]
    return spec


def container(manifests: list[Manifest], kind: str, name: str, container_name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in pod(manifests, kind, name)["containers"] if c["name"] == container_name]
    assert len(found) == 1
    return found[0]


def flag_values(args: list[str], flag: str) -> list[str]:
    return [arg.split("=", 1)[1] for arg in args if arg.split("=", 1)[0] == flag]


def endpoints_of(manifests: list[Manifest]) -> list[dict[str, Any]]:
    data: dict[str, Any] = yamlio.load(find(manifests, "ConfigMap", "thanos-query-endpoints")["data"]["endpoints.yaml"])
    endpoints: list[dict[str, Any]] = data["endpoints"]
    return endpoints


def edited(manifests: list[Manifest]) -> list[Manifest]:
    return [Manifest(copy.deepcopy(m.obj), m.component, m.source) for m in manifests]


def findings(manifests: list[Manifest], check: str) -> list[str]:
    return [f.message for f in thanos_check.check(Bundle(manifests)) if f.check == check]


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    path = tmp_path_factory.mktemp("remote") / "remote.yaml"
    path.write_text(REMOTE.format(profiles=PROFILES), encoding="utf-8")
    return render_stack(load_profile(str(path)).stack)


# --- rendered objects ----------------------------------------------------------------------------------------


def test_query_deduplicates_on_the_label_every_prometheus_replica_sets_to_its_pod_name(
        production: list[Manifest]) -> None:
    query = container(production, "Deployment", "thanos-query", "thanos-query")["args"]
    [label] = flag_values(query, "--query.replica-label")
    config = yamlio.load(find(production, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    assert config["global"]["external_labels"][label] == "$POD_NAME"
    assert {"cluster", "environment"} <= config["global"]["external_labels"].keys()
    env = container(production, "StatefulSet", "prometheus", "prometheus")["env"]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in env
    assert find(production, "StatefulSet", "prometheus")["spec"]["replicas"] == 2


def test_every_srv_name_query_reads_is_a_headless_service_with_that_grpc_port(production: list[Manifest]) -> None:
    bundle = Bundle(production)
    addresses = [e["address"] for e in endpoints_of(production)]
    assert addresses == [f"dnssrv+_grpc._tcp.prometheus-headless.{NAMESPACE}.svc.cluster.local",
                         f"dnssrv+_grpc._tcp.thanos-store-headless.{NAMESPACE}.svc.cluster.local"]
    for address in addresses:
        found = resolve(bundle, address.removeprefix("dnssrv+"), NAMESPACE)
        assert found is not None, address
        name, _, _, service = found
        assert service is not None, address
        assert service.obj["spec"]["clusterIP"] == "None"
        [port] = [p for p in service.obj["spec"]["ports"] if p["name"] == name.srv_port]
        selected = [m for m in production if m.kind in ("StatefulSet", "Deployment") and all(
            m.obj["spec"]["template"]["metadata"]["labels"].get(k) == v
            for k, v in service.obj["spec"]["selector"].items())]
        [workload] = selected
        ports = {(p["name"], p["containerPort"]) for c in workload.obj["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        assert (port["targetPort"], port["port"]) in ports
    query = container(production, "Deployment", "thanos-query", "thanos-query")["args"]
    assert flag_values(query, "--endpoint.sd-config-file") == ["/etc/thanos/query/endpoints.yaml"]
    assert not [arg for arg in query if arg.startswith("--endpoint=")]  # deprecated in 0.42


def test_grafana_points_at_query_with_thanos_and_at_prometheus_without(rendered: dict[str, list[Manifest]]) -> None:
    def prometheus_url(manifests: list[Manifest]) -> str:
        data = yamlio.load(find(manifests, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"])
        [source] = [s for s in data["datasources"] if s["type"] == "prometheus"]
        return str(source["url"])

    assert prometheus_url(rendered["production"]) == f"http://thanos-query.{NAMESPACE}.svc.cluster.local:10902"
    assert prometheus_url(rendered["staging"]) == f"http://prometheus.{NAMESPACE}.svc.cluster.local:9090"
    policy = find(rendered["production"], "NetworkPolicy", "thanos-query")["spec"]["ingress"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "grafana",
                                            "app.kubernetes.io/instance": "production"}}} in policy[0]["from"]


def test_the_object_store_config_is_a_secret_file_never_inline(production: list[Manifest]) -> None:
    readers = {("StatefulSet", "prometheus", "thanos-sidecar"), ("StatefulSet", "thanos-store", "thanos-store"),
               ("StatefulSet", "thanos-compactor", "thanos-compactor")}
    for kind, name, container_name in readers:
        args = container(production, kind, name, container_name)["args"]
        assert flag_values(args, "--objstore.config-file") == ["/etc/thanos/objstore/objstore.yml"]
        [volume] = [v for v in pod(production, kind, name)["volumes"] if v["name"] == "objstore"]
        assert volume == {"name": "objstore", "secret": {"secretName": "thanos-objstore", "items": [
            {"key": "objstore.yml", "path": "objstore.yml"}]}}
        annotations = find(production, kind, name)["metadata"]["annotations"]
        assert annotations["leanvibe.ai/objstore-bucket"] == "leanvibe-thanos-production"
    text = "\n".join(yamlio.dump(m.obj) for m in production)
    assert "--objstore.config=" not in text and "secret_key" not in text and "access_key" not in text
    assert not [m for m in production if m.kind == "Secret"]


def test_secrets_lists_the_object_store_secret_for_every_reader(production: list[Manifest]) -> None:
    uses = [u for u in secret_uses(Bundle(production)) if u.secret == "thanos-objstore"]
    assert {(u.key, u.workload) for u in uses} == {("objstore.yml", "StatefulSet/prometheus"),
                                                  ("objstore.yml", "StatefulSet/thanos-store"),
                                                  ("objstore.yml", "StatefulSet/thanos-compactor")}


def test_the_compactor_is_one_statefulset_pod_with_retention_per_resolution(production: list[Manifest]) -> None:
    compactors = [m for m in production if any(
        c.get("args", [])[:1] == ["compact"] for c in m.obj.get("spec", {}).get("template", {}).get("spec", {})
        .get("containers", []))]
    assert [(m.kind, m.obj["spec"]["replicas"]) for m in compactors] == [("StatefulSet", 1)]
    args = container(production, "StatefulSet", "thanos-compactor", "thanos-compactor")["args"]
    assert {"--retention.resolution-raw=90d", "--retention.resolution-5m=1y", "--retention.resolution-1h=2y",
            "--wait"} <= set(args)
    assert "--downsampling.disable" not in args


def test_block_durations_are_equal_only_where_the_sidecar_uploads(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        args = container(manifests, "StatefulSet", "prometheus", "prometheus")["args"]
        blocks = [a for a in args if a.startswith(("--storage.tsdb.min-block", "--storage.tsdb.max-block"))]
        names = [c["name"] for c in pod(manifests, "StatefulSet", "prometheus")["containers"]]
        if profile == "production":
            assert "thanos-sidecar" in names
            assert blocks == ["--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h"]
        else:
            assert "thanos-sidecar" not in names and blocks == [], profile
            assert not [m for m in manifests if m.name.startswith("thanos")], profile


def test_every_thanos_pod_is_restricted_non_root_with_resources_and_probes(production: list[Manifest]) -> None:
    for kind, name in (("Deployment", "thanos-query"), ("StatefulSet", "thanos-store"),
                       ("StatefulSet", "thanos-compactor"), ("StatefulSet", "prometheus")):
        spec = pod(production, kind, name)
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
        for c in spec["containers"]:
            if not c["name"].startswith("thanos"):
                continue
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]
            assert c["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
            assert c["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    for name in ("thanos-query", "thanos-store", "thanos-compactor"):
        assert find(production, "NetworkPolicy", name)["spec"]["policyTypes"] == ["Ingress"]


def test_remote_endpoints_are_read_over_tls_from_secrets(remote: list[Manifest]) -> None:
    [endpoint] = [e for e in endpoints_of(remote) if not e["address"].startswith("dnssrv+")]
    assert endpoint == {"address": "thanos-grpc.staging.leanvibe.ai:443", "client_config": {"tls_config": {
        "enabled": True, "ca_file": "/etc/thanos/remote/staging/ca.crt",
        "cert_file": "/etc/thanos/remote/staging/tls.crt", "key_file": "/etc/thanos/remote/staging/tls.key"}}}
    uses = {(u.key, u.use.split()[1]) for u in secret_uses(Bundle(remote)) if u.secret == "thanos-remote-staging"}
    assert uses == {("ca.crt", "/etc/thanos/remote/staging/ca.crt"), ("tls.crt", "/etc/thanos/remote/staging/tls.crt"),
                    ("tls.key", "/etc/thanos/remote/staging/tls.key")}
    assert find(remote, "Deployment", "thanos-query")["metadata"]["annotations"] == {
        "leanvibe.ai/external-secrets": "thanos-remote-staging"}
    assert thanos_check.check(Bundle(remote)) == []


def test_a_new_environment_gets_its_own_bucket_and_cannot_use_productions(tmp_path: Path) -> None:
    from leanvibe_stack import api

    eu = load_profile("production", overrides=["global.environment=eu", "global.region=eu-west-1"]).stack
    assert eu.thanos is not None
    config = eu.thanos.object_store.provider.config
    assert isinstance(config, S3Config)
    assert (config.bucket, config.endpoint) == ("leanvibe-thanos-eu", "s3.eu-west-1.amazonaws.com")
    path = tmp_path / "eu.yaml"
    path.write_text(f"extends: {PROFILES}/production.yaml\nglobal: {{environment: eu}}\nthanos:\n  object_store:\n"
                    "    provider: {type: S3, config: {bucket: leanvibe-thanos-production}}\n", encoding="utf-8")
    with pytest.raises(api.ValidationFailed) as failed:
        api.render_profile(str(path))
    leaks = [f for f in failed.value.report.findings if f.check == "identity.leak"]
    assert {(f.object.kind, f.object.name) for f in leaks if f.object} >= {
        ("StatefulSet", "prometheus"), ("StatefulSet", "thanos-store"), ("StatefulSet", "thanos-compactor")}
    assert all("'leanvibe-thanos-production' names environment 'production'" in f.message for f in leaks)


def test_graph_draws_query_reading_the_stores_and_the_bucket_users(production: list[Manifest]) -> None:
    graph = build(production)
    labels = {node.id: node.label for node in graph.nodes}
    edges = {(labels[e.source], labels[e.target], e.verb, e.detail) for e in graph.edges}
    assert {("thanos-query (Deployment)", "prometheus (StatefulSet)", QUERIES, "StoreAPI"),
            ("thanos-query (Deployment)", "thanos-store (StatefulSet)", QUERIES, "StoreAPI"),
            ("grafana (Deployment)", "thanos-query (Deployment)", QUERIES, "prometheus"),
            ("prometheus (StatefulSet)", "bucket leanvibe-thanos-production", BLOCKS, "uploads"),
            ("thanos-store (StatefulSet)", "bucket leanvibe-thanos-production", BLOCKS, "reads"),
            ("thanos-compactor (StatefulSet)", "bucket leanvibe-thanos-production", BLOCKS, "compacts")} <= edges


# --- strict models ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "arg", "problem"), [
    ("query", "--store=prometheus:10901", "is not a flag of `thanos query` 0.42"),
    ("query", "--endpoint=prometheus:10901", "deprecated in Thanos 0.42"),
    ("sidecar", "--objstore.config=type: S3", "credentials included"),
    ("compact", "--wait=true", "boolean flag: it takes no value"),
    ("store", "--index-cache-size", "needs a value"),
    ("store", "store.grpc.series-sample-limit=5", "not a long flag"),
])
def test_flags_thanos_0_42_would_refuse(command: str, arg: str, problem: str) -> None:
    found = flag_problem(command, arg)
    assert found is not None and problem in found


@pytest.mark.parametrize(("command", "arg"), [
    ("query", "--query.auto-downsampling"), ("query", "--no-query.partial-response"),
    ("store", "--store.grpc.series-sample-limit=50000000"), ("compact", "--compact.concurrency=2"),
    ("sidecar", "--shipper.upload-concurrency=4"), ("compact", "--no-wait"),
])
def test_flags_thanos_0_42_takes(command: str, arg: str) -> None:
    assert flag_problem(command, arg) is None


def test_the_s3_shape_refuses_credentials_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match="credentials are never written into profiles"):
        S3Config.model_validate({"bucket": "b-1x", "endpoint": "s3.amazonaws.com", "secret_key": "x"})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        S3Config.model_validate({"bucket": "b-1x", "endpoint": "s3.amazonaws.com", "buckt": "x"})


# --- checks on edited objects ----------------------------------------------------------------------------------


def test_a_query_that_dedups_on_another_label_is_reported(production: list[Manifest]) -> None:
    objects = edited(production)
    args = container(objects, "Deployment", "thanos-query", "thanos-query")["args"]
    args[args.index("--query.replica-label=replica")] = "--query.replica-label=prometheus_replica"
    [missing, none] = findings(objects, "thanos.dedup-label")
    assert "'prometheus_replica', which is not an external label" in missing
    assert "deduplicates on none of its external labels" in none


def test_an_srv_name_without_its_service_port_or_headless_service_is_reported(production: list[Manifest]) -> None:
    objects = edited(production)
    service = find(objects, "Service", "thanos-store-headless")
    service["spec"]["ports"][0]["name"] = "grpc-store"
    config = find(objects, "ConfigMap", "thanos-query-endpoints")
    endpoints = yamlio.load(config["data"]["endpoints.yaml"])
    endpoints["endpoints"].append({"address": "dnssrv+_grpc._tcp.prometheus.leanvibe-monitoring.svc.cluster.local"})
    endpoints["endpoints"].append({"address": "thanos.example.com:10901"})
    config["data"]["endpoints.yaml"] = yamlio.dump(endpoints)
    problems = findings(objects, "thanos.endpoint-unresolved")
    assert len(problems) == 3
    assert "has no TCP port named 'grpc'" in problems[0]
    assert "Service prometheus has no TCP port named 'grpc'" in problems[1]
    assert "outside the cluster and read without TLS" in problems[2]


def test_block_durations_without_an_uploading_sidecar_are_reported(rendered: dict[str, list[Manifest]]) -> None:
    staging = edited(rendered["staging"])
    container(staging, "StatefulSet", "prometheus", "prometheus")["args"] += [
        "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h"]
    [problem] = findings(staging, "thanos.block-duration")
    assert "none does in this pod" in problem
    production = edited(rendered["production"])
    args = container(production, "StatefulSet", "prometheus", "prometheus")["args"]
    args.remove("--storage.tsdb.max-block-duration=2h")
    [problem] = findings(production, "thanos.block-duration")
    assert "compacted blocks are never uploaded" in problem


def test_inline_or_configmap_objstore_config_is_reported(production: list[Manifest]) -> None:
    objects = edited(production)
    store = container(objects, "StatefulSet", "thanos-store", "thanos-store")["args"]
    store.append("--objstore.config=type: S3")
    [volume] = [v for v in pod(objects, "StatefulSet", "thanos-compactor")["volumes"] if v["name"] == "objstore"]
    volume.clear()
    volume.update({"name": "objstore", "configMap": {"name": "thanos-objstore", "items": [
        {"key": "objstore.yml", "path": "objstore.yml"}]}})
    problems = findings(objects, "thanos.objstore-inline")
    assert any("--objstore.config writes the object-store config" in p for p in problems)
    assert any("comes from a ConfigMap" in p for p in problems)
    assert any("credentials included" in p for p in findings(objects, "thanos.flag"))


def test_two_compactors_or_two_buckets_are_reported(production: list[Manifest]) -> None:
    objects = edited(production)
    find(objects, "StatefulSet", "thanos-compactor")["spec"]["replicas"] = 2
    find(objects, "StatefulSet", "thanos-store")["metadata"]["annotations"]["leanvibe.ai/objstore-bucket"] = "other"
    [singleton] = findings(objects, "thanos.compactor-singleton")
    assert "2 compactor pods on bucket leanvibe-thanos-production" in singleton
    assert len(findings(objects, "thanos.bucket")) == 3


def test_grafana_bypassing_query_is_reported(production: list[Manifest]) -> None:
    objects = edited(production)
    config = find(objects, "ConfigMap", "grafana-datasources")
    config["data"]["datasources.yaml"] = config["data"]["datasources.yaml"].replace(
        "http://thanos-query.leanvibe-monitoring.svc.cluster.local:10902",
        "http://prometheus.leanvibe-monitoring.svc.cluster.local:9090")
    [problem] = findings(objects, "thanos.grafana-datasource")
    assert "queries Prometheus Service prometheus while Thanos Query is rendered" in problem


# --- alerts -----------------------------------------------------------------------------------------------------


def test_each_thanos_alert_fires_and_stays_silent_in_its_promtool_test(
        production: list[Manifest], tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    rules = [data for _, data in Bundle(production).rule_files
             if any(g["name"] == "leanvibe.thanos.rules" for g in data["groups"])]
    [group] = [g for data in rules for g in data["groups"]]
    tests = (PROFILES / "rule-tests" / "thanos_test.yml").read_text(encoding="utf-8")
    assert {r["alert"] for r in group["rules"]} >= {"ThanosSidecarUploadFailing", "ThanosCompactorHalted",
                                                   "ThanosQueryEndpointsDown", "ThanosBucketOperationsFailing"}
    for rule in group["rules"]:
        assert f"alertname: {rule['alert']}\n" in tests and f"alertname: {rule['alert']}, exp_alerts: []" in tests
        assert rule["annotations"]["runbook_url"].startswith("https://runbooks.leanvibe.ai/")
    (tmp_path / "rules.yml").write_text(yamlio.dump({"groups": [group]}), encoding="utf-8")
    (tmp_path / "thanos_test.yml").write_text(tests, encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", "thanos_test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_profiles_without_thanos_leave_its_rule_tests_out(rendered: dict[str, list[Manifest]]) -> None:
    require_tool("promtool")
    from leanvibe_stack.validate import tools

    tests = sorted((PROFILES / "rule-tests").glob("*_test.yml"))
    _, runs = tools.check(Bundle(rendered["staging"]), rule_tests=tests, require=True)
    [run] = [r for r in runs if r.name == "promtool-tests"]
    assert run.status == "passed" and "left out, their alerts are not rendered: thanos_test.yml" in run.detail


def test_the_thanos_alerts_reach_the_platform_team(production: list[Manifest]) -> None:
    from leanvibe_stack.validate.routing import receivers_for

    config = yamlio.load(find(production, "ConfigMap", "alertmanager-config")["data"]["alertmanager.yml"])
    rules = [rule for _, data in Bundle(production).rule_files for group in data["groups"]
             if group["name"] == "leanvibe.thanos.rules" for rule in group["rules"]]
    assert len(rules) == 6
    for rule in rules:
        labels = {"alertname": rule["alert"], "cluster": "leanvibe-production", **rule["labels"]}
        assert receivers_for(config["route"], labels) == ["platform-team"], rule["alert"]


def test_diff_says_query_restarts_when_a_remote_endpoint_is_added(
        production: list[Manifest], remote: list[Manifest]) -> None:
    from leanvibe_stack.diff.comparison import RESTARTS, compare

    comparison = compare(production, remote, ("production", "remote"))
    assert {(c.manifest.kind, c.manifest.name) for c in comparison.changed} == {
        ("ConfigMap", "thanos-query-endpoints"), ("Deployment", "thanos-query")}
    assert [(note.owner, note.action) for note in comparison.pods] == [
        ("Deployment/leanvibe-monitoring/thanos-query", RESTARTS)]


def test_a_child_of_production_turns_thanos_off_with_its_alerts(tmp_path: Path) -> None:
    from leanvibe_stack.validate.promql import check as promql_check

    path = tmp_path / "off.yaml"
    path.write_text(f"extends: {PROFILES}/production.yaml\nthanos: null\nprometheus:\n  rule_groups:\n"
                    "    leanvibe.thanos.rules: null\n", encoding="utf-8")
    manifests = render_stack(load_profile(str(path)).stack)
    assert not [m for m in manifests if m.name.startswith("thanos")]
    assert [c["name"] for c in pod(manifests, "StatefulSet", "prometheus")["containers"]] == [
        "prometheus", "config-reloader"]
    args = container(manifests, "StatefulSet", "prometheus", "prometheus")["args"]
    assert not [a for a in args if "block-duration" in a]
    data = yamlio.load(find(manifests, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"])
    assert [s["url"] for s in data["datasources"] if s["type"] == "prometheus"] == [
        f"http://prometheus.{NAMESPACE}.svc.cluster.local:9090"]
    assert thanos_check.check(Bundle(manifests)) == []
    assert not [f for f in promql_check(Bundle(manifests)) if "thanos" in f.message]
