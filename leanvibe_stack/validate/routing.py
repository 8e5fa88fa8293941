"""Alert routing (issue 3, §4): which receivers every alert rule reaches, as Alertmanager 0.34 decides.

The first half is a faithful, pure re-implementation of Alertmanager's routing, over the matchers of
`matchers.py`:

* `route_alert` is `dispatch.Route.Match`: a route matches when all its matchers match (a missing
  label is the empty string); children are tried in order and the first matching child ends the
  search unless it has `continue: true`; when no child matches, the route itself is the match.  A
  route without `receiver` inherits its parent's.

`check` then reports what the rendered stack gets wrong, with stable check ids (see `CHECKS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from leanvibe_stack.models.matchers import (
    Matcher,
    MatcherError,
    classic_only,
    config_matchers,
    go_string,
    matches_all,
)
from leanvibe_stack.validate.bundle import AlertRule, Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning

CHECKS: dict[str, str] = {
    "routing.unknown-receiver": "a route names a receiver that `receivers` does not define",
    "routing.unused-receiver": "a receiver no route names",
    "routing.duplicate-receiver": "two receivers share a name (Alertmanager rejects the config)",
    "routing.no-root-receiver": "the root route is missing or has no receiver",
    "routing.root-matchers": "the root route has matchers (Alertmanager rejects the config)",
    "routing.root-continue": "the root route has `continue: true` (Alertmanager rejects the config)",
    "routing.group-by": "a `group_by` with `...` beside labels, a label twice or an empty label (refused)",
    "routing.invalid-matcher": "a matcher Alertmanager cannot parse (syntax, label name or regex)",
    "routing.classic-matcher": "a matcher Alertmanager 0.34 reads only with its deprecated classic parser",
    "routing.default-only": "an alert no child route matches, so only the root's receiver gets it (root has children)",
    "routing.unreachable-route": "a child route no alert rule reaches",
    "inhibit.equal-label": "an inhibit rule's `equal` label missing from its source or target alerts",
    "inhibit.never-matches": "no alert rule matches an inhibit rule's source (or target) matchers",
    "rules.duplicate-alert": "the same alert name with the same labels twice in the loaded rule files",
    "rules.duration": "`for`/`keep_firing_for` or a route interval that is not a valid Prometheus duration",
}


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteNode:
    """A route of the tree with what Alertmanager resolves: its receiver (inherited) and matchers."""

    path: str  # config path, e.g. "route.routes[0]"
    receiver: str
    matchers: tuple[Matcher, ...]
    continues: bool
    routes: tuple[RouteNode, ...]
    config: Mapping[str, Any]
    error: str | None = None  # why its matchers are invalid; such a route never matches

    def walk(self) -> Iterator[RouteNode]:
        yield self
        for child in self.routes:
            yield from child.walk()


@dataclass(frozen=True)
class RoutePath:
    """A matching leaf route: the receiver the alert is sent to and the route's config path."""

    receiver: str
    path: str
    matchers: tuple[Matcher, ...]
    continues: bool
    trail: tuple[str, ...]  # config paths from the root down to this route


def parse_route(route: Mapping[str, Any], *, strict: bool = True, path: str = "route",
                parent_receiver: str = "") -> RouteNode:
    """The route tree; with strict=False a route with invalid matchers is kept, marked, and never matches."""
    receiver = route.get("receiver")
    receiver = str(receiver) if receiver else parent_receiver
    problem = None
    try:
        matchers = tuple(config_matchers(route))
    except MatcherError as exc:
        if strict:
            raise MatcherError(f"{path}: {exc}") from exc
        matchers, problem = (), str(exc)
    children = _list(route.get("routes"))
    return RouteNode(
        path=path,
        receiver=receiver,
        matchers=matchers,
        continues=route.get("continue") is True,
        routes=tuple(parse_route(child, strict=strict, path=f"{path}.routes[{i}]", parent_receiver=receiver)
                     for i, child in enumerate(children) if isinstance(child, Mapping)),
        config=route,
        error=problem,
    )


def route_alert(route: Mapping[str, Any] | RouteNode, labels: Mapping[str, str]) -> list[RoutePath]:
    """The routes an alert with these labels is dispatched to, in Alertmanager's order."""
    node = route if isinstance(route, RouteNode) else parse_route(route)
    return _match(node, labels, ())


def receivers_for(route: Mapping[str, Any] | RouteNode, labels: Mapping[str, str]) -> list[str]:
    """The receivers an alert reaches, each once, in routing order."""
    return list(dict.fromkeys(p.receiver for p in route_alert(route, labels)))


def _match(node: RouteNode, labels: Mapping[str, str], trail: tuple[str, ...]) -> list[RoutePath]:
    if node.error is not None or not matches_all(node.matchers, labels):
        return []
    trail = (*trail, node.path)
    found: list[RoutePath] = []
    for child in node.routes:
        matched = _match(child, labels, trail)
        found.extend(matched)
        if matched and not child.continues:
            break
    return found or [RoutePath(node.receiver, node.path, node.matchers, node.continues, trail)]


# --------------------------------------------------------------------------------------------
# Durations and alert labels
# --------------------------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")


def is_duration(value: Any) -> bool:
    """A Prometheus duration (model.ParseDuration): `1h30m`, `90s`, `0`; units in order, no spaces."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    text = str(value)
    return text == "0" or (text != "" and _DURATION_RE.match(text) is not None)


def alert_labels(rule: Mapping[str, Any], external_labels: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The static labels an alert of this rule carries at Alertmanager: external labels (which never
    override), the rule's labels, and alertname."""
    labels = {str(k): go_string(v) for k, v in _dict(external_labels).items()}
    labels.update({str(k): go_string(v) for k, v in _dict(rule.get("labels")).items()})
    labels["alertname"] = go_string(rule.get("alert", ""))
    return labels


_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', re.DOTALL)
_REDUCING_AGGREGATION_RE = re.compile(
    r"\b(?:sum|min|max|avg|group|stddev|stdvar|count|count_values|quantile)\s*(?:\(|by\b|without\b)")
_CLAUSE_RE = re.compile(r"\b(by|without|on|group_left|group_right)\s*\(([^()]*)\)")
_SELECTOR_RE = re.compile(r"\{([^{}]*)\}")
_SELECTOR_LABEL_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_NEW_LABEL_CALL_RE = re.compile(r"\b(label_replace|label_join|count_values)\s*\(")
_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def expr_labels(expr: str) -> set[str] | None:
    """Labels an expression's result may carry, approximated from its text; None: any label.

    Without a reducing aggregation (or with `without (...)`), every label of the selected series
    may survive.  Otherwise: `by (...)`, `on (...)`, `group_left/right (...)` labels, selector
    matcher labels, and labels created by label_replace/label_join/count_values.
    """
    strings: list[str] = []

    def stash(found: re.Match[str]) -> str:
        strings.append(found.group(0)[1:-1])
        return f'"{len(strings) - 1}"'

    skeleton = re.sub(r"#[^\n]*", "", _STRING_RE.sub(stash, expr))
    if not _REDUCING_AGGREGATION_RE.search(skeleton):
        return None
    labels: set[str] = set()
    for clause in _CLAUSE_RE.finditer(skeleton):
        if clause.group(1) == "without":
            return None
        labels.update(_NAME_RE.findall(clause.group(2)))
    for selector in _SELECTOR_RE.finditer(skeleton):
        labels.update(_SELECTOR_LABEL_RE.findall(selector.group(1)))
    for call in _NEW_LABEL_CALL_RE.finditer(skeleton):
        args = _call_args(skeleton, call.end())
        index = 0 if call.group(1) == "count_values" else 1
        if len(args) > index and (quoted := re.fullmatch(r'\s*"(\d+)"\s*', args[index])):
            labels.add(strings[int(quoted.group(1))])
    return labels


def _call_args(text: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of a call whose '(' ends just before `start`."""
    args, depth, begin = [], 0, start
    for i in range(start, len(text)):
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            if depth == 0:
                args.append(text[begin:i])
                return args
            depth -= 1
        elif text[i] == "," and depth == 0:
            args.append(text[begin:i])
            begin = i + 1
    return args


@dataclass(frozen=True)
class AlertShape:
    """What is known of an alert rule's labels: static values, and which others may be present."""

    rule: AlertRule
    labels: dict[str, str]  # static: external + rule labels + alertname (templated values excluded)
    templated: frozenset[str] = frozenset()  # rule labels whose values are only known at evaluation

    @cached_property
    def dynamic(self) -> set[str] | None:
        """Labels the expression may keep, and the templated ones; None: any label.  Read off the expression
        only when asked: routing reads the static labels alone, and most alerts never need this."""
        found = expr_labels(str(self.rule.rule.get("expr", "")))
        return None if found is None else found | self.templated

    def may_match(self, matchers: tuple[Matcher, ...] | list[Matcher]) -> bool:
        for m in matchers:
            if m.name in self.labels:
                if not m.matches(self.labels[m.name]):
                    return False
            elif self.dynamic is not None and m.name not in self.dynamic and not m.matches(""):
                return False
        return True

    def may_carry(self, label: str) -> bool:
        return label in self.labels or self.dynamic is None or label in self.dynamic


def alert_shape(rule: AlertRule, external_labels: Mapping[str, Any] | None) -> AlertShape:
    labels = alert_labels(rule.rule, external_labels)
    templated = frozenset(name for name, value in labels.items() if "{{" in value)
    for name in templated:
        del labels[name]
    return AlertShape(rule, labels, templated)


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    holder: ObjectRef | None
    key: str
    findings: list[Finding] = field(default_factory=list)

    def at(self, path: str) -> str:
        return f"{self.key}:{path}"

    def error(self, check: str, path: str, message: str) -> None:
        self.findings.append(error(check, self.holder, self.at(path), message))

    def warning(self, check: str, path: str, message: str) -> None:
        self.findings.append(warning(check, self.holder, self.at(path), message))


def check(bundle: Bundle) -> list[Finding]:
    """Every alert-routing finding for the bundle (see CHECKS)."""
    rules = bundle.alert_rules
    findings = _rule_checks(rules)
    am = bundle.config("alertmanager")
    if am is None:
        return findings
    prometheus = bundle.config("prometheus")
    external = _dict(_dict(prometheus.data.get("global")).get("external_labels")) if prometheus else {}
    ctx = _Context(am.holder, am.file.key)
    config: dict[str, Any] = am.data
    route = config.get("route")
    receivers = _receiver_checks(ctx, config)
    if not isinstance(route, Mapping):
        ctx.error("routing.no-root-receiver", "route",
                  "alertmanager.yml has no root route; add `route:` with a default `receiver`")
        return findings + ctx.findings
    tree = parse_route(route, strict=False)
    _route_checks(ctx, tree, receivers)
    _duration_checks(ctx, config, tree)
    shapes = [alert_shape(rule, external) for rule in rules]
    if shapes:  # with no alert rule loaded there is nothing to reason about
        ctx.findings.extend(_coverage_checks(ctx, tree, shapes))
    _inhibit_checks(ctx, config, shapes)
    return findings + ctx.findings


def _rule_checks(rules: list[AlertRule]) -> list[Finding]:
    findings = []
    # promtool's duplicate-rules lint (cmd/promtool checkDuplicates): the same name with the same labels.  The
    # same name with other labels (a warning and a critical variant) is two distinct series, as Prometheus means.
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], AlertRule] = {}
    for rule in rules:
        for key in ("for", "keep_firing_for"):
            value = rule.rule.get(key)
            if value is not None and not is_duration(value):
                findings.append(error("rules.duration", rule.holder, f"{rule.path}.{key}",
                                      f"{key}: {value!r} of alert {rule.name} is not a Prometheus duration; "
                                      "write it like 30s, 5m, 1h30m or 0"))
        labels = rule.rule.get("labels")
        pairs = tuple(sorted((str(k), str(v)) for k, v in labels.items())) if isinstance(labels, dict) else ()
        first = seen.setdefault((rule.name, pairs), rule)
        if first is not rule and rule.name:
            findings.append(error(
                "rules.duplicate-alert", rule.holder, rule.path,
                f"alert {rule.name} is defined twice with the same labels: at {_where(first)} and again at "
                f"{_where(rule)}; rename one of them, give them different labels, or delete the duplicate"))
    return findings


def _where(rule: AlertRule) -> str:
    return f"{rule.holder.name}:{rule.path}" if rule.holder else rule.path


def _receiver_checks(ctx: _Context, config: Mapping[str, Any]) -> dict[str, int]:
    """Receiver name → index under `receivers`, reporting duplicates."""
    defined: dict[str, int] = {}
    for i, receiver in enumerate(_list(config.get("receivers"))):
        name = str(receiver.get("name", "")) if isinstance(receiver, Mapping) else ""
        if name in defined:
            ctx.error("routing.duplicate-receiver", f"receivers[{i}].name",
                      f'receiver "{name}" is already defined at receivers[{defined[name]}]; '
                      "rename or merge one of them")
        else:
            defined[name] = i
    return defined


def _route_checks(ctx: _Context, tree: RouteNode, receivers: dict[str, int]) -> None:
    if not tree.receiver:
        ctx.error("routing.no-root-receiver", "route.receiver",
                  "the root route has no receiver, so alerts no child route matches go nowhere; "
                  f"set route.receiver to one of: {_names(receivers)}")
    if tree.matchers or tree.error is not None or any(tree.config.get(k) for k in ("match", "match_re")):
        ctx.error("routing.root-matchers", "route",
                  "the root route must match every alert; remove its matchers and put them on a child route")
    if tree.config.get("continue") is True:
        ctx.error("routing.root-continue", "route.continue",
                  "cannot have continue in root route: the root has no siblings to continue to; remove it")
    used: set[str] = set()
    for node in tree.walk():
        _group_by_checks(ctx, node)
        _classic_matcher_checks(ctx, node.config, f"{node.path}.matchers", "matchers")
        if node.error is not None:
            ctx.error("routing.invalid-matcher", node.path,
                      f"{node.error}; fix the matcher (name, operator, value in double quotes; Go RE2 regexes)")
        named = node.config.get("receiver")
        if not named:
            continue
        used.add(str(named))
        if str(named) not in receivers:
            ctx.error("routing.unknown-receiver", f"{node.path}.receiver",
                      f'receiver "{named}" is not defined; define receiver {named} under receivers or fix the '
                      f"name (defined: {_names(receivers)})")
    for name, index in receivers.items():
        if name not in used:
            ctx.warning("routing.unused-receiver", f"receivers[{index}]",
                        f'receiver "{name}" is named by no route, so it never notifies; '
                        "route alerts to it or remove it")


def _classic_matcher_checks(ctx: _Context, block: Mapping[str, Any], path: str, key: str) -> None:
    for j, line in enumerate(_list(block.get(key))):
        both = classic_only(go_string(line))
        if both is not None:
            ctx.warning("routing.classic-matcher", f"{path}[{j}]",
                        f"{go_string(line)!r} is read only by Alertmanager's deprecated classic matcher parser (it "
                        "logs a warning; utf8-strict-mode and later releases refuse it); write it as both "
                        f"parsers read it: {both}")


def _group_by_checks(ctx: _Context, node: RouteNode) -> None:
    """Route.UnmarshalYAML (0.34): `...` alone, labels non-empty (any UTF-8 name) and each once."""
    labels = [go_string(label) for label in _list(node.config.get("group_by"))]
    seen: set[str] = set()
    for j, label in enumerate(labels):
        where = f"{node.path}.group_by[{j}]"
        if label == "..." and len(labels) > 1:
            ctx.error("routing.group-by", where, "cannot have wildcard group_by (`...`) and other labels at the "
                      "same time; keep `...` alone (group by every label) or list the labels")
        elif label == "":
            ctx.error("routing.group-by", where, 'invalid label name "" in group_by list; remove it')
        elif label in seen:
            ctx.error("routing.group-by", where, f'duplicated label "{label}" in group_by; list it once')
        seen.add(label)


def _names(receivers: Mapping[str, int]) -> str:
    return ", ".join(receivers) or "none defined"


def _duration_checks(ctx: _Context, config: Mapping[str, Any], tree: RouteNode) -> None:
    timeout = _dict(config.get("global")).get("resolve_timeout")
    if timeout is not None and not is_duration(timeout):
        ctx.error("rules.duration", "global.resolve_timeout",
                  f"resolve_timeout: {timeout!r} is not a Prometheus duration; write it like 5m")
    for node in tree.walk():
        for key in ("group_wait", "group_interval", "repeat_interval"):
            value = node.config.get(key)
            if value is None:
                continue
            if not is_duration(value):
                ctx.error("rules.duration", f"{node.path}.{key}",
                          f"{key}: {value!r} is not a Prometheus duration; write it like 30s, 5m or 4h")
            elif key != "group_wait" and not re.search(r"[1-9]", str(value)):
                ctx.error("rules.duration", f"{node.path}.{key}",
                          f"{key} cannot be zero (Alertmanager rejects it); use a positive duration such as 5m")


def _coverage_checks(ctx: _Context, tree: RouteNode, shapes: list[AlertShape]) -> list[Finding]:
    """routing.default-only per alert, routing.unreachable-route per topmost route never visited."""
    findings = []
    routing = _Routing(tree, shapes)
    visited = {path for paths in routing.paths.values() for found in paths for path in found.trail}
    for shape, key in zip(shapes, routing.keys, strict=True):
        # A root without child routes sends everything to one receiver on purpose (development does).
        if tree.routes and [p.path for p in routing.paths[key]] == [tree.path]:
            own = _dict(shape.rule.rule.get("labels"))
            hint = next((f'{k}="{go_string(own[k])}"' for k in ("team", "category", "service", "severity")
                         if k in own), f'alertname="{shape.rule.name}"')
            findings.append(warning(
                "routing.default-only", shape.rule.holder, shape.rule.path,
                f'alert {shape.rule.name} reaches only the default receiver "{tree.receiver}": no route under '
                f"route.routes matches its labels {_labels(own)}; add a route matching {hint} with the receiver "
                "that should handle it, or change the alert's labels"))
    for parent in tree.walk():
        if parent.path not in visited:
            continue
        for i, node in enumerate(parent.routes):
            if node.path in visited or node.error is not None:
                continue
            ctx.warning("routing.unreachable-route", node.path, _unreachable(parent, i, shapes, routing))
    return findings


RoutingKey = tuple[tuple[bool, ...], ...]  # per label some matcher reads: each of its matchers' outcome


class _Routing:
    """Where every alert shape is routed, worked out once per routing key: which of the tree's matchers its
    labels satisfy (a missing label reads as empty, as in `matches_all`).  Routing depends on nothing else, so
    the 10,000 distinct alerts of a large profile take as many routings as there are distinct keys (a few
    dozen), and each matcher meets each distinct value of its label once."""

    def __init__(self, tree: RouteNode, shapes: list[AlertShape]) -> None:
        self.matchers: dict[str, list[Matcher]] = {}  # label name -> the tree's matchers on it
        for node in tree.walk():
            for matcher in node.matchers:
                self.matchers.setdefault(matcher.name, []).append(matcher)
        self.outcomes: dict[tuple[str, str], tuple[bool, ...]] = {}
        self.keys = [self.key(shape.labels) for shape in shapes]
        self.labels: dict[RoutingKey, dict[str, str]] = {}  # key -> labels of its first alert
        for key, shape in zip(self.keys, shapes, strict=True):
            self.labels.setdefault(key, shape.labels)
        self.paths = {key: _match(tree, labels, ()) for key, labels in self.labels.items()}

    def key(self, labels: Mapping[str, str]) -> RoutingKey:
        return tuple(self.outcome(name, labels.get(name, "")) for name in self.matchers)

    def outcome(self, name: str, value: str) -> tuple[bool, ...]:
        found = self.outcomes.get((name, value))
        if found is None:
            found = self.outcomes[(name, value)] = tuple(bool(m.matches(value)) for m in self.matchers[name])
        return found


def _unreachable(parent: RouteNode, index: int, shapes: list[AlertShape], routing: _Routing) -> str:
    node = parent.routes[index]
    described = f'route {node.path} (receiver "{node.receiver}", matchers {_matchers(node.matchers)})'
    blockers: dict[RoutingKey, RouteNode | None] = {}  # per routing key: the earlier sibling that catches it
    for key, labels in routing.labels.items():
        reached_parent = any(parent.path in found.trail for found in routing.paths[key])
        if reached_parent and matches_all(node.matchers, labels):
            blockers[key] = next((s for s in parent.routes[:index] if not s.continues and _match(s, labels, ())),
                                 None)
    shadowed: dict[str, list[str]] = {}
    for shape, key in zip(shapes, routing.keys, strict=True):
        blocker = blockers.get(key)
        if blocker is not None:
            shadowed.setdefault(blocker.path, []).append(shape.rule.name)
    if shadowed:
        where = "; ".join(f"{', '.join(names)} by {path}" for path, names in shadowed.items())
        return (f"{described} is reached by no alert rule: the alerts it matches are caught first ({where}), "
                "which has no `continue: true`; move this route above it or set continue: true there")
    return (f"{described} is reached by no alert rule: no alert carries labels matching "
            f"{_matchers(node.matchers)}; give the intended alerts these labels, fix the matchers, "
            "or remove the route")


def _inhibit_checks(ctx: _Context, config: Mapping[str, Any], shapes: list[AlertShape]) -> None:
    for i, rule in enumerate(_list(config.get("inhibit_rules"))):
        if not isinstance(rule, Mapping):
            continue
        sides: dict[str, list[AlertShape]] = {}
        for side in ("source", "target"):
            _classic_matcher_checks(ctx, rule, f"inhibit_rules[{i}].{side}_matchers", f"{side}_matchers")
            try:
                matchers = config_matchers(rule, f"{side}_")
            except MatcherError as exc:
                ctx.error("routing.invalid-matcher", f"inhibit_rules[{i}].{side}_matchers",
                          f"{exc}; fix the matcher (name, operator, value in double quotes; Go RE2 regexes)")
                break
            if not shapes:  # the syntax is checked; what the rule does needs alert rules to reason about
                continue
            sides[side] = [s for s in shapes if s.may_match(matchers)]
            if not sides[side]:
                ctx.warning("inhibit.never-matches", f"inhibit_rules[{i}].{side}_matchers",
                            f"no alert rule matches the {side} matchers {_matchers(matchers)}, so this inhibit "
                            f"rule never applies; fix the {side} matchers or remove the rule")
        if len(sides) < 2 or not all(sides.values()):
            continue
        for j, label in enumerate(_list(rule.get("equal"))):
            label = str(label)
            missing = [side for side, alerts in sides.items() if not any(a.may_carry(label) for a in alerts)]
            if not missing:
                continue
            if len(missing) == 2:
                why = (f'no source or target alert carries label "{label}", so it is equal (empty) on both and '
                       "restricts nothing")
            else:
                names = ", ".join(a.rule.name for a in sides[missing[0]])
                why = (f'label "{label}" is carried by none of the {missing[0]} alerts ({names}), so source and '
                       "target never agree on it and the rule never inhibits")
            ctx.error("inhibit.equal-label", f"inhibit_rules[{i}].equal[{j}]",
                      f"{why}; remove {label} from equal or add it to the alerts (a rule label or a `by` label)")


def _matchers(matchers: tuple[Matcher, ...] | list[Matcher]) -> str:
    return "{" + ", ".join(str(m) for m in matchers) + "}"


def _labels(labels: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f'{k}="{go_string(v)}"' for k, v in labels.items()) + "}"


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
