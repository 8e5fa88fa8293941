"""The schema check: strict Kubernetes schemas compiled once, every error reported, quantities parsed."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import LoadedProfile
from leanvibe_stack.validate import quantities, schema
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef
from tests.conftest import RENDERED_PROFILES

CONTAINER = "spec.template.spec.containers[0]"


def check(*objects: dict[str, Any], kube_version: str = "1.29") -> list[Finding]:
    return schema.check(Bundle([Manifest(obj, "test", "test") for obj in objects]), kube_version)


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Any]:
    """A deep copy of the first object of a kind, safe to break."""
    return copy.deepcopy(next(m.obj for m in manifests if m.kind == kind))


def deployment(name: str = "app", memory: Any = "256Mi") -> dict[str, Any]:
    labels = {"app": name}
    container = {"name": "app", "image": "registry.example/app:1.0", "ports": [{"containerPort": 8080}],
                 "resources": {"requests": {"cpu": "100m", "memory": memory}, "limits": {"memory": memory}}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_every_profile_is_clean_for_its_kubernetes_version(
    profile: str, rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile]
) -> None:
    version = loaded[profile].stack.global_.kubernetes_version
    assert schema.check(Bundle(rendered[profile]), version) == []


def test_every_error_of_a_broken_object_is_reported(production: list[Manifest]) -> None:
    broken = of_kind(production, "StatefulSet")
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["ports"][0]["containerPort"] = "9090"
    container["imagePullPolcy"] = "Always"

    findings = check(broken)

    assert [(f.check, f.severity, f.path) for f in findings] == [
        ("schema.invalid", "error", f"{CONTAINER}.imagePullPolcy"),
        ("schema.invalid", "error", f"{CONTAINER}.ports[0].containerPort"),
    ]
    assert {f.object for f in findings} == {ObjectRef("StatefulSet", broken["metadata"]["namespace"],
                                                      broken["metadata"]["name"])}
    unknown, wrong_type = findings
    assert 'did you mean "imagePullPolicy"' in unknown.message
    assert '"9090"' in wrong_type.message and "integer" in wrong_type.message


def test_missing_fields_wrong_types_and_quoted_keys_have_exact_paths() -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {"app.kubernetes.io/part-of": 3}
    obj["spec"]["replicas"] = "2"
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    obj["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": [1]}}

    by_path = {f.path: f.message for f in check(obj)}

    assert set(by_path) == {
        'metadata.labels["app.kubernetes.io/part-of"]',
        "spec.replicas",
        f"{CONTAINER}.name",
        "spec.strategy.rollingUpdate.maxSurge",
    }
    assert "quote it" in by_path['metadata.labels["app.kubernetes.io/part-of"]']
    assert "remove the quotes" in by_path["spec.replicas"]
    assert 'missing required field "name" in Container' in by_path[f"{CONTAINER}.name"]
    assert "25%" in by_path["spec.strategy.rollingUpdate.maxSurge"]


def test_unknown_kind_is_an_error_naming_api_version_kind_and_version() -> None:
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"}}
    [finding] = check(monitor)
    assert (finding.check, finding.severity) == ("schema.unknown-kind", "error")
    for word in ("monitoring.coreos.com/v1", "ServiceMonitor", "1.29"):
        assert word in finding.message


@pytest.mark.parametrize(("api_version", "kind", "hint"), [
    ("policy/v1beta1", "PodDisruptionBudget", "apiVersion: policy/v1, kind: PodDisruptionBudget"),  # removed in 1.25
    ("apps/v1", "deployment", "kind: Deployment"),
    ("apps.example.com/v1", "Deployment", "apiVersion: apps/v1"),  # same file name as apps/v1, other group
])
def test_unknown_kind_suggests_the_built_in_one(api_version: str, kind: str, hint: str) -> None:
    [finding] = check({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": {}})
    assert finding.check == "schema.unknown-kind"
    assert hint in finding.message


def test_an_object_without_identity_is_invalid() -> None:
    findings = check({"kind": "ConfigMap", "metadata": {}})
    assert [(f.check, f.path) for f in findings] == [
        ("schema.invalid", "apiVersion"),
        ("schema.invalid", "metadata.name"),
    ]


@pytest.mark.parametrize("memory", ["8 GB", "1.5.0Gi", "-1", -1, "8K", "1Gi ", ""])
def test_malformed_memory_is_reported(memory: Any) -> None:
    findings = check(deployment(memory=memory))
    assert sorted(f.path for f in findings) == [f"{CONTAINER}.resources.limits.memory",
                                                f"{CONTAINER}.resources.requests.memory"]
    assert {f.check for f in findings} == {"quantity.malformed"}
    assert {f.severity for f in findings} == {"error"}


def test_malformed_quantity_message_says_what_to_write() -> None:
    finding = check(deployment(memory="8 GB"))[0]
    assert '"8 GB"' in finding.message
    assert '"8G"' in finding.message and '"8Gi"' in finding.message


@pytest.mark.parametrize("memory", ["256Mi", "1G", "500m", "1e9", "1.5Gi", ".5", "+1k", 1, 0.5, "0", "-0"])
def test_valid_quantities_pass(memory: Any) -> None:
    assert check(deployment(memory=memory)) == []


def test_storage_and_size_limit_quantities_are_parsed(production: list[Manifest]) -> None:
    stateful = of_kind(production, "StatefulSet")
    stateful["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "10 gb"
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "x"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1.5.0Gi"}}}}
    scratch = deployment()
    scratch["spec"]["template"]["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {"sizeLimit": "-1Gi"}}]

    found = {(f.object.kind if f.object else "", f.path) for f in check(stateful, claim, scratch)
             if f.check == "quantity.malformed"}

    assert found == {
        ("StatefulSet", "spec.volumeClaimTemplates[0].spec.resources.requests.storage"),
        ("PersistentVolumeClaim", "spec.resources.requests.storage"),
        ("Deployment", "spec.template.spec.volumes[0].emptyDir.sizeLimit"),
    }


def test_quantity_grammar() -> None:
    assert quantities.quantity_problem("100m") is None
    assert quantities.quantity_problem("2Ei") is None
    assert quantities.quantity_problem("3E") is None
    assert quantities.quantity_problem("1e-3") is None
    assert quantities.quantity_problem(True) is None  # a type error: the schema reports it, not us
    for bad in ("1Kb", "Gi", "1.0.0", "1 Gi", "1gi", "1e", "1Gi\n", float("nan")):
        assert quantities.quantity_problem(bad) is not None, bad
    assert "negative" in (quantities.quantity_problem("-2Gi") or "")


def test_one_validator_is_compiled_per_kind_and_definitions_are_read_once() -> None:
    schema.clear_caches()
    assert check(deployment("a"), deployment("b")) == []
    assert schema.definitions.cache_info().misses == 1
    assert schema.kind_schema.cache_info().misses == 1
    assert (schema.validator.cache_info().misses, schema.validator.cache_info().hits) == (1, 1)

    assert check(deployment("c")) == []
    assert (schema.validator.cache_info().misses, schema.validator.cache_info().hits) == (1, 2)
    assert schema.definitions.cache_info().misses == 1


def test_a_newer_kubernetes_version_falls_back_with_one_warning(production: list[Manifest]) -> None:
    newest = schema.schema_versions()[-1]
    findings = schema.check(Bundle(production), f"{newest[0]}.{newest[1] + 5}")
    assert [(f.check, f.severity, f.object) for f in findings] == [("schema.version-fallback", "warning", None)]


@pytest.mark.parametrize("version", ["1.10", "one.two"])
def test_an_unsupported_kubernetes_version_is_an_error(version: str) -> None:
    findings = check(deployment(), kube_version=version)
    assert [(f.check, f.severity) for f in findings] == [("schema.unsupported-version", "error")]


def test_the_schema_version_is_the_newest_not_newer_than_asked() -> None:
    oldest, newest = schema.schema_versions()[0], schema.schema_versions()[-1]
    assert schema.select_version(f"{oldest[0]}.{oldest[1]}") == (oldest, None)
    assert schema.select_version("v1.29.4") == ((1, 29), None)
    assert schema.select_version(f"{newest[0]}.{newest[1]}") == (newest, None)


def test_yaml_only_values_do_not_crash_validation() -> None:
    obj = deployment()
    obj["metadata"]["annotations"] = {"released": datetime.date(2024, 1, 1)}  # an unquoted YAML date
    obj["spec"]["template"]["spec"]["nodeSelector"] = {True: "x"}
    assert check(obj) == []


def test_findings_are_sorted_and_stable(production: list[Manifest]) -> None:
    objects = [of_kind(production, kind) for kind in ("StatefulSet", "Deployment", "Service")]
    for obj in objects:
        obj["spec"]["bogus"] = 1
        obj["metadata"]["name"] = "zz"
    findings = check(*objects)
    assert len(findings) == 3
    assert findings == sorted(findings, key=Finding.sort_key) == check(*reversed(objects))
