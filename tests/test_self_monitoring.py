"""The stack's alerts about itself: every one documented, tested both ways, and routed to someone."""

from __future__ import annotations

from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.routing import receivers_for
from tests.conftest import PROFILES

GROUPS = ("leanvibe.stack.rules", "leanvibe.node.rules", "leanvibe.kubernetes.rules")


def rule_tests_of(group_name: str) -> str:
    """Every rule-test file whose `rule_files` name the group's file (a group's slow cases live apart), joined."""
    texts = [path.read_text(encoding="utf-8") for path in sorted((PROFILES / "rule-tests").glob("*_test.yml"))]
    return "\n".join(text for text in texts if f"{group_name}.yml" in yamlio.load(text).get("rule_files", []))


def rules_of(manifests: list[Manifest], group_name: str) -> list[dict[str, Any]]:
    return [rule for _, data in Bundle(manifests).rule_files for group in data["groups"]
            if group["name"] == group_name for rule in group["rules"]]


def route_of(manifests: list[Manifest]) -> Any:
    [config] = [m for m in manifests if m.obj["kind"] == "ConfigMap"
                and m.obj["metadata"]["name"] == "alertmanager-config"]
    return yamlio.load(config.obj["data"]["alertmanager.yml"])["route"]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_alert_has_a_runbook_and_fires_and_stays_silent_in_its_rule_test(
        production: list[Manifest], group: str) -> None:
    rules = rules_of(production, group)
    tests = rule_tests_of(group)
    assert rules and tests
    for rule in rules:
        name = rule["alert"]
        assert rule["annotations"]["runbook_url"].startswith("https://runbooks.leanvibe.ai/"), name
        assert {"summary", "description"} <= rule["annotations"].keys(), name
        assert f"alertname: {name}\n" in tests, f"{name}: no case where it fires"
        if name != "Watchdog":  # always firing: it has no silent case
            assert f"alertname: {name}, exp_alerts: []" in tests, f"{name}: no case where it is silent"
            assert rule["labels"]["severity"] in ("warning", "critical"), name


def test_the_watchdog_reaches_only_the_heartbeat_receiver(production: list[Manifest]) -> None:
    [watchdog] = [r for r in rules_of(production, "leanvibe.stack.rules") if r["alert"] == "Watchdog"]
    labels = {"alertname": "Watchdog", "cluster": "leanvibe-production", **watchdog["labels"]}
    assert "for" not in watchdog and watchdog["expr"] == "vector(1)"
    assert receivers_for(route_of(production), labels) == ["heartbeat"]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_the_stack_alerts_reach_the_platform_team_and_critical_ones_page(
        production: list[Manifest], group: str) -> None:
    route = route_of(production)
    for rule in rules_of(production, group):
        if rule["alert"] == "Watchdog":
            continue
        labels = {"alertname": rule["alert"], "cluster": "leanvibe-production", **rule["labels"]}
        expected = ["pagerduty-critical", "platform-team"] if labels["severity"] == "critical" else ["platform-team"]
        assert receivers_for(route, labels) == expected, rule["alert"]


def test_the_heartbeat_url_is_read_from_its_secret_and_amtool_025_gets_a_stand_in(
    production: list[Manifest],
) -> None:
    from leanvibe_stack.validate import tools

    config = Bundle(production).config("alertmanager")
    assert config is not None
    [heartbeat] = [r for r in config.data["receivers"] if r["name"] == "heartbeat"]
    assert heartbeat["webhook_configs"] == [
        {"url_file": "/etc/alertmanager/secrets/alertmanager-notifiers/heartbeat-url", "send_resolved": False}]
    mounts = {m["mountPath"] for m in config.container["volumeMounts"]}
    assert "/etc/alertmanager/secrets/alertmanager-notifiers" in mounts

    amtool_copy: dict[str, Any] = {"receivers": [{"name": "heartbeat", "webhook_configs": [
        {"url_file": "/etc/alertmanager/secrets/alertmanager-notifiers/heartbeat-url", "send_resolved": False}]}]}
    tools.without_url_files(amtool_copy)
    assert amtool_copy["receivers"][0]["webhook_configs"] == [{"send_resolved": False, "url": tools.AMTOOL_025_URL}]
