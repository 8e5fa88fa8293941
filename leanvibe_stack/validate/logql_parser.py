"""LogQL parsed offline, as Loki 3.7 parses it: the grammar (logql.lark) and the checks Loki runs after it.

No maintained Python LogQL parser exists, so the grammar is written here from Loki's own (grafana/loki
v3.7.6 `pkg/logql/syntax/syntax.y` and `lex.go`) for lark's LALR(1) parser.  Loki rejects some parsed
queries afterwards (`ParseExpr` → `validateExpr`, and the constructors in `ast.go`): a range aggregation
without the unwrap it needs, `topk` without its parameter, a stream selector whose every matcher matches the
empty value, a string with an escape Go does not know, a regex that does not compile.  `parse` runs those
checks too, so its verdict is the ruler's, and, unlike Loki, every error says where it is.

Regexes are compiled by Go's rules on RE2 (`leanvibe_stack.goregex`), as Loki compiles them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from leanvibe_stack import goregex

if TYPE_CHECKING:
    from lark import Lark, Token, Tree

GRAMMAR = Path(__file__).with_name("logql.lark")


class LogQLError(ValueError):
    """A query Loki would refuse: what is wrong, and where (1-based line and column)."""

    def __init__(self, problem: str, line: int, column: int) -> None:
        super().__init__(problem)
        self.problem, self.line, self.column = problem, line, column

    def __str__(self) -> str:
        where = f"column {self.column}" if self.line == 1 else f"line {self.line}, column {self.column}"
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~" or "!~"
    value: str  # unquoted


@dataclass(frozen=True)
class Selector:
    """A stream selector `{...}`: its text as written, its matchers and where it starts."""

    text: str
    matchers: tuple[Matcher, ...]
    line: int
    column: int


@dataclass(frozen=True)
class Query:
    text: str
    tree: Tree[Token]

    @property
    def selectors(self) -> list[Selector]:
        """Every stream selector, in order."""
        found = [_selector(self.text, node) for node in self.tree.iter_subtrees() if node.data == "selector"]
        return sorted(found, key=lambda selector: (selector.line, selector.column))

    @property
    def is_metric(self) -> bool:
        """A metric query (samples) rather than a log query (lines)."""
        return _is_sample(_unwrap_parens(self.tree.children[0]))


def parse(text: str) -> Query:
    """The parsed query; raises LogQLError where Loki's parser (or its validation) would refuse it."""
    from lark.exceptions import UnexpectedInput

    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    _Validator(text).check(tree)
    return Query(text, tree)


@cache
def _parser() -> Lark:
    """The LALR parser, built once per process.  Building its tables takes ~200 ms, so lark keeps them in a
    file in the temporary directory keyed by the grammar's hash (`cache=True`; ~15 ms to load, rebuilt when
    the grammar or lark changes, and ignored when the file cannot be read or written)."""
    from lark import Lark

    return Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="basic", propagate_positions=True,
                maybe_placeholders=False, cache=True)


# ---- syntax errors: where, and what the grammar expected there -------------------------------------------

TERMINAL_NAMES = {
    "STRING": "a string", "IDENTIFIER": "a label name", "NUMBER": "a number", "DURATION": "a duration",
    "BYTES": "a byte size", "RANGE": "a range such as [5m]", "RANGE_OP": "a range function such as rate",
    "VECTOR_OP": "an aggregation such as sum", "FUNCTION_FLAG": "--strict or --keep-empty",
    "CONVERSION": "bytes, duration or duration_seconds", "$END": "the end of the query",
}


def _syntax_error(text: str, exc: Exception) -> LogQLError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        start = exc.pos_in_stream or 0
        found = text[start:start + 1]
        return LogQLError(f"unexpected character {found!r}", exc.line, exc.column)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            line, column = _end(text)
            return LogQLError(f"unexpected end of query{_expected(exc.accepts or exc.expected)}", line, column)
        return LogQLError(f"unexpected {_show(str(token))}{_expected(exc.accepts or exc.expected)}",
                          token.line or 1, token.column or 1)
    if isinstance(exc, UnexpectedEOF):
        line, column = _end(text)
        return LogQLError(f"unexpected end of query{_expected(exc.expected)}", line, column)
    return LogQLError(str(exc), 1, 1)


def _expected(names: Iterable[str] | None) -> str:
    if not names:
        return ""
    shown = sorted({_terminal_name(name) for name in names})
    more = f" (or {len(shown) - 8} more)" if len(shown) > 8 else ""
    return f"; expected {', '.join(shown[:8])}{more}"


def _terminal_name(name: str) -> str:
    if name in TERMINAL_NAMES:
        return TERMINAL_NAMES[name]
    terminal = next((t for t in _parser().terminals if t.name == name), None)
    if terminal is None:
        return name
    if terminal.pattern.type == "str":
        return repr(terminal.pattern.value)
    keyword = re.match(r"[a-z_]+(?=\()", terminal.pattern.value)  # e.g. /json(?![\w])/i
    return keyword.group(0) if keyword else name


def _show(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:37] + "...")


def _end(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


# ---- what Loki checks after parsing -----------------------------------------------------------------------

# ast.go RangeAggregationExpr.validate: which range functions take an unwrap, which need one, which group.
NEEDS_UNWRAP = frozenset({"avg_over_time", "sum_over_time", "max_over_time", "min_over_time", "stddev_over_time",
                          "stdvar_over_time", "quantile_over_time", "rate_counter", "first_over_time",
                          "last_over_time"})
TAKES_UNWRAP = NEEDS_UNWRAP | {"rate", "absent_over_time"}
GROUPS = frozenset({"avg_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time", "max_over_time",
                    "min_over_time", "first_over_time", "last_over_time"})
TAKES_K = frozenset({"topk", "bottomk", "approx_topk"})
LOGICAL = frozenset({"and", "or", "unless"})

# Go string literal escapes (strconv.Unquote, as Prometheus' strutil.Unquote applies them to "...").
_ESCAPE = re.compile(r'\\(?:([abfnrtv\\"])|x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))',
                     re.DOTALL)
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
_PROM_DURATION = re.compile(r"(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?")
_GO_DURATION = re.compile(r"-?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+")
_PATTERN_CAPTURE = re.compile(r"<(_|[A-Za-z_]\w*)>")
_LABEL_NAME = re.compile(r"[A-Za-z_]\w*")


def unquote(token: str) -> str:
    """A LogQL string's value; raises ValueError for an escape Go does not know (`"\\d"`)."""
    if token.startswith("`"):
        return token[1:-1]

    def replace(match: re.Match[str]) -> str:
        simple, hex2, octal, u4, u8, bad = match.groups()
        if bad is not None:
            raise ValueError(f"unknown escape sequence \\{bad} (write \\\\{bad} for a backslash, "
                             "or use a `raw string`)")
        if simple is not None:
            return _SIMPLE[simple]
        if octal is not None:
            if int(octal, 8) > 255:
                raise ValueError(f"octal escape \\{octal} is out of range")
            return chr(int(octal, 8))
        code = int(hex2 or u4 or u8, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"escape {match.group(0)} is not a valid Unicode code point")
        return chr(code)

    return _ESCAPE.sub(replace, token[1:-1])


def is_duration(text: str) -> bool:
    """Loki's parseDuration: Prometheus syntax (`1h30m`, `2d`) or Go's (`1.5h`, `300us`)."""
    return bool(text) and (text == "0" or bool(_PROM_DURATION.fullmatch(text)) or bool(_GO_DURATION.fullmatch(text)))


def matches_empty(op: str, value: str) -> bool:
    """Whether a matcher is satisfied by a missing label (the empty value)."""
    if op in ("=", "!="):
        return (value == "") == (op == "=")
    try:
        matches = goregex.compile(value).fullmatch("")
    except goregex.GoRegexError:
        return True
    return not matches if op == "!~" else matches


class _Validator:
    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, where: Tree[Token] | Token, problem: str) -> LogQLError:
        from lark import Token

        if isinstance(where, Token):
            return LogQLError(problem, where.line or 1, where.column or 1)
        meta = where.meta
        return LogQLError(problem, getattr(meta, "line", 1), getattr(meta, "column", 1))

    def check(self, tree: Tree[Token]) -> None:
        for token in tree.scan_values(lambda v: True):
            self.check_token(token)
        for node in tree.iter_subtrees():  # bottom-up: inner problems first, as Loki finds them
            handler = getattr(self, f"check_{node.data}", None)
            if handler is not None:
                handler(node)

    def check_token(self, token: Token) -> None:
        if token.type == "STRING":
            try:
                unquote(token)
            except ValueError as exc:
                raise self.fail(token, f"invalid string {_show(str(token))}: {exc}") from None
        elif token.type == "RANGE":
            inner = token[1:-1]
            if not (inner == "0" or (inner and _PROM_DURATION.fullmatch(inner))):
                raise self.fail(token, f"invalid range {token}: expected a duration such as [5m] or [1h30m]")
        elif token.type == "DURATION" and not is_duration(str(token)):
            raise self.fail(token, f"invalid duration {token!s}")

    # -- selectors and label filters
    def check_selector(self, node: Tree[Token]) -> None:
        matchers = _selector(self.text, node).matchers
        if not any(not matches_empty(m.op, m.value) for m in matchers):
            raise self.fail(node, "a stream selector needs at least one matcher that does not match the empty "
                                  'value: {app=~".*"} does not, {app=~".+"} does')

    def check_matcher(self, node: Tree[Token]) -> None:
        name, op, value = _tokens(node)
        if op in ("=~", "!~"):
            self.regex(value, unquote(value))

    def regex(self, where: Token, pattern: str, *, what: str = "regex") -> goregex.GoRegex:
        try:
            return goregex.compile(pattern)
        except goregex.GoRegexError as exc:
            raise self.fail(where, f"invalid {what} {pattern!r}: {exc}") from None

    # -- parser stages
    def check_regexp(self, node: Tree[Token]) -> None:
        token = _tokens(node, "STRING")[0]
        compiled = self.regex(token, unquote(token), what="regexp parser")
        if not compiled.groupindex:
            raise self.fail(token, "the regexp parser needs at least one named capture group, such as (?P<name>...)")

    def check_pattern(self, node: Tree[Token]) -> None:
        token = _tokens(node, "STRING")[0]
        pattern = unquote(token)
        names = [m.group(1) for m in _PATTERN_CAPTURE.finditer(pattern) if m.group(1) != "_"]
        if not names:
            raise self.fail(token, "the pattern parser needs at least one named capture, such as <status>")
        if any(m.end() == n.start() for m, n in zip(_PATTERN_CAPTURE.finditer(pattern),
                                                     list(_PATTERN_CAPTURE.finditer(pattern))[1:], strict=False)):
            raise self.fail(token, "the pattern has two captures in a row, which it cannot split")
        duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if duplicate:
            raise self.fail(token, f"the pattern captures <{duplicate}> twice")

    # -- metric queries
    def check_range_aggregation(self, node: Tree[Token]) -> None:
        op_token = _tokens(node)[0]
        op = str(op_token).lower()
        parameter = next(iter(_tokens(node, "NUMBER")), None)
        log_range = _unwrap_parens(_trees(node, "log_range", "paren_range")[0])
        grouped = bool(_trees(node, "grouping"))
        unwrapped = bool(_trees(log_range, "unwrap"))
        if parameter is not None and op != "quantile_over_time":
            raise self.fail(op_token, f"{op} takes no parameter (only quantile_over_time does)")
        if parameter is None and op == "quantile_over_time":
            raise self.fail(op_token, "quantile_over_time needs its parameter, e.g. quantile_over_time(0.99, ...)")
        if grouped and op not in GROUPS:
            raise self.fail(op_token, f"grouping not allowed for {op} aggregation")
        if unwrapped and op not in TAKES_UNWRAP:
            raise self.fail(op_token, f"invalid aggregation {op} with unwrap")
        if not unwrapped and op in NEEDS_UNWRAP:
            raise self.fail(op_token, f"invalid aggregation {op} without unwrap (add `| unwrap <label>`)")

    def check_vector_aggregation(self, node: Tree[Token]) -> None:
        op_token = _tokens(node)[0]
        op = str(op_token).lower()
        parameter = next(iter(_tokens(node, "NUMBER")), None)
        grouping = next(iter(_trees(node, "grouping")), None)
        self.sample_operand(node, op)
        if op in TAKES_K:
            if parameter is None:
                raise self.fail(op_token, f"parameter required for operation {op}")
            if not re.fullmatch(r"\d+", str(parameter)) or int(parameter) <= 0:
                raise self.fail(parameter, f"{op} needs a whole number greater than 0, not {parameter}")
            if op == "approx_topk" and grouping is not None:
                raise self.fail(grouping, "grouping not allowed for approx_topk aggregation")
        elif parameter is not None:
            raise self.fail(parameter, f"{op} takes no parameter")
        if op in ("sort", "sort_desc") and grouping is not None and _trees(grouping, "labels"):
            raise self.fail(grouping, f"{op} does not allow grouping")

    def check_label_replace(self, node: Tree[Token]) -> None:
        self.sample_operand(node, "label_replace")
        regex = _tokens(node, "STRING")[3]
        self.regex(regex, unquote(regex), what="regex in label_replace")

    def sample_operand(self, node: Tree[Token], op: str) -> None:
        operand = next(c for c in _trees(node) if c.data != "grouping")
        if not _is_sample(_unwrap_parens(operand)):
            raise self.fail(operand, f"{op} needs a metric expression, not a log query (wrap it in a range "
                                     "aggregation such as count_over_time(...[5m]))")

    def check_binary(self, node: Tree[Token]) -> None:
        from lark import Tree

        left, op_node, right = node.children[0], node.children[1], node.children[-1]
        op = str(op_node.children[0] if isinstance(op_node, Tree) else op_node).lower()
        for side, leg in (("left", left), ("right", right)):
            inner = _unwrap_parens(leg)
            if not _is_sample(inner):
                raise self.fail(leg, f"the {side} side of {op} is a log query, not a metric expression")
            if op in LOGICAL and _is_tree(inner, "literal"):
                raise self.fail(leg, f"the {side} side of {op} is a number; {op} needs vectors on both sides")


# ---- tree helpers -----------------------------------------------------------------------------------------

def _is_tree(node: object, *names: str) -> bool:
    from lark import Tree

    return isinstance(node, Tree) and (not names or node.data in names)


def _trees(node: Tree[Token] | Token, *names: str) -> list[Tree[Token]]:
    """The node's child trees (of those names, if given)."""
    from lark import Tree

    children = node.children if isinstance(node, Tree) else []
    return [c for c in children if isinstance(c, Tree) and (not names or c.data in names)]


def _tokens(node: Tree[Token], kind: str | None = None) -> list[Token]:
    """The node's child tokens (of that terminal, if given)."""
    from lark import Token

    return [c for c in node.children if isinstance(c, Token) and (kind is None or c.type == kind)]


def _unwrap_parens(node: Tree[Token] | Token) -> Tree[Token] | Token:
    from lark import Tree

    while isinstance(node, Tree) and node.data in ("paren", "paren_range"):
        node = next(c for c in node.children if isinstance(c, Tree))
    return node


def _is_sample(node: Tree[Token] | Token) -> bool:
    return not _is_tree(node, "log_expr")


def _selector(text: str, node: Tree[Token]) -> Selector:
    matchers = tuple(Matcher(str(name), str(op), unquote(value))
                     for name, op, value in (_tokens(c) for c in _trees(node, "matcher")))
    meta = node.meta
    return Selector(text[meta.start_pos:meta.end_pos], matchers, meta.line, meta.column)

