"""Alert routing (validate §4): Alertmanager's matcher and routing semantics, and the routing checks."""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.matchers import Matcher, MatcherError, parse_matcher, parse_matchers
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding
from leanvibe_stack.validate.routing import (
    alert_labels,
    check,
    expr_labels,
    is_duration,
    parse_route,
    receivers_for,
    route_alert,
)
from leanvibe_stack.validate.tools import without_url_files
from tests.conftest import require_tool

AM_CONFIG = ("alertmanager-config", "alertmanager.yml")
RULES = ("prometheus-rules", "leanvibe.enterprise.rules.yml")
LOKI_RULES = ("loki-rules", "leanvibe.security.rules.yml")


# --------------------------------------------------------------------------------------------
# Matcher parsing: the cases of Alertmanager's pkg/labels/parse_test.go
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('{foo="bar"}', [("foo", "=", "bar")]),
    ('{foo=~"bar.*"}', [("foo", "=~", "bar.*")]),
    ('{foo!="bar"}', [("foo", "!=", "bar")]),
    ('{foo!~"bar.*"}', [("foo", "!~", "bar.*")]),
    ('{foo="bar", baz!~"quux.*"}', [("foo", "=", "bar"), ("baz", "!~", "quux.*")]),
    ('{foo="bar",baz!~".*quux", derp="wat"}', [("foo", "=", "bar"), ("baz", "!~", ".*quux"), ("derp", "=", "wat")]),
    ('{foo=""}', [("foo", "=", "")]),
    ("job=", [("job", "=", "")]),  # Alertmanager 0.25 accepts an empty unquoted value
    ('{foo="bar,quux", job="job1"}', [("foo", "=", "bar,quux"), ("job", "=", "job1")]),
    ('{foo = "bar", dings != "bums", }', [("foo", "=", "bar"), ("dings", "!=", "bums")]),
    ("foo=bar,dings!=bums", [("foo", "=", "bar"), ("dings", "!=", "bums")]),
    ('{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}',
     [("quote", "=", 'She said: "Hi, ladies! That\'s gender-neutral…"')]),
    ('statuscode=~"5.."', [("statuscode", "=~", "5..")]),
    ("tricky=~~~", [("tricky", "=~", "~~")]),
    ('trickier==\\\\=\\=\\"', [("trickier", "=", '=\\=\\="')]),
    ('contains_quote != "\\"" , contains_comma !~ "foo,bar" , ',
     [("contains_quote", "!=", '"'), ("contains_comma", "!~", "foo,bar")]),
    ('line="a\\nb"', [("line", "=", "a\nb")]),
    ("name:with:colons=x", [("name:with:colons", "=", "x")]),
    # Alertmanager 0.34 falls back to its UTF-8 parser where the classic one refuses: other label names.
    ('{invalid-name = "valid label"}', [("invalid-name", "=", "valid label")]),
    ('"service name"="a b", foo.bar=~"x|y",', [("service name", "=", "a b"), ("foo.bar", "=~", "x|y")]),
    ('{"\\u00e9t\\xc3\\xa9"="\\x41"}', [("été", "=", "A")]),
])
def test_parse_matchers(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(m.name, m.op, m.value) for m in parse_matchers(text)] == expected


@pytest.mark.parametrize(("text", "message"), [
    ('job="value', "unescaped double quote"),
    ('job=value"', "unescaped double quote"),
    ('trickier==\\\\=\\=\\""', "unescaped double quote"),
    ('contains_unescaped_quote = foo"bar', "unescaped double quote"),
    ('{foo=~"\\C"}', "invalid escape sequence"),  # C++ RE2 knows \C, Go does not
    ('foo=~"a{1001}"', "invalid repeat count"),
    ('{foo=~"invalid[regexp"}', "invalid regular expression"),
    ('"foo=\\"bar\\""', "bad matcher format"),
    ('"{foo=\\"bar\\"}"', "bad matcher format"),
    ('foo=~"(?=x)x"', "invalid regular expression"),  # RE2 has no lookahead
    ('foo=~"(a)\\1"', "invalid regular expression"),  # nor backreferences
    ("foo", "bad matcher format"),
])
def test_parse_matchers_rejects(text: str, message: str) -> None:
    with pytest.raises(MatcherError, match=re.escape(message)):
        parse_matchers(text)


def test_matcher_string_round_trips() -> None:
    matcher = parse_matcher('quote="say \\"hi\\"\\nnow"')
    assert str(matcher) == 'quote="say \\"hi\\"\\nnow"'
    assert parse_matcher(str(matcher)) == matcher


@pytest.mark.parametrize(("matcher", "value", "expected"), [
    ('service=~"neo4j|redis"', "redis", True),
    ('service=~"neo4j|redis"', "redis-cluster", False),  # anchored: the whole value must match
    ('service=~"neo4j|redis"', "my-neo4j", False),
    ('service=~".+"', "", False),
    ('service=~".*"', "", True),
    ('service!~"neo4j|redis"', "redis", False),
    ('service!~"neo4j|redis"', "redis-cluster", True),
    ('service!~"neo4j|redis"', "", True),
    ('service!="x"', "", True),  # a missing label is the empty string
    ('severity=~"(?i)crit.*"', "CRITICAL", True),
    ('severity=~"a(?i)b"', "aB", True),  # RE2 flag groups apply to the rest of the enclosing group
    ('severity=~"a(?i)b"', "AB", False),
    ('severity=~"(a(?i)b)c"', "aBc", True),
    ('severity=~"(a(?i)b)c"', "aBC", False),
    ('code=~"[[:digit:]]+"', "503", True),
    ('code=~"[[:digit:]]+"', "5x3", False),
    ('code=~"\\\\d{3}"', "503", True),
    ('code=~"\\\\d{3}"', "٥٠٣", False),  # RE2's \\d is ASCII only
    ('line=~"a.b"', "a\nb", False),
    ('line=~"(?s)a.b"', "a\nb", True),
    ('x=~"a$"', "a\n", False),
])
def test_matcher_semantics(matcher: str, value: str, expected: bool) -> None:
    assert parse_matcher(matcher).matches(value) is expected


def test_equality_matchers_are_exact() -> None:
    assert Matcher.new("a", "=", "x.*").matches("x.*")
    assert not Matcher.new("a", "=", "x.*").matches("xy")


# --------------------------------------------------------------------------------------------
# Routing on small trees
# --------------------------------------------------------------------------------------------

TREE: dict[str, Any] = yamlio.load("""
receiver: default
routes:
- receiver: pager
  matchers: ['severity="critical"']
  continue: true
- receiver: db
  matchers: ['service=~"neo4j|redis"']
  routes:
  - receiver: db-critical
    matchers: ['severity="critical"']
  - matchers: ['severity="warning"', 'team!="product"']
- matchers: ['team="platform"']
  continue: true
- receiver: platform
  match: {team: platform}
- receiver: legacy
  match_re: {service: 'api-.*'}
  match: {env: prod}
""")


def paths(labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(p.receiver, p.path) for p in route_alert(TREE, labels)]


def test_no_child_matches_gives_the_root() -> None:
    assert paths({"alertname": "X"}) == [("default", "route")]
    assert receivers_for(TREE, {}) == ["default"]


def test_continue_collects_later_siblings() -> None:
    assert paths({"severity": "critical", "service": "redis"}) == [
        ("pager", "route.routes[0]"), ("db-critical", "route.routes[1].routes[0]")]


def test_first_match_without_continue_stops() -> None:
    # route.routes[1] matches and has no continue: route.routes[2..4] are never tried.
    assert paths({"service": "neo4j", "team": "platform", "severity": "info"}) == [("db", "route.routes[1]")]


def test_continue_on_a_match_that_is_the_last_one_still_stops_the_parent_from_matching() -> None:
    assert paths({"severity": "critical"}) == [("pager", "route.routes[0]")]


def test_receiver_is_inherited() -> None:
    # route.routes[1].routes[1] has no receiver: it inherits "db"; route.routes[2] inherits "default".
    assert paths({"service": "redis", "severity": "warning"}) == [("db", "route.routes[1].routes[1]")]
    assert paths({"team": "platform"}) == [("default", "route.routes[2]"), ("platform", "route.routes[3]")]
    assert receivers_for(TREE, {"team": "platform", "severity": "critical"}) == ["pager", "default", "platform"]


def test_not_equal_on_a_missing_label_matches() -> None:
    assert paths({"service": "redis", "severity": "warning", "team": "product"}) == [("db", "route.routes[1]")]


def test_legacy_match_and_match_re() -> None:
    assert paths({"service": "api-gateway", "env": "prod"}) == [("legacy", "route.routes[4]")]
    assert paths({"service": "api-gateway", "env": "dev"}) == [("default", "route")]
    assert paths({"service": "my-api-gateway", "env": "prod"}) == [("default", "route")]  # anchored


def test_trail_and_receivers_are_deduplicated() -> None:
    tree = parse_route({"receiver": "a", "routes": [
        {"receiver": "b", "matchers": ["x=1"], "continue": True},
        {"receiver": "b", "matchers": ["x=~\"1|2\""], "continue": True},
        {"receiver": "c", "matchers": ["x=3"]}]})
    found = route_alert(tree, {"x": "1"})
    assert [p.receiver for p in found] == ["b", "b"]
    assert found[0].trail == ("route", "route.routes[0]")
    assert receivers_for(tree, {"x": "1"}) == ["b"]


def test_invalid_matchers_raise_when_strict() -> None:
    with pytest.raises(MatcherError, match=r"route\.routes\[0\]"):
        route_alert({"receiver": "a", "routes": [{"matchers": ['x=~"("']}]}, {})
    with pytest.raises(MatcherError, match="invalid label name"):
        route_alert({"receiver": "a", "routes": [{"match": {"bad-name": "x"}}]}, {})


_LABEL_VALUES = {"severity": ["critical", "warning", "info", ""], "service": ["neo4j", "redis", "api-x", "x"],
                 "team": ["platform", "product", ""], "env": ["prod", "dev"], "alertname": ["A", "B", "C"]}


def _shapes(label_sets: list[dict[str, str]]) -> list[Any]:
    from leanvibe_stack.validate.bundle import AlertRule, MountedFile
    from leanvibe_stack.validate.routing import alert_shape

    file = MountedFile("/rules.yml", None, "ConfigMap", "rules", "rules.yml")
    return [alert_shape(AlertRule(file, f"rules[{i}]", {"alert": labels.pop("alertname", f"A{i}"), "expr": "up",
                                                         "labels": labels}), None)
            for i, labels in enumerate(label_sets)]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={name: st.sampled_from(values)
                                                    for name, values in _LABEL_VALUES.items()}), max_size=12))
def test_routing_once_per_routing_key_routes_every_alert_as_routing_it_alone(label_sets: list[dict[str, str]]) -> None:
    from leanvibe_stack.validate.routing import _match, _Routing

    tree = parse_route(TREE)
    shapes = _shapes(label_sets)
    routing = _Routing(tree, shapes)
    for shape, key in zip(shapes, routing.keys, strict=True):
        assert routing.paths[key] == _match(tree, shape.labels, ())


def test_alerts_that_differ_only_in_labels_no_route_reads_are_routed_once() -> None:
    from leanvibe_stack.validate.routing import _Routing

    label_sets = [{"alertname": f"Alert{i}", "severity": ("critical", "warning")[i % 2], "instance": f"i{i}"}
                  for i in range(1000)]
    routing = _Routing(parse_route(TREE), _shapes(label_sets))
    assert len(routing.paths) == 2


@pytest.mark.parametrize(("value", "valid"), [
    ("5m", True), ("1h30m", True), ("90s", True), ("0", True), (0, True), ("1y2w3d4h5m6s7ms", True),
    ("", False), ("5", False), (5, False), ("5 m", False), ("m", False), ("1m1h", False), ("1.5h", False),
    ("-5m", False), (True, False), (None, False),
])
def test_durations(value: Any, valid: bool) -> None:
    assert is_duration(value) is valid


@pytest.mark.parametrize(("expr", "expected"), [
    ("up == 0", None),
    ("sum(rate(x[5m])) > 1", set()),
    ('sum by (instance) (rate(x{job="a"}[5m]))', {"instance", "job"}),
    ("sum(rate(x[5m])) by (pod, le)", {"pod", "le"}),
    ("sum without (pod) (x)", None),
    ("topk(3, x)", None),  # topk keeps every label
    ('label_replace(sum by (a) (x), "dst", "$1", "a", "(.*)")', {"a", "dst"}),
    ('count_values("version", build_info)', {"version"}),
    ('sum by (a) (x) / on (a) group_left (b) y{c="1,2"}', {"a", "b", "c"}),
])
def test_expr_labels(expr: str, expected: set[str] | None) -> None:
    assert expr_labels(expr) == expected


def test_alert_labels_order_of_precedence() -> None:
    labels = alert_labels({"alert": "A", "labels": {"cluster": "mine", "team": "x", "alertname": "B"}},
                          {"cluster": "external", "region": "r"})
    assert labels == {"cluster": "mine", "region": "r", "team": "x", "alertname": "A"}


# --------------------------------------------------------------------------------------------
# The production render and broken copies of it
# --------------------------------------------------------------------------------------------

def edit(manifests: list[Manifest], target: tuple[str, str], change: Callable[[Any], None]) -> Bundle:
    """A bundle of deep copies with one ConfigMap key parsed, changed and written back."""
    copies = copy.deepcopy(manifests)
    name, key = target
    [holder] = [m for m in copies if m.kind == "ConfigMap" and m.name == name]
    data = yamlio.load(holder.obj["data"][key])
    change(data)
    holder.obj["data"][key] = yamlio.dump(data)
    return Bundle(copies)


def summary(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return sorted((f.check, f.severity, f.path) for f in findings)


def rules_of(data: Any) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = data["groups"][0]["rules"]
    return rules


def test_production_routing(production: list[Manifest]) -> None:
    assert check(Bundle(production)) == []


def test_only_the_loki_rules_reach_the_security_route(production: list[Manifest]) -> None:
    def no_loki_rules(data: Any) -> None:
        data["groups"] = []

    findings = check(edit(production, LOKI_RULES, no_loki_rules))
    assert summary(findings) == [("routing.unreachable-route", "warning", "alertmanager.yml:route.routes[3]")]
    [unreachable] = findings
    assert str(unreachable.object) == "ConfigMap/leanvibe-monitoring/alertmanager-config"
    assert 'category="security"' in unreachable.message and "security-team" in unreachable.message


def test_production_receivers(production: list[Manifest]) -> None:
    bundle = Bundle(production)
    am, prometheus = bundle.config("alertmanager"), bundle.config("prometheus")
    assert am is not None and prometheus is not None
    external = prometheus.data["global"]["external_labels"]
    reached = {r.name: receivers_for(am.data["route"], alert_labels(r.rule, external)) for r in bundle.alert_rules}
    assert reached["Neo4jDown"] == ["pagerduty-critical", "database-team"]
    assert reached["RevenueDropAlert"] == ["pagerduty-critical", "business-team"]
    assert reached["PersistentVolumeSpaceUsage"] == ["platform-team"]
    assert reached["LeanVibeHighResponseTime"] == ["platform-team"]
    assert all("default-receiver" not in receivers for receivers in reached.values())


def only(findings: list[Finding], check_id: str) -> list[Finding]:
    return [f for f in findings if f.check == check_id]


def test_unknown_receiver(production: list[Manifest]) -> None:
    def rename(data: Any) -> None:
        data["route"]["routes"][1]["receiver"] = "business-teem"

    findings = check(edit(production, AM_CONFIG, rename))
    [unknown] = only(findings, "routing.unknown-receiver")
    assert unknown.severity == "error" and unknown.path == "alertmanager.yml:route.routes[1].receiver"
    assert "define receiver business-teem under receivers or fix the name" in unknown.message
    assert [f.path for f in only(findings, "routing.unused-receiver")] == ["alertmanager.yml:receivers[2]"]


def test_unused_receiver(production: list[Manifest]) -> None:
    def add(data: Any) -> None:
        data["receivers"].append({"name": "orphan"})

    [unused] = only(check(edit(production, AM_CONFIG, add)), "routing.unused-receiver")
    assert unused.severity == "warning" and '"orphan"' in unused.message


def test_duplicate_receiver(production: list[Manifest]) -> None:
    def add(data: Any) -> None:
        data["receivers"].append({"name": "platform-team"})

    # Appended after the seven receivers of base.yaml (the last is `heartbeat`).
    [duplicate] = only(check(edit(production, AM_CONFIG, add)), "routing.duplicate-receiver")
    assert duplicate.severity == "error" and duplicate.path == "alertmanager.yml:receivers[7].name"


def test_no_root_receiver(production: list[Manifest]) -> None:
    def drop(data: Any) -> None:
        del data["route"]["receiver"]

    [missing] = only(check(edit(production, AM_CONFIG, drop)), "routing.no-root-receiver")
    assert missing.severity == "error" and missing.path == "alertmanager.yml:route.receiver"

    def no_route(data: Any) -> None:
        del data["route"]

    assert summary(only(check(edit(production, AM_CONFIG, no_route)), "routing.no-root-receiver")) == [
        ("routing.no-root-receiver", "error", "alertmanager.yml:route")]


def test_root_matchers(production: list[Manifest]) -> None:
    def add(data: Any) -> None:
        data["route"]["matchers"] = ['cluster="leanvibe-production"']

    assert summary(only(check(edit(production, AM_CONFIG, add)), "routing.root-matchers")) == [
        ("routing.root-matchers", "error", "alertmanager.yml:route")]


def test_invalid_matcher(production: list[Manifest]) -> None:
    def break_it(data: Any) -> None:
        data["route"]["routes"][4]["matchers"] = ['service=~"neo4j(']
        data["inhibit_rules"][0]["target_matchers"] = ["severity warning"]

    findings = check(edit(production, AM_CONFIG, break_it))
    assert summary(only(findings, "routing.invalid-matcher")) == [
        ("routing.invalid-matcher", "error", "alertmanager.yml:inhibit_rules[0].target_matchers"),
        ("routing.invalid-matcher", "error", "alertmanager.yml:route.routes[4]"),
    ]
    # The broken route never matches, so the neo4j alerts fall through to team="platform".
    assert not only(findings, "routing.unreachable-route")[1:]


def test_default_only(production: list[Manifest]) -> None:
    def uncategorise(data: Any) -> None:
        del rules_of(data)[10]["labels"]["category"]  # LowTenantSignupRate: team=product, no route

    [default] = only(check(edit(production, RULES, uncategorise)), "routing.default-only")
    assert default.severity == "warning"
    assert str(default.object) == "ConfigMap/leanvibe-monitoring/prometheus-rules"
    assert default.path == "leanvibe.enterprise.rules.yml:groups[0].rules[10]"
    assert 'add a route matching team="product"' in default.message and "default-receiver" in default.message


def test_a_root_without_child_routes_is_not_default_only(production: list[Manifest]) -> None:
    def flatten(data: Any) -> None:
        del data["route"]["routes"]
        data["receivers"] = [r for r in data["receivers"] if r["name"] == "default-receiver"]

    assert check(edit(production, AM_CONFIG, flatten)) == []


def test_unreachable_route_shadowed(production: list[Manifest]) -> None:
    def shadow(data: Any) -> None:
        data["route"]["routes"].insert(1, {"receiver": "platform-team", "matchers": ['severity=~"critical|warning"']})

    findings = only(check(edit(production, AM_CONFIG, shadow)), "routing.unreachable-route")
    assert [f.path for f in findings] == [f"alertmanager.yml:route.routes[{i}]" for i in range(2, 9)]
    business = findings[0]
    assert "caught first" in business.message and "route.routes[1]" in business.message
    assert "LowTenantSignupRate" in business.message and "continue: true" in business.message
    assert "HighAuthErrorRatio" in findings[2].message  # the security route: Loki's rules are caught too


def test_inhibit_equal_label(production: list[Manifest]) -> None:
    def narrow(data: Any) -> None:
        data["inhibit_rules"].append({
            "source_matchers": ['alertname="LeanVibeHighErrorRate"'],
            "target_matchers": ['alertname="LeanVibeHighMemoryUsage"'],
            "equal": ["service", "pod", "tenant"],
        })

    findings = only(check(edit(production, AM_CONFIG, narrow)), "inhibit.equal-label")
    assert summary(findings) == [
        ("inhibit.equal-label", "error", "alertmanager.yml:inhibit_rules[1].equal[1]"),
        ("inhibit.equal-label", "error", "alertmanager.yml:inhibit_rules[1].equal[2]"),
    ]
    pod, tenant = findings
    assert "none of the source alerts (LeanVibeHighErrorRate)" in pod.message
    assert "no source or target alert" in tenant.message


def test_inhibit_never_matches(production: list[Manifest]) -> None:
    def misspell(data: Any) -> None:
        data["inhibit_rules"][0]["source_matchers"] = ['severity="crtical"']

    findings = check(edit(production, AM_CONFIG, misspell))
    assert summary(only(findings, "inhibit.never-matches")) == [
        ("inhibit.never-matches", "warning", "alertmanager.yml:inhibit_rules[0].source_matchers")]
    assert not only(findings, "inhibit.equal-label")


def test_duplicate_alert(production: list[Manifest]) -> None:
    def duplicate(data: Any) -> None:
        rules_of(data).append(copy.deepcopy(rules_of(data)[4]))

    [dup] = only(check(edit(production, RULES, duplicate)), "rules.duplicate-alert")
    assert dup.severity == "error" and dup.path == "leanvibe.enterprise.rules.yml:groups[0].rules[18]"
    assert "Neo4jDown" in dup.message and "groups[0].rules[4]" in dup.message


def test_durations_in_rules_and_routes(production: list[Manifest]) -> None:
    def rules(data: Any) -> None:
        rules_of(data)[0]["for"] = "2 minutes"
        rules_of(data)[1]["keep_firing_for"] = "5"

    def routes(data: Any) -> None:
        data["route"]["group_wait"] = "30"
        data["route"]["routes"][2]["repeat_interval"] = "1.5h"
        data["route"]["routes"][3]["group_interval"] = "0s"

    assert summary(check(edit(production, RULES, rules))) == [
        ("rules.duration", "error", "leanvibe.enterprise.rules.yml:groups[0].rules[0].for"),
        ("rules.duration", "error", "leanvibe.enterprise.rules.yml:groups[0].rules[1].keep_firing_for"),
    ]
    assert summary(only(check(edit(production, AM_CONFIG, routes)), "rules.duration")) == [
        ("rules.duration", "error", "alertmanager.yml:route.group_wait"),
        ("rules.duration", "error", "alertmanager.yml:route.routes[2].repeat_interval"),
        ("rules.duration", "error", "alertmanager.yml:route.routes[3].group_interval"),
    ]


# --------------------------------------------------------------------------------------------
# Agreement with amtool
# --------------------------------------------------------------------------------------------

def amtool_receivers(amtool: str, config: Path, labels: dict[str, str]) -> list[str]:
    args = [f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in labels.items()]
    result = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", *args],
                            capture_output=True, text=True, check=True, timeout=30)
    return result.stdout.strip().split(",")


def test_amtool_agrees_on_production(production: list[Manifest], tmp_path: Path) -> None:
    amtool = require_tool("amtool")
    bundle = Bundle(production)
    am, prometheus = bundle.config("alertmanager"), bundle.config("prometheus")
    assert am is not None and prometheus is not None
    data = copy.deepcopy(am.data)
    data.pop("templates", None)
    without_url_files(data)  # amtool 0.25 predates webhook url_file, as in validate's own run
    config = tmp_path / "alertmanager.yml"
    config.write_text(yamlio.dump(data))
    external = prometheus.data["global"]["external_labels"]
    rules = bundle.alert_rules
    assert rules
    for rule in rules:
        labels = alert_labels(rule.rule, external)
        ours = [p.receiver for p in route_alert(data["route"], labels)]
        assert amtool_receivers(amtool, config, labels) == ours, rule.name


@pytest.mark.parametrize("labels", [
    {}, {"severity": "critical", "service": "redis"}, {"service": "neo4j", "team": "platform", "severity": "info"},
    {"severity": "critical"}, {"service": "redis", "severity": "warning"}, {"team": "platform"},
    {"team": "platform", "severity": "critical"}, {"service": "redis", "severity": "warning", "team": "product"},
    {"service": "api-gateway", "env": "prod"}, {"service": "my-api-gateway", "env": "prod"},
])
def test_amtool_agrees_on_a_handcrafted_tree(labels: dict[str, str], tmp_path: Path) -> None:
    amtool = require_tool("amtool")
    names = sorted({str(node.receiver) for node in parse_route(TREE).walk()})
    config = tmp_path / "alertmanager.yml"
    config.write_text(yamlio.dump({"route": TREE, "receivers": [{"name": n} for n in names]}))
    assert amtool_receivers(amtool, config, labels) == [p.receiver for p in route_alert(TREE, labels)]
