"""Grafana correlations: trace <-> logs <-> metrics links between the provisioned datasources."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.render.grafana import VALUE_MACRO
from leanvibe_stack.validate import correlations
from leanvibe_stack.validate.bundle import Bundle
from tests.conftest import RENDERED_PROFILES, find

DATASOURCES = ("grafana-datasources", "datasources.yaml")


def _sources(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    text = find(manifests, "ConfigMap", DATASOURCES[0])["data"][DATASOURCES[1]]
    return {source["name"]: source for source in yaml.safe_load(text)["datasources"]}


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_every_link_is_rendered_with_grafanas_keys(rendered: dict[str, list[Manifest]], profile: str) -> None:
    sources = _sources(rendered[profile])
    assert sources["jaeger"]["url"] == "http://jaeger.leanvibe-monitoring.svc.cluster.local:16686"
    assert sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": "jaeger"}]
    [field] = sources["loki"]["jsonData"]["derivedFields"]
    # Grafana reads `$$` as `$` (it expands environment variables in provisioning files): its macro survives.
    assert (field["datasourceUid"], field["url"]) == ("jaeger", VALUE_MACRO) == ("jaeger", "$${__value.raw}")
    logs = sources["jaeger"]["jsonData"]["tracesToLogsV2"]
    assert (logs["datasourceUid"], logs["filterByTraceID"]) == ("loki", True)
    assert logs["tags"] == [{"key": "k8s.namespace.name", "value": "namespace"},
                            {"key": "k8s.pod.name", "value": "pod"}]
    queries = sources["jaeger"]["jsonData"]["tracesToMetrics"]["queries"]
    assert all("{$$__tags}" in query["query"] for query in queries)
    assert correlations.check(Bundle(rendered[profile])) == []


def test_the_derived_field_finds_the_trace_id_in_both_json_spellings(production: list[Manifest]) -> None:
    import re

    [field] = _sources(production)["loki"]["jsonData"]["derivedFields"]
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    for line in (f'{{"event": "x", "trace_id": "{trace}"}}', f'{{"event":"x","trace_id":"{trace}"}}'):
        match = re.search(field["matcherRegex"], line)
        assert match is not None and match.group(1) == trace


def test_no_rendered_text_holds_a_placeholder_brace(production: list[Manifest]) -> None:
    assert "${" not in find(production, "ConfigMap", DATASOURCES[0])["data"][DATASOURCES[1]]


def _edit(manifests: list[Manifest], change: Callable[[dict[str, dict[str, Any]]], None],
          target: tuple[str, str] = DATASOURCES) -> Bundle:
    copies = copy.deepcopy(manifests)
    holder = next(m for m in copies if m.kind == "ConfigMap" and m.name == target[0])
    data = yamlio.load(holder.obj["data"][target[1]])  # JSON is YAML too
    change({source["name"]: source for source in data["datasources"]} if target == DATASOURCES else data)
    holder.obj["data"][target[1]] = json.dumps(data) if target[1].endswith(".json") else yamlio.dump(data)
    return Bundle(copies)


def _only(bundle: Bundle) -> list[tuple[str, str, str]]:
    return [(f.check, f.severity, f.path) for f in correlations.check(bundle)]


def test_a_link_to_a_missing_uid_is_an_error(production: list[Manifest]) -> None:
    def typo(sources: dict[str, dict[str, Any]]) -> None:
        sources["loki"]["jsonData"]["derivedFields"][0]["datasourceUid"] = "jaegr"

    [(check, severity, path)] = _only(_edit(production, typo))
    assert (check, severity) == ("grafana.unknown-datasource-uid", "error")
    assert path.endswith(".jsonData.derivedFields[0].datasourceUid")


def test_a_dashboard_panel_on_a_missing_uid_is_an_error(production: list[Manifest]) -> None:
    def rename(dashboard: dict[str, Any]) -> None:
        dashboard["panels"][0]["datasource"]["uid"] = "prom"

    bundle = _edit(production, rename, ("grafana-dashboard-leanvibe-overview", "leanvibe-overview.json"))
    findings = correlations.check(bundle)
    assert {(f.check, f.path) for f in findings} == {
        ("grafana.unknown-datasource-uid", "leanvibe-overview.json:panels[0].datasource.uid")}


@pytest.mark.parametrize(("tags", "severity"), [
    ([{"key": "k8s.namespace.name", "value": "namespace"}, {"key": "k8s.pod.name", "value": "pod_name"}], "warning"),
    ([{"key": "k8s.pod.name"}], "error"),  # no value: the label is the attribute's name, which is no label
])
def test_trace_to_logs_tags_must_be_log_labels(production: list[Manifest], tags: list[dict[str, str]],
                                               severity: str) -> None:
    def retag(sources: dict[str, dict[str, Any]]) -> None:
        sources["jaeger"]["jsonData"]["tracesToLogsV2"]["tags"] = tags

    [(check, found, path)] = _only(_edit(production, retag))
    assert (check, found) == ("grafana.trace-logs-tag", severity)
    assert path.endswith(".jsonData.tracesToLogsV2.tags")


def test_a_broken_trace_to_metrics_query_is_reported(production: list[Manifest]) -> None:
    def break_it(sources: dict[str, dict[str, Any]]) -> None:
        sources["jaeger"]["jsonData"]["tracesToMetrics"]["queries"][0]["query"] = "sum(rate(x{$$__tags}[5m])"

    [(check, severity, path)] = _only(_edit(production, break_it))
    assert (check, severity) == ("grafana.trace-metrics-query", "error") and path.endswith("queries[0].query")


def test_exemplar_links_need_prometheus_to_store_exemplars(production: list[Manifest]) -> None:
    copies = copy.deepcopy(production)
    prometheus = next(m for m in copies if m.kind == "StatefulSet" and m.name == "prometheus")
    container = prometheus.obj["spec"]["template"]["spec"]["containers"][0]
    container["args"] = [a for a in container["args"] if "exemplar-storage" not in a]
    [finding] = correlations.check(Bundle(copies))
    assert (finding.check, finding.severity) == ("grafana.exemplars-not-stored", "warning")


def test_a_link_belongs_to_its_datasource_type() -> None:
    from pydantic import ValidationError

    from leanvibe_stack.models.grafana import Datasource

    with pytest.raises(ValidationError, match="only a loki datasource has derived_fields"):
        Datasource.model_validate({"type": "prometheus", "uid": "p", "derived_fields": [
            {"name": "TraceID", "matcher_regex": "trace_id=(\\w+)", "datasource_uid": "jaeger"}]})


def test_a_jaeger_datasource_needs_the_jaeger_component(tmp_path: Any) -> None:
    from leanvibe_stack.errors import LeanvibeError
    from leanvibe_stack.profiles import load_profile
    from tests.conftest import PROFILES

    child = tmp_path / "no-jaeger.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\njaeger: null\notel_collector: null\n")
    with pytest.raises(LeanvibeError, match="a jaeger datasource queries the rendered Jaeger, which is off"):
        load_profile(str(child))
