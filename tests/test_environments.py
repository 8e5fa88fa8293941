"""Safe to apply (issue 12): selectors that never depend on a profile's file name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from tests.conftest import PROFILES, warned_profile

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def selectors(manifests: list[Manifest]) -> dict[tuple[str, str], dict[str, Any]]:
    """The labels every workload's and every Service's selector matches, by (kind, name)."""
    found = {(m.kind, m.name): m.obj["spec"]["selector"]["matchLabels"] for m in manifests if m.kind in WORKLOAD_KINDS}
    found |= {(m.kind, m.name): m.obj["spec"]["selector"] for m in manifests if m.kind == "Service"}
    return found


def render_file(path: Path, *overrides: str) -> list[Manifest]:
    return render_stack(load_profile(str(path), overrides=list(overrides)).stack)


def test_a_profile_that_only_extends_production_renders_its_selectors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, production: list[Manifest]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "us-east-1-main.yaml").write_text("extends: production\n")
    renamed = render_file(tmp_path / "us-east-1-main.yaml")
    # workloads, Services (tracing: 2 workloads, 3 Services; Thanos: 3 workloads, 3 Services)
    assert len(selectors(production)) == 13 + 16
    assert selectors(renamed) == selectors(production)
    assert [m.obj for m in renamed] == [m.obj for m in production]  # and every other byte


def test_the_instance_is_the_environment_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text("extends: production\nglobal: {environment: eu}\n")
    eu = selectors(render_file(tmp_path / "eu.yaml"))
    assert eu[("StatefulSet", "prometheus")] == {"app.kubernetes.io/name": "prometheus",
                                                 "app.kubernetes.io/instance": "eu"}
    pinned = selectors(render_file(tmp_path / "eu.yaml", "global.instance=leanvibe"))
    assert {labels["app.kubernetes.io/instance"] for labels in pinned.values()} == {"leanvibe"}


# --- changes the API server refuses on update ------------------------------------------------------------


def _object(kind: str, name: str, spec: dict[str, Any], **extra: Any) -> Manifest:
    api = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1",
           "ClusterRoleBinding": "rbac.authorization.k8s.io/v1"}.get(kind, "v1")
    obj = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns"}, **extra}
    if spec:
        obj["spec"] = spec
    return Manifest(obj, "test", "test")


SELECTOR = {"matchLabels": {"app": "a"}}
CLAIM = {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "resources": {"requests": {"storage": "10Gi"}}}
VCT = [{"metadata": {"name": "data"}, "spec": CLAIM}]


@pytest.mark.parametrize("kind, before, after, fields", [
    ("Deployment", {"selector": SELECTOR}, {"selector": {"matchLabels": {"app": "b"}}}, ["spec.selector"]),
    ("Deployment", {"selector": SELECTOR, "replicas": 1}, {"selector": SELECTOR, "replicas": 3}, []),
    ("DaemonSet", {"selector": SELECTOR}, {"selector": {"matchLabels": {"app": "a", "x": "y"}}}, ["spec.selector"]),
    ("StatefulSet", {"serviceName": "a", "volumeClaimTemplates": VCT},
     {"serviceName": "b", "volumeClaimTemplates": VCT}, ["spec.serviceName"]),
    ("StatefulSet", {"volumeClaimTemplates": VCT},
     {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {**CLAIM, "resources": {"requests": {
         "storage": "20Gi"}}}}]}, ["spec.volumeClaimTemplates"]),
    ("StatefulSet", {"podManagementPolicy": "OrderedReady"}, {"podManagementPolicy": "Parallel"},
     ["spec.podManagementPolicy"]),
    ("StatefulSet", {"replicas": 1, "template": {"a": 1}, "updateStrategy": {"type": "RollingUpdate"}},
     {"replicas": 2, "template": {"a": 2}, "updateStrategy": {"type": "OnDelete"}}, []),
    ("Job", {"template": {"a": 1}}, {"template": {"a": 2}}, ["spec.template"]),
    ("Service", {"clusterIP": "None"}, {}, ["spec.clusterIP"]),
    ("Service", {"ports": [{"port": 1}]}, {"ports": [{"port": 2}]}, []),
    ("PersistentVolumeClaim", CLAIM, {**CLAIM, "resources": {"requests": {"storage": "5Gi"}}},
     ["spec.resources.requests.storage"]),
    ("PersistentVolumeClaim", CLAIM, {**CLAIM, "resources": {"requests": {"storage": "20Gi"}}}, []),
    ("PersistentVolumeClaim", CLAIM, {**CLAIM, "storageClassName": "io2"}, ["spec.storageClassName"]),
    ("Pod", {"containers": [{"name": "a", "image": "x:1"}]}, {"containers": [{"name": "a", "image": "x:2"}]}, []),
    ("Pod", {"containers": [{"name": "a", "image": "x:1"}]},
     {"containers": [{"name": "a", "image": "x:1", "args": ["-v"]}]}, ["spec"]),
])
def test_fields_an_update_cannot_change_are_refused(kind: str, before: dict[str, Any], after: dict[str, Any],
                                                      fields: list[str]) -> None:
    from leanvibe_stack.diff.immutable import refusals

    found = refusals(_object(kind, "x", before), _object(kind, "x", after))
    assert [r.field for r in found] == fields
    assert all("kubectl" in r.way_through or "claim" in r.way_through for r in found)


def test_immutable_configmaps_and_binding_roles_are_refused() -> None:
    from leanvibe_stack.diff.immutable import refusals

    frozen = _object("ConfigMap", "c", {}, immutable=True, data={"a": "1"})
    assert [r.field for r in refusals(frozen, _object("ConfigMap", "c", {}, immutable=True, data={"a": "2"}))] == [
        "data"]
    assert refusals(_object("ConfigMap", "c", {}, data={"a": "1"}), _object("ConfigMap", "c", {}, data={"a": "2"})) \
        == ()
    binding = _object("ClusterRoleBinding", "b", {}, roleRef={"kind": "ClusterRole", "name": "view"})
    edited = _object("ClusterRoleBinding", "b", {}, roleRef={"kind": "ClusterRole", "name": "edit"})
    assert [r.field for r in refusals(binding, edited)] == ["roleRef"]


def test_every_format_marks_a_refused_change(production: list[Manifest]) -> None:
    import json

    from leanvibe_stack.diff import as_json, as_markdown, as_stat, as_text, compare

    bigger = render_stack(load_profile("production", overrides=["prometheus.storage.size=200Gi"]).stack)
    comparison = compare(production, bigger, ("old", "new"))
    assert [c.manifest.name for c in comparison.refused] == ["prometheus"]
    text = as_text(comparison)
    assert "REFUSED ON UPDATE: StatefulSet/leanvibe-monitoring/prometheus: spec.volumeClaimTemplates: " in text
    assert "kubectl -n leanvibe-monitoring delete statefulset prometheus --cascade=orphan" in text
    assert text.rstrip().endswith("1 object(s) `kubectl apply` cannot update")
    assert "REFUSED ON UPDATE (spec.volumeClaimTemplates)" in as_stat(comparison)
    markdown = as_markdown(comparison)
    assert "> [!WARNING]\n> **REFUSED ON UPDATE: `kubectl apply` will fail on 1 object(s).**" in markdown
    data = json.loads(as_json(comparison))
    assert data["summary"]["immutable"] == 1
    [prometheus] = [c for c in data["changed"] if c["kind"] == "StatefulSet"]
    assert prometheus["immutable"] is True and prometheus["refusals"][0]["field"] == "spec.volumeClaimTemplates"
    assert all(c["immutable"] is False for c in data["changed"] if c["kind"] != "StatefulSet")


def test_diff_can_fail_only_on_refused_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "more-memory.yaml").write_text(
        "extends: production\nprometheus:\n  resources:\n    limits: {cpu: 2000m, memory: 16Gi}\n")
    (tmp_path / "bigger-disk.yaml").write_text("extends: production\nprometheus:\n  storage: {size: 200Gi}\n")
    assert invoke("diff", "production", "more-memory.yaml").exit_code == 1  # different
    assert invoke("diff", "production", "more-memory.yaml", "--fail-on-immutable").exit_code == 0
    refused = invoke("diff", "production", "bigger-disk.yaml", "--fail-on-immutable")
    assert refused.exit_code == 1 and "REFUSED ON UPDATE" in refused.stdout


def test_render_check_marks_a_refused_change_in_the_stale_tree(tmp_path: Path, production: list[Manifest]) -> None:
    from leanvibe_stack import output
    from leanvibe_stack.diff import tree_drift

    target = tmp_path / "production"
    output.write_tree(output.tree(production), target)
    bigger = render_stack(load_profile("production", overrides=["prometheus.storage.size=200Gi"]).stack)
    report = tree_drift(output.tree(bigger), target)
    assert "REFUSED ON UPDATE: StatefulSet/leanvibe-monitoring/prometheus: spec.volumeClaimTemplates" in report


# --- the Secrets users must create ---------------------------------------------------------------------


def _secret_refs(value: Any) -> set[tuple[str, str]]:
    """(secret, key) of every SecretRef anywhere in a loaded profile: what the profile says it reads."""
    from pydantic import BaseModel

    from leanvibe_stack.models.base import SecretRef
    from leanvibe_stack.models.ingress import UiIngress

    if isinstance(value, SecretRef):
        return {(value.secret, value.key)}
    if isinstance(value, UiIngress):  # a certificate Secret: the two keys of kubernetes.io/tls
        return {(value.tls_secret, "tls.crt"), (value.tls_secret, "tls.key")}
    if isinstance(value, BaseModel):
        return set().union(*(_secret_refs(getattr(value, name)) for name in type(value).model_fields))
    if isinstance(value, dict):
        return set().union(*(_secret_refs(item) for item in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(_secret_refs(item) for item in value))
    return set()


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_secrets_lists_what_the_profile_references_and_nothing_else(
        profile: str, rendered: dict[str, list[Manifest]], loaded: dict[str, Any]) -> None:
    from leanvibe_stack.validate.bundle import Bundle
    from leanvibe_stack.validate.secrets import secret_uses

    uses = secret_uses(Bundle(rendered[profile]))
    assert {(u.secret, u.key) for u in uses} == _secret_refs(loaded[profile].stack)
    assert all(u.namespace == "leanvibe-monitoring" for u in uses)


def test_secrets_reads_env_envfrom_and_volumes_of_any_object(production: list[Manifest]) -> None:
    import copy

    from leanvibe_stack.validate.bundle import Bundle
    from leanvibe_stack.validate.secrets import create_commands, secret_uses

    manifests = [Manifest(copy.deepcopy(m.obj), m.component, m.source) for m in production]
    kube_state = next(m.obj for m in manifests if m.kind == "Deployment" and m.name == "kube-state-metrics")
    pod = kube_state["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["envFrom"] = [{"secretRef": {"name": "ksm-env"}}]
    container["volumeMounts"] = [{"name": "tls", "mountPath": "/tls"}]
    pod["volumes"] = [{"name": "tls", "projected": {"sources": [
        {"secret": {"name": "ksm-tls", "items": [{"key": "tls.crt", "path": "cert.pem"}]}}]}}]
    uses = [u for u in secret_uses(Bundle(manifests)) if u.workload == "Deployment/kube-state-metrics"]
    assert [(u.secret, u.key, u.use) for u in uses] == [
        ("ksm-env", None, "every key as env (envFrom)"), ("ksm-tls", "tls.crt", "file /tls/cert.pem")]
    assert "kubectl -n leanvibe-monitoring create secret generic ksm-tls --from-file=tls.crt=./ksm-tls/tls.crt " \
           "--dry-run=client -o yaml" in create_commands(uses)


def test_the_secrets_command_prints_a_table_commands_and_json() -> None:
    import json

    from tests.conftest import invoke

    text = invoke("secrets", "--profile", "production")
    assert text.exit_code == 0, text.output
    assert "alertmanager-notifiers  slack-webhook-url" in text.stdout
    assert "(alertmanager.yml: global.slack_api_url_file)" in text.stdout
    assert "kubectl -n leanvibe-monitoring create secret generic grafana-admin " \
           "--from-file=admin-password=./grafana-admin/admin-password" in text.stdout
    data = json.loads(invoke("secrets", "--profile", "production", "--output", "json").stdout)
    assert {"namespace": "leanvibe-monitoring", "secret": "grafana-admin", "key": "admin-user",
            "workload": "Deployment/grafana", "use": "env GF_SECURITY_ADMIN_USER"} in data


# --- one identity per environment -------------------------------------------------------------------------

EU = "extends: production\nglobal:\n  region: eu-west-1\n  cluster: leanvibe-eu\n  environment: eu\n"
PRODUCTION_NAMES = ("leanvibe-loki-storage-prod", "leanvibe-production", "us-east-1")


def _stream(path: Path, *overrides: str) -> str:
    from leanvibe_stack import api

    return api.stream(api.render_profile(str(path), overrides=list(overrides)).manifests)


def test_a_new_environment_that_extends_production_takes_nothing_of_production(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    import yaml

    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text(EU)
    text = _stream(tmp_path / "eu.yaml")
    assert not [name for name in PRODUCTION_NAMES if name in text]
    assert not re.search(r"(?<![A-Za-z0-9])(production|prod)(?![A-Za-z0-9])", text)
    objects = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}
    loki = yaml.safe_load(objects[("ConfigMap", "loki-config")]["data"]["loki.yaml"])
    assert loki["storage_config"]["aws"]["bucketnames"] == "leanvibe-loki-storage-eu"
    assert loki["storage_config"]["aws"]["region"] == "eu-west-1"
    agent = yaml.safe_load(objects[("ConfigMap", "fluent-bit-config")]["data"]["fluent-bit.yaml"])
    assert {output["tenant_id"] for output in agent["pipeline"]["outputs"]} == {"leanvibe-eu"}
    prometheus = yaml.safe_load(objects[("ConfigMap", "prometheus-config")]["data"]["prometheus.yml"])
    assert prometheus["global"]["external_labels"] == {"cluster": "leanvibe-eu", "region": "eu-west-1",
                                                      "environment": "eu", "replica": "$POD_NAME"}
    [ec2] = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "aws-resources")["ec2_sd_configs"]
    assert ec2["region"] == "eu-west-1"
    assert ec2["filters"][0] == {"name": "tag:Environment", "values": ["eu"]}
    dashboard = objects[("ConfigMap", "grafana-dashboard-leanvibe-overview")]
    overview = json.loads(dashboard["data"]["leanvibe-overview.json"])
    assert overview["tags"][-1] == "eu"
    assert overview["templating"]["list"][0]["current"]["value"] == "leanvibe-eu"
    assert "https://prometheus.eu.leanvibe.ai" in text


def test_a_value_the_new_environment_writes_itself_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text(EU + "loki:\n  config:\n    storage_config:\n      aws:\n"
                                           "        bucketnames: eu-logs-archive\n")
    text = _stream(tmp_path / "eu.yaml")
    assert "bucketnames: eu-logs-archive" in text


def test_set_of_another_environment_forgets_the_inherited_identity() -> None:
    loaded = load_profile("production", overrides=["global.environment=qa"])
    aws = loaded.stack.loki.config.storage_config.aws
    assert aws is not None and aws.bucketnames == "leanvibe-loki-storage-qa"
    assert loaded.stack.global_.external_url_base == "qa.leanvibe.ai"
    assert loaded.stack.global_.app_namespace == "leanvibe-qa"


def test_staging_derives_what_it_used_to_copy(loaded: dict[str, Any]) -> None:
    staging = loaded["staging"].stack
    aws = staging.loki.config.storage_config.aws
    assert aws is not None and (aws.bucketnames, aws.region) == ("leanvibe-loki-storage-staging", "us-east-1")
    assert staging.fluent_bit.tenant_id == "leanvibe-staging"
    assert (staging.global_.cluster, staging.global_.app_namespace, staging.global_.external_url_base) == (
        "leanvibe-staging", "leanvibe-staging", "staging.leanvibe.ai")
    values = "".join(line.split("#", 1)[0] for line in (PROFILES / "staging.yaml").read_text().splitlines())
    assert "leanvibe-staging" not in values and "us-east-1" not in values


# --- the leak check --------------------------------------------------------------------------------------


def test_the_leak_check_fires_on_another_environments_bucket_and_names_the_profile_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack import api

    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text(EU + "loki:\n  config:\n    storage_config:\n      aws:\n"
                                           "        bucketnames: leanvibe-loki-storage-prod\n")
    with pytest.raises(api.ValidationFailed) as failed:
        api.render_profile(str(tmp_path / "eu.yaml"))
    [leak] = [f for f in failed.value.report.findings if f.check == "identity.leak"]
    assert leak.object is not None and (leak.object.kind, leak.object.name) == ("ConfigMap", "loki-config")
    assert leak.path.startswith('data["loki.yaml"]:')
    assert "'leanvibe-loki-storage-prod' names environment 'production', not 'eu'" in leak.message
    assert f"(profile: {tmp_path / 'eu.yaml'}:10:" in leak.message


def test_the_leak_check_fires_on_production_in_a_staging_render(tmp_path: Path) -> None:
    from leanvibe_stack import api

    (tmp_path / "staging-typo.yaml").write_text(
        f"extends: {PROFILES / 'staging.yaml'}\nalertmanager:\n  receivers:\n    critical-slack:\n"
        "      slack_configs:\n      - channel: \"#alerts-production-critical\"\n")
    with pytest.raises(api.ValidationFailed) as failed:
        api.render_profile(str(tmp_path / "staging-typo.yaml"), PROFILES)
    leaks = [f for f in failed.value.report.findings if f.check == "identity.leak"]
    assert [f.path for f in leaks] == ['data["alertmanager.yml"]:' + leaks[0].path.rsplit(":", 1)[1]]
    assert "'production' names environment 'production', not 'staging'" in leaks[0].message
    assert "staging-typo.yaml:6:" in leaks[0].message


def test_names_shared_on_purpose_are_not_leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack import api

    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text(EU + "  shared_names: [leanvibe-loki-storage-prod, prod]\n"
                                           "loki:\n  config:\n    storage_config:\n      aws:\n"
                                           "        bucketnames: leanvibe-loki-storage-prod\n")
    report = api.render_profile(str(tmp_path / "eu.yaml")).report
    assert report is not None and not [f for f in report.findings if f.check == "identity.leak"]


def test_the_company_domain_is_no_environments_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Production's UIs live at the apex domain; runbook links and sender addresses use it in every environment.
    from leanvibe_stack import api

    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text(EU + "  external_url_base: monitoring.example.eu\n")
    report = api.render_profile(str(tmp_path / "eu.yaml")).report
    assert report is not None and not [f for f in report.findings if f.check == "identity.leak"]


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_the_shipped_profiles_leak_nothing(profile: str) -> None:
    from leanvibe_stack import api

    report = api.render_profile(profile, PROFILES).report
    assert report is not None and not [f for f in report.findings if f.check == "identity.leak"]


def test_the_leak_check_reads_files_too(production: list[Manifest], tmp_path: Path) -> None:
    from leanvibe_stack import output
    from leanvibe_stack.api import validate_paths

    staging = render_stack(load_profile("staging", PROFILES).stack)
    for manifest in staging:
        if manifest.kind == "Deployment" and manifest.name == "grafana":
            manifest.obj["metadata"]["annotations"] = {"owner": "prod-team"}
    (tmp_path / "stack.yaml").write_text(output.stream(staging))
    report = validate_paths([str(tmp_path / "stack.yaml")], kube_version="1.36", run_tools=False,
                            require_tools=False, tests=[])
    leaks = [f for f in report.findings if f.check == "identity.leak"]
    assert [(f.object.name if f.object else "", f.path) for f in leaks] == [
        ("grafana", 'metadata.annotations.owner')]


# --- findings point at the profile line -----------------------------------------------------------------


def test_findings_about_profile_values_name_the_line_that_wrote_them(tmp_path: Path) -> None:
    from leanvibe_stack import api

    parent = warned_profile(tmp_path)  # its lines 4-7: a route no alert reaches
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        f"extends: {parent}\n"                                 # 1
        "prometheus:\n  rule_groups:\n    leanvibe.enterprise.rules:\n      rules:\n"  # 2-5
        "        RedisDown:\n          expr: 'redis_up =='\n"  # 6-7
        "alertmanager:\n  receivers:\n    nobody:\n"            # 8-10
        "      slack_configs: [{channel: '#nobody'}]\n")        # 11
    with pytest.raises(api.ValidationFailed) as failed:
        api.render_profile(str(profile), PROFILES)
    by_check = {f.check: f for f in failed.value.report.findings}
    assert by_check["promql.parse"].message.endswith(f"(profile: {profile}:7:11)")
    assert by_check["routing.unused-receiver"].message.endswith(f"(profile: {profile}:10:5)")
    inherited = by_check["routing.unreachable-route"]  # the route, written in the parent
    assert inherited.message.endswith(f"(profile: {parent}:{_line(parent, 'nothing-reaches-this:')}:7)")


def test_a_set_value_is_named_by_its_argument() -> None:
    from leanvibe_stack import api

    argument = 'prometheus.rule_groups[leanvibe.enterprise.rules].rules.RedisDown.expr="redis_up =="'
    with pytest.raises(api.ValidationFailed) as failed:
        api.render_profile("production", PROFILES, overrides=[argument])
    [parse] = [f for f in failed.value.report.findings if f.check == "promql.parse"]
    assert parse.message.endswith(f"(profile: --set {argument})")


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if line.strip() == text)
