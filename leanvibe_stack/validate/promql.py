"""PromQL and metrics: every rule and dashboard expression parses, and names metrics the stack exports.

Expressions come from the rule files Prometheus actually loads (alerting and recording rules) and from the
dashboard ConfigMaps Grafana provisions (panel targets, nested row panels, annotation queries, template
variable queries).  Grafana's template variables are replaced by PromQL-valid stand-ins before parsing.

Metric names are checked against catalogues shipped in `catalogue/`: Prometheus' own and synthetic series,
the Go runtime, the application's declared metrics, plus the catalogue of every exporter or program this
bundle scrapes or runs (see COMPONENTS).  Names recorded by recording rules count as known.

What Prometheus 3 changed (removed and experimental functions, normalised `le`/`quantile` values, left-open
ranges) is checked on the same parsed expressions by `promql3.py`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import promql_parser

from leanvibe_stack.validate.bundle import Bundle, is_probe_job, program_of
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning
from leanvibe_stack.validate.promql3 import Semantics, expression_nodes, renamed_function
from leanvibe_stack.validate.suggest import Index

ALWAYS = ("prometheus.txt", "go-runtime.txt", "leanvibe-app.txt")


@dataclass(frozen=True)
class Component:
    """When a catalogue applies: a scrape job mentions one of `words`, or a container runs `program`."""

    catalogue: str
    words: tuple[str, ...] = ()
    program: str | None = None


# A scrape job "mentions" a word when its job_name, static targets, metrics_path, or the regex/replacement of
# its relabelling rules contain it (case-insensitive).
COMPONENTS = (
    Component("node-exporter.txt", words=("node-exporter", "node_exporter")),
    Component("kube-state-metrics.txt", words=("kube-state-metrics",)),
    Component("cadvisor.txt", words=("cadvisor",)),
    Component("kubelet.txt", words=("kubernetes-nodes", "kubelet")),
    Component("kubernetes-apiserver.txt", words=("apiserver",)),
    Component("redis-exporter.txt", words=("redis",)),
    Component("neo4j.txt", words=("neo4j",)),
    Component("alertmanager.txt", program="alertmanager"),
    Component("loki.txt", program="loki"),
    Component("fluent-bit.txt", program="fluent-bit"),
    Component("grafana.txt", program="grafana"),
    Component("blackbox-exporter.txt", program="blackbox-exporter"),
    Component("otel-collector.txt", program="opentelemetry-collector-contrib"),
    Component("jaeger.txt", program="jaeger"),
    Component("thanos.txt", program="thanos"),
)

CATALOGUES = (*ALWAYS, *(c.catalogue for c in COMPONENTS))

# What stands in for a Grafana variable whose value is unknown; names containing it are not checked.
STAND_IN = "grafana_variable_"
DURATION = "5m"
# Grafana's global variables: durations, numbers, and plain strings.
BUILTIN_DURATIONS = frozenset({"__interval", "__rate_interval", "__range", "__auto"})
BUILTIN_NUMBERS = {
    "__interval_ms": "300000", "__rate_interval_ms": "300000", "__range_s": "300", "__range_ms": "300000",
    "__from": "1700000000000", "__to": "1700000300000",
}
BUILTIN_STRINGS = frozenset({"__dashboard", "__org", "__user", "__name", "__timezone"})
BUILTINS = BUILTIN_DURATIONS | BUILTIN_NUMBERS.keys() | BUILTIN_STRINGS

# ${var}, ${var.field}, ${var:format}; [[var]], [[var:format]]; $var -- Grafana's own three forms.
VARIABLE = re.compile(r"\$\{(\w+)(?:\.[^:}]*)?(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
VARIABLE_IN_RANGE = re.compile(r"\[[^\]]*\$")
OFFSET_BEFORE = re.compile(r"\boffset\s*-?\s*$", re.IGNORECASE)
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_:]")

# Template variable queries of Grafana's Prometheus data source (not PromQL).
LABEL_VALUES = re.compile(r"^\s*label_values\s*\((.*),\s*([A-Za-z_][\w.]*)\s*\)\s*$", re.DOTALL)
LABEL_VALUES_LABEL_ONLY = re.compile(r"^\s*label_values\s*\(\s*([A-Za-z_][\w.]*)\s*\)\s*$")
LABEL_NAMES = re.compile(r"^\s*label_names\s*\((.*)\)\s*$", re.DOTALL)
METRICS = re.compile(r"^\s*metrics\s*\((.*)\)\s*$", re.DOTALL)
QUERY_RESULT = re.compile(r"^\s*query_result\s*\((.*)\)\s*$", re.DOTALL)


# --------------------------------------------------------------------------------------------------------
# Catalogues


@functools.cache
def catalogue(name: str) -> frozenset[str]:
    """The metric names of one catalogue file (loaded once per process)."""
    text = resources.files("leanvibe_stack.validate").joinpath("catalogue", name).read_text(encoding="utf-8")
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(name for name in names if name)


def active_catalogues(bundle: Bundle) -> list[str]:
    """The catalogue files that apply to this bundle: the fixed ones plus every component it has."""
    texts = [_job_text(job) for job in _scrape_jobs(bundle)]
    programs = {program_of(container) for pod in bundle.pods for _, container in pod.containers()}
    found = list(ALWAYS)
    for component in COMPONENTS:
        scraped = any(word in text for text in texts for word in component.words)
        if scraped or (component.program is not None and component.program in programs):
            found.append(component.catalogue)
    return found


def _scrape_jobs(bundle: Bundle) -> list[dict[str, Any]]:
    """The jobs that scrape their targets' own metrics: a probe job (every target sent to one exporter's
    address) yields that exporter's series, whatever the targets are called (`probe-redis` is no Redis)."""
    config = bundle.config("prometheus")
    jobs = config.data.get("scrape_configs") if config is not None else None
    return [job for job in jobs or [] if isinstance(job, dict) and not is_probe_job(job)]


def _job_text(job: dict[str, Any]) -> str:
    """What identifies a scrape job's targets, lower-cased: name, static targets, path, relabelling."""
    parts = [str(job.get("job_name", "")), str(job.get("metrics_path", ""))]
    for static in job.get("static_configs") or []:
        if isinstance(static, dict):
            parts.extend(str(target) for target in static.get("targets") or [])
    for relabel in job.get("relabel_configs") or []:
        if not isinstance(relabel, dict):
            continue
        if relabel.get("action", "replace") in ("keep", "drop") or relabel.get("target_label") == "__metrics_path__":
            parts.extend(str(relabel.get(key, "")) for key in ("regex", "replacement"))
    return "\n".join(parts).lower()


# --------------------------------------------------------------------------------------------------------
# Metric names in an expression


def metric_names(expr: str) -> set[str]:
    """Every metric name a PromQL expression selects (by name or `__name__="..."`); ValueError if invalid."""
    return _names(promql_parser.parse(expr))


def _names(ast: Any) -> set[str]:
    names: set[str] = set()
    _collect_names(ast, names)
    return names


def _collect_names(node: Any, names: set[str]) -> None:
    """The metric names below `node`, read off its attributes.

    promql_parser.walk calls back into Python for every node and costs eight times as much (1 s for
    10,000 rules); node kinds this code does not know go through walk, so none is ever skipped.
    """
    kind = type(node)
    if kind is promql_parser.VectorSelector:
        _selector_names(node, names)
    elif kind is promql_parser.MatrixSelector:
        _selector_names(node.vector_selector, names)
    elif kind is promql_parser.BinaryExpr:
        _collect_names(node.lhs, names)
        _collect_names(node.rhs, names)
    elif kind is promql_parser.AggregateExpr:
        _collect_names(node.expr, names)
        if node.param is not None:
            _collect_names(node.param, names)
    elif kind is promql_parser.Call:
        for argument in node.args:
            _collect_names(argument, names)
    elif kind in _WRAPPERS:
        _collect_names(node.expr, names)
    elif kind not in _LEAVES:
        def visit(found: Any) -> bool:
            if isinstance(found, promql_parser.VectorSelector):
                _selector_names(found, names)
            return True

        promql_parser.walk(node, pre_visit=visit)


_WRAPPERS = (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)
_LEAVES = (promql_parser.NumberLiteral, promql_parser.StringLiteral)


def _selector_names(selector: Any, names: set[str]) -> None:
    if selector.name:
        names.add(selector.name)
    for group in (selector.matchers.matchers, *selector.matchers.or_matchers):
        for matcher in group:
            if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal and matcher.value:
                names.add(matcher.value)


# --------------------------------------------------------------------------------------------------------
# Grafana template variables


@dataclass(frozen=True)
class Variables:
    """A dashboard's template variables: every name, and the current value where it is a plain number."""

    names: frozenset[str]
    numbers: dict[str, str]
    datasource_types: dict[str, str]  # datasource-type variables: name -> plugin id (e.g. "loki")

    @classmethod
    def of(cls, dashboard: dict[str, Any]) -> Variables:
        names: set[str] = set()
        numbers: dict[str, str] = {}
        types: dict[str, str] = {}
        for variable in _templating(dashboard):
            name = variable.get("name")
            if not isinstance(name, str):
                continue
            names.add(name)
            current = variable.get("current")
            value = current.get("value") if isinstance(current, dict) else None
            if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
                numbers[name] = value.strip()
            if variable.get("type") == "datasource" and isinstance(variable.get("query"), str):
                types[name] = variable["query"].lower()
        return cls(frozenset(names), numbers, types)


def interpolate(expr: str, variables: Variables, *, bare_numbers: bool = False) -> str:
    """The expression with every known Grafana variable replaced by a PromQL-valid stand-in.

    Inside quotes a variable becomes a plain label value; inside `[...]` or after `offset` a duration;
    elsewhere a number when the variable is numeric, otherwise an identifier (a metric or label name).
    With `bare_numbers`, bare variables that are not part of a longer name become `1` instead (for places
    that need a scalar, such as `topk($n, ...)`).  Unknown `$words` are left alone, as Grafana leaves them.
    """
    out: list[str] = []
    quote: str | None = None
    square = 0
    i, n = 0, len(expr)
    while i < n:
        char = expr[i]
        if quote is not None and char == "\\" and quote != "`":
            out.append(expr[i:i + 2])
            i += 2
            continue
        if char in "$[":
            match = VARIABLE.match(expr, i)
            name = next((g for g in match.groups() if g), None) if match else None
            if match and name and (name in variables.names or name in BUILTINS):
                before, after = "".join(out), expr[match.end():match.end() + 1]
                out.append(_stand_in(name, variables, before, after, quote, square, bare_numbers))
                i = match.end()
                continue
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char == "[":
            square += 1
        elif char == "]":
            square = max(0, square - 1)
        out.append(char)
        i += 1
    return "".join(out)


def _stand_in(name: str, variables: Variables, before: str, after: str, quote: str | None, square: int,
              bare_numbers: bool) -> str:
    if quote is not None:
        return BUILTIN_NUMBERS.get(name, STAND_IN)
    if square or OFFSET_BEFORE.search(before):
        return DURATION
    if name in BUILTIN_DURATIONS:
        return DURATION
    if name in BUILTIN_NUMBERS:
        return BUILTIN_NUMBERS[name]
    if name in variables.numbers:
        return variables.numbers[name]
    in_name = bool(before and IDENTIFIER_CHAR.match(before[-1])) or bool(after and IDENTIFIER_CHAR.match(after))
    return "1" if bare_numbers and not in_name else STAND_IN


def _templating(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    templating = dashboard.get("templating")
    items = templating.get("list") if isinstance(templating, dict) else None
    return [item for item in items or [] if isinstance(item, dict)]


# --------------------------------------------------------------------------------------------------------
# The check


@dataclass(frozen=True)
class Site:
    """One expression to check and where it is."""

    obj: ObjectRef | None
    path: str
    expr: str
    what: str  # e.g. "alert LeanVibeHighErrorRate", "dashboard panel"
    variables: Variables | None = None  # set for dashboard expressions


# The parsed expressions kept for reuse (dashboards repeat theirs panel after panel), the oldest dropped first.
# Keeping all 10,000 of a large profile's rules cost 0.1 s more to free at the end than freeing each soon after.
PARSED_KEPT = 64


class _Checker:
    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.active = active_catalogues(bundle)
        self.known: set[str] = set().union(*(catalogue(name) for name in self.active))
        self.recorded: set[str] = set()
        self.parsed: dict[str, Any] = {}  # expression -> AST, or the parser's message (str) when invalid
        self.findings: list[Finding] = []
        self.datasource_types = _provisioned_datasource_types(bundle)
        self.suggestions = Index(())  # every known name, once recorded series are in
        self.semantics = Semantics(bundle)

    # -- parsing, cached per expression string --------------------------------------------------------
    def parse(self, expr: str) -> Any:
        found = self.parsed.get(expr)
        if found is None:
            try:
                found = promql_parser.parse(expr)
            except ValueError as exc:
                found = str(exc) or "invalid expression"
            self.parsed[expr] = found
            if len(self.parsed) > PARSED_KEPT:
                del self.parsed[next(iter(self.parsed))]
        return found

    def run(self) -> list[Finding]:
        sites = [*self.rule_sites(), *self.dashboard_sites()]
        self.known |= self.recorded
        self.suggestions = Index(self.known)
        for site in sites:
            self.check_site(site)
        return self.findings

    # -- where expressions are ------------------------------------------------------------------------
    def rule_sites(self) -> Iterator[Site]:
        for mounted, data in self.bundle.rule_files:
            obj = ObjectRef.of(mounted.source) if mounted.source else None
            groups = data.get("groups") if isinstance(data, dict) else None
            for g, group in enumerate(groups or []):
                rules = group.get("rules") if isinstance(group, dict) else None
                for r, rule in enumerate(rules or []):
                    if not isinstance(rule, dict):
                        continue
                    if isinstance(rule.get("record"), str):
                        self.recorded.add(rule["record"])
                    expr = rule.get("expr")
                    if expr is None:
                        continue
                    what = f"alert {rule['alert']}" if "alert" in rule else f"recording rule {rule.get('record')}"
                    yield Site(obj, f"{mounted.key}:groups[{g}].rules[{r}].expr", str(expr), what)

    def dashboard_sites(self) -> Iterator[Site]:
        for manifest, key, dashboard in self.bundle.dashboards:
            if not isinstance(dashboard, dict):
                continue  # unparseable JSON is another check's business
            obj = ObjectRef.of(manifest)
            variables = Variables.of(dashboard)
            for path, item, inherited in panel_targets(dashboard):
                if self.is_prometheus(item.get("datasource") or inherited, variables):
                    expr = item.get("expr")
                    if isinstance(expr, str) and expr.strip():
                        yield Site(obj, f"{key}:{path}.expr", expr, "dashboard query", variables)
            for v, variable in enumerate(_templating(dashboard)):
                if variable.get("type") == "query" and self.is_prometheus(variable.get("datasource"), variables):
                    yield from self.variable_query_sites(obj, f"{key}:templating.list[{v}]", variable, variables)

    def variable_query_sites(self, obj: ObjectRef, path: str, variable: dict[str, Any],
                             variables: Variables) -> Iterator[Site]:
        """A template variable's query: label_values/label_names/metrics/query_result, or a series selector."""
        query = variable.get("query")
        if isinstance(query, dict):
            query, path = query.get("query"), f"{path}.query.query"
        else:
            path = f"{path}.query"
        if not isinstance(query, str) or not query.strip():
            return
        what = f"template variable {variable.get('name')}"
        if LABEL_VALUES_LABEL_ONLY.match(query) or METRICS.match(query):
            return  # no metric named (metrics() takes a regex over names)
        for pattern in (LABEL_VALUES, LABEL_NAMES, QUERY_RESULT):
            match = pattern.match(query)
            if match:
                inner = match.group(1).strip()
                if inner:
                    yield Site(obj, path, inner, what, variables)
                return
        yield Site(obj, path, query, what, variables)  # a plain series selector

    def is_prometheus(self, datasource: Any, variables: Variables) -> bool:
        """Whether a target's data source is (or may be) Prometheus: unknown counts as Prometheus."""
        kind = _datasource_type(datasource, variables, self.datasource_types)
        return kind is None or kind == "prometheus"

    # -- checking one expression ----------------------------------------------------------------------
    def check_site(self, site: Site) -> None:
        expr = site.expr
        if site.variables is not None:
            expr = interpolate(site.expr, site.variables)
        ast = self.parse(expr)
        if isinstance(ast, str) and site.variables is not None and STAND_IN in expr:
            retried = self.parse(interpolate(site.expr, site.variables, bare_numbers=True))
            ast = ast if isinstance(retried, str) else retried
        if isinstance(ast, str):
            renamed = renamed_function(expr)
            if renamed is not None:
                self.findings.append(error("promql.removed-function", site.obj, site.path, f"{site.what}: {renamed}"))
            else:
                self.findings.append(error("promql.parse", site.obj, site.path, self.parse_message(site, ast)))
            return
        # A Grafana variable in a range or step stands in as 5m: its real window is unknown here.
        ranges = site.variables is None or not VARIABLE_IN_RANGE.search(site.expr)
        nodes = expression_nodes(ast)  # one walk for both: the Prometheus 3 checks and the metric names
        self.findings += self.semantics.findings(site.obj, site.path, site.what, nodes, ranges=ranges)
        names: set[str] = set()
        for node in nodes:
            if type(node) is promql_parser.VectorSelector:  # a MatrixSelector's is among the nodes too
                _selector_names(node, names)
        for name in sorted(names):
            if STAND_IN in name or name in self.known:
                continue
            self.findings.append(warning("metrics.unknown", site.obj, site.path, self.unknown_message(site, name)))

    def parse_message(self, site: Site, problem: str) -> str:
        message = f"{site.what}: the expression is not valid PromQL: {problem}"
        if site.variables is not None:
            undefined = sorted({next(g for g in m.groups() if g) for m in VARIABLE.finditer(site.expr)}
                               - site.variables.names - BUILTINS)
            if undefined:
                message += f" (it uses {', '.join('$' + u for u in undefined)}, which the dashboard does not define)"
        return message

    def unknown_message(self, site: Site, name: str) -> str:
        elsewhere = [c.catalogue for c in COMPONENTS
                     if c.catalogue not in self.active and name in catalogue(c.catalogue)]
        if elsewhere:
            source = elsewhere[0].removesuffix(".txt")
            return (f"{site.what}: metric {name!r} comes from {source}, which this stack neither scrapes nor runs; "
                    f"add the scrape job or drop the query")
        close = self.suggestions.closest(name)
        hint = f"did you mean {close!r}?" if close else "no known metric is similar"
        return (f"{site.what}: metric {name!r} is not exported by anything this stack scrapes; {hint} "
                f"(if the application exports it, declare it in validate/catalogue/leanvibe-app.txt)")


def panel_targets(dashboard: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(JSON path, target or annotation, inherited data source) for every query in a dashboard."""

    def panels(items: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
        for i, panel in enumerate(items if isinstance(items, list) else []):
            if not isinstance(panel, dict):
                continue
            for t, target in enumerate(panel.get("targets") or []):
                if isinstance(target, dict):
                    yield f"{prefix}[{i}].targets[{t}]", target, panel.get("datasource")
            yield from panels(panel.get("panels"), f"{prefix}[{i}].panels")

    yield from panels(dashboard.get("panels"), "panels")
    for r, row in enumerate(dashboard.get("rows") or []):  # pre-5.0 schema
        if isinstance(row, dict):
            yield from panels(row.get("panels"), f"rows[{r}].panels")
    annotations = dashboard.get("annotations")
    for a, annotation in enumerate(annotations.get("list") or [] if isinstance(annotations, dict) else []):
        if isinstance(annotation, dict):
            yield f"annotations.list[{a}]", annotation, None


def datasource_type(datasource: Any, variables: Variables, bundle: Bundle) -> str | None:
    """The type ("prometheus", "loki", ...) of a dashboard target's data source; None when unknown."""
    return _datasource_type(datasource, variables, _provisioned_datasource_types(bundle))


def _datasource_type(datasource: Any, variables: Variables, provisioned: dict[str, str]) -> str | None:
    kind: str | None = None
    if isinstance(datasource, dict):
        kind = datasource.get("type") if datasource.get("type") not in (None, "datasource") else None
        uid = datasource.get("uid")
        if kind is None and isinstance(uid, str):
            kind = _named_type(uid, variables, provisioned)
    elif isinstance(datasource, str):
        kind = _named_type(datasource, variables, provisioned)
    return kind


def _named_type(name: str, variables: Variables, provisioned: dict[str, str]) -> str | None:
    match = VARIABLE.fullmatch(name)
    if match:
        return variables.datasource_types.get(next(g for g in match.groups() if g))
    if name in provisioned:
        return provisioned[name]
    return "loki" if "loki" in name.lower() else None


def _provisioned_datasource_types(bundle: Bundle) -> dict[str, str]:
    """Data source name and uid -> type, from Grafana's provisioning files."""
    types: dict[str, str] = {}
    for _, data in bundle.grafana_datasources:
        for source in (data.get("datasources") if isinstance(data, dict) else None) or []:
            if isinstance(source, dict) and isinstance(source.get("type"), str):
                for key in ("name", "uid"):
                    if isinstance(source.get(key), str):
                        types[source[key]] = source["type"].lower()
    return types


def check(bundle: Bundle) -> list[Finding]:
    """promql.parse (error) for expressions that do not parse; metrics.unknown (warning) for unknown names;
    the Prometheus 3 checks of `promql3.py`."""
    return _Checker(bundle).run()
