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
_SETTING_WORD = re.compile(r"pass|secret|key|token", re.IGNORECASE)  # in every SETTING_PATTERN match
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
    # config; trying it only at the start of lines holding one of its words finds the same.
    tried = -1
    for word in _SETTING_WORD.finditer(text):
        line_start = text.rfind("\n", 0, word.start()) + 1
        if line_start != tried:
            tried = line_start
            if SETTING_PATTERN.match(text, line_start):
                return True
    return False


def article(what: str) -> str:
    """`a Slack token`, `an AWS access key id`."""
    return f"{'an' if what[0].lower() in 'aeiou' else 'a'} {what}"
