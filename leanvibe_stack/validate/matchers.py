"""Alertmanager's label matchers, as version 0.25 parses and applies them.

* `parse_matchers` / `parse_matcher` follow `pkg/labels/parse.go` (comma-separated matchers, optional
  braces, quoted or unquoted values, OpenMetrics escapes, label names `[a-zA-Z_:][a-zA-Z0-9_:]*`);
  `legacy_matchers` turns the deprecated `match` / `match_re` maps into the same objects.
* Regular expressions are RE2 syntax, fully anchored (`^(?:...)$`); `go_regex` translates the
  constructs Python spells differently and rejects the ones RE2 does not accept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MatchType = Literal["=", "!=", "=~", "!~"]


class MatcherError(ValueError):
    """A matcher Alertmanager would reject."""


_MATCHER_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")  # model.LabelNameRE, for match/match_re keys
_OPS: dict[str, MatchType] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regex matchers are fully anchored, as in Alertmanager."""

    name: str
    op: MatchType
    value: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def new(cls, name: str, op: MatchType, value: str) -> Matcher:
        """Like labels.NewMatcher: compile the anchored regex of `=~` and `!~`."""
        if op not in _OPS:
            raise MatcherError(f"unknown match type {op!r}")
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = re.compile(go_regex(value))
            except re.error as exc:
                raise MatcherError(f"invalid regular expression {value!r}: {exc}") from exc
        return cls(name, op, value, regex)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        found = self.regex.fullmatch(value) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """One matcher, e.g. `severity="critical"`, `team=platform`, `service=~"neo4j|redis"`."""
    found = _MATCHER_RE.match(text)
    if found is None:
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = found.group(1), found.group(2), found.group(3)
    expect_trailing_quote = raw.startswith('"')
    if expect_trailing_quote:
        raw = raw[1:]
    value: list[str] = []
    escaped = False
    for i, char in enumerate(raw):
        if escaped:
            escaped = False
            if char == "n":
                value.append("\n")
            elif char in '"\\':
                value.append(char)
            else:  # a spurious escape: the backslash is literal
                value.append("\\" + char)
            continue
        if char == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            value.append("\\")  # a trailing backslash is literal
        elif char == '"':
            if not expect_trailing_quote or i < len(raw) - 1:
                raise MatcherError(f"matcher value contains unescaped double quote: {found.group(3)}")
            expect_trailing_quote = False
        else:
            value.append(char)
    if expect_trailing_quote:
        raise MatcherError(f"matcher value contains unescaped double quote: {found.group(3)}")
    return Matcher.new(name, _OPS[op], "".join(value))


def parse_matchers(text: str) -> list[Matcher]:
    """A comma-separated list (optionally in braces), as one `matchers:` entry may hold."""
    if text.startswith("{"):
        text = text[1:]
    if text.endswith("}"):
        text = text[:-1]
    tokens: list[str] = []
    token: list[str] = []
    inside_quotes = escaped = False
    for char in text:
        if char == "," and not inside_quotes:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if not escaped:
                inside_quotes = not inside_quotes
            else:
                escaped = False
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    if last := "".join(token).strip():
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]


def legacy_matchers(match: Any, match_re: Any) -> list[Matcher]:
    """The deprecated `match` (equality) and `match_re` (regex) maps, as Alertmanager converts them."""
    found: list[Matcher] = []
    sources: tuple[tuple[str, MatchType, Any], ...] = (("match", "=", match), ("match_re", "=~", match_re))
    for key, op, mapping in sources:
        if mapping is None:
            continue
        if not isinstance(mapping, Mapping):
            raise MatcherError(f"{key} must be a map of label name to value")
        for name, value in mapping.items():
            if not _LABEL_NAME_RE.match(str(name)):
                raise MatcherError(f"invalid label name {str(name)!r} in {key}")
            found.append(Matcher.new(str(name), op, go_string(value)))
    return found


def config_matchers(block: Mapping[str, Any], prefix: str = "") -> list[Matcher]:
    """Every matcher of a route (prefix "") or one side of an inhibit rule ("source_" / "target_")."""
    found = legacy_matchers(block.get(f"{prefix}match"), block.get(f"{prefix}match_re"))
    lines = block.get(f"{prefix}matchers")
    if lines is None:
        return found
    if not isinstance(lines, list):
        raise MatcherError(f"{prefix}matchers must be a list of strings")
    for line in lines:
        found.extend(parse_matchers(go_string(line)))
    return found


def matches_all(matchers: tuple[Matcher, ...] | list[Matcher], labels: Mapping[str, str]) -> bool:
    """Alertmanager's Matchers.Matches: a label the alert lacks has the empty value."""
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


# RE2 → Python `re`.  RE2 has no lookaround or backreferences (rejected here, as Alertmanager would),
# allows flag groups such as `(?i)` anywhere (Python only at the very start, so they become scoped
# groups), knows POSIX classes inside brackets, and its \d \w \s are ASCII-only.
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_ASCII_ESCAPES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_FLAG_GROUP_RE = re.compile(r"\(\?([a-zA-Z-]*)([:)])")
_REPEAT_RE = re.compile(r"\{\d+(,\d*)?\}")


def go_regex(pattern: str) -> str:
    """The anchored Python equivalent of Alertmanager's `^(?:pattern)$` (RE2 syntax)."""
    out: list[str] = []
    closes = [0]  # per open group: scoped-flag groups to close with it
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= n:
                raise re.error("trailing backslash at end of expression")
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E quotes literally
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if nxt in "123456789" and not in_class:
                raise re.error(f"invalid escape sequence \\{nxt} (RE2 has no backreferences)")
            if nxt in "pP":
                raise re.error("Unicode classes (\\p) are not supported by this checker")
            if nxt == "Z":
                raise re.error("invalid escape sequence \\Z")
            if nxt in _ASCII_ESCAPES:
                out.append(_ASCII_ESCAPES[nxt] if in_class else f"[{_ASCII_ESCAPES[nxt]}]")
            else:
                out.append("\\Z" if nxt == "z" else char + nxt)
            i += 2
            continue
        if in_class:
            if char == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2:end] if end > 0 else ""
                if name not in _POSIX_CLASSES:
                    raise re.error(f"character class [:{name}:] is not supported by this checker")
                out.append(_POSIX_CLASSES[name])
                i = end + 2
                continue
            if char == "]":
                in_class = False
                out.append("]")
            else:  # characters Python gives set-operation meaning to are literal in RE2
                out.append("\\" + char if char in "[&~|" else char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append("[")
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):  # a leading ] is literal
                out.append("\\]")
                i += 1
            continue
        if char == "(":
            if pattern.startswith("(?P<", i):
                out.append("(?P<")
                closes.append(0)
                i += 4
                continue
            if pattern.startswith("(?", i):
                flags = _FLAG_GROUP_RE.match(pattern, i)
                if flags is None or set(flags.group(1)) - set("imsU-"):
                    raise re.error(f"invalid or unsupported Perl syntax at {pattern[i:i + 4]!r}")
                if "U" in flags.group(1):
                    raise re.error("the ungreedy flag (?U) is not supported by this checker")
                out.append(f"(?{flags.group(1)}:" if flags.group(1).strip("-") else "(?:")
                if flags.group(2) == ")":  # (?i) applies to the rest of the enclosing group
                    closes[-1] += 1
                else:
                    closes.append(0)
                i = flags.end()
                continue
            closes.append(0)
            out.append("(")
        elif char == "{" and not _REPEAT_RE.match(pattern, i):
            out.append("\\{")  # RE2 reads a brace that is not {n}, {n,} or {n,m} literally; Python reads {,m}
        elif char == ")":
            if len(closes) == 1:
                raise re.error(f"unexpected ): {pattern}")
            out.append(")" * closes.pop() + ")")
        else:
            out.append(char)
        i += 1
    return "^(?:" + "".join(out) + ")" * closes[0] + ")$"


def go_string(value: Any) -> str:
    """A YAML scalar as the Go programs read it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
