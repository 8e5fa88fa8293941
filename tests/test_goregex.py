"""goregex: Go's regexp syntax and semantics on RE2 (each verdict below was checked against amtool 0.25's Go
regexp; tests/test_amtool_differential.py re-checks them against amtool on every run)."""

from __future__ import annotations

import pytest

from leanvibe_stack import goregex


@pytest.mark.parametrize("pattern", [
    "\\x{41}", "\\pL", "\\p{Greek}", "[[:^alpha:]]", "\\101", "(?U)a+", "(?i-i)a", "a{1000}", "(a{10}){100}",
    "\\pL{1000}",  # over C++ RE2's default memory budget, fine for Go
    "(?P<n>a)(?P<n>b)", "(?<n>a)",  # Go 1.22+ (Alertmanager 0.34 is built with Go 1.26)
    "[]a]", "a{,3}", "x{2}{,3}", "\\Q*\\E", "(?:)*", "^*",
    "(" * 998 + "a" + ")" * 998,
    "(?:" * 998 + "a" + ")*" * 998,
    "(?:" * 1500 + "a" + ")" * 1500,  # non-capturing groups are no level
])
def test_go_accepts(pattern: str) -> None:
    assert goregex.is_valid(pattern)


@pytest.mark.parametrize(("pattern", "says"), [
    ("a{1001}", "invalid repeat count: `{1001}`"),
    ("(a{100}){11}", "invalid repeat count"),
    ("a++", "invalid nested repetition operator: `++`"),
    ("\\u0041", "invalid escape sequence"),
    ("[\\b]", "invalid escape sequence"),
    ("(?-)a", "invalid or unsupported Perl syntax"),
    ("\\C", "invalid escape sequence: `\\C`"),  # C++ RE2 accepts \\C
    ("(?P<é>a)", "invalid named capture"),  # C++ RE2 accepts Unicode word characters
    ("(?=a)", "invalid or unsupported Perl syntax"),
    ("(a)\\1", "invalid escape sequence"),
    ("\\Z", "invalid escape sequence"),
    ("(" * 999 + "a" + ")" * 999, "expression nests too deeply"),
    ("(?:" * 999 + "a" + ")*" * 999, "expression nests too deeply"),  # repetitions are levels too
])
def test_go_refuses(pattern: str, says: str) -> None:
    with pytest.raises(goregex.GoRegexError, match="^error parsing regexp: ") as raised:
        goregex.compile(pattern)
    assert says in str(raised.value)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("\\S+", "a\u00a0b", True),  # ASCII classes: a no-break space is not \\s
    ("\\s", "\u2003", False),
    ("\\w+", "é", False),
    ("\\b\\w+\\b", "ab", True),
    ("a$", "a\n", False),  # $ is the end of the text
    ("(?i)i", "İ", False), ("(?i)i", "ı", False), ("(?i)k", "\u212a", True), ("(?i)s", "ſ", True),
    ("\\pL+", "Ωμέγα", True), ("\\p{Greek}+", "abc", False),
    ("(a+)+b", "a" * 30, False),  # linear time: Python's re does not return
    ("a.b", "a\nb", False),
    (".", "\udcff", True),  # an invalid UTF-8 byte (a surrogate escape) is one U+FFFD to Go
    ("\\x{fffd}", "\udcff", True),
])
def test_alertmanager_anchoring_and_go_semantics(pattern: str, text: str, expected: bool) -> None:
    assert goregex.compile(pattern).fullmatch(text) is expected


def test_prometheus_anchoring_lets_dot_match_a_newline() -> None:
    assert goregex.compile("a.b", dot_nl=True).fullmatch("a\nb")
    assert not goregex.compile("a|b", dot_nl=True).fullmatch("ab")  # the alternation stays inside the group


def test_search_is_unanchored_and_groups_are_counted() -> None:
    compiled = goregex.compile("(?P<code>\\d+) (x)")
    assert compiled.search("status 503 x!") and not compiled.fullmatch("status 503 x!")
    assert compiled.groups == 2 and compiled.groupindex == {"code": 1}
