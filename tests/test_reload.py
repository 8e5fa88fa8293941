"""Reload, don't restart (issue 15.1) and consistent reads from the Prometheus HA pair (issue 15.5).

Targeted asserts on the rendered objects; `test_render.py` compares whole renders (an alert threshold or a
dashboard title changes ConfigMaps only) and `test_diff.py` what `diff` says about the pods.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from leanvibe_stack.diff import compare
from leanvibe_stack.errors import ProfileError
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from tests.conftest import PROFILES, find

RELOADER_IMAGE = "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.0"


def containers(manifests: list[Manifest], kind: str, name: str) -> dict[str, dict[str, Any]]:
    spec = find(manifests, kind, name)["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def prometheus_yml(manifests: list[Manifest]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(find(manifests, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    return loaded


def render_child(tmp_path: Path, body: str) -> list[Manifest]:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\n{body}", encoding="utf-8")
    return render_stack(load_profile(str(child)).stack)


# --- the sidecar -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, name, port, dirs", [
    ("StatefulSet", "prometheus", 9090, ["/etc/prometheus/config", "/etc/prometheus/rules"]),
    ("StatefulSet", "alertmanager", 9093, ["/etc/alertmanager/config", "/etc/alertmanager/templates"]),
])
def test_a_reloader_sidecar_watches_every_mounted_config_dir_and_calls_reload_on_loopback(
    rendered: dict[str, list[Manifest]], kind: str, name: str, port: int, dirs: list[str]
) -> None:
    for profile, manifests in rendered.items():
        pod = containers(manifests, kind, name)
        reloader = pod["config-reloader"]
        assert reloader["image"] == RELOADER_IMAGE, profile
        assert reloader["args"] == [f"--reload-url=http://127.0.0.1:{port}/-/reload",
                                    *(f"--watched-dir={d}" for d in dirs)]
        program_mounts = {m["mountPath"]: m["name"] for m in pod[name]["volumeMounts"]}
        assert [(m["name"], m["mountPath"], m["readOnly"]) for m in reloader["volumeMounts"]] == [
            (program_mounts[d], d, True) for d in dirs]
        assert "ports" not in reloader  # it serves nothing (no --listen-address)
        annotations = find(manifests, kind, name)["spec"]["template"]["metadata"].get("annotations", {})
        assert "checksum/config" not in annotations, profile


def test_the_sidecar_is_small_and_restricted(production: list[Manifest]) -> None:
    for name in ("prometheus", "alertmanager"):
        reloader = containers(production, "StatefulSet", name)["config-reloader"]
        assert reloader["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                               "capabilities": {"drop": ["ALL"]}}
        assert reloader["resources"] == {"requests": {"cpu": "10m", "memory": "50Mi"},
                                         "limits": {"cpu": "50m", "memory": "50Mi"}}
        pod = find(production, "StatefulSet", name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True  # the pod level applies to the sidecar too
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_lifecycle_is_on_only_with_the_sidecar_and_9090_admits_only_its_clients(production: list[Manifest]) -> None:
    assert "--web.enable-lifecycle" in containers(production, "StatefulSet", "prometheus")["prometheus"]["args"]
    policy = find(production, "NetworkPolicy", "prometheus")["spec"]
    # The other rules admit Thanos Query to the sidecars' gRPC port and Prometheus to their metrics (test_thanos).
    (rule,) = [r for r in policy["ingress"] if r["ports"] == [{"protocol": "TCP", "port": 9090}]]
    assert [r["ports"] for r in policy["ingress"]] == [[{"protocol": "TCP", "port": port}] for port in (9090, 10901,
                                                                                                       10902)]
    peers = [p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
             or p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"]]
    assert peers == ["prometheus", "grafana", "ingress-nginx"]


def test_without_the_reloader_config_changes_roll_the_pods_and_lifecycle_stays_off(tmp_path: Path) -> None:
    manifests = render_child(tmp_path, "config_reloader: null\n")
    for name in ("prometheus", "alertmanager"):
        # Production's Prometheus pods also run the Thanos sidecar (no config of its own to reload).
        assert list(containers(manifests, "StatefulSet", name)) == [name, "thanos-sidecar"][:2 if name == "prometheus"
                                                                                           else 1]
        annotations = find(manifests, "StatefulSet", name)["spec"]["template"]["metadata"]["annotations"]
        assert len(annotations["checksum/config"]) == 64
    assert "--web.enable-lifecycle" not in containers(manifests, "StatefulSet", "prometheus")["prometheus"]["args"]


def test_the_reloader_needs_the_network_policies(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\nglobal:\n  network_policy: {{enabled: false}}\n",
                     encoding="utf-8")
    with pytest.raises(ProfileError, match="--web.enable-lifecycle"):
        load_profile(str(child))


def test_the_lifecycle_flag_stays_refused_in_extra_args(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\nprometheus:\n  extra_args: [--web.enable-lifecycle]\n",
                     encoding="utf-8")
    with pytest.raises(ProfileError, match="unauthenticated admin endpoints"):
        load_profile(str(child))


# --- Grafana -----------------------------------------------------------------------------------------------------


def test_grafana_rereads_dashboards_every_minute_and_restarts_only_for_datasources(production: list[Manifest]) -> None:
    providers = yaml.safe_load(find(production, "ConfigMap", "grafana-dashboard-providers")["data"]["dashboards.yaml"])
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["updateIntervalSeconds"] == 60
    deployment = find(production, "Deployment", "grafana")
    assert len(deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]) == 64
    # Stateless on purpose: nothing to keep, so a restart starts the new pod before stopping the old one.
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes["data"]


# --- HA: replicas told apart, reads kept on one, alerts not doubled -------------------------------------------


def test_each_replica_labels_its_series_and_alerts_with_its_pod_name(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        config = prometheus_yml(manifests)
        assert config["global"]["external_labels"]["replica"] == "$POD_NAME", profile  # os.Expand: $VAR
        env = containers(manifests, "StatefulSet", "prometheus")["prometheus"]["env"]
        assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in env
        assert config["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]
        text = find(manifests, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
        assert "${" not in text


def test_the_prometheus_job_scrapes_each_replica_by_its_pod(production: list[Manifest]) -> None:
    (job,) = [j for j in prometheus_yml(production)["scrape_configs"] if j["job_name"] == "prometheus"]
    assert "static_configs" not in job
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"own_namespace": True}}]
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep" and keep["regex"] == "prometheus;http"
    assert {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace",
            "target_label": "kubernetes_pod_name"} in job["relabel_configs"]


def test_grafana_queries_stick_to_one_replica(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        service = find(manifests, "Service", "prometheus")["spec"]
        datasources = yaml.safe_load(find(manifests, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"])
        (prometheus,) = [d for d in datasources["datasources"] if d["type"] == "prometheus"]
        # That Service, unless Thanos Query deduplicates the replicas (production: test_thanos).
        assert prometheus["url"].startswith("http://thanos-query." if profile == "production" else "http://prometheus.")
        replicas = find(manifests, "StatefulSet", "prometheus")["spec"]["replicas"]
        if replicas > 1:
            assert service["sessionAffinity"] == "ClientIP", profile
            assert service["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
        else:
            assert "sessionAffinity" not in service, profile


# --- diff: which pods reload and which restart ------------------------------------------------------------------


def edited(manifests: list[Manifest]) -> list[Manifest]:
    return [Manifest(copy.deepcopy(m.obj), m.component, m.source) for m in manifests]


def test_diff_says_grafana_rereads_a_changed_dashboard(production: list[Manifest], tmp_path: Path) -> None:
    changed = edited(production)
    (dashboard,) = [m for m in changed if m.name == "grafana-dashboard-leanvibe-overview"]
    data = dashboard.obj["data"]
    key = next(iter(data))
    data[key] = data[key].replace('"LeanVibe Enterprise Overview"', '"Renamed"', 1)
    assert [str(n) for n in compare(production, changed).pods] == [
        "Deployment/leanvibe-monitoring/grafana: re-read by Grafana within 60s "
        "(grafana-dashboard-leanvibe-overview changed)"]


def test_diff_says_a_pod_template_change_restarts(production: list[Manifest], tmp_path: Path) -> None:
    changed = render_child(tmp_path, "grafana:\n  datasources:\n    prometheus:\n      is_default: false\n"
                                     "    loki:\n      is_default: true\n")
    notes = [str(n) for n in compare(production, changed).pods]
    assert notes == ["Deployment/leanvibe-monitoring/grafana: restarts (grafana-datasources changed)"]


def test_diff_says_a_config_nobody_reloads_stays_old(production: list[Manifest]) -> None:
    # A pod whose template leaves out both the checksum and a reloader would keep the old file.
    old, new = edited(production), edited(production)
    for side in (old, new):
        (loki,) = [m for m in side if m.kind == "StatefulSet" and m.name == "loki"]
        del loki.obj["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    (config,) = [m for m in new if m.kind == "ConfigMap" and m.name == "loki-config"]
    key = next(iter(config.obj["data"]))
    config.obj["data"][key] += "# changed\n"
    assert [str(n) for n in compare(old, new).pods] == [
        "StatefulSet/leanvibe-monitoring/loki: keeps the old config until its pods restart (loki-config changed)"]


def test_diff_names_the_pod_template_when_more_than_the_checksum_changed(production: list[Manifest]) -> None:
    # A new container (e.g. a sidecar) restarts Prometheus although its changed rules alone would reload.
    changed = edited(production)
    (prometheus,) = [m for m in changed if m.kind == "StatefulSet" and m.name == "prometheus"]
    prometheus.obj["spec"]["template"]["spec"]["containers"][0]["args"].append("--query.timeout=1m")
    (rules,) = [m for m in changed if m.kind == "ConfigMap" and m.name == "prometheus-rules"]
    key = next(iter(rules.obj["data"]))
    rules.obj["data"][key] += "# changed\n"
    assert [str(n) for n in compare(production, changed).pods] == [
        "StatefulSet/leanvibe-monitoring/prometheus: restarts (pod template, prometheus-rules changed)"]


def test_diff_says_adding_a_dashboard_restarts_grafana(production: list[Manifest], tmp_path: Path) -> None:
    # A new dashboard is a new source of Grafana's projected volume: a pod template change.
    changed = render_child(tmp_path, "grafana:\n  dashboards:\n    extra:\n"
                                     f"      file: {PROFILES / 'dashboards' / 'leanvibe-overview.json'}\n")
    assert [str(n) for n in compare(production, changed).pods] == [
        "Deployment/leanvibe-monitoring/grafana: restarts (pod template, grafana-dashboard-extra changed)"]
