"""What a credential looks like, for the profile loader (refuse) and the validator (report)."""

from __future__ import annotations

import re

# Values that look like credentials; a false positive is cheaper than a leaked token.
VALUE_PATTERNS = {
    "Slack webhook URL": re.compile(r"hooks\.slack\.com/services/\S+"),
    "Slack token": re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "URL with embedded credentials": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
}
# In config text: a password/key/token setting with a literal value (not a `*_file` path).
SETTING_PATTERN = re.compile(
    r"(?im)^\s*[\w.-]*(password|passwd|secret|api_?key|access_?key(_id)?|token|routing_key|service_key)"
    r"\s*:\s*(?!\s*$)['\"]?(?![<$/])[^\s'\"#]+"
)
REFERENCE_HINT = "reference a Secret instead: `{secret: <name>, key: <key>}` (README: \"Secrets the stack reads\")"


# One pass over each value; the per-kind patterns run only on the rare value that matches.
_ANY_VALUE_PATTERN = re.compile("|".join(f"(?:{pattern.pattern})" for pattern in VALUE_PATTERNS.values()))


def looks_like(value: str) -> str | None:
    """What kind of credential a value looks like, or None."""
    if not _ANY_VALUE_PATTERN.search(value):
        return None
    return next((what for what, pattern in VALUE_PATTERNS.items() if pattern.search(value)), None)


def article(what: str) -> str:
    """`a Slack token`, `an AWS access key id`."""
    return f"{'an' if what[0].lower() in 'aeiou' else 'a'} {what}"
