"""`leanvibe-stack routes`: the routing tree, the alert → receivers table, and `routes test`, which must
answer exactly like `amtool config routes test` on the rendered alertmanager.yml."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.commands.routes import (
    MISMATCH,
    AlertRoute,
    LabelError,
    RoutingError,
    amtool_receivers,
    go_quote,
    matchers_text,
    parse_labels,
    routing_of,
    table_lines,
    tree_lines,
)
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.matchers import Matcher
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.routing import alert_labels, parse_route
from leanvibe_stack.validate.tools import without_url_files
from tests.conftest import invoke, require_tool

pytestmark = pytest.mark.usefixtures("repo_cwd")


def amtool_config(manifests: list[Manifest], directory: Path) -> Path:
    """The rendered alertmanager.yml as amtool can load it outside the pod (templates are not routing)."""
    config = Bundle(manifests).config("alertmanager")
    assert config is not None
    data = copy.deepcopy(config.data)
    data.pop("templates", None)
    without_url_files(data)  # amtool 0.25 predates webhook url_file, as in validate's own amtool run
    path = directory / "alertmanager.yml"
    path.write_text(yamlio.dump(data), encoding="utf-8")
    return path


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("amtool"), *args], capture_output=True, text=True, timeout=60, check=False)


def label_args(labels: dict[str, str]) -> list[str]:
    """One quoted `name="value"` argument per label: both amtool and `routes test` parse it."""
    return [str(Matcher.new(name, "=", value)) for name, value in labels.items()]


def seed_alerts(manifests: list[Manifest]) -> list[tuple[str, dict[str, str]]]:
    bundle = Bundle(manifests)
    prometheus = bundle.config("prometheus")
    assert prometheus is not None
    external = prometheus.data["global"]["external_labels"]
    return [(rule.name, alert_labels(rule.rule, external)) for rule in bundle.alert_rules]


# --- agreement with amtool ---------------------------------------------------------------------------


def test_routes_test_agrees_with_amtool_for_every_seed_alert(production: list[Manifest], tmp_path: Path) -> None:
    config = amtool_config(production, tmp_path)
    alerts = seed_alerts(production)
    # the guide's 18, 7 synthetic-monitoring, 3 tracing, 4 security (Loki), 29 self-monitoring and 6 Thanos alerts
    assert len(alerts) == 67
    for name, labels in alerts:
        ours = invoke("routes", "--profile", "production", "test", *label_args(labels))
        assert ours.exit_code == 0, ours.output
        theirs = amtool("config", "routes", "test", f"--config.file={config}", *label_args(labels))
        assert theirs.returncode == 0, theirs.stderr
        assert ours.stdout == theirs.stdout, f"{name}: {labels}"


@pytest.mark.parametrize("profile", ["staging", "development"])
def test_every_profile_routes_every_seed_alert_like_amtool(rendered: dict[str, list[Manifest]], profile: str,
                                                           tmp_path: Path) -> None:
    config = amtool_config(rendered[profile], tmp_path)
    tree = routing_of(rendered[profile]).tree
    for name, labels in seed_alerts(rendered[profile]):
        theirs = amtool("config", "routes", "test", f"--config.file={config}", *label_args(labels))
        assert theirs.returncode == 0, theirs.stderr
        assert ",".join(amtool_receivers(tree, labels)) + "\n" == theirs.stdout, f"{profile} {name}"


LABEL_SETS = [
    [],
    ["severity=critical"],
    ["severity=critical", "category=security"],
    ["service=redis", "severity=critical", "team=platform"],
    ["category=storage", "team=platform"],
    ['alertname="Some Alert"', 'service="neo4j"'],
    ["team=platform", "team=product"],  # a repeated name: the last value wins
    ["severity="],
]


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda labels: " ".join(labels) or "no-labels")
def test_routes_test_agrees_with_amtool_on_hand_picked_label_sets(production: list[Manifest], tmp_path: Path,
                                                                  labels: list[str]) -> None:
    theirs = amtool("config", "routes", "test", f"--config.file={amtool_config(production, tmp_path)}", *labels)
    ours = invoke("routes", "--profile", "production", "test", *labels)
    assert (ours.exit_code, ours.stdout) == (theirs.returncode, theirs.stdout)


TRICKY_CONFIG: dict[str, Any] = {
    "route": {
        "receiver": "root",
        "group_by": ["..."],
        "routes": [
            {"receiver": "pager", "matchers": ['severity=~"critical|page"'], "continue": True},
            {"receiver": "pager", "match": {"team": "db"}, "continue": True},  # the same receiver again
            {"matchers": ["team=~\"db|cache\"", 'env!="dev"'],  # no receiver: inherits "root"
             "routes": [{"receiver": "db-slack", "match_re": {"service": "neo4j|redis"}},
                        {"receiver": "db-mail", "matchers": ['service!~"neo4j.*"']}]},
            {"receiver": "quoted", "matchers": ['summary="disk \\"full\\", really"']},
            {"receiver": "never", "matchers": ["a=b", "a=c"]},
        ],
    },
    "receivers": [{"name": name} for name in ("root", "pager", "db-slack", "db-mail", "quoted", "never")],
}
TRICKY_LABELS = [
    {"severity": "critical", "team": "db", "service": "neo4j"},
    {"severity": "page", "team": "db", "service": "redis", "env": "dev"},
    {"team": "cache", "service": "memcached"},
    {"team": "cache", "service": "neo4j-2"},
    {"team": "db"},
    {"summary": 'disk "full", really'},
    {"a": "b"},
    {},
]


def test_routing_semantics_agree_with_amtool_on_a_tricky_config(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yamlio.dump(TRICKY_CONFIG), encoding="utf-8")
    tree = parse_route(TRICKY_CONFIG["route"])
    for labels in TRICKY_LABELS:
        theirs = amtool("config", "routes", "test", f"--config.file={path}", *label_args(labels))
        assert theirs.returncode == 0, theirs.stderr
        assert ",".join(amtool_receivers(tree, labels)) + "\n" == theirs.stdout, labels
    assert amtool_receivers(tree, TRICKY_LABELS[0]) == ["pager", "pager", "db-slack"]  # repeats kept, like amtool


def test_the_tree_draws_what_amtool_routes_show_draws(production: list[Manifest], tmp_path: Path) -> None:
    """Each line is amtool's line, then this route's own options (group_by, intervals)."""
    theirs = amtool("config", "routes", "show", f"--config.file={amtool_config(production, tmp_path)}")
    assert theirs.returncode == 0, theirs.stderr
    expected = theirs.stdout.replace("\xa0", " ").strip().splitlines()  # treeprint indents with NBSPs
    assert expected[0] == "Routing tree:"
    ours = tree_lines(routing_of(production).tree)
    assert len(ours) == len(expected) - 1
    for mine, amtools in zip(ours, expected[1:], strict=True):
        assert mine == amtools or mine.startswith(amtools + "  "), (mine, amtools)


def test_the_tree_of_a_tricky_config_draws_like_amtool(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yamlio.dump(TRICKY_CONFIG), encoding="utf-8")
    theirs = amtool("config", "routes", "show", f"--config.file={path}")
    assert theirs.returncode == 0, theirs.stderr
    ours = tree_lines(parse_route(TRICKY_CONFIG["route"]))
    drawn = theirs.stdout.replace("\xa0", " ").strip().splitlines()  # treeprint indents with NBSPs
    for mine, amtools in zip(ours, drawn[1:], strict=True):
        assert mine == amtools or mine.startswith(amtools + "  "), (mine, amtools)


# --- `routes`: the tree and the table -----------------------------------------------------------------


def test_routes_prints_the_tree_then_every_alert_with_its_receivers(production: list[Manifest]) -> None:
    result = invoke("routes", "--profile", "production")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Routing tree (ConfigMap leanvibe-monitoring/alertmanager-config, key alertmanager.yml):"
    assert lines[1] == "."
    assert lines[2] == ("└── default-route  receiver: default-receiver  group_by: [alertname, cluster, service]  "
                        "group_wait: 30s  group_interval: 5m  repeat_interval: 12h")
    assert lines[3] == ("    ├── {severity=\"critical\"}  continue: true  receiver: pagerduty-critical  "
                        "group_wait: 10s  repeat_interval: 1h")
    assert lines[9].startswith('    ├── {team="platform"}  receiver: platform-team')
    assert lines[10].startswith('    ├── {category="synthetic"}  receiver: platform-team')
    assert lines[11] == ("    └── {alertname=\"Watchdog\"}  receiver: heartbeat  group_wait: 0s  group_interval: 5m  "
                         "repeat_interval: 5m")
    header = lines.index("Alert rules (67) and the receivers they reach:")
    assert lines[header + 1].split() == ["ALERT", "SEVERITY", "RECEIVERS"]
    rows = {line.split()[0]: line for line in lines[header + 2:]}
    tree = routing_of(production).tree
    for name, labels in seed_alerts(production):
        columns = rows[name].split(None, 2)
        assert columns[1] == labels["severity"]
        assert columns[2] == ", ".join(amtool_receivers(tree, labels))
    assert rows["Neo4jDown"].split(None, 2)[2] == "pagerduty-critical, database-team"
    assert rows["LowTenantSignupRate"].split(None, 2)[2] == "business-team"
    # The dead man's switch reaches the heartbeat receiver only; the stack's own critical alerts page.
    assert rows["Watchdog"].split(None, 2)[1:] == ["none", "heartbeat"]
    assert rows["AlertmanagerConfigReloadFailed"].split(None, 2)[2] == "pagerduty-critical, platform-team"
    assert rows["NodeMemoryPressure"].split(None, 2)[2] == "platform-team"


def test_routes_shows_the_default_route_alone_for_development() -> None:
    result = invoke("routes", "--profile", "development")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].startswith("└── default-route  receiver: default-receiver")
    assert "├──" not in result.stdout


def test_routes_reads_the_profile_from_the_environment() -> None:
    result = invoke("routes", env={"LEANVIBE_PROFILE": "production"})
    assert result.exit_code == 0, result.output
    assert "pagerduty-critical" in result.stdout
    tested = invoke("routes", "test", "severity=critical", env={"LEANVIBE_PROFILE": "production"})
    assert (tested.exit_code, tested.stdout) == (0, "pagerduty-critical\n")


def test_routes_applies_set_overrides() -> None:
    result = invoke("routes", "--profile", "production", "--set", "alertmanager.route.receiver=business-team",
                    "test", "foo=bar")
    assert (result.exit_code, result.stdout) == (0, "business-team\n"), result.output


def test_routes_without_a_profile_is_a_usage_error() -> None:
    for args in (["routes"], ["routes", "test", "severity=critical"]):
        result = invoke(*args)
        assert result.exit_code == 2
        assert "--profile" in result.output


def test_an_unknown_profile_is_a_user_error() -> None:
    result = invoke("routes", "--profile", "no-such-profile")
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


# --- `routes test` --------------------------------------------------------------------------------------


def test_routes_test_prints_receivers_comma_separated() -> None:
    result = invoke("routes", "--profile", "production", "test", "severity=critical", "service=neo4j")
    assert (result.exit_code, result.stdout) == (0, "pagerduty-critical,database-team\n")


def test_routes_test_takes_the_profile_after_test_too() -> None:
    result = invoke("routes", "test", "--profile", "production", "category=business")
    assert (result.exit_code, result.stdout) == (0, "business-team\n")


@pytest.mark.parametrize(("argument", "message"), [
    ("severity", "Failed to parse labels: bad matcher format: severity"),
    ('severity=~"crit.*"', "labels must be specified as key=value pairs"),
    ("severity!=critical", "labels must be specified as key=value pairs"),
    ('severity="crit', "Failed to parse labels"),
    ("{team=x}", "Failed to parse labels: unexpected open or close brace"),
    ('a="x"y', "Failed to parse labels: matcher value contains unescaped double quote"),
])
def test_bad_label_syntax_exits_2(argument: str, message: str) -> None:
    result = invoke("routes", "--profile", "production", "test", "team=platform", argument)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.output


def test_verify_receivers_exits_1_on_a_mismatch_like_amtool() -> None:
    ok = invoke("routes", "-p", "production", "test", "--verify-receivers", "pagerduty-critical,platform-team",
                "severity=critical", "team=platform")
    assert (ok.exit_code, ok.stdout) == (0, "pagerduty-critical,platform-team\n")
    bad = invoke("routes", "-p", "production", "test", "--verify-receivers", "pagerduty-critical",
                 "severity=critical", "team=platform")
    assert (bad.exit_code, bad.stdout) == (1, f"pagerduty-critical,platform-team\n{MISMATCH}\n")


def test_verify_receivers_matches_amtool_exit_codes(production: list[Manifest], tmp_path: Path) -> None:
    config = amtool_config(production, tmp_path)
    for expected in ("pagerduty-critical", "pagerduty-critical,default-receiver"):
        theirs = amtool("config", "routes", "test", f"--config.file={config}", f"--verify.receivers={expected}",
                        "severity=critical")
        ours = invoke("routes", "-p", "production", "test", f"--verify-receivers={expected}", "severity=critical")
        assert (ours.exit_code, ours.stdout) == (theirs.returncode, theirs.stdout)


# --- the pieces -------------------------------------------------------------------------------------------


def test_parse_labels_reads_like_amtool() -> None:
    assert parse_labels(['a="x, y"', "b=1=2", "c=", " d = v ", "a=z"]) == {"a": "z", "b": "1=2", "c": "", "d": "v"}
    assert parse_labels(['msg="say \\"hi\\""']) == {"msg": 'say "hi"'}
    with pytest.raises(LabelError, match="key=value"):
        parse_labels(["a!~b"])


def test_go_quote_escapes_like_go() -> None:
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("line\nnext\ttab") == '"line\\nnext\\ttab"'
    assert go_quote("\x01é") == '"\\x01é"'


def test_matchers_are_sorted_like_alertmanager() -> None:
    matchers = (Matcher.new("team", "=", "db"), Matcher.new("env", "!=", "dev"), Matcher.new("env", "=~", "dev"),
                Matcher.new("a", "=", "z"))
    assert matchers_text(matchers) == '{a="z",env!="dev",env=~"dev",team="db"}'


def test_tree_lines_nest_like_treeprint() -> None:
    tree = parse_route({"receiver": "r", "routes": [
        {"receiver": "a", "matchers": ["x=1"], "routes": [{"receiver": "b", "matchers": ["y=2"], "group_wait": "1s"}]},
        {"matchers": ["z=3"], "continue": True, "group_by": ["alertname"]},
    ]})
    assert tree_lines(tree) == [
        ".",
        "└── default-route  receiver: r  group_wait: 30s  group_interval: 5m  repeat_interval: 4h",
        '    ├── {x="1"}  receiver: a',
        '    │   └── {y="2"}  receiver: b  group_wait: 1s',
        '    └── {z="3"}  continue: true  receiver: r  group_by: [alertname]',
    ]


def test_table_marks_templated_labels_and_missing_severity() -> None:
    lines = table_lines([AlertRoute("A", "critical", ("p", "q"), ()), AlertRoute("LongerName", "", ("r",), ("team",))])
    assert lines == [
        "ALERT       SEVERITY  RECEIVERS",
        "A           critical  p, q",
        "LongerName  -         r  (templated: team)",
    ]


def test_a_render_without_alertmanager_is_reported(production: list[Manifest]) -> None:
    without = [m for m in production if not (m.kind == "StatefulSet" and m.name == "alertmanager")]
    with pytest.raises(RoutingError, match="no Alertmanager config"):
        routing_of(without)
