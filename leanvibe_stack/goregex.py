"""Go's `regexp` for every regex the stack's Go programs read: one engine for the whole tool.

Prometheus (relabelling, PromQL), Alertmanager (matchers, `match_re`, inhibit rules) and Loki (LogQL) all
compile their regexes with Go's `regexp`, which follows RE2.  This module runs them on Google's RE2 (the
`google-re2` package): the same syntax, the same leftmost-first semantics, ASCII `\\d \\w \\s \\b`, `$` only
at the end of the text, Unicode classes and case folding from Unicode tables, and linear time, so no
pattern can hang the tool (Python's `re` backtracks: `(a+)+b` against 30 `a`s never finished).

Where Go's `regexp/syntax` differs from C++ RE2, Go wins; each rule below was checked against amtool
(`amtool check-config` on a matcher holding the pattern):

* `\\C` (any byte) is C++ only: Go refuses it ("invalid escape sequence").
* Capture-group names are `[A-Za-z0-9_]+` in Go; C++ also takes other Unicode word characters.
* Go refuses a tree more than 1000 levels deep ("expression nests too deeply"); the anchoring adds two
  levels, so 998 nested capture groups is Go's limit.  Counted here over capture groups, the nesting real
  patterns can reach (Go also counts some operator nodes; a pattern that deep is not written by hand).
* C++ RE2 refuses a program over its memory budget that Go compiles (`\\pL{1000}` is 8 MB of UTF-8
  automaton): the budget is raised so what Go accepts compiles.
* `(?<name>...)`: Go accepts it since 1.22; Alertmanager 0.34 is built with Go 1.26, so it is accepted
  (Debian's amtool 0.25, built with an older Go, refuses it).

Repetition counts over 1000 (also nested: `(a{100}){11}`), possessive `a++`, `\\u0041`, `[\\b]`, `(?-)`,
backreferences and lookaround are refused by both engines alike.  Go matches invalid UTF-8 bytes as
U+FFFD; text that carries such bytes (as surrogate escapes, e.g. from the command line) is matched that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]

MAX_HEIGHT = 1000  # regexp/syntax maxHeight
_GO_CAPTURE_NAME = re.compile(r"[A-Za-z0-9_]+")
_SURROGATES = re.compile("[\ud800-\udfff]")
_NAMED_GROUP = re.compile(r"\(\?P?<([^>]*)>")


class GoRegexError(ValueError):
    """A pattern Go's regexp refuses; the message follows Go's `error parsing regexp: ...` wording."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # errors are raised, not printed to stderr
    options.max_mem = 1 << 30  # Go has no such budget: accept what Go compiles (see the docstring)
    return options


_OPTIONS = _options()


@dataclass(frozen=True)
class GoRegex:
    """A compiled pattern; `fullmatch` is what Prometheus and Alertmanager do with their `^(?:...)$`."""

    pattern: str
    _anchored: Any = field(repr=False, compare=False)
    _unanchored: Any = field(repr=False, compare=False)

    @property
    def groups(self) -> int:
        """Number of capture groups (as Go's NumSubexp)."""
        return int(self._unanchored.groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._unanchored.groupindex)

    def fullmatch(self, text: str) -> bool:
        """Whether the whole text matches: Prometheus/Alertmanager's anchored `^(?:pattern)$`."""
        return self._anchored.search(_go_text(text)) is not None

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere (Go's MatchString: LogQL line filters)."""
        return self._unanchored.search(_go_text(text)) is not None


def _go_text(text: str) -> str:
    """Invalid UTF-8 (surrogate escapes) is read by Go's matcher as U+FFFD, one per byte."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


@lru_cache(maxsize=4096)
def compile(pattern: str, *, dot_nl: bool = False) -> GoRegex:  # noqa: A001 - used as goregex.compile
    """Compile like Go's regexp.Compile; GoRegexError when Go would refuse the pattern.

    `fullmatch` anchors as Alertmanager does, `^(?:pattern)$`; with dot_nl as Prometheus 3 does for
    relabelling and PromQL, `^(?s:pattern)$` (`.` also matches a newline; relabel.NewRegexp).
    """
    _go_only_rules(pattern)
    try:
        unanchored = re2.compile(pattern, _OPTIONS)
        anchored = re2.compile(f"^(?s:{pattern})$" if dot_nl else f"^(?:{pattern})$", _OPTIONS)
    except re2.error as exc:
        raise GoRegexError(f"error parsing regexp: {_message(exc)}") from None
    except UnicodeError:
        raise GoRegexError("error parsing regexp: invalid UTF-8") from None
    return GoRegex(pattern, anchored, unanchored)


def is_valid(pattern: str) -> bool:
    try:
        compile(pattern)
    except GoRegexError:
        return False
    return True


# C++ RE2's error words → Go's (regexp/syntax ErrorCode strings), so messages read like amtool's.
_GO_WORDS = {
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "invalid named capture group": "invalid named capture",
    "pattern too large - compile failed": "expression too large",
}


def _message(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    words, _, fragment = text.partition(": ")
    words = _GO_WORDS.get(words, words)
    return f"{words}: `{fragment}`" if fragment else words


def _go_only_rules(pattern: str) -> None:
    """What Go refuses and C++ RE2 accepts (\\C, non-ASCII capture names, nesting depth)."""
    open_groups: list[bool] = []  # per open group: whether it captures
    depth = deepest = 0
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            nxt = pattern[i + 1:i + 2]
            if nxt == "Q" and not in_class:  # \Q...\E is literal text
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            if nxt == "C":
                raise GoRegexError("error parsing regexp: invalid escape sequence: `\\C`")
            i += 2
            continue
        if in_class:
            if char == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                i = i + 1 if end < 0 else end + 2
                continue
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1
            i += pattern.startswith("^", i)
            i += pattern.startswith("]", i)  # a leading ] is a literal member
            continue
        elif char == "(":
            named = _NAMED_GROUP.match(pattern, i)
            if named and not _GO_CAPTURE_NAME.fullmatch(named.group(1)):
                raise GoRegexError(f"error parsing regexp: invalid named capture: `{named.group(0)}`")
            captures = not pattern.startswith("(?", i) or named is not None
            open_groups.append(captures)
            depth += captures
            deepest = max(deepest, depth)
        elif char == ")" and open_groups:
            depth -= open_groups.pop()
        i += 1
    if deepest + 2 > MAX_HEIGHT:  # + the anchoring concatenation and the innermost node
        raise GoRegexError("error parsing regexp: expression nests too deeply")
