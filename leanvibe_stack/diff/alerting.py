"""Alerting rules added, removed or changed between two sets of objects, and alerts whose receivers change.

Both sides' rule files and Alertmanager configs are found the way the pods load them (through `Bundle`);
each alert's static labels are routed through each side's route tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle, as_dict
from leanvibe_stack.validate.routing import RouteNode, alert_labels, parse_route, receivers_for

RULE_FIELDS = ("expr", "for", "keep_firing_for", "labels", "annotations")


@dataclass(frozen=True)
class RuleChange:
    """An alerting rule added, removed or changed; for changed ones, which fields."""

    alert: str
    change: str  # "added" | "removed" | "changed"
    fields: tuple[str, ...] = ()
    receivers: tuple[str, ...] | None = None  # added: where it goes; removed: where it went; None: unknown


@dataclass(frozen=True)
class Reroute:
    """An alert on both sides that reaches different receivers (rule labels or routes changed)."""

    alert: str
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class Alerting:
    rules: tuple[RuleChange, ...] = ()
    reroutes: tuple[Reroute, ...] = ()

    def count(self, change: str) -> int:
        return sum(1 for rule in self.rules if rule.change == change)




@dataclass(frozen=True)
class _AlertView:
    """One side's alerting rules (by alert name; `Name #2` for a repeated name) and route tree."""

    rules: dict[str, dict[str, Any]]
    route: RouteNode | None
    external_labels: dict[str, Any]

    def receivers(self, alert: str) -> tuple[str, ...] | None:
        if self.route is None:
            return None
        return tuple(receivers_for(self.route, alert_labels(self.rules[alert], self.external_labels)))


def _alert_view(manifests: list[Manifest]) -> _AlertView:
    bundle = Bundle(manifests)
    rules: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for rule in bundle.alert_rules:
        seen[rule.name] = seen.get(rule.name, 0) + 1
        rules[rule.name if seen[rule.name] == 1 else f"{rule.name} #{seen[rule.name]}"] = rule.rule
    alertmanager, prometheus = bundle.config("alertmanager"), bundle.config("prometheus")
    route = alertmanager.data.get("route") if alertmanager else None
    external = as_dict(as_dict(prometheus.data.get("global")).get("external_labels")) if prometheus else {}
    return _AlertView(rules, parse_route(route, strict=False) if isinstance(route, dict) else None, external)


def alerting(old: list[Manifest], new: list[Manifest]) -> Alerting:
    """Rules added, removed or changed, and alerts whose receivers change, between two sets of objects."""
    before, after = _alert_view(old), _alert_view(new)
    rules: list[RuleChange] = []
    reroutes: list[Reroute] = []
    for alert in sorted(before.rules.keys() | after.rules.keys()):
        if alert not in before.rules:
            rules.append(RuleChange(alert, "added", receivers=after.receivers(alert)))
        elif alert not in after.rules:
            rules.append(RuleChange(alert, "removed", receivers=before.receivers(alert)))
        else:
            fields = _changed_fields(before.rules[alert], after.rules[alert])
            if fields:
                rules.append(RuleChange(alert, "changed", fields))
            old_receivers, new_receivers = before.receivers(alert), after.receivers(alert)
            if old_receivers is not None and new_receivers is not None and old_receivers != new_receivers:
                reroutes.append(Reroute(alert, old_receivers, new_receivers))
    return Alerting(tuple(rules), tuple(reroutes))


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    fields = [f for f in (old.keys() | new.keys()) - {"alert"} if old.get(f) != new.get(f)]
    return tuple(sorted(fields, key=lambda f: (RULE_FIELDS.index(f) if f in RULE_FIELDS else len(RULE_FIELDS), f)))
