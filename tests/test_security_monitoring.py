"""Security monitoring from logs: Loki's ruler evaluates LogQL alert rules and sends them to Alertmanager."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.validate import logql
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.routing import alert_labels, parse_route, route_alert
from tests.conftest import PROFILES, RENDERED_PROFILES, find, invoke

SECURITY_RULES = "leanvibe.security.rules.yml"


def _loki_config(manifests: list[Manifest]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(find(manifests, "ConfigMap", "loki-config")["data"]["loki.yaml"])
    return data


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_the_rules_are_mounted_where_the_ruler_reads_its_tenant(
    rendered: dict[str, list[Manifest]], profile: str
) -> None:
    manifests = rendered[profile]
    directory = _loki_config(manifests)["ruler"]["storage"]["local"]["directory"]
    (container,) = find(manifests, "StatefulSet", "loki")["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["rules"]["mountPath"] == f"{directory}/fake"  # auth_enabled: false files all under "fake"
    assert mounts["rules"]["readOnly"] is True
    rules = yaml.safe_load(find(manifests, "ConfigMap", "loki-rules")["data"][SECURITY_RULES])
    assert [r["alert"] for r in rules["groups"][0]["rules"]] == [
        "SecurityEventBurst", "HighSeveritySecurityEvent", "AuthFailureBurstFromSource", "HighAuthErrorRatio"]
    assert [path for path, _ in Bundle(manifests).loki_rule_files] != []


def test_loki_alerts_carry_the_labels_prometheus_alerts_carry(production: list[Manifest]) -> None:
    prometheus = yaml.safe_load(find(production, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    # As they reach Alertmanager: Prometheus drops its `replica` label before sending.
    dropped = {r["regex"] for r in prometheus["alerting"]["alert_relabel_configs"] if r["action"] == "labeldrop"}
    sent = {k: v for k, v in prometheus["global"]["external_labels"].items() if k not in dropped}
    assert dropped == {"replica"}
    assert _loki_config(production)["ruler"]["external_labels"] == sent


def test_every_security_rule_reaches_the_security_team_with_a_runbook(production: list[Manifest]) -> None:
    bundle = Bundle(production)
    alertmanager = bundle.config("alertmanager")
    assert alertmanager is not None
    tree = parse_route(alertmanager.data["route"])
    loki_files = {mounted.path for mounted, _ in bundle.loki_rule_files}
    security = [rule for rule in bundle.alert_rules if rule.file.path in loki_files]
    assert len(security) == 4
    for rule in security:
        assert rule.rule["labels"]["category"] == "security"
        assert rule.rule["annotations"]["runbook_url"].startswith("https://runbooks.leanvibe.ai/")
        receivers = [path.receiver for path in route_alert(tree, alert_labels(rule.rule, {}))]
        assert "security-team" in receivers, rule.name
        assert ("pagerduty-critical" in receivers) == (rule.rule["labels"]["severity"] == "critical"), rule.name


def test_the_security_selectors_name_labels_the_log_agent_sets(production: list[Manifest]) -> None:
    assert logql.check(Bundle(production)) == []
    broken = copy.deepcopy(production)
    rules_map = next(m for m in broken if m.kind == "ConfigMap" and m.name == "loki-rules")
    rules_map.obj["data"][SECURITY_RULES] = rules_map.obj["data"][SECURITY_RULES].replace(
        'status_code="401"', 'status="401"')
    [finding] = logql.check(Bundle(broken))
    assert finding.check == "logql.unknown-label" and "label(s) status" in finding.message
    assert finding.path.startswith(f"{SECURITY_RULES}:groups[0].rules[2].expr")


def test_a_rule_change_reaches_the_ruler_without_restarting_loki(production: list[Manifest], tmp_path: Path) -> None:
    child = tmp_path / "stricter.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\n"
                     "loki:\n  rule_groups:\n    leanvibe.security.rules:\n      rules:\n"
                     "        SecurityEventBurst:\n          for: 2m\n")
    changed = render_stack(load_profile(str(child)).stack)
    assert find(changed, "ConfigMap", "loki-rules") != find(production, "ConfigMap", "loki-rules")
    annotations = [find(m, "StatefulSet", "loki")["spec"]["template"]["metadata"]["annotations"]
                   for m in (changed, production)]
    assert annotations[0] == annotations[1]


def test_the_routes_command_lists_the_loki_alerts() -> None:
    result = invoke("routes", "--profile", "production")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("HighSeveritySecurityEvent"))
    assert "pagerduty-critical" in line and "security-team" in line


def test_with_authentication_the_rules_go_to_the_agents_tenant(tmp_path: Path) -> None:
    child = tmp_path / "auth.yaml"
    child.write_text(f"extends: {PROFILES / 'production.yaml'}\nloki:\n  config:\n    auth_enabled: true\n")
    manifests = render_stack(load_profile(str(child)).stack)
    (container,) = find(manifests, "StatefulSet", "loki")["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["rules"] == "/etc/loki/rules/leanvibe-production"  # fluent_bit.tenant_id, derived
