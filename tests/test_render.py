"""What a render must contain and how its objects must fit together, asserted on the parsed objects."""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from leanvibe_stack import output, yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import LoadedProfile, load_profile
from leanvibe_stack.render import render_stack
from tests.conftest import PROFILES, REPO, find

# The seed's 18 alert rules and 12 scrape jobs: the production profile must carry every one.
SEED_ALERTS = (
    "LeanVibeHighErrorRate", "LeanVibeHighResponseTime", "LeanVibeHighMemoryUsage", "LeanVibeHighCPUUsage",
    "Neo4jDown", "Neo4jHighConnections", "Neo4jSlowQueries", "RedisDown", "RedisHighMemoryUsage",
    "RedisLowHitRate", "LowTenantSignupRate", "HighTenantChurnRate", "RevenueDropAlert", "KubernetesNodeNotReady",
    "KubernetesPodCrashLooping", "KubernetesPodNotReady", "PersistentVolumeSpaceUsage",
    "PersistentVolumeInodeUsage",
)
SEED_JOBS = (
    "prometheus", "kubernetes-apiservers", "kubernetes-nodes", "kubernetes-pods", "leanvibe-backend", "neo4j",
    "redis", "node-exporter", "kube-state-metrics", "business-metrics", "stripe-api", "aws-resources",
)
DASHBOARD_TITLES = ("LeanVibe Enterprise Overview", "LeanVibe Business Metrics")
WORKLOAD_KINDS = ("StatefulSet", "Deployment", "DaemonSet")
RECOMMENDED_LABELS = tuple(
    f"app.kubernetes.io/{key}" for key in ("name", "instance", "version", "component", "part-of", "managed-by")
)
NAMESPACE_LABELS = ("app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance")
VERSION_LABEL = "app.kubernetes.io/version"
# helm's install order as GUIDE §4 states it (an independent oracle, not output.INSTALL_ORDER).
GUIDE_INSTALL_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount", "Secret",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "ClusterRole", "ClusterRoleBinding",
    "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "Deployment", "StatefulSet", "Job", "CronJob", "Ingress",
)
CREDENTIAL_PATTERNS = {
    "slack webhook": re.compile(r"hooks\.slack\.com/services"),
    "slack token": re.compile(r"xox[bp]-"),
    "PEM block": re.compile(r"-----BEGIN"),
    "literal password": re.compile(r"(?i)password['\"]?[ \t]*:[ \t]*['\"]?[^\s'\"]"),
    "AWS access key id": re.compile(r"AKIA[0-9A-Z]{16}"),
}
LOKI_REMOVED_KEYS = {"max_transfer_retries", "shared_store", "enforce_metric_name", "sse_encryption", "table_manager"}
UNBOUNDED_LABELS = {"request_id", "tenant_id", "pid"}


# --- helpers -------------------------------------------------------------------------------------------------


def objects(manifests: list[Manifest], kind: str) -> list[dict[str, Any]]:
    return [m.obj for m in manifests if m.kind == kind]


def get(manifests: list[Manifest], kind: str, name: str, namespace: str) -> dict[str, Any]:
    matches = [m.obj for m in manifests if m.kind == kind and m.name == name and m.namespace == namespace]
    assert len(matches) == 1, f"expected one {kind} {namespace}/{name}, found {len(matches)}"
    return matches[0]


def workloads(manifests: list[Manifest]) -> list[dict[str, Any]]:
    return [m.obj for m in manifests if m.kind in WORKLOAD_KINDS]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = pod_spec(workload)
    return [*pod.get("initContainers", []), *pod["containers"]]


def config_file(manifests: list[Manifest], configmap: str, key: str) -> Any:
    """An embedded config file of a ConfigMap, parsed."""
    matches = [m.obj for m in manifests if m.kind == "ConfigMap" and m.name == configmap]
    assert len(matches) == 1, f"expected one ConfigMap {configmap}"
    return yaml.safe_load(matches[0]["data"][key])


def walk(value: Any) -> Iterator[Any]:
    """Every mapping key and every value, at any depth."""
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def keys_anywhere(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(str(key))
            found |= keys_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            found |= keys_anywhere(item)
    return found


def configmap_sources(volume: dict[str, Any]) -> list[dict[str, Any]]:
    """The configMap volume sources of a volume (plain or projected)."""
    if "configMap" in volume:
        return [volume["configMap"]]
    sources = volume.get("projected", {}).get("sources", [])
    return [source["configMap"] for source in sources if "configMap" in source]


def mounted_config_files(manifests: list[Manifest], workload: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Absolute path inside the containers -> (ConfigMap name, key) for every mounted ConfigMap key."""
    namespace = workload["metadata"]["namespace"]
    volumes = {volume["name"]: volume for volume in pod_spec(workload).get("volumes", [])}
    files: dict[str, tuple[str, str]] = {}
    for container in containers(workload):
        for mount in container.get("volumeMounts", []):
            for source in configmap_sources(volumes.get(mount["name"], {})):  # {}: a volumeClaimTemplate
                data = get(manifests, "ConfigMap", source["name"], namespace)["data"]
                items = source.get("items") or [{"key": key, "path": key} for key in data]
                for item in items:
                    assert item["key"] in data, f"{source['name']} has no key {item['key']}"
                    if "subPath" in mount:
                        if mount["subPath"] == item["path"]:
                            files[mount["mountPath"]] = (source["name"], item["key"])
                    else:
                        files[posixpath.join(mount["mountPath"], item["path"])] = (source["name"], item["key"])
    return files


def mount_dirs(workload: dict[str, Any], configmap: str) -> set[str]:
    """Directories where a ConfigMap is mounted whole."""
    volumes = {volume["name"]: volume for volume in pod_spec(workload).get("volumes", [])}
    return {
        mount["mountPath"]
        for container in containers(workload)
        for mount in container.get("volumeMounts", [])
        if "subPath" not in mount
        and any(source["name"] == configmap for source in configmap_sources(volumes.get(mount["name"], {})))
    }


def config_file_args(workload: dict[str, Any]) -> list[str]:
    return [
        arg.split("=", 1)[1]
        for container in containers(workload)
        for arg in [*container.get("command", []), *container.get("args", [])]
        if arg.startswith(("--config.file=", "-config.file=", "--config="))
    ]


def mounted_config(manifests: list[Manifest], workload: dict[str, Any]) -> tuple[str, Any]:
    """The file a workload's `config.file` flag names and its parsed content, read from the mounted ConfigMap."""
    (path,) = config_file_args(workload)
    files = mounted_config_files(manifests, workload)
    assert path in files, f"{workload['metadata']['name']} reads {path}, which no ConfigMap mount provides"
    configmap, key = files[path]
    return path, config_file(manifests, configmap, key)


def fqdn(service: dict[str, Any], cluster_domain: str) -> str:
    return f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.{cluster_domain}"


def credential_findings(objs: list[dict[str, Any]]) -> list[str]:
    """Credential-looking values in ConfigMap data."""
    return [
        f"{obj['metadata']['name']}/{key}: {label}"
        for obj in objs
        if obj["kind"] == "ConfigMap"
        for key, text in obj.get("data", {}).items()
        for label, pattern in CREDENTIAL_PATTERNS.items()
        if pattern.search(text)
    ]


def placeholder_findings(objs: list[dict[str, Any]]) -> list[str]:
    """Every `${` in any key or value of the objects, and in their embedded config files once parsed."""
    found = []
    for obj in objs:
        for value in walk(obj):
            if isinstance(value, str) and "${" in value:
                found.append(f"{obj['kind']}/{obj['metadata']['name']}: {value[:80]!r}")
        for key, text in obj.get("data", {}).items() if obj["kind"] == "ConfigMap" else ():
            if not key.endswith((".json", ".yml", ".yaml")):
                continue  # templates and other plain text: covered by the raw-string walk above
            embedded = json.loads(text) if key.endswith(".json") else yaml.safe_load(text)
            # `$${` is Grafana provisioning's escaped `${`: a macro of Grafana's own, not an env placeholder.
            found += [f"{obj['metadata']['name']}/{key}: {v!r}" for v in walk(embedded)
                      if isinstance(v, str) and "${" in v.replace("$${", "")]
    return found


# --- 1. objects ----------------------------------------------------------------------------------------------


def test_production_renders_every_kind_a_running_stack_needs(production: list[Manifest]) -> None:
    kinds = {m.kind for m in production}
    needed = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Service",
              "StatefulSet", "DaemonSet", "Deployment"}
    assert needed <= kinds, f"missing kinds: {sorted(needed - kinds)}"


def test_no_profile_renders_a_secret(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        assert objects(manifests, "Secret") == [], f"{profile} renders a Secret"


# --- 2. the seed's alerts and scrape jobs --------------------------------------------------------------------


def test_every_seed_alert_is_in_the_rendered_rule_files(production: list[Manifest]) -> None:
    rules = find(production, "ConfigMap", "prometheus-rules")["data"]
    alerts = [rule["alert"] for text in rules.values() for group in yaml.safe_load(text)["groups"]
              for rule in group["rules"] if "alert" in rule]
    assert len(SEED_ALERTS) == 18
    missing = [name for name in SEED_ALERTS if name not in alerts]
    assert missing == [], f"alerts missing from the rule files: {missing}"
    assert len(alerts) == len(set(alerts)), "an alert is defined twice"


def test_every_seed_scrape_job_is_in_prometheus_yml(production: list[Manifest]) -> None:
    config = config_file(production, "prometheus-config", "prometheus.yml")
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    missing = [name for name in SEED_JOBS if name not in jobs]
    assert missing == [], f"scrape jobs missing from prometheus.yml: {missing}"
    assert len(jobs) == len(set(jobs)), "duplicate job_name"


# --- 3. dashboards -------------------------------------------------------------------------------------------


def test_dashboards_are_bare_models_in_labelled_configmaps_mounted_by_grafana(production: list[Manifest]) -> None:
    labelled = [cm for cm in objects(production, "ConfigMap")
                if cm["metadata"]["labels"].get("grafana_dashboard") == "1"]
    by_title: dict[str, tuple[str, str]] = {}
    for cm in labelled:
        for key, text in cm["data"].items():
            model = json.loads(text)
            assert "dashboard" not in model, f"{cm['metadata']['name']}/{key} is wrapped in {{'dashboard': ...}}"
            assert isinstance(model.get("uid"), str) and model["uid"], f"{key} has no uid"
            by_title[model["title"]] = (cm["metadata"]["name"], key)
    assert set(DASHBOARD_TITLES) <= set(by_title), f"dashboards found: {sorted(by_title)}"

    grafana = find(production, "Deployment", "grafana")
    projected = [source["configMap"] for volume in pod_spec(grafana)["volumes"]
                 for source in volume.get("projected", {}).get("sources", []) if "configMap" in source]
    mounted = {source["name"] for source in projected}
    files = mounted_config_files(production, grafana)
    for title in DASHBOARD_TITLES:
        configmap, key = by_title[title]
        assert configmap in mounted, f"Grafana does not mount {configmap} ({title})"
        assert (configmap, key) in files.values(), f"{configmap}/{key} is not projected into Grafana"


# --- 4. no placeholders, no credentials ----------------------------------------------------------------------


def test_no_rendered_string_contains_a_placeholder(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        findings = placeholder_findings([m.obj for m in manifests])
        assert findings == [], f"{profile}: `${{` survives in {findings}"
        assert "${" not in output.stream(manifests), profile


def test_no_configmap_holds_a_credential(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        assert credential_findings([m.obj for m in manifests]) == [], profile


@pytest.mark.parametrize("injected", [
    "url: https://hooks.slack.com/services/T0000/B0000/XXXXXXXX",
    "token: xoxb-0000-0000",
    "cert: |\n  -----BEGIN PRIVATE KEY-----",
    "password: hunter2",
    '"password": "hunter2"',
    "access_key_id: AKIAABCDEFGHIJKLMNOP",
])
def test_the_credential_scanner_finds_an_injected_secret(production: list[Manifest], injected: str) -> None:
    clean = copy.deepcopy(find(production, "ConfigMap", "prometheus-config"))
    assert credential_findings([clean]) == []
    clean["data"]["prometheus.yml"] += f"{injected}\n"
    assert credential_findings([clean]) != []


def test_the_credential_scanner_ignores_file_references_and_empty_passwords(production: list[Manifest]) -> None:
    clean = copy.deepcopy(find(production, "ConfigMap", "prometheus-config"))
    clean["data"]["prometheus.yml"] += "smtp_auth_password_file: /etc/secret/password\npassword: ''\npassword:\n"
    assert credential_findings([clean]) == []


def test_the_placeholder_scanner_finds_an_injected_placeholder(production: list[Manifest]) -> None:
    configmap = copy.deepcopy(find(production, "ConfigMap", "alertmanager-config"))
    assert placeholder_findings([configmap]) == []
    configmap["data"]["alertmanager.yml"] += "extra: ${SLACK_WEBHOOK_URL}\n"
    assert placeholder_findings([configmap]) != []
    workload = copy.deepcopy(find(production, "StatefulSet", "loki"))
    pod_spec(workload)["containers"][0]["args"].append("-s3.access-key=${AWS_ACCESS_KEY_ID}")
    assert placeholder_findings([workload]) != []


# --- 5. config files and globs match the mounts --------------------------------------------------------------


def test_prometheus_rule_files_glob_matches_the_mounted_rules(production: list[Manifest]) -> None:
    prometheus = find(production, "StatefulSet", "prometheus")
    _, config = mounted_config(production, prometheus)
    globs = config["rule_files"]
    rules_dirs = mount_dirs(prometheus, "prometheus-rules")
    assert len(rules_dirs) == 1
    assert {posixpath.dirname(glob) for glob in globs} == rules_dirs
    keys = find(production, "ConfigMap", "prometheus-rules")["data"]
    assert keys, "no rule files"
    (rules_dir,) = rules_dirs
    for key in keys:
        assert any(fnmatch(f"{rules_dir}/{key}", glob) for glob in globs), f"{key} matches none of {globs}"


def test_alertmanager_templates_glob_matches_the_mounted_templates(production: list[Manifest]) -> None:
    alertmanager = find(production, "StatefulSet", "alertmanager")
    _, config = mounted_config(production, alertmanager)
    globs = config["templates"]
    template_dirs = mount_dirs(alertmanager, "alertmanager-templates")
    assert len(template_dirs) == 1
    assert {posixpath.dirname(glob) for glob in globs} == template_dirs
    keys = find(production, "ConfigMap", "alertmanager-templates")["data"]
    assert keys, "no templates"
    (template_dir,) = template_dirs
    for key in keys:
        assert any(fnmatch(f"{template_dir}/{key}", glob) for glob in globs), f"{key} matches none of {globs}"


@pytest.mark.parametrize(("kind", "name", "configmap", "key"), [
    ("StatefulSet", "prometheus", "prometheus-config", "prometheus.yml"),
    ("StatefulSet", "alertmanager", "alertmanager-config", "alertmanager.yml"),
    ("StatefulSet", "loki", "loki-config", "loki.yaml"),
    ("DaemonSet", "fluent-bit", "fluent-bit-config", "fluent-bit.yaml"),
])
def test_config_file_flag_names_the_mounted_configmap_key(
    rendered: dict[str, list[Manifest]], kind: str, name: str, configmap: str, key: str
) -> None:
    for profile, manifests in rendered.items():
        workload = find(manifests, kind, name)
        paths = config_file_args(workload)
        assert len(paths) == 1, f"{profile}: {name} has config.file flags {paths}"
        files = mounted_config_files(manifests, workload)
        assert files.get(paths[0]) == (configmap, key), f"{profile}: {name} reads {paths[0]}; mounted: {files}"


# --- 6. Alertmanager cluster ---------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["production", "staging"])
def test_alertmanager_peers_are_every_statefulset_pod_behind_the_headless_service(
    rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile], profile: str
) -> None:
    manifests = rendered[profile]
    domain = loaded[profile].stack.global_.cluster_domain
    statefulset = find(manifests, "StatefulSet", "alertmanager")
    namespace = statefulset["metadata"]["namespace"]
    replicas = statefulset["spec"]["replicas"]
    assert replicas > 1
    assert statefulset["spec"]["serviceName"] == "alertmanager-headless"
    headless = get(manifests, "Service", "alertmanager-headless", namespace)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    assert 9094 in {port["port"] for port in headless["spec"]["ports"]}

    args = containers(statefulset)[0]["args"]
    peers = [arg.removeprefix("--cluster.peer=") for arg in args if arg.startswith("--cluster.peer=")]
    assert peers == [f"alertmanager-{i}.alertmanager-headless.{namespace}.svc.{domain}:9094"
                     for i in range(replicas)]

    config = config_file(manifests, "prometheus-config", "prometheus.yml")
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert "static_configs" not in alertmanagers
    names = [name for sd in alertmanagers["dns_sd_configs"] for name in sd["names"]]
    assert names == [fqdn(headless, domain)]
    ports = {sd.get("port") for sd in alertmanagers["dns_sd_configs"]}
    assert ports <= {port["port"] for port in headless["spec"]["ports"]}


def test_a_single_alertmanager_has_no_cluster_peers(rendered: dict[str, list[Manifest]]) -> None:
    statefulset = find(rendered["development"], "StatefulSet", "alertmanager")
    assert statefulset["spec"]["replicas"] == 1
    args = containers(statefulset)[0]["args"]
    assert [arg for arg in args if arg.startswith("--cluster.peer")] == []


# --- 7. storage ----------------------------------------------------------------------------------------------


def test_stateful_components_get_one_readwriteonce_claim_per_replica(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        for name in ("prometheus", "alertmanager", "loki"):
            statefulset = find(manifests, "StatefulSet", name)
            templates = statefulset["spec"].get("volumeClaimTemplates", [])
            assert templates, f"{profile}: {name} has no volumeClaimTemplates"
            for claim in templates:
                assert claim["spec"]["accessModes"] == ["ReadWriteOnce"], f"{profile}: {name}"
            mounted = {m["name"] for c in containers(statefulset) for m in c.get("volumeMounts", [])}
            assert {claim["metadata"]["name"] for claim in templates} <= mounted, f"{profile}: {name}"
            shared = [v for v in pod_spec(statefulset).get("volumes", []) if "persistentVolumeClaim" in v]
            assert shared == [], f"{profile}: {name} mounts a shared PVC"


def test_no_replicated_deployment_shares_a_claim(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        for deployment in objects(manifests, "Deployment"):
            claims = [v for v in pod_spec(deployment).get("volumes", []) if "persistentVolumeClaim" in v]
            if claims:
                assert deployment["spec"].get("replicas", 1) <= 1, f"{profile}: {deployment['metadata']['name']}"


# --- 8. labels and selectors ---------------------------------------------------------------------------------


def test_selectors_never_use_the_version_label(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        for workload in workloads(manifests):
            match_labels = workload["spec"]["selector"]["matchLabels"]
            assert match_labels, f"{profile}: {workload['metadata']['name']} selects nothing"
            assert VERSION_LABEL not in match_labels, f"{profile}: {workload['metadata']['name']}"
            assert match_labels.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        for service in objects(manifests, "Service"):
            assert VERSION_LABEL not in service["spec"]["selector"], f"{profile}: {service['metadata']['name']}"
        for budget in objects(manifests, "PodDisruptionBudget"):
            assert VERSION_LABEL not in budget["spec"]["selector"]["matchLabels"]
        for policy in objects(manifests, "NetworkPolicy"):
            assert VERSION_LABEL not in policy["spec"]["podSelector"].get("matchLabels", {})


def test_every_service_selects_the_pods_of_a_workload_in_its_namespace(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        for service in objects(manifests, "Service"):
            selector = service["spec"]["selector"]
            assert selector, f"{profile}: {service['metadata']['name']} has an empty selector"
            selected = [
                w["metadata"]["name"] for w in workloads(manifests)
                if w["metadata"]["namespace"] == service["metadata"]["namespace"]
                and selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
            ]
            assert selected, f"{profile}: Service {service['metadata']['name']} selects no workload's pods"


def test_every_object_carries_the_recommended_labels(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        for manifest in manifests:
            labels = manifest.obj["metadata"].get("labels", {})
            wanted = NAMESPACE_LABELS if manifest.kind == "Namespace" else RECOMMENDED_LABELS
            missing = [label for label in wanted if not labels.get(label)]
            assert missing == [], f"{profile}: {manifest.kind}/{manifest.name} lacks {missing}"
            assert labels["app.kubernetes.io/instance"] == profile
            assert labels["app.kubernetes.io/part-of"] == "leanvibe-stack"
            assert labels["app.kubernetes.io/managed-by"] == "leanvibe-stack"


# --- 9. checksum/config --------------------------------------------------------------------------------------


def pod_checksum(manifests: list[Manifest], kind: str, name: str) -> str:
    annotations = find(manifests, kind, name)["spec"]["template"]["metadata"].get("annotations", {})
    value = annotations.get("checksum/config")
    assert isinstance(value, str), f"{kind}/{name} has no checksum/config"
    return value


def reloader_watched(workload: dict[str, Any]) -> set[str]:
    """Volume names mounted where the pod's config-reloader sidecar watches."""
    containers = [c for c in pod_spec(workload)["containers"] if c["name"] == "config-reloader"]
    dirs = {arg.split("=", 1)[1] for c in containers for arg in c["args"] if arg.startswith("--watched-dir=")}
    return {m["name"] for c in containers for m in c["volumeMounts"] if m["mountPath"] in dirs}


def test_every_pod_mounting_a_configmap_reloads_it_or_carries_a_config_checksum(
    rendered: dict[str, list[Manifest]]
) -> None:
    for profile, manifests in rendered.items():
        mounting = [w for w in workloads(manifests)
                    if any(configmap_sources(v) for v in pod_spec(w).get("volumes", []))]
        assert {w["metadata"]["name"] for w in mounting} >= {"prometheus", "alertmanager", "loki", "fluent-bit",
                                                             "grafana"}
        for workload in mounting:
            name = workload["metadata"]["name"]
            value = workload["spec"]["template"]["metadata"].get("annotations", {}).get("checksum/config")
            unwatched = [v["name"] for v in pod_spec(workload)["volumes"]
                         if configmap_sources(v) and v["name"] not in reloader_watched(workload)]
            if name in ("prometheus", "alertmanager"):  # everything they mount reloads in place
                assert unwatched == [] and value is None, f"{profile}: {name}"
            else:
                assert value and re.fullmatch(r"[0-9a-f]{64}", value), f"{profile}: {name}: {value!r}"


def pod_templates(manifests: list[Manifest]) -> dict[tuple[str, str, str], Any]:
    return {(m.kind, m.namespace, m.name): m.obj["spec"]["template"] for m in manifests if m.kind in WORKLOAD_KINDS}


def changed_objects(old: list[Manifest], new: list[Manifest]) -> set[tuple[str, str]]:
    before = {m.key: m.obj for m in old}
    return {(m.kind, m.name) for m in new if before.get(m.key) != m.obj}


def render_child(tmp_path: Path, body: str) -> list[Manifest]:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\n{body}", encoding="utf-8")
    return render_stack(load_profile(str(child)).stack)


def test_changing_an_alert_threshold_changes_a_configmap_and_no_pod_template(
    production: list[Manifest], tmp_path: Path
) -> None:
    changed = render_child(tmp_path, "prometheus:\n  rule_groups:\n    leanvibe.enterprise.rules:\n      rules:\n"
                                     "        LeanVibeHighErrorRate:\n          for: 17m\n")
    rules = find(changed, "ConfigMap", "prometheus-rules")["data"]["leanvibe.enterprise.rules.yml"]
    (rule,) = [r for g in yaml.safe_load(rules)["groups"] for r in g["rules"] if r["alert"] == "LeanVibeHighErrorRate"]
    assert rule["for"] == "17m"
    assert changed_objects(production, changed) == {("ConfigMap", "prometheus-rules")}
    assert pod_templates(changed) == pod_templates(production)  # every workload: nothing restarts


def test_changing_a_dashboard_title_changes_a_configmap_and_no_pod_template(
    production: list[Manifest], tmp_path: Path
) -> None:
    dashboard = json.loads((PROFILES / "dashboards" / "leanvibe-overview.json").read_text(encoding="utf-8"))
    dashboard["title"] = "LeanVibe Overview (renamed)"
    (tmp_path / "overview.json").write_text(json.dumps(dashboard), encoding="utf-8")
    changed = render_child(tmp_path, "grafana:\n  dashboards:\n    leanvibe-overview:\n"
                                     f"      file: {tmp_path / 'overview.json'}\n")
    text = find(changed, "ConfigMap", "grafana-dashboard-leanvibe-overview")["data"]["leanvibe-overview.json"]
    assert json.loads(text)["title"] == "LeanVibe Overview (renamed)"
    assert changed_objects(production, changed) == {("ConfigMap", "grafana-dashboard-leanvibe-overview")}
    assert pod_templates(changed) == pod_templates(production)


def test_a_datasource_change_still_restarts_grafana_and_only_grafana(
    production: list[Manifest], tmp_path: Path
) -> None:
    # Grafana 12 reads provisioned datasources at start-up only: its checksum covers them.
    changed = render_child(tmp_path, "grafana:\n  datasources:\n    prometheus:\n      is_default: false\n"
                                     "    loki:\n      is_default: true\n")
    before, after = pod_templates(production), pod_templates(changed)
    assert [key for key in after if after[key] != before[key]] == [("Deployment", "leanvibe-monitoring", "grafana")]


# --- 10. pod security ----------------------------------------------------------------------------------------


def test_every_pod_in_the_stack_namespace_meets_the_restricted_standard(
    rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile]
) -> None:
    for profile, manifests in rendered.items():
        namespace = loaded[profile].stack.global_.namespace
        in_namespace = [w for w in workloads(manifests) if w["metadata"]["namespace"] == namespace]
        assert len(in_namespace) >= 5
        for workload in in_namespace:
            where = f"{profile}: {workload['metadata']['name']}"
            pod = pod_spec(workload)
            security = pod.get("securityContext", {})
            assert security.get("runAsNonRoot") is True, where
            assert isinstance(security.get("runAsUser"), int) and security["runAsUser"] != 0, where
            assert security.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            for flag in ("hostNetwork", "hostPID", "hostIPC"):
                assert not pod.get(flag), f"{where}: {flag}"
            assert [v for v in pod.get("volumes", []) if "hostPath" in v] == [], where
            for container in containers(workload):
                context = container.get("securityContext", {})
                assert context.get("allowPrivilegeEscalation") is False, f"{where}/{container['name']}"
                assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{where}/{container['name']}"
                assert context.get("runAsUser", 1) != 0, f"{where}/{container['name']}"
                assert context.get("privileged", False) is False, f"{where}/{container['name']}"


def test_host_access_pods_live_only_in_the_labelled_agents_namespace(
    rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile]
) -> None:
    for profile, manifests in rendered.items():
        settings = loaded[profile].stack.global_
        host = {
            w["metadata"]["name"]: w["metadata"]["namespace"] for w in workloads(manifests)
            if any("hostPath" in v for v in pod_spec(w).get("volumes", []))
            or pod_spec(w).get("hostNetwork") or pod_spec(w).get("hostPID")
        }
        assert host == {"fluent-bit": settings.agents_namespace, "node-exporter": settings.agents_namespace}, profile

        agents = get(manifests, "Namespace", settings.agents_namespace, "")
        assert agents["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
        assert agents["metadata"].get("annotations", {}).get("leanvibe.ai/pod-security-exception")
        main = get(manifests, "Namespace", settings.namespace, "")
        assert main["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- 11. Fluent Bit ------------------------------------------------------------------------------------------


def test_every_log_output_pushes_to_the_loki_service(
    rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile]
) -> None:
    for profile, manifests in rendered.items():
        domain = loaded[profile].stack.global_.cluster_domain
        services = {fqdn(s, domain): s for s in objects(manifests, "Service")}
        outputs = config_file(manifests, "fluent-bit-config", "fluent-bit.yaml")["pipeline"]["outputs"]
        assert len(outputs) >= 4, profile
        for loki_output in outputs:
            assert loki_output["name"] == "loki"
            assert services[loki_output["host"]]["metadata"]["name"] == "loki", f"{profile}: {loki_output['host']}"
            assert loki_output["port"] == 3100 and loki_output["uri"] == "/loki/api/v1/push"
            assert loki_output["tenant_id"] == f"leanvibe-{loaded[profile].stack.global_.environment}"


def test_container_logs_are_read_as_cri_and_the_backend_json_after_kubernetes_metadata(
    production: list[Manifest],
) -> None:
    config = config_file(production, "fluent-bit-config", "fluent-bit.yaml")
    (containers_input,) = [i for i in config["pipeline"]["inputs"] if i["alias"] == "containers"]
    assert containers_input["path"] == "/var/log/containers/*.log"
    assert containers_input["multiline.parser"] == "cri"
    order = [f["alias"] for f in config["pipeline"]["filters"]]
    assert order.index("tracebacks") < order.index("kubernetes") < order.index("applications")
    assert order.index("applications") < order.index("backend-json")
    (backend,) = [f for f in config["pipeline"]["filters"] if f["alias"] == "backend-json"]
    assert backend["match"] == "app.leanvibe-backend" and backend["key_name"] == "log"
    (parser,) = [p for p in config["parsers"] if p["name"] == backend["parser"]]
    assert parser["format"] == "json" and parser["time_key"] == "timestamp"


def test_log_labels_are_bounded(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        config = config_file(manifests, "fluent-bit-config", "fluent-bit.yaml")
        for loki_output in config["pipeline"]["outputs"]:
            names = {entry.split("=", 1)[0].strip() for entry in loki_output["labels"].split(",")}
            assert not UNBOUNDED_LABELS & names, f"{profile}: {loki_output['alias']} labels {sorted(names)}"


def test_offsets_and_buffers_survive_pod_restarts(production: list[Manifest]) -> None:
    config = config_file(production, "fluent-bit-config", "fluent-bit.yaml")
    daemonset = find(production, "DaemonSet", "fluent-bit")
    volumes = {v["name"]: v for v in pod_spec(daemonset)["volumes"]}
    paths = [config["service"]["storage.path"], *(i["db"] for i in config["pipeline"]["inputs"])]
    for path in paths:
        holders = [m for c in containers(daemonset) for m in c.get("volumeMounts", [])
                   if path.startswith(m["mountPath"].rstrip("/") + "/")]
        assert holders, f"no volume holds {path}"
        deepest = max(holders, key=lambda m: len(m["mountPath"]))
        assert "hostPath" in volumes[deepest["name"]], f"{path} is on {volumes[deepest['name']]}"
        assert not deepest.get("readOnly", False)


def test_every_node_log_stream_names_its_node(production: list[Manifest]) -> None:
    config = config_file(production, "fluent-bit-config", "fluent-bit.yaml")
    node_outputs = [o for o in config["pipeline"]["outputs"] if o["match"].startswith("node.")]
    assert len(node_outputs) == 2
    for node_output in node_outputs:
        assert "hostname=$" in node_output["labels"], node_output["alias"]


# --- 12. Loki ------------------------------------------------------------------------------------------------


def test_replicated_loki_joins_a_memberlist_ring(
    production: list[Manifest], loaded: dict[str, LoadedProfile]
) -> None:
    domain = loaded["production"].stack.global_.cluster_domain
    assert find(production, "StatefulSet", "loki")["spec"]["replicas"] == 2
    config = config_file(production, "loki-config", "loki.yaml")
    assert config["common"]["ring"]["kvstore"]["store"] == "memberlist"
    headless = find(production, "Service", "loki-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert 7946 in {p["port"] for p in headless["spec"]["ports"]}
    assert config["memberlist"]["join_members"] == [f"{fqdn(headless, domain)}:7946"]


def test_single_loki_uses_an_inmemory_ring(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["development"]
    assert find(manifests, "StatefulSet", "loki")["spec"]["replicas"] == 1
    config = config_file(manifests, "loki-config", "loki.yaml")
    assert config["common"]["ring"]["kvstore"]["store"] == "inmemory"
    assert not config.get("memberlist", {}).get("join_members")


def test_loki_config_has_no_removed_or_invalid_fields(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        config = config_file(manifests, "loki-config", "loki.yaml")
        results_cache = config.get("query_range", {}).get("results_cache", {})
        assert "filesystem" not in keys_anywhere(results_cache), profile
        assert keys_anywhere(config) & LOKI_REMOVED_KEYS == set(), profile


# --- 13. Grafana datasources ---------------------------------------------------------------------------------


def test_grafana_datasources_point_at_rendered_services(
    rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile]
) -> None:
    for profile, manifests in rendered.items():
        domain = loaded[profile].stack.global_.cluster_domain
        config = config_file(manifests, "grafana-datasources", "datasources.yaml")
        assert config["apiVersion"] == 1
        assert {ds["uid"] for ds in config["datasources"]} == {"prometheus", "loki", "alertmanager", "jaeger"}
        services = {fqdn(s, domain): s for s in objects(manifests, "Service")}
        for datasource in config["datasources"]:
            url = urlsplit(datasource["url"])
            assert url.hostname in services, f"{profile}: {datasource['uid']} -> {url.hostname}"
            ports = {p["port"] for p in services[url.hostname]["spec"]["ports"]}
            assert url.port in ports, f"{profile}: {datasource['uid']} port {url.port} not in {ports}"
        assert sum(1 for ds in config["datasources"] if ds.get("isDefault")) == 1


# --- 14. output ----------------------------------------------------------------------------------------------


def split_stream(text: str) -> list[str]:
    """The documents of a stream, each with its trailing newline (a `---` inside a block scalar is indented)."""
    assert text.startswith("---\n")
    return re.split(r"^---\n", text, flags=re.MULTILINE)[1:]


def test_stream_documents_come_in_install_order_with_their_source(production: list[Manifest]) -> None:
    documents = split_stream(output.stream(production))
    assert len(documents) == len(production)
    objs = []
    for document in documents:
        first, _, body = document.partition("\n")
        match = re.fullmatch(r"# Source: (templates/\S+)", first)
        assert match, f"document does not start with a Source comment: {first!r}"
        assert (REPO / match.group(1)).is_file(), f"{match.group(1)} does not exist"
        objs.append(yaml.safe_load(body))
    kinds = [obj["kind"] for obj in objs]
    assert kinds[0] == "Namespace"
    ranks = [GUIDE_INSTALL_ORDER.index(kind) if kind in GUIDE_INSTALL_ORDER else len(GUIDE_INSTALL_ORDER)
             for kind in kinds]
    assert ranks == sorted(ranks), f"not in install order: {kinds}"
    last = {kind: max(i for i, k in enumerate(kinds) if k == kind) for kind in kinds}
    first_index = {kind: kinds.index(kind) for kind in kinds}
    assert last["Service"] < first_index["StatefulSet"]
    assert last["ConfigMap"] < first_index["Deployment"]
    assert last["ServiceAccount"] < first_index["DaemonSet"]
    assert last["ClusterRole"] < first_index["ClusterRoleBinding"]
    for kind in set(kinds):  # ties by name (then namespace), so the stream is stable
        same = [(o["metadata"]["name"], o["metadata"].get("namespace", "")) for o in objs if o["kind"] == kind]
        assert same == sorted(same), kind
    assert sorted(map(json.dumps, objs)) == sorted(json.dumps(m.obj) for m in production)


def test_tree_numbers_files_in_install_order_and_lists_them_in_kustomization(production: list[Manifest]) -> None:
    files = output.tree(production)
    kustomization = yaml.safe_load(files.pop("kustomization.yaml"))
    names = list(files)
    assert len(names) == len(production)
    assert [name[:4] for name in names] == [f"{i:03d}-" for i in range(1, len(names) + 1)]
    for name in names:
        assert re.fullmatch(r"\d{3}-[a-z]+-[a-z0-9.-]+\.yaml", name), name
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == sorted(names)
    in_file_order = [yaml.safe_load(files[name].partition("\n")[2]) for name in sorted(names)]
    in_stream_order = [yaml.safe_load(doc.partition("\n")[2]) for doc in split_stream(output.stream(production))]
    assert in_file_order == in_stream_order
    for name, obj in zip(sorted(names), in_file_order, strict=True):
        assert name.endswith(f"-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml")


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_libyaml_and_pure_python_emitters_write_the_same_bytes(
    profile: str, loaded: dict[str, LoadedProfile], rendered: dict[str, list[Manifest]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Output must not depend on whether this machine's PyYAML has libyaml: embedded configs included.
    monkeypatch.setattr(yamlio, "FAST_DUMPER", yamlio.PURE_DUMPER)
    pure = render_stack(loaded[profile].stack)
    assert output.stream(pure) == output.stream(rendered[profile])


def test_characters_yaml_forbids_raw_survive_rendering(loaded: dict[str, LoadedProfile]) -> None:
    # Found by the property tests: DEL, C1 controls, NEL and astral characters used to reach a
    # template raw and break its YAML (exit 3), or be folded into a space.
    odd = ["--x=a\x7fb", "--y=\U00010000", "--z=\x85\x9f\u2028"]
    server = loaded["production"].stack.prometheus.model_copy(update={"extra_args": odd})
    stack = loaded["production"].stack.model_copy(update={"prometheus": server})
    statefulset = find(render_stack(stack), "StatefulSet", "prometheus")
    rendered = yaml.safe_load(yamlio.dump(statefulset))["spec"]["template"]["spec"]["containers"][0]["args"]
    assert rendered[-3:] == odd


def test_template_bytecode_cache_never_changes_output_and_may_be_unwritable(
    tmp_path: Path, loaded: dict[str, LoadedProfile], rendered: dict[str, list[Manifest]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jinja2

    from leanvibe_stack.render import engine

    def render_with(cache: jinja2.BytecodeCache | None) -> str:
        monkeypatch.setattr(engine, "_bytecode_cache", lambda: cache)
        engine.environment.cache_clear()
        return output.stream(render_stack(loaded["production"].stack))

    expected = output.stream(rendered["production"])
    try:
        writable = tmp_path / "cache"
        writable.mkdir()
        assert render_with(engine._BytecodeCache(str(writable))) == expected  # compiles and stores
        assert list(writable.iterdir()), "nothing was cached"
        assert render_with(engine._BytecodeCache(str(writable))) == expected  # loads the stored code
        for entry in writable.iterdir():  # damaged entries are compiled again, not trusted
            entry.write_bytes(entry.read_bytes()[:40])
        assert render_with(engine._BytecodeCache(str(writable))) == expected
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        read_only.chmod(0o500)
        if os.access(read_only, os.W_OK):  # root ignores modes: point the cache at a path that is not a directory
            read_only = tmp_path / "not-a-directory"
            read_only.write_text("")
        assert render_with(engine._BytecodeCache(str(read_only))) == expected
    finally:
        engine.environment.cache_clear()


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_no_workload_is_scraped_by_two_jobs(profile: str, rendered: dict[str, list[Manifest]]) -> None:
    # Two jobs over the same target duplicate every series under two `job` labels (Prometheus used to
    # be scraped by its own job and, through its prometheus.io/scrape annotation, by kubernetes-pods).
    from leanvibe_stack.graph import PROBES, SCRAPES, build

    graph = build(rendered[profile])
    # A probe job scrapes blackbox_exporter's /probe for the series of its targets, not the exporter's own.
    probing = {(edge.source, edge.detail) for edge in graph.edges if edge.verb == PROBES}
    jobs: dict[str, set[str]] = {}
    for edge in graph.edges:
        # The thanos-sidecar job scrapes the sidecar container's own port in the Prometheus pods, not Prometheus.
        if edge.verb == SCRAPES and graph.node(edge.target).kind == "workload" \
                and (edge.target, edge.detail) not in probing and edge.detail != "job thanos-sidecar":
            jobs.setdefault(graph.node(edge.target).label, set()).add(edge.detail)
    assert jobs, "no scrape edges at all"
    assert {target: sorted(found) for target, found in jobs.items() if len(found) > 1} == {}


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (st.lists(inner, max_size=4) | st.lists(inner, max_size=2).map(tuple)
                   | st.dictionaries(st.text(max_size=6) | st.integers() | st.booleans(), inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(_json_values)
def test_indented_json_is_what_json_dumps_writes(value: Any) -> None:
    from leanvibe_stack.render.common import indented_json

    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_shipped_dashboards_are_written_as_json_dumps_writes_them() -> None:
    from leanvibe_stack.render.common import indented_json

    for path in sorted((PROFILES / "dashboards").glob("*.json")):
        model = json.loads(path.read_text(encoding="utf-8"))
        assert indented_json(model) == json.dumps(model, indent=2, ensure_ascii=False), path.name


def _engine_with(templates: dict[str, str]) -> Any:
    import jinja2

    from leanvibe_stack.render import engine

    env = jinja2.Environment(loader=jinja2.DictLoader(templates), undefined=jinja2.StrictUndefined)
    env.filters["json"] = engine._to_json
    return env


ODD_TEXT = "line: 'quoted' \"double\" \\ back\n\ttab\x7f\x85\u2028\ufeff😀 ${x} {{ y }}\n" * 200  # > VERBATIM_MIN


def test_long_values_placed_whole_are_the_very_strings_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack.render import engine

    template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {{ data | json }}\n"
    monkeypatch.setattr(engine, "environment", lambda: _engine_with({"t.yaml.j2": template}))
    data = {"big.yml": ODD_TEXT, "small": "s", "nested": [ODD_TEXT + "2"]}
    assert len(ODD_TEXT) >= engine.VERBATIM_MIN
    manifest = engine.render_object("t.yaml.j2", "c", data=data)
    assert manifest.obj["data"] == data
    assert manifest.obj["data"]["big.yml"] is data["big.yml"]  # not parsed back: the string itself
    monkeypatch.setattr(engine, "VERBATIM_MIN", 10**9)  # every value through JSON and YAML: the same object
    assert engine.render_object("t.yaml.j2", "c", data=data).obj == manifest.obj


def test_a_long_value_inside_a_longer_string_renders_as_without_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack.render import engine

    template = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
                "data: {joined: {{ ('x' ~ (data | json)) | json }}}\n")
    monkeypatch.setattr(engine, "environment", lambda: _engine_with({"t.yaml.j2": template}))
    manifest = engine.render_object("t.yaml.j2", "c", data=ODD_TEXT)
    assert manifest.obj["data"]["joined"].startswith("x\"line: 'quoted'")  # the JSON text, not a stand-in
    monkeypatch.setattr(engine, "VERBATIM_MIN", 10**9)
    assert engine.render_object("t.yaml.j2", "c", data=ODD_TEXT).obj == manifest.obj


def test_a_long_value_with_a_lone_surrogate_is_refused_as_a_short_one_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack.errors import TemplateError
    from leanvibe_stack.render import engine

    template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {{ data | json }}\n"
    monkeypatch.setattr(engine, "environment", lambda: _engine_with({"t.yaml.j2": template}))
    for text in ("a\ud800b", "a\ud800b" * engine.VERBATIM_MIN):  # JSON can carry one; YAML and UTF-8 cannot
        with pytest.raises(TemplateError, match="invalid YAML"):
            engine.render_object("t.yaml.j2", "c", data={"k": text})
