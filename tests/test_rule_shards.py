"""Big rule sets: rule files packed into ConfigMaps client-side `kubectl apply` accepts, mounted as one directory.

A profile with 1,000 generated alert rules (50 groups of 20, metrics of the stack's catalogues, labels the routes
match) needs three or more shards; every check that reads the rules (crossref globs, routing, PromQL, promtool, diff)
must see all of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.synthetic import RULES_PER_GROUP, rule_groups
from leanvibe_stack import diff
from leanvibe_stack.manifest import Manifest, json_size
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.render.prometheus import RULES_DIR, RULES_SHARD_BUDGET, rule_files, rule_shards
from leanvibe_stack.validate import validate
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.sizes import ANNOTATIONS_LIMIT, applied_size
from tests.conftest import PROFILES, find, require_tool

GROUPS = 50
KUBE_VERSION = "1.36"
OBJECT_OVERHEAD = 1024  # apiVersion, kind, metadata and labels of a shard, as JSON


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    groups = rule_groups(GROUPS * RULES_PER_GROUP)  # the benchmark's rules: catalogue metrics, routed labels
    path = tmp_path_factory.mktemp("profiles") / "many-rules.yaml"
    # JSON is YAML: the profile loader reads it as it reads any profile.
    path.write_text(json.dumps({"extends": str(PROFILES / "production.yaml"),
                                "prometheus": {"rule_groups": groups}}, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(profile: Path) -> Stack:
    return load_profile(str(profile)).stack


@pytest.fixture(scope="module")
def many(stack: Stack) -> list[Manifest]:
    return render_stack(stack)


def _shards(manifests: list[Manifest]) -> list[Manifest]:
    """The rule ConfigMaps in shard order (prometheus-rules, prometheus-rules-2, ...)."""
    shards = [m for m in manifests if m.kind == "ConfigMap" and m.name.startswith("prometheus-rules")]
    return sorted(shards, key=lambda m: int(m.name.rpartition("-")[2]) if m.name[-1].isdigit() else 1)


def test_the_rules_need_three_shards_named_after_the_first(many: list[Manifest]) -> None:
    names = [m.name for m in _shards(many)]
    assert len(names) >= 3, names
    assert names == ["prometheus-rules", *(f"prometheus-rules-{i}" for i in range(2, len(names) + 1))]


def test_every_shard_is_under_the_budget(many: list[Manifest]) -> None:
    for shard in _shards(many):
        data = shard.obj["data"]
        packed = sum(json_size(key) + json_size(text) + 2 for key, text in data.items())
        assert packed <= RULES_SHARD_BUDGET, (shard.name, packed)
        assert applied_size(shard.obj) <= RULES_SHARD_BUDGET + OBJECT_OVERHEAD < ANNOTATIONS_LIMIT, shard.name


def test_the_shards_hold_every_rule_file_once_in_order(many: list[Manifest], stack: Stack) -> None:
    packed = [(key, text) for shard in _shards(many) for key, text in shard.obj["data"].items()]
    assert packed == list(rule_files(stack.prometheus.rule_groups).items())
    assert len(packed) == len(stack.prometheus.rule_groups) > GROUPS


def test_one_projected_volume_mounts_every_shard_into_the_rules_directory(many: list[Manifest]) -> None:
    pod = find(many, "StatefulSet", "prometheus")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "rules"]
    assert volume["projected"]["sources"] == [{"configMap": {"name": m.name}} for m in _shards(many)]
    prometheus, reloader, _ = pod["containers"]  # the third: production's Thanos sidecar
    assert {"name": "rules", "mountPath": RULES_DIR, "readOnly": True} in prometheus["volumeMounts"]
    # The sidecar watches the same directory, so a change in any shard reloads Prometheus.
    assert {"name": "rules", "mountPath": RULES_DIR, "readOnly": True} in reloader["volumeMounts"]
    assert f"--watched-dir={RULES_DIR}" in reloader["args"]


def test_the_checks_see_every_rule_and_add_no_finding(many: list[Manifest], production: list[Manifest],
                                                      stack: Stack) -> None:
    bundle = Bundle(many)
    expected = rule_files(stack.prometheus.rule_groups)
    assert sorted(mounted.key for mounted, _ in bundle.rule_files) == sorted(expected)
    assert {mounted.source_name for mounted, _ in bundle.rule_files} == {m.name for m in _shards(many)}
    assert len(bundle.alert_rules) == len(stack.prometheus.alert_rules()) + 4  # + Loki's security rules

    def keys(manifests: list[Manifest]) -> set[tuple[str, str, str, str]]:
        report = validate(manifests, kube_version=KUBE_VERSION)
        assert not report.errors, report.errors[:5]
        return {(f.check, f.severity, str(f.object), f.path) for f in report.findings}

    assert keys(many) == keys(production)


def test_promtool_checks_the_rules_of_every_shard(many: list[Manifest]) -> None:
    require_tool("promtool")
    report = validate(many, kube_version=KUBE_VERSION, run_tools=True, require_tools=False)
    runs = {run.name: run.status for run in report.tools}
    assert runs["promtool-rules"] == "passed", report.tools


def test_a_change_in_any_shard_reloads_prometheus_and_diff_names_that_shard(profile: Path, stack: Stack,
                                                                            many: list[Manifest]) -> None:
    for shard in _shards(many):
        key = list(shard.obj["data"])[-1]  # the last rule file packed into this shard
        group = key.removesuffix(".yml")
        alert = next(iter(stack.prometheus.rule_groups[group].rules))
        changed = render_stack(load_profile(str(profile), overrides=[
            f"prometheus.rule_groups[{group}].rules[{alert}].for=17m"]).stack)
        assert [m.name for m in _shards(changed)] == [m.name for m in _shards(many)]
        comparison = diff.compare(many, changed)
        assert [c.manifest.name for c in comparison.changed] == [shard.name]
        assert [str(note) for note in comparison.pods] == [
            f"StatefulSet/leanvibe-monitoring/prometheus: reloads (sidecar) ({shard.name} changed)"]


def test_packing_is_greedy_in_order_and_a_file_over_the_budget_goes_alone() -> None:
    files = {"a.yml": "x" * 40, "b.yml": "x" * 40, "big.yml": "x" * 500, "c.yml": "x" * 40, "d.yml": "<" * 5}
    cost = {key: json_size(key) + json_size(text) + 2 for key, text in files.items()}
    assert cost["d.yml"] == json_size("d.yml") + 2 + 6 * 5 + 2  # Go's JSON writes `<` as \u003c
    shards = rule_shards(files, budget=cost["a.yml"] + cost["b.yml"])
    assert [list(shard) for shard in shards] == [["a.yml", "b.yml"], ["big.yml"], ["c.yml", "d.yml"]]
    assert rule_shards({}) == [{}]
    assert rule_shards(files) == [files]
