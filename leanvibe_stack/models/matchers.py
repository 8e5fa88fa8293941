r"""Alertmanager 0.34's label matchers: how it parses them, and what they match.

Alertmanager 0.34 (`matcher/compat/parse.go`, default "fallback" mode, which amtool and the server both
run) parses every matcher twice: with the UTF-8 parser (`matcher/parse`) and the classic one
(`pkg/labels/parse.go`).  The classic result wins whenever the classic parser accepts the input (the two
agree, or they disagree and Alertmanager logs a warning and keeps the classic one); input only the UTF-8
parser reads (a quoted or non-classic label name such as `"service name"` or `foo.bar`) is accepted from
it; when both refuse, the classic parser's error is reported.  So:

* `parse_matchers` reads one `matchers:` entry (several comma-separated matchers, optional braces),
  `parse_matcher` one matcher (a `routes test` label argument: braces refused, exactly one matcher);
* the classic grammar: `[a-zA-Z_:][a-zA-Z0-9_:]*`, an operator, a value optionally in double quotes with
  OpenMetrics escapes (`\\`, `\"`, `\n`; any other backslash is literal), whitespace around tokens is
  Go's `\s` (ASCII only), values must be valid UTF-8;
* the UTF-8 grammar: tokens quoted (Go `strconv.Unquote`) or unquoted (no whitespace nor `{}!=~,\\"'\``).

Regexes are Go's (`leanvibe_stack.goregex`), anchored as `^(?:value)$`.  `legacy_matchers` turns the
deprecated `match` / `match_re` maps into the same objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from leanvibe_stack import goregex

MatchType = Literal["=", "!=", "=~", "!~"]


class MatcherError(ValueError):
    """A matcher Alertmanager would reject."""


# pkg/labels/parse.go; Go's \s is [\t\n\f\r ] and its $ is the end of the text.
_GO_SPACE = "[\t\n\f\r ]"
_MATCHER_RE = re.compile(rf"{_GO_SPACE}*([a-zA-Z_:][a-zA-Z0-9_:]*){_GO_SPACE}*(=~|=|!=|!~){_GO_SPACE}*(.*?)"
                         rf"{_GO_SPACE}*\Z", re.DOTALL)
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # model.LabelNameRE, for match/match_re keys
_OPS: dict[str, MatchType] = {"=": "=", "!=": "!=", "=~": "=~", "!~": "!~"}
# unicode.IsSpace: ASCII and Latin-1 spaces, then the White_Space property (Python's isspace() adds \x1c-\x1f).
GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                      "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_RESERVED = frozenset("{}!=~,\\\"'`") | GO_SPACES  # matcher/parse/lexer.go isReserved


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regex matchers are fully anchored, as in Alertmanager."""

    name: str
    op: MatchType
    value: str
    regex: goregex.GoRegex | None = field(default=None, compare=False, repr=False)

    @classmethod
    def new(cls, name: str, op: MatchType, value: str) -> Matcher:
        """Like labels.NewMatcher: compile the anchored regex of `=~` and `!~`."""
        if op not in _OPS:
            raise MatcherError(f"unknown match type {op!r}")
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = goregex.compile(value)
            except goregex.GoRegexError as exc:
                raise MatcherError(f"invalid regular expression {value!r}: {exc}") from exc
        return cls(name, op, value, regex)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        found = self.regex.fullmatch(value)
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        """Matcher.String: a name the classic grammar cannot hold is quoted too."""
        name = _quoted(self.name) if any(char in _RESERVED for char in self.name) else self.name
        return f"{name}{self.op}{_quoted(self.value)}"


def _quoted(text: str) -> str:
    """OpenMetrics escaping in double quotes (what both parsers read back)."""
    return '"' + text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


def parse_matcher(text: str) -> Matcher:
    """One matcher, as `amtool config routes test` reads a label argument (compat.Matcher, fallback mode)."""
    if text.startswith("{") or text.endswith("}"):
        raise MatcherError(f"unexpected open or close brace: {text}")
    try:
        return classic_matcher(text)
    except MatcherError as classic:
        try:
            found = utf8_matchers(text)
        except MatcherError:
            raise classic from None
        if len(found) != 1:
            raise classic from None
        return found[0]


def parse_matchers(text: str) -> list[Matcher]:
    """One `matchers:` entry: comma-separated matchers, optionally in braces (compat.Matchers, fallback mode)."""
    try:
        return classic_matchers(text)
    except MatcherError as classic:
        try:
            return utf8_matchers(text)
        except MatcherError:
            raise classic from None


def classic_only(text: str) -> str | None:
    """The entry as both parsers read it alike, when 0.34 reads it only through the classic fallback (it
    then logs a warning; `--enable-feature=utf8-strict-mode` and a later release refuse it); else None."""
    try:
        classic = classic_matchers(text)
    except MatcherError:
        return None
    try:
        if utf8_matchers(text) == classic:
            return None
    except MatcherError:
        pass
    return ", ".join(str(m) for m in classic)


# --------------------------------------------------------------------------------------------
# The classic parser (pkg/labels/parse.go)
# --------------------------------------------------------------------------------------------


def classic_matcher(text: str) -> Matcher:
    """labels.ParseMatcher: `severity="critical"`, `team=platform`, `service=~"neo4j|redis"`."""
    found = _MATCHER_RE.match(text)
    if found is None:
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = found.group(1), found.group(2), found.group(3)
    expect_trailing_quote = raw.startswith('"')
    if expect_trailing_quote:
        raw = raw[1:]
    if not _valid_utf8(raw):
        raise MatcherError(f"matcher value not valid UTF-8: {found.group(3)}")
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


def classic_matchers(text: str) -> list[Matcher]:
    """labels.ParseMatchers: split on commas outside double quotes, after trimming one `{` and one `}`."""
    text = text.removeprefix("{").removesuffix("}")
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
    if last := "".join(token).strip(_GO_TRIM):
        tokens.append(last)
    return [classic_matcher(t) for t in tokens]


_GO_TRIM = "".join(GO_SPACES)  # strings.TrimSpace trims unicode.IsSpace


def _valid_utf8(text: str) -> bool:
    """Go strings are bytes: invalid UTF-8 reaches Python as surrogate escapes (os.fsdecode)."""
    return not any("\ud800" <= char <= "\udfff" for char in text)


# --------------------------------------------------------------------------------------------
# The UTF-8 parser (matcher/parse: lexer.go, parse.go, token.go)
# --------------------------------------------------------------------------------------------


def _lex(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: `{` `}` `,` an operator, `quoted` or `unquoted`."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "{},":
            tokens.append((char, char))
            i += 1
        elif char in "=!":
            op = text[i:i + 2] if text[i:i + 2] in ("=~", "!=", "!~") else "="
            if op == "=" and char == "!":
                raise MatcherError(f"{text[i:i + 2]}: expected one of '=~'")
            tokens.append(("op", op))
            i += len(op)
        elif char == '"':
            end, escaped = i + 1, False
            while end < n and (escaped or text[end] != '"'):
                escaped = not escaped and text[end] == "\\"
                end += 1
            if end >= n:
                raise MatcherError(f"{text[i:]}: missing end \"")
            tokens.append(("quoted", text[i:end + 1]))
            i = end + 1
        elif char in GO_SPACES:
            i += 1
        elif char in _RESERVED:
            raise MatcherError(f"{char}: invalid input")
        else:
            end = i
            while end < n and text[end] not in _RESERVED:
                end += 1
            tokens.append(("unquoted", text[i:end]))
            i = end
    return tokens


def utf8_matchers(text: str) -> list[Matcher]:
    """parse.Matchers: `{a="x", "b c"=~"y.*",}`; braces optional but paired, a trailing comma allowed."""
    tokens = _lex(text)
    braced = bool(tokens) and tokens[0][0] == "{"
    i = 1 if braced else 0
    found: list[Matcher] = []
    while i < len(tokens) and tokens[i][0] != "}":
        if i + 2 >= len(tokens):
            raise MatcherError("unexpected end of input: expected a matcher such as name=\"value\"")
        (name_kind, name), (op_kind, op), (value_kind, value) = tokens[i:i + 3]
        if name_kind not in ("quoted", "unquoted") or op_kind != "op" or value_kind not in ("quoted", "unquoted"):
            raise MatcherError(f"unexpected {name}{op}{value}")
        found.append(Matcher.new(_unquote(name, name_kind), _OPS[op], _unquote(value, value_kind)))
        i += 3
        if i < len(tokens) and tokens[i][0] == ",":
            i += 1
        elif i < len(tokens) and tokens[i][0] != "}":
            raise MatcherError(f"unexpected {tokens[i][1]}: expected a comma or close brace")
    if braced != (i < len(tokens) and tokens[i][0] == "}"):
        raise MatcherError("expected close brace" if braced else "expected opening brace")
    if i + braced < len(tokens):
        raise MatcherError(f"{tokens[i + braced][1]}: expected end of input")
    return found


_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
               '"': '"'}
_GO_ESCAPE_RE = re.compile(r'\\(?:([abfnrtv\\"])|x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))')


def _unquote(token: str, kind: str) -> str:
    """token.unquote: strconv.Unquote of a double-quoted token, which must then be valid UTF-8."""
    if kind == "unquoted":
        return token
    body = token[1:-1]
    if "\n" in body:
        raise MatcherError(f"{token}: invalid input")
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] != "\\":
            out += body[i].encode("utf-8", "surrogateescape")
            i += 1
            continue
        escape = _GO_ESCAPE_RE.match(body, i)
        if escape is None:
            raise MatcherError(f"{token}: invalid input")
        simple, hex2, octal, u4, u8 = escape.groups()
        if simple:
            out += _GO_ESCAPES[simple].encode()
        elif hex2 or octal:
            byte = int(hex2, 16) if hex2 else int(octal, 8)
            if byte > 255:
                raise MatcherError(f"{token}: invalid input")
            out.append(byte)
        else:
            code = int(u4 or u8, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise MatcherError(f"{token}: invalid input")
            out += chr(code).encode()
        i = escape.end()
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise MatcherError("quoted string contains invalid UTF-8 code points") from None


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
            if not _LABEL_NAME_RE.fullmatch(str(name)):
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


def go_string(value: Any) -> str:
    """A YAML scalar as the Go programs read it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
