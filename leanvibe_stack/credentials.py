"""What a credential looks like, for the profile loader (refuse) and the validator (report)."""

from __future__ import annotations

import re

# Values that look like credentials; a false positive is cheaper than a leaked token.  Each
# pattern runs only on values holding its literal marker: a substring test is far cheaper than a
# regex search that starts at every word boundary, and almost no value holds any marker.
VALUE_PATTERNS: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "Slack webhook URL": (("hooks.slack.com/services/",), re.compile(r"hooks\.slack\.com/services/\S+")),
    "Slack token": (("xox",), re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}")),
    "private key": (("PRIVATE KEY-----",), re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    "AWS access key id": (("AKIA", "ASIA"), re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    "URL with embedded credentials": (("@",), re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
}
# In config text: a password/key/token setting with a literal value (not a `*_file` path).
SETTING_PATTERN = re.compile(
    r"(?im)^\s*[\w.-]*(password|passwd|secret|api_?key|access_?key(_id)?|token|routing_key|service_key)"
    r"\s*:\s*(?!\s*$)['\"]?(?![<$/])[^\s'\"#]+"
)
_SETTING_WORDS = ("pass", "secret", "key", "token")  # one is in every SETTING_PATTERN match, in any case
REFERENCE_HINT = "reference a Secret instead: `{secret: <name>, key: <key>}` (README: \"Secrets the stack reads\")"


_ANY_MARKER = re.compile("|".join(re.escape(m) for markers, _ in VALUE_PATTERNS.values() for m in markers))


def looks_like(value: str) -> str | None:
    """What kind of credential a value looks like, or None."""
    if not _ANY_MARKER.search(value):  # nearly every value: one scan for all the markers
        return None
    for what, (markers, pattern) in VALUE_PATTERNS.items():
        if any(marker in value for marker in markers) and pattern.search(value):
            return what
    return None


def sets_a_credential(text: str) -> bool:
    """Whether config text sets a password, key or token to a literal value."""
    # SETTING_PATTERN anchors at a line start, and re tries a `^` at every position of a large
    # config (0.5 s for 9 MB of rules); trying it only at the start of the lines that hold one of
    # its words, found by str.find, finds the same.
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two: positions would not line up
        return SETTING_PATTERN.search(text) is not None
    for word in _SETTING_WORDS:
        found = lowered.find(word)
        while found != -1:
            if SETTING_PATTERN.match(text, text.rfind("\n", 0, found) + 1):
                return True
            found = lowered.find(word, found + 1)
    return False


def article(what: str) -> str:
    """`a Slack token`, `an AWS access key id`."""
    return f"{'an' if what[0].lower() in 'aeiou' else 'a'} {what}"
