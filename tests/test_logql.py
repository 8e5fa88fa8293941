"""LogQL: our parser (validate/logql_parser.py) against Loki's verdicts and Grafana's own grammar, and the
`logql.parse` / `logql.unknown-label` checks on every place LogQL lives in the rendered objects.

Grafana's grammar is the npm package @grafana/lezer-logql, run by node from tests/logql/node (test-only:
the CLI never needs node).  Locally a missing node or package skips the comparison; under CI=true it fails.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import logql
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import ObjectRef
from leanvibe_stack.validate.logql_parser import LogQLError, parse
from tests.conftest import RENDERED_PROFILES, require_tool
from tests.logql.corpus import INVALID, VALID
from tests.test_validate_promql import OVERVIEW, OVERVIEW_CM, add_panels, edited, target

NODE_DIR = Path(__file__).parent / "logql" / "node"
PACKAGE = NODE_DIR / "node_modules" / "@grafana" / "lezer-logql"

# Where Grafana's editor grammar and Loki disagree, on purpose: lezer-logql is an editor grammar and does
# not run the checks Loki's parser runs after parsing (ast.go constructors, parser.go validateExpr).
LOKI_ONLY_REFUSES = {
    '{app=""}': "a selector needs one matcher that does not match the empty value (validateMatchers)",
    '{app="api"} |~ "\\d+"': "Go's string unquoting refuses the escape \\d (strutil.Unquote in lex.go)",
    'sum_over_time({app="api"}[5m])': "sum_over_time needs an unwrap (RangeAggregationExpr.validate)",
    'topk(sum(rate({app="api"}[5m])))': "topk needs its parameter (mustNewVectorAggregationExpr)",
    '1 and 2': "a logical operator with a literal leg (mustNewBinOpExpr)",
    '{app="api"} | logfmt --strictly': "lex.go tryScanFlag reads the whole word, not a flag; lezer reads "
                                       "--strict, then a label `ly` to extract",
}
# Loki's grammar accepts these; lezer-logql's does not.
LEZER_ONLY_REFUSES = {
    '{app="api"} | logfmt | level="error" status=~"5.."':
        "syntax.y joins two label filters written side by side (`labelFilter labelFilter`); lezer needs and/,",
    'SUM(RATE({app="api"}[5m]))': "Loki's lexer lower-cases keywords and function names; lezer's are lower-case only",
}


def verdict(expr: str) -> bool:
    try:
        parse(expr)
    except LogQLError:
        return False
    return True


def shipped() -> list[tuple[str, str, str]]:
    """(profile, path, interpolated text) of every LogQL expression the shipped profiles render."""
    from leanvibe_stack.profiles import load_profile
    from leanvibe_stack.render import render_stack
    from tests.conftest import PROFILES

    found = []
    for name in RENDERED_PROFILES:
        bundle = Bundle(render_stack(load_profile(name, PROFILES).stack))
        found += [(name, site.path, site.stand_ins()) for site in logql.sites(bundle)]
    return found


@functools.cache
def lezer_verdicts(expressions: tuple[str, ...]) -> dict[str, bool]:
    node = require_tool("node")
    if not PACKAGE.is_dir():
        hint = "cd tests/logql/node && npm ci"
        if os.environ.get("CI") == "true":
            pytest.fail(f"@grafana/lezer-logql is not installed; CI must install it (.ci/run: {hint})")
        pytest.skip(f"@grafana/lezer-logql not installed ({hint})")
    result = subprocess.run([node, "verdicts.mjs"], cwd=NODE_DIR, input=json.dumps(list(expressions)),
                            capture_output=True, text=True, check=True, timeout=120)
    return {expr: v["valid"] for expr, v in zip(expressions, json.loads(result.stdout), strict=True)}


# ---- the corpus --------------------------------------------------------------------------------------------

def test_the_corpus_is_large_enough_and_has_no_duplicates() -> None:
    assert len(VALID) >= 60 and len(INVALID) >= 30
    assert len(set(VALID + INVALID)) == len(VALID + INVALID)


@pytest.mark.parametrize("expr", VALID)
def test_loki_accepts(expr: str) -> None:
    parse(expr)


@pytest.mark.parametrize("expr", INVALID)
def test_loki_refuses(expr: str) -> None:
    with pytest.raises(LogQLError):
        parse(expr)


def test_verdicts_agree_with_grafanas_grammar() -> None:
    expressions = tuple(VALID + INVALID + [text for _, _, text in shipped()])
    theirs = lezer_verdicts(expressions)
    disagree = {expr: (verdict(expr), theirs[expr]) for expr in expressions if verdict(expr) != theirs[expr]}
    listed = {**{e: (False, True) for e in LOKI_ONLY_REFUSES}, **{e: (True, False) for e in LEZER_ONLY_REFUSES}}
    assert disagree == listed, "ours vs lezer-logql (True = valid); list a deliberate difference with its reason"


def test_every_shipped_logql_expression_parses() -> None:
    found = shipped()
    assert len(found) >= len(RENDERED_PROFILES) * 2  # the overview dashboard's Loki panels, at least
    assert [(profile, path) for profile, path, text in found if not verdict(text)] == []


# ---- positions and messages --------------------------------------------------------------------------------

@pytest.mark.parametrize(("expr", "line", "column", "says"), [
    ('{app="api"', 1, 11, "unexpected end of query; expected ',', '}'"),
    ('{app=api}', 1, 6, "unexpected 'api'; expected a string"),
    ('{app="api"} |= error', 1, 16, "unexpected 'error'; expected a string, ip"),
    ('rate({app="api"})', 1, 17, "expected"),
    ('sum(rate({app="api"}[5 m]))', 1, 21, "invalid range [5 m]"),
    ('{app="api"}\n  | json\n  | status >', 3, 13, "unexpected end of query"),
    ('{app="api"}\n| logfmt @', 2, 10, "unexpected character '@'"),
    ('{app="api"} |~ "\\d+"', 1, 16, "unknown escape sequence \\d"),
    ('{app="api"} | regexp "(a"', 1, 22, "invalid regexp parser"),
    ('count_over_time({app="api"} | logfmt | unwrap x [5m])', 1, 1, "invalid aggregation count_over_time with unwrap"),
    ('quantile_over_time({app="api"} | logfmt | unwrap x [5m])', 1, 1, "quantile_over_time needs its parameter"),
    ('count_over_time({app="api"}[5m]) by (x)', 1, 1, "grouping not allowed for count_over_time"),
    ('rate({app="api"}[5m]) + {app="api"}', 1, 25, "right side of + is a log query"),
    ('sum({app="api"})', 1, 5, "sum needs a metric expression"),
    ('topk(0, rate({app="api"}[5m]))', 1, 6, "whole number greater than 0"),
    ('sort by (x) (rate({app="api"}[5m]))', 1, 6, "sort does not allow grouping"),
    ('approx_topk(3, rate({app="api"}[5m])) by (x)', 1, 39, "grouping not allowed for approx_topk"),
    ('{app="api"} | pattern "<a><b>"', 1, 23, "two captures in a row"),
    ('{app="api"} | pattern "<_> x"', 1, 23, "at least one named capture"),
    ('label_replace(rate({app="api"}[5m]), "d", "$1", "s", "(")', 1, 54, "invalid regex in label_replace"),
    ('{app=~".*"}', 1, 1, "at least one matcher that does not match the empty value"),
    ('count_over_time({app="api"}[5m] offset 5x)', 1, 40, "unexpected"),
])
def test_errors_say_where_and_what(expr: str, line: int, column: int, says: str) -> None:
    with pytest.raises(LogQLError) as caught:
        parse(expr)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert says in caught.value.problem
    assert str(caught.value).startswith(f"column {column}: " if line == 1 else f"line {line}, column {column}: ")


def test_selectors_and_their_matchers_come_from_the_tree() -> None:
    query = parse('sum(count_over_time({a="x", b=~"y|z"} |= "{c=\\"d\\"}" [5m])) / sum(rate({e="\\u00e9"}[1m]))')
    assert [s.text for s in query.selectors] == ['{a="x", b=~"y|z"}', '{e="\\u00e9"}']
    assert [(m.name, m.op, m.value) for m in query.selectors[1].matchers] == [("e", "=", "é")]
    assert query.is_metric and not parse('{a="x"} | json').is_metric


def test_variants_and_comments_parse() -> None:
    parse('variants(count_over_time({a="x"}[1m]), bytes_over_time({a="x"}[1m])) of ({a="x"}[1m])')
    parse('# leading comment\n{a="x"} # trailing')


# ---- where LogQL lives: dashboards ---------------------------------------------------------------------------

LOKI = {"type": "loki", "uid": "loki"}


def test_a_broken_dashboard_query_is_a_parse_error_placed_in_the_text_as_written(production: list[Manifest]) -> None:
    expr = 'sum by (level) (count_over_time({namespace="$namespace"} |= "x" [$__auto])) >'
    [finding] = logql.check(edited(production, OVERVIEW, add_panels(target(expr, datasource=LOKI))))
    assert (finding.check, finding.severity, finding.object) == ("logql.parse", "error", OVERVIEW_CM)
    assert finding.path.startswith(f"{OVERVIEW}:panels[") and finding.path.endswith("].targets[0].expr")
    assert f"column {len(expr) + 1}: unexpected end of query" in finding.message  # not the stand-ins' column


def test_dashboard_variables_stand_in_before_parsing(production: list[Manifest]) -> None:
    exprs = [
        'sum by (level) (count_over_time({namespace="$namespace"} [$__auto]))',
        'rate({namespace=~"${namespace:regex}"} |= "x" [$__interval])',
        'sum(count_over_time({namespace="[[namespace]]"}[$__range]))',
        'topk($namespace, sum by (pod) (rate({namespace="x"}[5m])))',
    ]
    bundle = edited(production, OVERVIEW, add_panels(*(target(e, datasource=LOKI) for e in exprs)))
    assert logql.check(bundle) == []


def test_unknown_label_names_the_selector_as_written(production: list[Manifest]) -> None:
    expr = 'sum(count_over_time({namespace="$namespace", tenant="x"}[5m]))'
    [finding] = logql.check(edited(production, OVERVIEW, add_panels(target(expr, datasource=LOKI))))
    assert (finding.check, finding.severity) == ("logql.unknown-label", "warning")
    assert 'stream selector {namespace="$namespace", tenant="x"} requires label(s) tenant' in finding.message


# ---- where LogQL lives: Loki rule files ----------------------------------------------------------------------

RULES_KEY = "security.yaml"
RULES_CM = ObjectRef("ConfigMap", "leanvibe-monitoring", "loki-rules-test")


def with_loki_rules(manifests: list[Manifest], rules: list[dict[str, Any]], *,
                    mount: str = "/etc/loki/rules/fake", auth_enabled: bool | None = None) -> Bundle:
    """The production render with its own Loki rules replaced by a rule ConfigMap mounted at `mount`."""
    copies = [m for m in copy.deepcopy(manifests) if not (m.kind == "ConfigMap" and m.name == "loki-rules")]
    loki = next(m for m in copies if m.kind == "StatefulSet" and m.name == "loki")
    pod = loki.obj["spec"]["template"]["spec"]
    pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "rules"]
    mounts = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] != "rules"]
    pod["containers"][0]["volumeMounts"] = mounts
    pod["volumes"].append({"name": "rules", "configMap": {"name": RULES_CM.name}})
    mounts.append({"name": "rules", "mountPath": mount, "readOnly": True})
    groups = {"groups": [{"name": "security", "rules": rules}]}
    configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": RULES_CM.name, "namespace": RULES_CM.namespace},
                 "data": {RULES_KEY: yamlio.dump(groups)}}
    if auth_enabled is not None:
        config = next(m for m in copies if m.kind == "ConfigMap" and m.name == "loki-config")
        data = yamlio.load(config.obj["data"]["loki.yaml"])
        data["auth_enabled"] = auth_enabled
        config.obj["data"]["loki.yaml"] = yamlio.dump(data)
    return Bundle([*copies, Manifest(configmap, component="loki", source="test")])


def test_the_ruler_reads_the_fake_tenant_folder(production: list[Manifest]) -> None:
    bundle = with_loki_rules(production, [{"alert": "A", "expr": 'sum(count_over_time({namespace="x"}[5m])) > 1'}])
    [(mounted, data)] = bundle.loki_rule_files
    assert (mounted.path, mounted.key) == (f"/etc/loki/rules/fake/{RULES_KEY}", RULES_KEY)
    assert data["groups"][0]["rules"][0]["alert"] == "A"
    shipped = Bundle(production).loki_rule_files
    assert [mounted.path for mounted, _ in shipped] == ["/etc/loki/rules/fake/leanvibe.security.rules.yml"]


@pytest.mark.parametrize(("mount", "auth_enabled", "found"), [
    ("/etc/loki/rules/tenant-a", False, False),  # auth off: only `fake` is evaluated
    ("/etc/loki/rules/tenant-a", True, True),
    ("/etc/loki/rules", False, False),  # files straight in the directory are not in a tenant folder
    ("/loki/rules/fake", False, False),  # not where the ruler looks
])
def test_rule_files_elsewhere_are_not_loaded(production: list[Manifest], mount: str, auth_enabled: bool,
                                             found: bool) -> None:
    bundle = with_loki_rules(production, [{"alert": "A", "expr": "vector(1)"}], mount=mount,
                             auth_enabled=auth_enabled)
    assert bool(bundle.loki_rule_files) is found


def test_a_broken_rule_expression_is_a_parse_error(production: list[Manifest]) -> None:
    bundle = with_loki_rules(production, [
        {"alert": "Ok", "expr": 'sum by (namespace) (count_over_time({namespace="x"} | json [5m])) > 10'},
        {"alert": "Broken", "expr": 'sum(count_over_time({namespace="x"}\n  | json\n  | status >= [5m])) > 1'},
        {"record": "logs:lines", "expr": '{namespace="x"} |= "error"'},
    ])
    findings = logql.check(bundle)
    assert [(f.check, f.object, f.path) for f in findings] == [
        ("logql.parse", RULES_CM, f"{RULES_KEY}:groups[0].rules[1].expr"),
        ("logql.parse", RULES_CM, f"{RULES_KEY}:groups[0].rules[2].expr"),
    ]
    assert findings[0].message.startswith("alert Broken: the query is not valid LogQL: line 3, column 15: unexpected")
    assert "recording rule logs:lines: a rule's expression must be a metric query" in findings[1].message


def test_a_rule_selecting_a_label_no_stream_has_is_a_warning(production: list[Manifest]) -> None:
    bundle = with_loki_rules(production, [{"alert": "A", "expr": 'sum(count_over_time({tenant="x"}[5m])) > 0'}])
    [finding] = logql.check(bundle)
    assert (finding.check, finding.severity, finding.path) == (
        "logql.unknown-label", "warning", f"{RULES_KEY}:groups[0].rules[0].expr")


# ---- where LogQL lives: trace-to-logs links ------------------------------------------------------------------

def with_trace_link(manifests: list[Manifest], query: str, tags: list[dict[str, str]]) -> Bundle:
    def edit(data: Any) -> None:
        jaeger = next(d for d in data["datasources"] if d["type"] == "jaeger")
        jaeger["jsonData"]["tracesToLogsV2"] = {"datasourceUid": "loki", "customQuery": True, "query": query,
                                                "tags": tags}
    return edited(manifests, "datasources.yaml", edit)


def test_a_trace_to_logs_query_is_parsed_with_span_variables_standing_in(production: list[Manifest]) -> None:
    tags = [{"key": "service.name", "value": "service_name"}, {"key": "k8s.namespace.name", "value": "namespace"}]
    good = '{${__tags}} |= "${__trace.traceId}" | json | span_id="${__span.spanId}"'
    assert logql.check(with_trace_link(production, good, tags)) == []
    [finding] = logql.check(with_trace_link(production, '{${__tags}} |= ${__trace.traceId}', tags))
    assert (finding.check, finding.path) == (
        "logql.parse", "datasources.yaml:datasources[3].jsonData.tracesToLogsV2.query")
    assert finding.message.startswith("data source jaeger: trace-to-logs query: the query is not valid LogQL")


def test_derived_fields_hold_regexes_not_logql(production: list[Manifest]) -> None:
    def edit(data: Any) -> None:
        loki = next(d for d in data["datasources"] if d["type"] == "loki")
        loki["jsonData"] = {"derivedFields": [{"name": "trace", "matcherRegex": '"trace_id":"(\\w+)"',
                                               "datasourceUid": "jaeger", "url": "$${__value.raw}"}]}
    assert logql.check(edited(production, "datasources.yaml", edit)) == []
