"""The credential detectors' shortcuts (literal markers, line starts) find exactly what their patterns find."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leanvibe_stack import credentials

_pieces = ["password", "Passwd", "key", "api_key", "access_key_id", "token", "routing_key", "secret", ":", " ", "\n",
           "x", "'", '"', "/", "<", "$", "#", "-", "hooks.slack.com/services/", "xoxb-", "AKIA", "ASIA", "0123456789",
           "ABCDEFGHIJKLMNOP", "-----BEGIN RSA PRIVATE KEY-----", "https://", "user", "@", "host"]
_texts = st.lists(st.sampled_from(_pieces), max_size=14).map("".join)


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(_texts)
def test_sets_a_credential_agrees_with_its_pattern(text: str) -> None:
    assert credentials.sets_a_credential(text) == (credentials.SETTING_PATTERN.search(text) is not None)


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(_texts)
def test_looks_like_agrees_with_its_patterns(text: str) -> None:
    expected = next((what for what, (_, pattern) in credentials.VALUE_PATTERNS.items() if pattern.search(text)), None)
    assert credentials.looks_like(text) == expected
