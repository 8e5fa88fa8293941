"""`leanvibe-stack routes`: the Alertmanager routing tree, which receivers every alert rule reaches, and
`routes test label=value...`, which answers exactly like `amtool config routes test`.

Everything comes from the rendered objects (the alertmanager.yml the Alertmanager pod loads, the rule
files and external labels of the Prometheus pod), routed with Alertmanager 0.34's semantics
(`leanvibe_stack.validate.routing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from leanvibe_stack.commands.options import ProfileOption, ProfilesDirOption, SetOption, required_profile
from leanvibe_stack.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from leanvibe_stack.manifest import Manifest
    from leanvibe_stack.models.matchers import Matcher
    from leanvibe_stack.validate.bundle import Bundle
    from leanvibe_stack.validate.routing import RouteNode

# Alertmanager's defaults for what the root route does not set (config.DefaultRouteOpts).
ROOT_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
ROUTE_OPTIONS = ("group_by", "group_wait", "group_interval", "repeat_interval", "mute_time_intervals",
                 "active_time_intervals")
MISMATCH = "WARNING: Expected receivers did not match resolved receivers."


@dataclass(frozen=True)
class AlertRoute:
    """One alert rule and the receivers its alerts reach, in Alertmanager's order (a receiver may repeat)."""

    alert: str
    severity: str
    receivers: tuple[str, ...]
    templated: tuple[str, ...]  # labels whose value is a template, routed here by their literal text


@dataclass(frozen=True)
class Routing:
    """What `routes` needs from a render: the root route, the alert rules' routes, where the config is."""

    tree: RouteNode
    alerts: list[AlertRoute]
    source: str  # e.g. "ConfigMap leanvibe-monitoring/alertmanager-config, key alertmanager.yml"


class RoutingError(Exception):
    """The render has no usable Alertmanager config (reported as a user error, exit 2)."""


def routing_of(manifests: list[Manifest] | Bundle) -> Routing:
    """The routing tree of the rendered Alertmanager config and the routes of every alert rule."""
    from leanvibe_stack.models.matchers import MatcherError
    from leanvibe_stack.validate.bundle import Bundle, as_dict
    from leanvibe_stack.validate.routing import alert_labels, parse_route, route_alert

    bundle = manifests if isinstance(manifests, Bundle) else Bundle(manifests)
    config = bundle.config("alertmanager")
    if config is None:
        raise RoutingError("the render has no Alertmanager config (no pod loads an alertmanager.yml)")
    route = config.data.get("route")
    if not isinstance(route, dict):
        raise RoutingError("alertmanager.yml has no root `route`")
    try:
        tree = parse_route(route)
    except MatcherError as exc:
        raise RoutingError(f"alertmanager.yml: {exc} (`leanvibe-stack validate` explains it)") from exc
    prometheus = bundle.config("prometheus")
    external = as_dict(as_dict(prometheus.data.get("global")).get("external_labels")) if prometheus else {}
    alerts = []
    for rule in bundle.alert_rules:
        labels = alert_labels(rule.rule, external)
        templated = tuple(name for name, value in labels.items() if "{{" in value)
        receivers = tuple(path.receiver for path in route_alert(tree, labels))
        alerts.append(AlertRoute(rule.name, labels.get("severity", ""), receivers, templated))
    holder = config.holder
    where = f"{holder.kind} {holder.namespace}/{holder.name}, key {config.file.key}" if holder else config.file.path
    return Routing(tree, alerts, where)


# --------------------------------------------------------------------------------------------
# `routes`: the tree and the table
# --------------------------------------------------------------------------------------------


def go_quote(value: str) -> str:
    """Go's strconv.Quote, as Alertmanager prints matcher values (`%q`)."""
    out = ['"']
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}
    for char in value:
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out) + '"'


_MATCH_TYPE_ORDER = {"=": 0, "!=": 1, "=~": 2, "!~": 3}


def matchers_text(matchers: tuple[Matcher, ...], anchored: frozenset[int] = frozenset()) -> str:
    """`{a="1",b=~"x|y"}`: sorted as Alertmanager sorts a route's matchers (name, value, type).

    Matchers whose index is in `anchored` came from the deprecated `match_re`, which Alertmanager
    stores (and prints) anchored: `^(?:x|y)$`.
    """
    shown = [(m.name, m.op, f"^(?:{m.value})$" if i in anchored else m.value) for i, m in enumerate(matchers)]
    ordered = sorted(shown, key=lambda m: (m[0], m[2], _MATCH_TYPE_ORDER[m[1]]))
    return "{" + ",".join(f"{name}{op}{go_quote(value)}" for name, op, value in ordered) + "}"


def _legacy_regex_indexes(node: RouteNode) -> frozenset[int]:
    """Positions of `match_re` matchers in `node.matchers` (config_matchers: match, then match_re, then matchers)."""
    match, match_re = node.config.get("match"), node.config.get("match_re")
    start = len(match) if isinstance(match, dict) else 0
    return frozenset(range(start, start + (len(match_re) if isinstance(match_re, dict) else 0)))


def node_text(node: RouteNode, *, root: bool) -> str:
    """One line of the tree: amtool's `matchers  continue: true  receiver: X`, then the route's options.

    The root shows what Alertmanager uses (defaults filled in); a child shows only what it sets and
    inherits the rest from its parent.
    """
    parts = ["default-route" if root else matchers_text(node.matchers, _legacy_regex_indexes(node))]
    if node.continues:
        parts.append("continue: true")
    parts.append(f"receiver: {node.receiver}")
    options = {**ROOT_DEFAULTS, **node.config} if root else node.config
    for key in ROUTE_OPTIONS:
        value = options.get(key)
        if isinstance(value, list):
            parts.append(f"{key}: [{', '.join(map(str, value))}]")
        elif value is not None and value != "":
            parts.append(f"{key}: {value}")
    return "  ".join(parts)


def tree_lines(tree: RouteNode) -> list[str]:
    """The routing tree drawn like `amtool config routes show` (treeprint; plain spaces where it has NBSPs)."""
    lines = ["."]

    def walk(node: RouteNode, prefix: str, last: bool, root: bool) -> None:
        lines.append(f"{prefix}{'└── ' if last else '├── '}{node_text(node, root=root)}")
        below = prefix + ("    " if last else "│   ")
        for i, child in enumerate(node.routes):
            walk(child, below, i == len(node.routes) - 1, False)

    walk(tree, "", True, True)
    return lines


def table_lines(alerts: list[AlertRoute]) -> list[str]:
    """`alert  severity  receivers`, aligned; a templated label is marked, since its value decides at runtime."""
    rows = [("ALERT", "SEVERITY", "RECEIVERS")]
    for alert in alerts:
        receivers = ", ".join(alert.receivers)
        if alert.templated:
            receivers += f"  (templated: {', '.join(alert.templated)})"
        rows.append((alert.alert, alert.severity or "-", receivers))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip() for row in rows]


def show_text(routing: Routing) -> str:
    lines = [f"Routing tree ({routing.source}):", *tree_lines(routing.tree), ""]
    if routing.alerts:
        lines += [f"Alert rules ({len(routing.alerts)}) and the receivers they reach:", *table_lines(routing.alerts)]
    else:
        lines.append("No alert rules are loaded by Prometheus.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# `routes test`
# --------------------------------------------------------------------------------------------


class LabelError(ValueError):
    """A `label=value` argument amtool would reject."""


def parse_labels(arguments: list[str]) -> dict[str, str]:
    """Labels as amtool reads them: each argument one matcher (`name=value`, value optionally quoted) that
    must be an equality; a repeated name keeps the last value."""
    from leanvibe_stack.models.matchers import MatcherError, parse_matcher

    labels: dict[str, str] = {}
    for argument in arguments:
        try:
            matcher = parse_matcher(argument)
        except MatcherError as exc:
            raise LabelError(f"Failed to parse labels: {exc}") from exc
        if matcher.op != "=":
            raise LabelError(f"labels must be specified as key=value pairs, not {argument!r}")
        labels[matcher.name] = matcher.value
    return labels


def amtool_receivers(tree: RouteNode, labels: Mapping[str, str]) -> list[str]:
    """The receivers `amtool config routes test` prints for these labels, in order, repeats kept."""
    from leanvibe_stack.validate.routing import route_alert

    return [path.receiver for path in route_alert(tree, labels)]


# --------------------------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------------------------


def _load(profile: str | None, profiles_dir: Path | None, overrides: list[str] | None) -> Routing:
    from leanvibe_stack import api
    from leanvibe_stack.errors import LeanvibeError

    rendered = api.render_profile(required_profile(profile), profiles_dir, validate=False, overrides=overrides)
    try:
        return routing_of(rendered.manifests)
    except RoutingError as exc:
        raise LeanvibeError(f"{rendered.name}: {exc}") from exc


routes_app = typer.Typer(name="routes", no_args_is_help=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@routes_app.callback(invoke_without_command=True)
def routes(
    ctx: typer.Context,
    profile: ProfileOption = None,
    profiles_dir: ProfilesDirOption = None,
    overrides: SetOption = None,
) -> None:
    """Show the Alertmanager routing tree and, for every alert rule, the receivers its alerts reach.

    The tree is drawn like `amtool config routes show`, with each route's group_by and intervals
    (a child inherits what it does not set). An alert's labels are Prometheus' external_labels,
    the rule's labels and alertname. `routes test label=value...` routes one label set.
    """
    if ctx.invoked_subcommand is not None:
        return
    import sys

    sys.stdout.write(show_text(_load(profile, profiles_dir, overrides)))


@routes_app.command("test")
def test(
    ctx: typer.Context,
    labels: Annotated[
        list[str] | None,
        typer.Argument(help="Alert labels as name=value (value optionally quoted), e.g. severity=critical.",
                       show_default=False),
    ] = None,
    verify_receivers: Annotated[
        str | None,
        typer.Option("--verify-receivers", help="Expected receivers, comma-separated: exit 1 if they differ "
                     "(amtool's --verify.receivers)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile (default: the one given to `routes`).")
    ] = None,
    profiles_dir: ProfilesDirOption = None,
    overrides: SetOption = None,
) -> None:
    """Print the receivers an alert with these labels reaches, comma-separated, exactly like
    `amtool config routes test --config.file=<rendered alertmanager.yml> label=value...`.

    Exit codes: 0 routed, 1 --verify-receivers differs, 2 bad label syntax or profile.
    """
    parent = ctx.parent.params if ctx.parent is not None else {}
    try:
        parsed = parse_labels(labels or [])
    except LabelError as exc:
        raise UsageError(str(exc)) from exc
    routing = _load(profile or parent.get("profile"), profiles_dir or parent.get("profiles_dir"),
                    overrides or parent.get("overrides"))
    slug = ",".join(amtool_receivers(routing.tree, parsed))
    typer.echo(slug)
    if verify_receivers and verify_receivers != slug:  # amtool ignores an empty --verify.receivers
        typer.echo(MISMATCH)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `routes` (and `routes test`) to the CLI."""
    app.add_typer(routes_app, name="routes")
