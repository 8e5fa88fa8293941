"""PromQL and metrics (validate §5): rule and dashboard expressions parse; metric names are ones we export."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import promql
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef
from tests.conftest import PROFILES, RENDERED_PROFILES

RULES = "leanvibe.enterprise.rules.yml"
OVERVIEW = "leanvibe-overview.json"
RULES_CM = ObjectRef("ConfigMap", "leanvibe-monitoring", "prometheus-rules")
OVERVIEW_CM = ObjectRef("ConfigMap", "leanvibe-monitoring", "grafana-dashboard-leanvibe-overview")


def edited(manifests: list[Manifest], key: str, edit: Callable[[Any], None]) -> Bundle:
    """A bundle of deep-copied manifests whose ConfigMap entry `key` (YAML or JSON) was edited in place."""
    copies = copy.deepcopy(manifests)
    holders = [m for m in copies if m.kind == "ConfigMap" and key in (m.obj.get("data") or {})]
    assert len(holders) == 1, f"expected one ConfigMap holding {key}"
    data = holders[0].obj["data"]
    if key.endswith(".json"):
        document = json.loads(data[key])
        edit(document)
        data[key] = json.dumps(document, indent=2)
    else:
        document = yamlio.load(data[key])
        edit(document)
        data[key] = yamlio.dump(document)
    return Bundle(copies)


def set_alert_expr(name: str, expr: str) -> Callable[[Any], None]:
    def edit(rules: Any) -> None:
        matches = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == name]
        assert len(matches) == 1
        matches[0]["expr"] = expr
    return edit


def only(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


# ---- the committed profiles --------------------------------------------------------------------------


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_profiles_have_no_promql_findings(rendered: dict[str, list[Manifest]], profile: str) -> None:
    bundle = Bundle(rendered[profile])
    assert bundle.alert_rules and bundle.dashboards, "nothing to check: the test would prove nothing"
    assert promql.check(bundle) == []


def test_profiles_enable_the_catalogues_of_what_they_scrape_and_run(production: list[Manifest]) -> None:
    active = promql.active_catalogues(Bundle(production))
    assert set(active) == set(promql.CATALOGUES)  # production scrapes or runs everything we have a list for


def test_every_expression_of_production_is_visited(production: list[Manifest]) -> None:
    """Every alert, panel target, annotation and variable query is a site the check looks at."""
    bundle = Bundle(production)
    checker = promql._Checker(bundle)
    sites = [*checker.rule_sites(), *checker.dashboard_sites()]
    paths = {site.path for site in sites}
    # Prometheus' rules are PromQL; Loki's ruler's are LogQL (validate/logql.py reads those).
    prometheus_files = {mounted.path for mounted, _ in bundle.rule_files}
    assert {f"{rule.path}.expr" for rule in bundle.alert_rules if rule.file.path in prometheus_files} <= paths
    assert f"{OVERVIEW}:panels[8].targets[1].expr" in paths
    assert f"{OVERVIEW}:annotations.list[0].expr" in paths
    assert f"{OVERVIEW}:templating.list[0].query.query" in paths
    # 18 + 7 + 3 + 29 (self-monitoring) + 6 (Thanos) alerts; overview: 13 + 3 targets, 1 annotation, 1 variable
    # query; business: 9 targets
    assert len(sites) == 18 + 7 + 3 + 29 + 6 + 13 + 3 + 1 + 1 + 9


def test_parsed_expressions_dropped_from_the_cache_are_parsed_again_alike(production: list[Manifest],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    broken = "sum(rate(leanvibe_api_requests_total[5m])"
    bundle = edited(production, RULES, set_alert_expr("LeanVibeHighErrorRate", broken))
    kept_all = promql.check(bundle)
    monkeypatch.setattr(promql, "PARSED_KEPT", 1)
    checker = promql._Checker(bundle)
    assert checker.run() == kept_all
    assert len(checker.parsed) == 1
    assert only(kept_all, "promql.parse")  # an error among them: errors are cached (and dropped) too


# ---- parse errors -------------------------------------------------------------------------------------


def test_broken_alert_expression_is_a_parse_error_at_its_path(production: list[Manifest]) -> None:
    broken = "sum(rate(leanvibe_api_requests_total[5m])"
    bundle = edited(production, RULES, set_alert_expr("LeanVibeHighErrorRate", broken))
    findings = promql.check(bundle)
    assert [(f.check, f.severity, f.object, f.path) for f in findings] == [
        ("promql.parse", "error", RULES_CM, f"{RULES}:groups[0].rules[0].expr"),
    ]
    assert "LeanVibeHighErrorRate" in findings[0].message
    assert "unclosed left parenthesis" in findings[0].message


def test_type_errors_are_parse_errors(production: list[Manifest]) -> None:
    bundle = edited(production, RULES, set_alert_expr("RedisDown", "rate(redis_up) > 0"))
    [finding] = promql.check(bundle)
    assert finding.check == "promql.parse"
    assert finding.path == f"{RULES}:groups[0].rules[7].expr"
    assert "expected type matrix" in finding.message


def test_broken_dashboard_target_is_a_parse_error_at_its_json_path(production: list[Manifest]) -> None:
    def edit(dashboard: Any) -> None:
        dashboard["panels"][3]["targets"][0]["expr"] = "sum(leanvibe_active_tenants_total"

    [finding] = promql.check(edited(production, OVERVIEW, edit))
    assert (finding.check, finding.object, finding.path) == (
        "promql.parse", OVERVIEW_CM, f"{OVERVIEW}:panels[3].targets[0].expr")


# ---- Grafana template variables -------------------------------------------------------------------------


def add_panels(*panels: dict[str, Any]) -> Callable[[Any], None]:
    def edit(dashboard: Any) -> None:
        dashboard["panels"].extend(panels)
    return edit


def target(expr: str, **extra: Any) -> dict[str, Any]:
    return {"title": "added", "type": "timeseries", "targets": [{"refId": "A", "expr": expr, **extra}]}


def test_dashboard_variables_are_substituted_before_parsing(production: list[Manifest]) -> None:
    exprs = [
        'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="$namespace"}[$__rate_interval]))',
        'sum(rate(leanvibe_api_requests_total{namespace=~"${namespace:regex}"}[$__interval]))',
        "sum(increase(leanvibe_tenant_churn_total[$__range])) / $__range_s",
        'sum(rate(leanvibe_api_requests_total{namespace="[[namespace]]"}[5m:$__interval] offset $__interval))',
        "sum by ($namespace) (leanvibe_active_tenants_total)",
        'label_replace(leanvibe_active_tenants_total, "tier", "$1", "plan", "(.*)")',
    ]
    row = {"title": "row", "type": "row", "collapsed": True, "panels": [target(exprs[0])]}
    bundle = edited(production, OVERVIEW, add_panels(*(target(e) for e in exprs), row))
    assert promql.check(bundle) == []


def test_undefined_variable_is_reported_with_its_name(production: list[Manifest]) -> None:
    row = {"title": "row", "type": "row", "panels": [target("sum(leanvibe_active_tenants_total) > $threshold")]}
    [finding] = promql.check(edited(production, OVERVIEW, add_panels(row)))
    assert finding.check == "promql.parse"
    shipped = len(json.loads((PROFILES / "dashboards" / OVERVIEW).read_text(encoding="utf-8"))["panels"])
    assert finding.path == f"{OVERVIEW}:panels[{shipped}].panels[0].targets[0].expr"
    assert "$threshold" in finding.message


def test_interpolate_stand_ins_by_context() -> None:
    variables = promql.Variables(frozenset({"namespace", "n", "metric"}), {"n": "5"}, {})
    assert promql.interpolate('x{a="$namespace"}[$__rate_interval]', variables) == 'x{a="grafana_variable_"}[5m]'
    assert promql.interpolate("topk($n, x) offset $__range", variables) == "topk(5, x) offset 5m"
    assert promql.interpolate("${metric}_total / $__interval_ms", variables) == "grafana_variable__total / 300000"
    assert promql.interpolate('x{a="$1"} + $unknown', variables) == 'x{a="$1"} + $unknown'  # not variables
    assert promql.interpolate("[[metric]]", variables) == "grafana_variable_"


def test_names_built_from_variables_are_not_checked(production: list[Manifest]) -> None:
    def edit(dashboard: Any) -> None:
        dashboard["templating"]["list"].append({"name": "metric", "type": "custom", "query": "a,b"})
        dashboard["panels"].extend([target('{__name__="$metric"}'), target("rate(${metric}_total[5m])")])

    assert promql.check(edited(production, OVERVIEW, edit)) == []


def test_numeric_variable_can_stand_where_a_scalar_is_needed(production: list[Manifest]) -> None:
    def edit(dashboard: Any) -> None:
        dashboard["templating"]["list"].append({"name": "q", "type": "textbox", "query": ""})
        dashboard["panels"].append(target(
            "histogram_quantile($q, sum by (le) (rate(leanvibe_api_request_duration_seconds_bucket[5m])))"))

    assert promql.check(edited(production, OVERVIEW, edit)) == []


def test_label_values_query_is_recognised_and_its_metric_checked(production: list[Manifest]) -> None:
    variable_path = f"{OVERVIEW}:templating.list[0].query.query"
    # production's dashboard has label_values(kube_pod_info, namespace): recognised, no parse error
    assert promql.check(Bundle(production)) == []

    def misspell(dashboard: Any) -> None:
        query = 'label_values(kube_pod_inf{namespace=~"$namespace"}, pod)'
        dashboard["templating"]["list"][0]["query"]["query"] = query

    [finding] = promql.check(edited(production, OVERVIEW, misspell))
    assert (finding.check, finding.severity, finding.path) == ("metrics.unknown", "warning", variable_path)
    assert "did you mean 'kube_pod_info'?" in finding.message


@pytest.mark.parametrize("query", [
    "label_values(namespace)",
    "label_values(kube_pod_info, namespace)",
    "label_values(kube_pod_info{namespace=\"$namespace\"}, pod)",
    "label_names()",
    "metrics(leanvibe_.*)",
    "query_result(topk(5, sum by (endpoint) (rate(leanvibe_api_requests_total[$__range]))))",
    "kube_pod_info{namespace=\"$namespace\"}",
])
def test_variable_query_forms(production: list[Manifest], query: str) -> None:
    def edit(dashboard: Any) -> None:
        dashboard["templating"]["list"].append({"name": "v", "type": "query", "query": query})

    assert promql.check(edited(production, OVERVIEW, edit)) == []


def test_query_result_with_broken_promql_is_a_parse_error(production: list[Manifest]) -> None:
    def edit(dashboard: Any) -> None:
        dashboard["templating"]["list"].append({"name": "v", "type": "query", "query": "query_result(sum(up)"})

    [finding] = promql.check(edited(production, OVERVIEW, edit))
    assert (finding.check, finding.path) == ("promql.parse", f"{OVERVIEW}:templating.list[1].query")


def test_loki_targets_are_not_parsed_as_promql(production: list[Manifest]) -> None:
    logql = '{namespace="$namespace"} |= "error"'
    bundle = edited(production, OVERVIEW, add_panels(
        target(logql, datasource={"type": "loki", "uid": "loki"}),
        {**target(logql), "datasource": {"type": "loki", "uid": "loki"}},
        target(logql, datasource="Loki"),
    ))
    assert promql.check(bundle) == []


# ---- metric names ----------------------------------------------------------------------------------------


def test_typo_of_an_application_metric_suggests_the_real_one(production: list[Manifest]) -> None:
    expr = "sum(rate(leanvibe_api_request_total[5m])) > 100"
    [finding] = promql.check(edited(production, RULES, set_alert_expr("LeanVibeHighErrorRate", expr)))
    assert (finding.check, finding.severity, finding.object, finding.path) == (
        "metrics.unknown", "warning", RULES_CM, f"{RULES}:groups[0].rules[0].expr")
    assert "'leanvibe_api_request_total'" in finding.message
    assert "did you mean 'leanvibe_api_requests_total'?" in finding.message


def test_unknown_metric_is_a_warning_with_a_deterministic_hint(production: list[Manifest]) -> None:
    expr = "sum(increase(tenant_signups_total[1h])) < 5"
    bundle = edited(production, RULES, set_alert_expr("LowTenantSignupRate", expr))
    first, second = promql.check(bundle), promql.check(bundle)
    assert first == second
    [finding] = first
    assert finding.check == "metrics.unknown" and "'tenant_signups_total'" in finding.message
    assert re.search(r"did you mean '[a-z_:]+'\?|no known metric is similar", finding.message)


def test_metrics_recorded_by_recording_rules_are_known(production: list[Manifest]) -> None:
    def edit(rules: Any) -> None:
        rules["groups"].append({"name": "recorded", "rules": [
            {"record": "leanvibe:api_requests:rate5m", "expr": "sum(rate(leanvibe_api_requests_total[5m]))"},
            {"alert": "TooMuchTraffic", "expr": "leanvibe:api_requests:rate5m > 1000", "for": "5m"},
        ]})

    assert promql.check(edited(production, RULES, edit)) == []


def test_recording_rule_expressions_are_checked_too(production: list[Manifest]) -> None:
    def edit(rules: Any) -> None:
        rules["groups"].append({"name": "recorded", "rules": [{"record": "x:y", "expr": "sum(rate(nope_total[5m]))"}]})

    [finding] = promql.check(edited(production, RULES, edit))
    assert (finding.check, finding.path) == ("metrics.unknown", f"{RULES}:groups[1].rules[0].expr")
    assert "recording rule x:y" in finding.message


def test_metric_of_an_exporter_the_stack_does_not_scrape(production: list[Manifest]) -> None:
    def drop_redis_job(config: Any) -> None:
        config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] != "redis"]

    bundle = edited(production, "prometheus.yml", drop_redis_job)
    assert "redis-exporter.txt" not in promql.active_catalogues(bundle)
    unknown = only(promql.check(bundle), "metrics.unknown")
    assert {f.path for f in unknown} == {f"{RULES}:groups[0].rules[{r}].expr" for r in (7, 8, 9)}
    assert all("comes from redis-exporter, which this stack neither scrapes nor runs" in f.message for f in unknown)


def test_metric_names() -> None:
    assert promql.metric_names('sum by (le) (rate(a_bucket{job="x"}[5m])) / on() group_left b') == {"a_bucket", "b"}
    assert promql.metric_names('{__name__="c", job="x"} or {__name__=~"d.*"}') == {"c"}
    assert promql.metric_names('{job="a" or __name__="e"}') == {"e"}
    assert promql.metric_names("max_over_time(f[10m:1m] offset 1h) + vector(1)") == {"f"}
    with pytest.raises(ValueError):
        promql.metric_names("sum(")


# ---- the catalogues --------------------------------------------------------------------------------------


def test_catalogue_files_are_headed_listed_and_well_formed() -> None:
    directory = resources.files("leanvibe_stack.validate").joinpath("catalogue")
    files = sorted(p.name for p in directory.iterdir() if p.name.endswith(".txt"))
    assert files == sorted(promql.CATALOGUES)
    metric_name = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    for name in files:
        lines = directory.joinpath(name).read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# "), f"{name} must start with a comment saying where its list comes from"
        entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        assert entries, name
        assert all(metric_name.fullmatch(e) for e in entries), name
        assert len(entries) == len(set(entries)), f"{name} lists a metric twice"
        assert promql.catalogue(name) == frozenset(entries)


def test_application_catalogue_follows_prometheus_client_naming() -> None:
    app = promql.catalogue("leanvibe-app.txt")
    assert "leanvibe_tenant_registrations_total" in app
    for histogram in ("leanvibe_api_request_duration_seconds", "leanvibe_ai_processing_duration_seconds"):
        assert {f"{histogram}_bucket", f"{histogram}_sum", f"{histogram}_count"} <= app
        assert histogram not in app
    assert {"leanvibe_payment_amount_usd_sum", "leanvibe_payment_amount_usd_count"} <= app


# ---- metric names: the direct traversal agrees with promql_parser.walk --------------------------------

NAME_EDGE_CASES = [
    'rate(x[5m])', 'max_over_time(sum(y)[1h:5m])', '-z', '(a) + on(job) group_left b', 'topk(5, c)',
    'count_values("v", d)', 'e @ 100', 'f offset 5m', '{__name__="g" or __name__="h"}', '{__name__=~"i.*"}',
    '"text"', '1', 'scalar(j) * vector(1)', 'label_replace(k, "dst", "$1", "src", "(.*)")',
    'quantile_over_time(0.9, l[10m]) > bool 3', 'absent(m{job="n"})', 'histogram_quantile(0.99, sum by (le) (o))',
    'p unless q or r and s', 'sum(rate(t[5m] offset 1h))[30m:1m]',
]


def _walk_names(expr: str) -> set[str]:
    """The reference: every VectorSelector promql_parser.walk visits."""
    import promql_parser

    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            promql._selector_names(node, names)
        return True

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return names


def _all_expressions(rendered: dict[str, list[Manifest]]) -> list[str]:
    from benchmarks.synthetic import alert_rule

    exprs = list(NAME_EDGE_CASES) + [alert_rule(i)[1]["expr"] for i in range(40)]
    for manifests in rendered.values():
        checker = promql._Checker(Bundle(manifests))
        for site in [*checker.rule_sites(), *checker.dashboard_sites()]:
            expr = promql.interpolate(site.expr, site.variables) if site.variables else site.expr
            if not isinstance(checker.parse(expr), str):
                exprs.append(expr)
    return exprs


def test_metric_names_agree_with_walking_the_syntax_tree(rendered: dict[str, list[Manifest]]) -> None:
    exprs = _all_expressions(rendered)
    assert len(exprs) > 100
    for expr in exprs:
        assert promql.metric_names(expr) == _walk_names(expr), expr


def test_a_node_kind_the_traversal_does_not_know_is_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(promql, "_WRAPPERS", ())  # subqueries, parentheses, unary minus: now "unknown"
    for expr in ['max_over_time(sum(y)[1h:5m])', '-(z + w)']:
        assert promql.metric_names(expr) == _walk_names(expr) != set()
