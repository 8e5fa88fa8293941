"""LogQL checked offline: every Loki query parses, and its stream selectors name labels streams carry.

Where LogQL lives in the rendered objects: the `expr` of Loki rule files (the ruler's tenant folders, see
`Bundle.loki_rule_files`), the targets of dashboard panels whose data source is Loki, and a Tempo or Jaeger
data source's trace-to-logs custom query.  Each is parsed with `logql_parser` (Loki 3.7's grammar and the
checks its parser runs after it): a query Loki would refuse is `logql.parse`, with the line and column.
Grafana variables are replaced by stand-ins first (`promql.interpolate` for dashboards; `${__span...}`,
`${__trace...}` and `${__tags}` for trace-to-logs links), and positions are given in the text as written.

A Loki query selects streams by their labels before anything else runs: a selector that requires a
label no stream carries returns nothing, quietly, in a dashboard panel or a Loki rule
(`logql.unknown-label`).  The labels a stream can carry are the ones the log agent's Loki outputs set
(fluent-bit.yaml, as rendered); a selector is satisfied when one output sets every label the selector
requires.  A matcher that also matches the empty value (`x=""`, `x!="a"`, `x=~".*"`) requires nothing: a
stream without `x` passes.  Line filters and parsers such as `| json` work on the line, whose fields this
module cannot know.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from leanvibe_stack.validate.bundle import Bundle, as_dict, dicts, loki_outputs
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning
from leanvibe_stack.validate.logql_parser import LogQLError, Matcher, Query, Selector, matches_empty, parse
from leanvibe_stack.validate.promql import (
    STAND_IN,
    Variables,
    datasource_type,
    interpolate,
    panel_targets,
)

TRACE_VARIABLE = re.compile(r"\$\{__(?:span|trace)\b[^}]*\}")
TAGS_VARIABLE = "${__tags}"


@dataclass(frozen=True)
class Stream:
    """The labels one Loki output of the agent sets, and where it is."""

    where: str  # e.g. "fluent-bit output backend"
    labels: frozenset[str]


@dataclass(frozen=True)
class Site:
    """One LogQL expression and where it is."""

    obj: ObjectRef | None
    path: str
    expr: str
    what: str  # e.g. "dashboard query", "alert LokiSecurityEventBurst"
    variables: Variables | None = None  # a dashboard's: $variables stand for a value
    metric_only: bool = False  # rules: Loki's ruler takes metric queries only
    check_labels: bool = True  # trace-to-logs links: their labels are the datasource check's business

    def stand_ins(self, *, bare_numbers: bool = False) -> str:
        """The text to parse: Grafana's variables replaced by values that parse."""
        if self.variables is None:
            return self.expr
        return interpolate(self.expr, self.variables, bare_numbers=bare_numbers)


def check(bundle: Bundle) -> list[Finding]:
    streams = agent_streams(bundle)
    findings: list[Finding] = []
    attempt = functools.cache(_attempt)  # per text: dashboards repeat their queries (lark takes ~0.5 ms each)
    for site in sites(bundle):
        query = _parse(site, findings, attempt)
        if query is None or not streams or not site.check_labels:
            continue
        for selector in query.selectors:
            problem = _unmatched(selector.matchers, streams)
            if problem:
                shown = _as_written(site, query.text, selector)
                findings.append(warning("logql.unknown-label", site.obj, site.path,
                                        f"{site.what}: stream selector {shown} {problem}"))
    return findings


def sites(bundle: Bundle) -> Iterator[Site]:
    """Every LogQL expression the rendered objects hold."""
    yield from rule_queries(bundle)
    yield from dashboard_queries(bundle)
    yield from datasource_queries(bundle)


def _parse(site: Site, findings: list[Finding], attempt: Callable[[str], Query | LogQLError]) -> Query | None:
    text = site.stand_ins()
    query = attempt(text)
    if isinstance(query, LogQLError) and STAND_IN in text:
        retried = attempt(site.stand_ins(bare_numbers=True))  # a numeric place, e.g. topk($n, ...)
        query = query if isinstance(retried, LogQLError) else retried
    if isinstance(query, LogQLError):
        findings.append(error("logql.parse", site.obj, site.path,
                              f"{site.what}: the query is not valid LogQL: {_located(site, text, query)}"))
        return None
    if site.metric_only and not query.is_metric:
        findings.append(error("logql.parse", site.obj, site.path,
                              f"{site.what}: a rule's expression must be a metric query (e.g. "
                              "sum(count_over_time({...}[5m])) > 0); Loki's ruler refuses a log query"))
        return None
    return query


def _attempt(text: str) -> Query | LogQLError:
    try:
        return parse(text)
    except LogQLError as exc:
        return exc


def agent_streams(bundle: Bundle) -> list[Stream]:
    added_by_loki = _added_by_loki(bundle)
    streams = []
    for config in bundle.configs:
        if config.program != "fluent-bit":
            continue
        for where, output in loki_outputs(config.data):
            labels = {entry.split("=", 1)[0].strip() for entry in str(output.get("labels", "")).split(",")
                      if "=" in entry}
            streams.append(Stream(f"output {output.get('alias') or where}", frozenset(labels | added_by_loki)))
    return streams


def _added_by_loki(bundle: Bundle) -> set[str]:
    """Labels Loki itself gives every stream: from 3.0, `service_name` (copied from another label, else
    "unknown_service") unless `limits_config.discover_service_name` is an empty list."""
    loki = bundle.config("loki")
    if loki is None or not str(loki.container.get("image", "")).rsplit(":", 1)[-1].startswith("3."):
        return set()
    discover = as_dict(as_dict(loki.data).get("limits_config")).get("discover_service_name")
    return set() if discover == [] else {"service_name"}


def rule_queries(bundle: Bundle) -> Iterator[Site]:
    for mounted, data in bundle.loki_rule_files:
        obj = ObjectRef.of(mounted.source) if mounted.source else None
        for g, group in enumerate(dicts(as_dict(data).get("groups"))):
            for r, rule in enumerate(dicts(group.get("rules"))):
                expr = rule.get("expr")
                if not isinstance(expr, str):
                    continue
                what = f"alert {rule['alert']}" if "alert" in rule else f"recording rule {rule.get('record')}"
                yield Site(obj, f"{mounted.key}:groups[{g}].rules[{r}].expr", expr, what, metric_only=True)


def dashboard_queries(bundle: Bundle) -> Iterator[Site]:
    for manifest, key, dashboard in bundle.dashboards:
        if not isinstance(dashboard, dict):
            continue
        variables = Variables.of(dashboard)
        for path, target, inherited in panel_targets(dashboard):
            kind = datasource_type(target.get("datasource") or inherited, variables, bundle)
            expr = target.get("expr")
            if kind == "loki" and isinstance(expr, str) and expr.strip():
                yield Site(ObjectRef.of(manifest), f"{key}:{path}.expr", expr, "dashboard query", variables)


def datasource_queries(bundle: Bundle) -> Iterator[Site]:
    """The custom LogQL of Tempo/Jaeger trace-to-logs links (`jsonData.tracesToLogsV2.query`)."""
    for mounted, data in bundle.grafana_datasources:
        obj = ObjectRef.of(mounted.source) if mounted.source else None
        for i, datasource in enumerate(dicts(as_dict(data).get("datasources"))):
            link = as_dict(as_dict(datasource.get("jsonData")).get("tracesToLogsV2"))
            query = link.get("query")
            if link.get("customQuery") and isinstance(query, str) and query.strip():
                yield Site(obj, f"{mounted.key}:datasources[{i}].jsonData.tracesToLogsV2.query",
                           trace_stand_ins(query, link.get("tags")),
                           f"data source {datasource.get('name')}: trace-to-logs query", check_labels=False)


def trace_stand_ins(query: str, tags: object) -> str:
    """A trace-to-logs query with Grafana's span variables replaced: `${__tags}` by a matcher per mapped tag
    (as Grafana builds it), `${__span.*}` and `${__trace.*}` by a plain word."""
    labels = [str(tag.get("value") or tag.get("key")) for tag in dicts(tags) if tag.get("value") or tag.get("key")]
    matchers = ", ".join(f'{label.replace(".", "_")}="{STAND_IN}"' for label in labels)
    return TRACE_VARIABLE.sub(STAND_IN, query.replace(TAGS_VARIABLE, matchers))


def stream_selectors(expr: str) -> list[str]:
    """The `{...}` stream selectors of a LogQL query, in order, as written (none when it does not parse)."""
    try:
        return [selector.text for selector in parse(expr).selectors]
    except LogQLError:
        return []


def unmatched(selector: str, streams: list[Stream]) -> str | None:
    """Why no stream of the agent can match `selector` (LogQL text), or None when one can."""
    try:
        selectors = parse(selector).selectors
    except LogQLError as exc:
        return f"is not a valid stream selector: {exc}"
    if len(selectors) != 1 or selectors[0].text != selector.strip():
        return "is not a stream selector"
    return _unmatched(selectors[0].matchers, streams)


def _unmatched(matchers: Iterable[Matcher], streams: list[Stream]) -> str | None:
    required = {m.name for m in matchers if not matches_empty(m.op, m.value)}
    if any(required <= stream.labels for stream in streams):
        return None
    known = set().union(*(stream.labels for stream in streams))
    missing = sorted(required - known)
    if missing:
        return (f"requires label(s) {', '.join(missing)}, which the log agent sets on no stream "
                f"(its labels: {', '.join(sorted(known))}): the query returns nothing")
    return (f"requires labels {', '.join(sorted(required))}, which no single stream carries together "
            f"({'; '.join(f'{s.where}: {sorted(s.labels & required)}' for s in streams if s.labels & required)}): "
            "the query returns nothing")


# ---- positions in the text as written (stand-ins change lengths) ------------------------------------------

def _as_written(site: Site, parsed: str, selector: Selector) -> str:
    start = _offset(parsed, selector.line, selector.column)
    original = _original_offset(site.expr, parsed, start)
    end = _original_offset(site.expr, parsed, start + len(selector.text) - 1)
    if original is None or end is None:
        return selector.text
    return site.expr[original:end + 1]


def _located(site: Site, parsed: str, exc: LogQLError) -> str:
    """The parser's message, its line and column moved back to the text as written."""
    if parsed == site.expr:
        return str(exc)
    offset = _original_offset(site.expr, parsed, _offset(parsed, exc.line, exc.column))
    if offset is None:
        return str(exc)
    line = site.expr.count("\n", 0, offset) + 1
    column = offset - (site.expr.rfind("\n", 0, offset) + 1) + 1
    return str(LogQLError(exc.problem, line, column))


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(lines[i]) + 1 for i in range(line - 1)) + column - 1


def _original_offset(original: str, parsed: str, offset: int) -> int | None:
    """Where a character of the interpolated text came from; None inside a stand-in."""
    if offset >= len(parsed):
        return len(original) + offset - len(parsed)
    matcher = difflib.SequenceMatcher(None, original, parsed, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if b <= offset < b + size:
            return a + offset - b
    return None
