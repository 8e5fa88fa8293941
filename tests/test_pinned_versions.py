"""What the pinned versions change: Prometheus 3.13's flags and scrape keys, and the PromQL 3.0 changed;
Alertmanager 0.34's matchers; Grafana 12's panel types; a supported Kubernetes target."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.alertmanager import InhibitRule, Route
from leanvibe_stack.models.prometheus import ScrapeJob, flag_problem
from leanvibe_stack.validate import panels, promql, releases
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding
from leanvibe_stack.validate.promql3 import go_float_label
from tests.test_validate_promql import edited, only, set_alert_expr

STATIC = {"static_configs": [{"targets": ["localhost:9090"]}]}


@pytest.mark.parametrize(("arg", "says"), [
    ("--storage.tsdb.retention=30d", "prometheus.retention_time"),
    ("--storage.tsdb.retention.time=30d", "prometheus.retention_time"),
    ("--storage.tsdb.retention.size=10GB", "prometheus.retention_size"),
    ("--alertmanager.timeout=10s", "removed in Prometheus 3.0"),
    ("--storage.tsdb.allow-overlapping-blocks", "removed in Prometheus 3.0"),
    ("--enable-feature=promql-negative-offset", "always on"),
    ("--enable-feature=exemplar-storage,agent", "--agent flag"),
    ("--enable-feature=native-histograms", "scrape_native_histograms"),
    ("--enable-feature=no-such-feature", "no such feature flag"),
    ("--query.lookback_delta=5m", "not a flag of Prometheus 3.13"),
    ("query.timeout=2m", "not a long flag"),
])
def test_removed_or_unknown_flags_are_refused_with_what_to_use(arg: str, says: str) -> None:
    problem = flag_problem(arg)
    assert problem is not None and says in problem


@pytest.mark.parametrize("arg", [
    "--storage.tsdb.wal-compression",  # hidden upstream, still a flag
    "--no-storage.tsdb.wal-compression",  # kingpin's negation of a boolean flag
    "--query.timeout=2m",
    "--enable-feature=promql-experimental-functions,exemplar-storage",
    "--no-auto-gomemlimit",
    "--log.level=debug",
])
def test_flags_of_prometheus_3_13_are_accepted(arg: str) -> None:
    assert flag_problem(arg) is None


def test_renamed_scrape_key_names_its_successor() -> None:
    with pytest.raises(ValidationError, match="always_scrape_classic_histograms"):
        ScrapeJob.model_validate({**STATIC, "scrape_classic_histograms": True})


def test_fallback_scrape_protocol_takes_only_the_protocols_prometheus_knows() -> None:
    job = ScrapeJob.model_validate({**STATIC, "fallback_scrape_protocol": "PrometheusText0.0.4"})
    assert job.model_dump(exclude_none=True)["fallback_scrape_protocol"] == "PrometheusText0.0.4"
    with pytest.raises(ValidationError, match="fallback_scrape_protocol"):
        ScrapeJob.model_validate({**STATIC, "fallback_scrape_protocol": "text/plain"})


# ---- PromQL: what Prometheus 3 changed (validate/promql3.py) -------------------------------------------

RULES = "leanvibe.enterprise.rules.yml"
OVERVIEW = "leanvibe-overview.json"
ALERT = "LeanVibeHighErrorRate"


def rule_findings(manifests: list[Manifest], expr: str, check: str, *, args: tuple[str, ...] = (),
                  scrape_edit: Callable[[Any], None] | None = None) -> list[Finding]:
    """The `check` findings once the alert's expression is `expr` (and Prometheus has `args`, and its
    prometheus.yml got `scrape_edit`)."""
    copies = copy.deepcopy(manifests)
    if args:
        prometheus = next(m for m in copies if m.kind == "StatefulSet" and m.name == "prometheus")
        prometheus.obj["spec"]["template"]["spec"]["containers"][0]["args"] += list(args)
    if scrape_edit is not None:
        copies = list(edited(copies, "prometheus.yml", scrape_edit).manifests)
    bundle = edited(copies, RULES, set_alert_expr(ALERT, expr))
    return only(promql.check(bundle), check)


def test_holt_winters_is_named_as_removed_not_as_a_parse_error(production: list[Manifest]) -> None:
    expr = "holt_winters(sum(leanvibe_http_requests_total)[1h:5m], 0.5, 0.5) > 1"
    assert only(rule_findings(production, expr, "promql.parse"), "promql.parse") == []
    [finding] = rule_findings(production, expr, "promql.removed-function")
    assert finding.severity == "error" and "double_exponential_smoothing" in finding.message
    assert "promql-experimental-functions" in finding.message


def test_a_typo_that_merely_contains_holt_winters_stays_a_parse_error(production: list[Manifest]) -> None:
    assert rule_findings(production, "holt_winters(x[1h], 0.5) >", "promql.parse")


@pytest.mark.parametrize("expr", [
    "double_exponential_smoothing(sum(leanvibe_http_requests_total)[1h:5m], 0.5, 0.5) > 1",
    "limitk(2, leanvibe_http_requests_total) > 1",
    "mad_over_time(leanvibe_http_requests_total[10m]) > 1",
])
def test_experimental_functions_need_the_feature_flag(production: list[Manifest], expr: str) -> None:
    [finding] = rule_findings(production, expr, "promql.experimental-function")
    assert finding.severity == "error" and "--enable-feature=promql-experimental-functions" in finding.message
    flag = "--enable-feature=exemplar-storage,promql-experimental-functions"
    assert rule_findings(production, expr, "promql.experimental-function", args=(flag,)) == []


@pytest.mark.parametrize(("expr", "stale"), [
    ('sum(rate(leanvibe_http_request_duration_seconds_bucket{le="1"}[5m])) > 1', "1.0"),
    ('sum(rate(leanvibe_http_request_duration_seconds_bucket{le!="10"}[5m])) > 1', "10.0"),
    ('sum(rate(leanvibe_http_request_duration_seconds_bucket{le=~"0.5|1|\\\\+Inf"}[5m])) > 1', "1.0"),
    ('leanvibe_http_request_duration_seconds{quantile="1"} > 1', "1.0"),
])
def test_integer_le_and_quantile_values_select_nothing_in_prometheus_3(
    production: list[Manifest], expr: str, stale: str
) -> None:
    [finding] = rule_findings(production, expr, "promql.le-normalised")
    assert finding.severity == "error" and f"stores as {stale}" in finding.message


@pytest.mark.parametrize("expr", [
    'sum(rate(leanvibe_http_request_duration_seconds_bucket{le="1.0"}[5m])) > 1',
    'sum(rate(leanvibe_http_request_duration_seconds_bucket{le=~"0.5|1(\\\\.0)?"}[5m])) > 1',
    'sum(rate(leanvibe_http_request_duration_seconds_bucket{le="+Inf"}[5m])) > 1',
    'leanvibe_http_request_duration_seconds{quantile="0.99"} > 1',
    'sum(rate(leanvibe_http_requests_total{le="1"}[5m])) > 1',  # not a bucket: nothing normalises its le
])
def test_stored_forms_of_le_and_quantile_pass(production: list[Manifest], expr: str) -> None:
    assert rule_findings(production, expr, "promql.le-normalised") == []


def test_relabelling_le_back_is_the_documented_way_out(production: list[Manifest]) -> None:
    def keep_integer_le(config: Any) -> None:
        config["scrape_configs"][0]["metric_relabel_configs"] = [
            {"source_labels": ["le", "__name__"], "target_label": "le", "regex": "(\\d+)\\.0+;.*_bucket"}]

    expr = 'sum(rate(leanvibe_http_request_duration_seconds_bucket{le="1"}[5m])) > 1'
    assert rule_findings(production, expr, "promql.le-normalised", scrape_edit=keep_integer_le) == []


@pytest.mark.parametrize(("expr", "severity"), [
    ('rate(prometheus_http_requests_total{job="prometheus"}[5s]) > 1', "error"),  # scraped every 5s
    ('rate(prometheus_http_requests_total{job="prometheus"}[8s]) > 1', "warning"),
    ('rate(up{job="neo4j"}[15s]) > 1', "error"),  # the global 15s
    ('increase(up{job="neo4j"}[20s]) > 1', "warning"),
    ("rate(up[4s]) > 1", "error"),  # no job: shorter than the fastest job's interval
    ("rate(sum(up)[1m:1m]) > 1", "error"),  # the migration guide's subquery: one point per window
    ("rate(sum(up)[90s:1m]) > 1", "warning"),
    ("deriv(sum(up)[15s:]) > 1", "error"),  # default step: the 15s evaluation interval
])
def test_ranges_too_short_for_two_samples(production: list[Manifest], expr: str, severity: str) -> None:
    [finding] = rule_findings(production, expr, "promql.range-too-short")
    assert finding.severity == severity and "left edge" in finding.message


@pytest.mark.parametrize("expr", [
    'rate(prometheus_http_requests_total{job="prometheus"}[10s]) > 1',
    'rate(up{job="neo4j"}[30s]) > 1',
    "rate(up[20s]) > 1",  # could be short for a 15s job, but no job is named: not reported
    "rate(sum(up)[2m:1m]) > 1",
    "max_over_time(up[5s]) > 1",  # one sample is enough
])
def test_ranges_long_enough_or_undecidable_pass(production: list[Manifest], expr: str) -> None:
    assert rule_findings(production, expr, "promql.range-too-short") == []


def test_dashboard_queries_get_the_same_checks(production: list[Manifest]) -> None:
    def edit(dashboard: Any) -> None:
        dashboard["panels"][0]["targets"][0]["expr"] = (
            'sum(rate(leanvibe_http_request_duration_seconds_bucket{le="5"}[$__rate_interval]))')

    findings = only(promql.check(edited(production, OVERVIEW, edit)), "promql.le-normalised")
    assert [f.path for f in findings] == [f"{OVERVIEW}:panels[0].targets[0].expr"]


@pytest.mark.parametrize(("value", "stored"), [
    ("1", "1.0"), ("1.0", "1.0"), ("0.5", "0.5"), ("10", "10.0"), ("100000", "100000.0"), ("1000000", "1e+06"),
    ("0.0001", "0.0001"), ("0.00001", "1e-05"), ("+Inf", "+Inf"), ("-1", "-1.0"), ("0", "0.0"),
    ("2.50", "2.5"), ("abc", None), ("1_0", None),
])
def test_label_values_are_stored_as_go_formats_them(value: str, stored: str | None) -> None:
    assert go_float_label(value) == stored


# ---- Alertmanager 0.34: the matchers its parsers read (UTF-8 parser, classic fallback) ----------------


@pytest.mark.parametrize("matcher", [
    'severity="critical"', "severity=critical", 'service=~"neo4j|redis"', "service =~ [a-z]+",
    'message=~"\\\\d+ errors"', 'team!=""', 'text="line\\nbreak"',
])
def test_matchers_both_alertmanager_parsers_accept(matcher: str) -> None:
    assert InhibitRule.model_validate(
        {"source_matchers": [matcher], "target_matchers": ["severity=warning"], "equal": ["service"]})


@pytest.mark.parametrize("matcher", [
    "team=",  # the UTF-8 parser needs a value: 0.34 reads it with the classic fallback (and logs a warning)
    "team=platform team",
    "alertname=Disk!Full",
    "path=C:\\temp",
    'message=~"\\d+ errors"',  # classic: \d is a spurious escape, kept as \d
    '{severity="critical"}', 'severity="critical",team="db"', 'a:b="x"',  # braces, two in one entry, colons
    '"service name"="db"', "service.name=db",  # only the UTF-8 parser reads these label names
])
def test_matchers_alertmanager_034_reads_are_accepted(matcher: str) -> None:
    assert Route.model_validate({"receiver": "r", "matchers": [matcher]})


@pytest.mark.parametrize(("matcher", "says"), [
    ('service=="neo4j"', "unescaped double quote"),
    ('service=~"(?!test)x"', "invalid or unsupported Perl syntax"),
    ('service=~"a{1001}"', "invalid repeat count"),
    ('service=~"\\C"', "invalid escape sequence"),
    ("{service}", "bad matcher format"),
])
def test_matchers_alertmanager_034_refuses_are_refused_with_its_reason(matcher: str, says: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Route.model_validate({"receiver": "r", "matchers": [matcher]})
    assert says in str(raised.value)


# ---- Grafana 12: panel types that no longer load ----------------------------------------------------------


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_shipped_dashboards_use_no_removed_panel_type(rendered: dict[str, list[Manifest]], profile: str) -> None:
    bundle = Bundle(rendered[profile])
    assert bundle.dashboards and panels.check(bundle) == []


@pytest.mark.parametrize(("kind", "instead"), [
    ("graph", "timeseries"), ("singlestat", "stat"), ("table-old", "table"), ("grafana-piechart-panel", "piechart"),
    ("grafana-worldmap-panel", "geomap"), ("grafana-singlestat-panel", "stat"),
])
def test_removed_panel_types_fail_with_their_replacement(production: list[Manifest], kind: str, instead: str) -> None:
    appended_at = []

    def edit(dashboard: Any) -> None:
        dashboard["panels"][0]["type"] = kind
        appended_at.append(len(dashboard["panels"]))
        dashboard["panels"].append({"type": "row", "title": "Old", "panels": [{"type": kind, "id": 99}]})

    found = panels.check(edited(production, OVERVIEW, edit))
    assert [f.path for f in found] == [f"{OVERVIEW}:panels[0].type",
                                       f"{OVERVIEW}:panels[{appended_at[0]}].panels[0].type"]
    assert all(f.check == "dashboard.panel-type-removed" and f.severity == "error" for f in found)
    assert f"use type {instead}" in found[0].message and "panel id 99" in found[1].message


# ---- Kubernetes: the target minor is a supported one ------------------------------------------------------


def test_end_of_life_kubernetes_target_warns_with_the_supported_minors() -> None:
    [finding] = releases.check_kubernetes("1.29", datetime.date(2026, 12, 5))
    assert (finding.check, finding.severity) == ("kubernetes.end-of-life", "warning")
    assert "unsupported since 2025-02-28" in finding.message and "1.36 (until 2027-06-28)" in finding.message


def test_supported_or_unknown_kubernetes_targets_pass() -> None:
    day = datetime.date(2026, 12, 5)
    assert releases.check_kubernetes("1.35", day) == []  # until 2027-02-28
    assert releases.check_kubernetes("1.99", day) == []  # unknown: schema.version-fallback speaks for it
    assert releases.check_kubernetes("not-a-version", day) == []
    assert [f.check for f in releases.check_kubernetes("1.35", datetime.date(2027, 3, 1))] == ["kubernetes.end-of-life"]


def test_shipped_profiles_target_a_supported_kubernetes(loaded: dict[str, Any]) -> None:
    day = datetime.date(2026, 12, 5)
    for profile in loaded.values():
        assert releases.check_kubernetes(profile.stack.global_.kubernetes_version, day) == []


def test_every_kubernetes_line_has_a_source_and_an_end() -> None:
    lines = releases.kubernetes_lines().lines.values()
    assert lines and all(line.source and line.end_of_support for line in lines)
