"""LogQL stream selectors against the labels the log agent really sets.

A Loki query selects streams by their labels before anything else runs: a selector that requires a
label no stream carries returns nothing, quietly, in a dashboard panel or a Loki rule.  The labels a
stream can carry are the ones the log agent's Loki outputs set (fluent-bit.yaml, as rendered); a
selector is satisfied when one output sets every label the selector requires.  A matcher that also
matches the empty value (`x=""`, `x!="a"`, `x=~".*"`) requires nothing: a stream without `x` passes.

Only the stream selector is checked (the `{...}` of LogQL); line filters and parsers such as `| json`
work on the line, whose fields this module cannot know.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import promql_parser

from leanvibe_stack.validate.bundle import Bundle, as_dict, as_list, dicts, loki_outputs
from leanvibe_stack.validate.findings import Finding, ObjectRef, warning
from leanvibe_stack.validate.matchers import go_regex
from leanvibe_stack.validate.promql import Variables, datasource_type, interpolate, panel_targets


@dataclass(frozen=True)
class Stream:
    """The labels one Loki output of the agent sets, and where it is."""

    where: str  # e.g. "fluent-bit output backend"
    labels: frozenset[str]


@dataclass(frozen=True)
class Query:
    obj: ObjectRef
    path: str
    expr: str
    what: str
    variables: Variables | None = None  # a dashboard's: $variables in selectors stand for a value


def check(bundle: Bundle) -> list[Finding]:
    streams = agent_streams(bundle)
    if not streams:
        return []  # no log agent rendered (e.g. `--only loki`): nothing to hold the queries against
    findings = []
    for query in [*rule_queries(bundle), *dashboard_queries(bundle)]:
        for selector in stream_selectors(query.expr):
            problem = unmatched(interpolate(selector, query.variables) if query.variables else selector, streams)
            if problem:
                findings.append(warning("logql.unknown-label", query.obj, query.path,
                                      f"{query.what}: stream selector {selector} {problem}"))
    return findings


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


def rule_queries(bundle: Bundle) -> Iterator[Query]:
    for mounted, data in bundle.loki_rule_files:
        if mounted.source is None:
            continue
        for g, group in enumerate(dicts(as_dict(data).get("groups"))):
            for r, rule in enumerate(as_list(group.get("rules"))):
                if isinstance(rule, dict) and isinstance(rule.get("expr"), str):
                    what = f"alert {rule['alert']}" if "alert" in rule else f"recording rule {rule.get('record')}"
                    yield Query(ObjectRef.of(mounted.source), f"{mounted.key}:groups[{g}].rules[{r}].expr",
                                rule["expr"], what)


def dashboard_queries(bundle: Bundle) -> Iterator[Query]:
    for manifest, key, dashboard in bundle.dashboards:
        if not isinstance(dashboard, dict):
            continue
        variables = Variables.of(dashboard)
        for path, target, inherited in panel_targets(dashboard):
            kind = datasource_type(target.get("datasource") or inherited, variables, bundle)
            expr = target.get("expr")
            if kind == "loki" and isinstance(expr, str) and expr.strip():
                yield Query(ObjectRef.of(manifest), f"{key}:{path}.expr", expr, "dashboard query", variables)


def stream_selectors(expr: str) -> list[str]:
    """The `{...}` stream selectors of a LogQL query, in order (braces inside strings are text)."""
    found, depth, start, quote = [], 0, 0, ""
    i = 0
    while i < len(expr):
        char = expr[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"`":
            quote = char
        elif char == "{":
            depth, start = depth + 1, i if depth == 0 else start
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(expr[start:i + 1])
        i += 1
    return found


def unmatched(selector: str, streams: list[Stream]) -> str | None:
    """Why no stream of the agent can match `selector`, or None when one can."""
    try:
        parsed = promql_parser.parse(selector)
    except ValueError as exc:
        return f"is not a valid stream selector: {exc}"
    if not isinstance(parsed, promql_parser.VectorSelector):
        return "is not a stream selector"
    required = {m.name for m in parsed.matchers.matchers if not _matches_empty(str(m.op), m.value)}
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


def _matches_empty(op: str, value: str) -> bool:
    if op.endswith("NotEqual"):
        return value != ""
    if op.endswith("Equal"):
        return value == ""
    try:
        matches = re.fullmatch(go_regex(value), "") is not None
    except re.error:
        return True  # an invalid regex is the parser's finding, not a missing label
    return not matches if op.endswith("NotRe") else matches
