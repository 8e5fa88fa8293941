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
* Go refuses a parsed tree more than 1000 levels high ("expression nests too deeply"): 998 nested capture
  groups pass, 999 do not.  `_height` models the tree Go's parser builds (see there).
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
    _check_height(pattern)
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
    """What Go refuses and C++ RE2 accepts: \\C, non-ASCII capture names (nesting: `_check_height`)."""
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
        i += 1


# --------------------------------------------------------------------------------------------
# Go's nesting limit (regexp/syntax: maxHeight = 1000 over the parsed tree)
# --------------------------------------------------------------------------------------------
# The height of the tree Go's parser builds for `^(?:pattern)$`, for a pattern RE2 has already accepted:
# a literal run (same case-folding flag), a class or an anchor is one node; a capture group, a repetition,
# a concatenation and an alternation each add one level; non-capturing groups add none and their
# concatenation or alternation merges into the enclosing one (Go's collapse).  An alternation is
# factored as Go's `factor` does: branches in a row that start with the same literal text become
# prefix + alternation of the rests (one level more), and single characters or classes in a row become
# one class; `[a]` is the literal a.  Checked against amtool on 867 pairs of nestings and 600 random
# nestings around the limit, all alike (998 nested capture groups pass, 999 do not).  Not modelled: Go
# caches heights by node while its factoring reuses nodes, so a factored alternation deep inside can
# count one level more in Go than in its final tree (seen with `(?:x(?:[ab]|ab(...)cd)|xy)`: 6, not 5).

_Node = tuple[str, int, list[Any]]  # kind (lit, one, node, concat, alt), height, parts; lit: [chars, fold]
_QUANTIFIER = re.compile(r"[*+?]|\{\d+(?:,\d*)?\}")
_ESCAPE = re.compile(r"\\(?:[pP](?:\{[^}]*\}|.)|x(?:\{[^}]*\}|[0-9A-Fa-f]{2})|[0-7]{1,3}|.)", re.DOTALL)
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_CLASS_ESCAPES = frozenset("dDwWsSpP")
_ANCHOR_ESCAPES = frozenset("AzbB")
_EMPTY: _Node = ("node", 1, [])


def _check_height(pattern: str) -> None:
    if len(pattern) >= MAX_HEIGHT - 2 and _height(pattern) > MAX_HEIGHT:  # each level costs a character
        raise GoRegexError("error parsing regexp: expression nests too deeply")


class _Frame:
    """An open group: whether it captures, its finished branches, the items of the current one, and the
    case-folding flag outside it and inside it (`(?i)` changes the latter for the rest of the group)."""

    def __init__(self, capture: bool, outer_fold: bool, fold: bool) -> None:
        self.capture, self.outer_fold, self.fold = capture, outer_fold, fold
        self.branches: list[_Node] = []
        self.items: list[_Node] = []


def _height(pattern: str) -> int:
    frames = [_Frame(False, False, False)]
    i, n = 0, len(pattern)
    while i < n:
        frame, char = frames[-1], pattern[i]
        quantifier = _QUANTIFIER.match(pattern, i)
        if quantifier:
            _quantify(frame.items)
            i = quantifier.end() + pattern.startswith("?", quantifier.end())
        elif pattern.startswith("\\Q", i):
            end = pattern.find("\\E", i + 2)
            for char_ in pattern[i + 2:n if end < 0 else end]:
                _literal(frame, char_)
            i = n if end < 0 else end + 2
        elif char == "\\":
            escape = _ESCAPE.match(pattern, i)
            end, kind = (escape.end() if escape else i + 2), pattern[i + 1:i + 2]
            if kind in _CLASS_ESCAPES or kind in _ANCHOR_ESCAPES:
                frame.items.append(("one" if kind in _CLASS_ESCAPES else "node", 1, []))
            else:
                _literal(frame, pattern[i:end])
            i = end
        elif char == "[":
            end = _class_end(pattern, i)
            if end == i + 3 and pattern[i + 1] not in "^\\":  # [a] is the literal a to Go
                _literal(frame, pattern[i + 1])
            else:
                frame.items.append(("one", 1, []))
            i = end
        elif char == "(":
            i = _open(frames, pattern, i)
        elif char == ")":
            done = frames.pop()
            node = _alternation([*done.branches, _concatenation(done.items)])
            parent = frames[-1].items
            if done.capture:
                parent.append(("node", node[1] + 1, []))
            elif node[0] == "concat" and not _QUANTIFIER.match(pattern, i + 1):
                parent.extend(node[2])  # Go's collapse: a concatenation inside a concatenation is one
            elif node[0] == "lit" and not _QUANTIFIER.match(pattern, i + 1):
                _append_literal(parent, node[2][0], node[2][1])  # pushed as a literal: joins the run before
            else:
                parent.append(node)
            i += 1
        elif char == "|":
            frame.branches.append(_concatenation(frame.items))
            frame.items = []
            i += 1
        else:
            if char in ".^$":
                frame.items.append(("one" if char == "." else "node", 1, []))
            else:
                _literal(frame, char)
            i += 1
    top = _alternation([*frames[0].branches, _concatenation(frames[0].items)])
    return top[1] if top[0] == "concat" else top[1] + 1  # ^ and $ join the top concatenation


def _open(frames: list[_Frame], pattern: str, i: int) -> int:
    """Enter a group (or apply `(?flags)`); the index after its opening."""
    frame = frames[-1]
    flags = _FLAGS.match(pattern, i)
    if flags:
        on, off, end = flags.groups()
        fold = ("i" in on or frame.fold) and "i" not in (off or "")
        if end == ")":  # (?i): the rest of this group
            frame.fold = fold
        else:
            frames.append(_Frame(False, frame.fold, fold))
        return flags.end()
    named = pattern.startswith(("(?P<", "(?<"), i)
    frames.append(_Frame(named or not pattern.startswith("(?", i), frame.fold, frame.fold))
    return pattern.index(">", i) + 1 if named else i + 1


def _literal(frame: _Frame, char: str) -> None:
    _append_literal(frame.items, (char,), frame.fold)


def _append_literal(items: list[_Node], chars: tuple[str, ...], fold: bool) -> None:
    """Go's maybeConcat: a literal joins the literal before it when both fold case alike."""
    if items and items[-1][0] == "lit" and items[-1][2][1] == fold:
        items[-1] = ("lit", 1, [(*items[-1][2][0], *chars), fold])
    else:
        items.append(("lit", 1, [chars, fold]))


def _quantify(items: list[_Node]) -> None:
    """A repetition applies to the last atom: the last character of a literal run, or the last item."""
    if not items:
        return
    kind, height, parts = items[-1]
    if kind == "lit" and len(parts[0]) > 1:
        items[-1] = ("lit", 1, [parts[0][:-1], parts[1]])
        items.append(("node", 2, []))
    else:
        items[-1] = ("node", height + 1, [])


def _concatenation(items: list[_Node]) -> _Node:
    if not items:
        return _EMPTY
    if len(items) == 1:
        return items[0]
    return ("concat", 1 + max(item[1] for item in items), list(items))


def _leading(node: _Node) -> tuple[tuple[str, ...], bool] | None:
    first = node[2][0] if node[0] == "concat" else node
    return (first[2][0], first[2][1]) if first[0] == "lit" else None


def _without_prefix(node: _Node, length: int) -> _Node:
    if node[0] == "lit":
        rest = node[2][0][length:]
        return ("lit", 1, [rest, node[2][1]]) if rest else _EMPTY
    first, *others = node[2]
    rest = first[2][0][length:]
    items = ([("lit", 1, [rest, first[2][1]])] if rest else []) + others
    return _concatenation(items)


def _alternation(branches: list[_Node]) -> _Node:
    flat: list[_Node] = []
    for branch in branches:
        flat.extend(branch[2] if branch[0] == "alt" else [branch])
    factored: list[_Node] = []
    start = 0
    while start < len(flat):  # round 1 of Go's factor: a common literal prefix of branches in a row
        lead = _leading(flat[start])
        end, prefix = start + 1, lead[0] if lead else ()
        while lead and end < len(flat):
            other = _leading(flat[end])
            if other is None or other[1] != lead[1]:
                break
            same = 0
            while same < min(len(prefix), len(other[0])) and prefix[same] == other[0][same]:
                same += 1
            if same == 0:
                break
            prefix, end = prefix[:same], end + 1
        if end - start > 1:
            rest = _alternation([_without_prefix(b, len(prefix)) for b in flat[start:end]])
            factored.append(("concat", 1 + max(1, rest[1]), [("lit", 1, [prefix, lead[1] if lead else False]), rest]))
        else:
            factored.append(flat[start])
        start = end
    merged: list[_Node] = []
    for branch in factored:  # round 3: single characters and classes in a row are one class
        if _single(branch) and merged and _single(merged[-1]):
            merged[-1] = ("one", 1, [])
        else:
            merged.append(branch)
    if len(merged) == 1:
        return merged[0]
    return ("alt", 1 + max(b[1] for b in merged), merged)


def _single(node: _Node) -> bool:
    return node[0] == "one" or (node[0] == "lit" and len(node[2][0]) == 1)


def _class_end(pattern: str, i: int) -> int:
    """The index after the character class starting at i."""
    i += 1
    i += pattern.startswith("^", i)
    i += pattern.startswith("]", i)
    while i < len(pattern) and pattern[i] != "]":
        if pattern.startswith("[:", i) and ":]" in pattern[i + 2:]:
            i = pattern.index(":]", i + 2) + 2
        else:
            i += 2 if pattern[i] == "\\" else 1
    return i + 1
