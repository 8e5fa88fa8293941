"""What Prometheus 3 changed for PromQL, checked on every expression `promql.py` collects.

From the 3.0 migration guide (docs/migration.md at v3.13.2) and the 3.13 function table
(promql/parser/functions.go):

- `promql.removed-function` (error): `holt_winters` is gone; it is `double_exponential_smoothing` now,
  an experimental function.  Prometheus 3 refuses the whole rule file (or the query).
- `promql.experimental-function` (error): a function (or `limitk`/`limit_ratio`) that 3.13 parses only with
  `--enable-feature=promql-experimental-functions`, while the rendered Prometheus runs without it.
- `promql.le-normalised` (error): 3.x stores the `le` of classic histogram buckets and the `quantile` of
  summaries as floats (`1` becomes `1.0`), so `le="1"` selects nothing, and `le!="1"` drops nothing.
  Not reported when `metric_relabel_configs` write `le` or `quantile`: that is the guide's way to keep the
  old values, and what they produce is beyond an offline check.
- `promql.range-too-short`: ranges are left-open in 3.x, so a window holds at most range/interval samples
  and rate(), increase() and the other two-sample functions return nothing with fewer than two.  The
  interval is the scrape interval of the job a `job="..."` matcher names, the group interval for a series a
  recording rule writes, else the smallest interval anywhere in prometheus.yml (so a finding holds for
  every possible source, and a window that is short only for a slower job may go unreported).  A window
  no longer than the interval never holds two samples: error; one shorter than two intervals holds two only
  on some evaluations: warning.  Subqueries use their step (the global evaluation interval if unset).

Not checked: that `.` in a regex now matches a newline.  It changes a result only for label values that
contain a newline, which neither exporters' label values nor Kubernetes metadata here carry; a check would
flag every `.*` without finding one changed match.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from dataclasses import dataclass
from typing import Any

import promql_parser

from leanvibe_stack import goregex
from leanvibe_stack.validate.bundle import Bundle, as_dict, as_list, dicts
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning

EXPERIMENTAL_FLAG = "promql-experimental-functions"
# Functions Prometheus 3.13 marks `Experimental: true` (promql/parser/functions.go at v3.13.2), and the
# aggregations its parser gates the same way (promql/parser/lex.go, IsExperimentalAggregator).
EXPERIMENTAL_FUNCTIONS = frozenset({
    "double_exponential_smoothing", "end", "first_over_time", "histogram_quantiles", "info", "mad_over_time",
    "max_of", "min_of", "range", "sort_by_label", "sort_by_label_desc", "start", "step",
    "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_max_over_time", "ts_of_min_over_time",
})
EXPERIMENTAL_AGGREGATIONS = frozenset({"limitk", "limit_ratio"})
RENAMED_FUNCTIONS = {"holt_winters": "double_exponential_smoothing"}

# Functions that need two samples in their range to return anything.
TWO_SAMPLE_FUNCTIONS = frozenset({
    "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "double_exponential_smoothing",
})
NORMALISED_LABELS = ("le", "quantile")
DEFAULT_INTERVAL = 60.0  # Prometheus' default scrape and evaluation interval, in seconds
_DURATION_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_NOT_A_GO_FLOAT = re.compile(r"[_\s]|^0[xX]")  # forms Python's float() and Go's ParseFloat read differently


def renamed_function(expr: str) -> str | None:
    """The message for an expression that fails to parse only because it calls a function 3.0 renamed."""
    for old, new in RENAMED_FUNCTIONS.items():
        pattern = re.compile(rf"\b{old}\s*\(")
        if not pattern.search(expr):
            continue
        try:
            promql_parser.parse(pattern.sub(f"{new}(", expr))
        except ValueError:
            return None
        return (f"`{old}` was removed in Prometheus 3.0: call `{new}` (same arguments), which also needs "
                f"--enable-feature={EXPERIMENTAL_FLAG} on Prometheus")
    return None


def seconds(duration: Any) -> float | None:
    """A Prometheus duration (`1m30s`) in seconds, or None if it is not one."""
    text = str(duration).strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def go_float_label(value: str) -> str | None:
    """The label value Prometheus 3 stores for a numeric `le`/`quantile` (labels.FormatOpenMetricsFloat:
    Go's shortest `%g`, with `.0` appended when there is neither `.` nor `e`); None for a non-number."""
    if _NOT_A_GO_FLOAT.search(value):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    text = _go_shortest_g(number)
    return text if "e" in text or "." in text else text + ".0"


def _go_shortest_g(number: float) -> str:
    """strconv.FormatFloat(number, 'g', -1, 64): the shortest digits that read back as `number` (Python's
    repr finds the same), in exponent form when the exponent is below -4 or at least 6."""
    if number == 0:
        return "0"
    _sign, digits, exponent = decimal.Decimal(repr(abs(number))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # digits before the decimal point
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        power = point - 1
        body = f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    elif point <= 0:
        body = "0." + "0" * -point + text
    elif point >= len(text):
        body = text + "0" * (point - len(text))
    else:
        body = text[:point] + "." + text[point:]
    return ("-" if number < 0 else "") + body


@dataclass(frozen=True)
class Intervals:
    """How often each series is written: per scrape job, per recorded name, and the smallest of all."""

    jobs: dict[str, float]
    recorded: dict[str, float]
    evaluation: float
    smallest: float

    @classmethod
    def of(cls, bundle: Bundle) -> Intervals:
        config = bundle.config("prometheus")
        data = as_dict(config.data) if config is not None else {}
        settings = as_dict(data.get("global"))
        scrape = seconds(settings.get("scrape_interval", "1m")) or DEFAULT_INTERVAL
        evaluation = seconds(settings.get("evaluation_interval", "1m")) or DEFAULT_INTERVAL
        jobs = {str(job.get("job_name")): seconds(job.get("scrape_interval")) or scrape
                for job in dicts(data.get("scrape_configs"))}
        recorded: dict[str, float] = {}
        for _, rules in bundle.rule_files:
            for group in dicts(as_dict(rules).get("groups")):
                every = seconds(group.get("interval")) or evaluation
                for rule in dicts(group.get("rules")):
                    if isinstance(rule.get("record"), str):
                        recorded[rule["record"]] = every
        smallest = min([*jobs.values(), *recorded.values()], default=scrape)
        return cls(jobs, recorded, evaluation, smallest)

    def of_selector(self, selector: Any) -> tuple[float, str]:
        """The interval at which a selector's series get samples, and how it was found."""
        if selector.name in self.recorded:
            return self.recorded[selector.name], f"the interval of the rule group recording {selector.name}"
        for matcher in selector.matchers.matchers:
            if matcher.name == "job" and matcher.op == promql_parser.MatchOp.Equal and matcher.value in self.jobs:
                return self.jobs[matcher.value], f"the scrape interval of job {matcher.value!r}"
        return self.smallest, "the smallest scrape or rule interval in prometheus.yml"


class Semantics:
    """The Prometheus 3 checks of one bundle; `findings` runs them on one parsed expression."""

    def __init__(self, bundle: Bundle) -> None:
        self.intervals = Intervals.of(bundle)
        self.experimental = _experimental_enabled(bundle)
        self.relabels_normalised = _relabels_normalised_labels(bundle)

    def findings(self, obj: ObjectRef | None, path: str, what: str, nodes: list[Any], *,
                 ranges: bool = True) -> list[Finding]:
        """The findings of one expression, given its `expression_nodes`; `ranges=False` where its windows are
        stand-ins for variables."""
        found: list[Finding] = []
        for node in nodes:
            kind = type(node)
            if kind is promql_parser.Call:
                found += self._call(obj, path, what, node, ranges)
            elif kind is promql_parser.AggregateExpr:
                found += self._experimental(obj, path, what, str(node.op).lower())
            elif kind is promql_parser.VectorSelector and not self.relabels_normalised:
                found += _normalised(obj, path, what, node)
        return found

    def _call(self, obj: ObjectRef | None, path: str, what: str, call: Any, ranges: bool) -> list[Finding]:
        found = self._experimental(obj, path, what, call.func.name)
        if ranges and call.func.name in TWO_SAMPLE_FUNCTIONS:
            for argument in call.args:
                found += self._range(obj, path, what, call.func.name, argument)
        return found

    def _experimental(self, obj: ObjectRef | None, path: str, what: str, name: str) -> list[Finding]:
        if self.experimental is not False or name not in EXPERIMENTAL_FUNCTIONS | EXPERIMENTAL_AGGREGATIONS:
            return []
        return [error("promql.experimental-function", obj, path,
                      f"{what}: `{name}` is experimental in Prometheus 3.13 and the rendered Prometheus runs "
                      f"without --enable-feature={EXPERIMENTAL_FLAG}: it refuses the expression (add the flag to "
                      "prometheus.extra_args, or do without the function)")]

    def _range(self, obj: ObjectRef | None, path: str, what: str, function: str, argument: Any) -> list[Finding]:
        kind = type(argument)
        if kind is promql_parser.MatrixSelector:
            interval, source = self.intervals.of_selector(argument.vector_selector)
        elif kind is promql_parser.SubqueryExpr:
            step = _seconds_of(argument.step)
            interval, source = (step, "the subquery's step") if step else (
                self.intervals.evaluation, "the global evaluation interval (the subquery's default step)")
        else:
            return []
        window = _seconds_of(argument.range)
        if window is None or window >= 2 * interval:
            return []
        always = window <= interval
        report = error if always else warning
        outcome = "never holds" if always else "holds only on some evaluations"
        return [report("promql.range-too-short", obj, path,
                       f"{what}: {function}() over a {_show(window)} window {outcome} the two samples it needs: "
                       f"samples come every {_show(interval)} ({source}), and since Prometheus 3 a range "
                       f"excludes its left edge; use at least {_show(2 * interval)}, better {_show(4 * interval)}")]


def _normalised(obj: ObjectRef | None, path: str, what: str, selector: Any) -> list[Finding]:
    found = []
    for group in (selector.matchers.matchers, *selector.matchers.or_matchers):
        for matcher in group:
            if matcher.name not in NORMALISED_LABELS:
                continue
            if matcher.name == "le" and selector.name and not selector.name.endswith("_bucket"):
                continue  # only classic histogram buckets are normalised
            stale = _stale_values(matcher)
            if stale:
                found.append(error("promql.le-normalised", obj, path,
                                   f"{what}: {matcher.name}{_op(matcher)}\"{matcher.value}\" compares with "
                                   f"{', '.join(stale)}, which Prometheus 3 stores as "
                                   f"{', '.join(str(go_float_label(v)) for v in stale)}: write those values"))
    return found


def _stale_values(matcher: Any) -> list[str]:
    """The numbers a matcher names in a form Prometheus 3 never stores (`1` for `1.0`)."""
    if matcher.op in (promql_parser.MatchOp.Equal, promql_parser.MatchOp.NotEqual):
        stored = go_float_label(matcher.value)
        return [matcher.value] if stored is not None and stored != matcher.value else []
    try:  # a regex (Go's, anchored): each alternative that is a plain number must also match its stored form
        regex = goregex.compile(matcher.value, dot_nl=True)
    except goregex.GoRegexError:
        return []
    stale = []
    for alternative in matcher.value.split("|"):
        literal = alternative.replace("\\.", ".").replace("\\+", "+")
        stored = go_float_label(literal)
        if stored is not None and stored != literal and not regex.fullmatch(stored):
            stale.append(literal)
    return stale


def _op(matcher: Any) -> str:
    ops = promql_parser.MatchOp  # not hashable: compared one by one
    for op, text in ((ops.Equal, "="), (ops.NotEqual, "!="), (ops.Re, "=~"), (ops.NotRe, "!~")):
        if matcher.op == op:
            return text
    return "="


def expression_nodes(ast: Any) -> list[Any]:
    """Every node of an expression, in pre-order, read off its attributes: promql_parser.walk calls back into
    Python per node and costs several times as much (see promql._collect_names); unknown kinds still go
    through it."""
    nodes: list[Any] = []
    _collect_nodes(ast, nodes)
    return nodes


def _collect_nodes(ast: Any, nodes: list[Any]) -> None:
    kind = type(ast)
    nodes.append(ast)
    if kind is promql_parser.MatrixSelector:
        nodes.append(ast.vector_selector)
    elif kind is promql_parser.BinaryExpr:
        _collect_nodes(ast.lhs, nodes)
        _collect_nodes(ast.rhs, nodes)
    elif kind is promql_parser.AggregateExpr:
        _collect_nodes(ast.expr, nodes)
        if ast.param is not None:
            _collect_nodes(ast.param, nodes)
    elif kind is promql_parser.Call:
        for argument in ast.args:
            _collect_nodes(argument, nodes)
    elif kind in _WRAPPERS:
        _collect_nodes(ast.expr, nodes)
    elif kind not in _LEAVES:
        found: list[Any] = []

        def visit(node: Any) -> bool:
            found.append(node)
            return True

        promql_parser.walk(ast, pre_visit=visit)
        nodes.extend(found[1:])


_WRAPPERS = (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)
_LEAVES = (promql_parser.NumberLiteral, promql_parser.StringLiteral, promql_parser.VectorSelector)


def _experimental_enabled(bundle: Bundle) -> bool | None:
    """Whether the rendered Prometheus enables experimental functions; None when no Prometheus is rendered."""
    config = bundle.config("prometheus")
    if config is None:
        return None
    words = [str(w) for w in [*(config.container.get("command") or []), *(config.container.get("args") or [])]]
    features = {feature.strip() for word in words if word.startswith("--enable-feature=")
                for feature in word.partition("=")[2].split(",")}
    return EXPERIMENTAL_FLAG in features


def _relabels_normalised_labels(bundle: Bundle) -> bool:
    config = bundle.config("prometheus")
    jobs = dicts(as_dict(config.data).get("scrape_configs")) if config is not None else []
    return any(rule.get("target_label") in NORMALISED_LABELS
               for job in jobs for rule in dicts(as_list(job.get("metric_relabel_configs"))))


def _seconds_of(value: Any) -> float | None:
    return value.total_seconds() if isinstance(value, datetime.timedelta) and value.total_seconds() > 0 else None


def _show(window: float) -> str:
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if window >= size and window % size == 0:
            return f"{int(window // size)}{unit}"
    return f"{window:g}s"
