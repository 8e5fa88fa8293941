"""Shared building blocks for every profile model.

Every model forbids unknown keys so a typo in a profile is an error, never a
silently dropped setting.  Scalar types that Kubernetes or the Prometheus
family parse themselves (durations, quantities, label names) are checked here
so a bad value is reported against the profile line, not at apply time.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from leanvibe_stack.credentials import REFERENCE_HINT

# Prometheus-style duration as accepted by Prometheus, Alertmanager and Loki:
# one or more number+unit pairs, largest unit first ("90d", "1h30m", "500ms").
_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
# Kubernetes resource.Quantity (the subset real manifests use).
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Durations and label names repeat in every rule (a 10,000-rule profile checks 55,000 label names, a
# few dozen distinct): each distinct value is checked once, and a cache hit runs no Python code.  A
# rejected value raises every time (exceptions are not cached).
_CHECKED_ONCE = functools.lru_cache(maxsize=4096)


@_CHECKED_ONCE
def _check_duration(value: str) -> str:
    if value in ("", "0") or not _DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not a duration such as '30s', '5m', '1h30m' or '90d'")
    return value


_UNIT_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def duration_seconds(value: str) -> float:
    """Seconds in a duration that `Duration` accepted ("0d" is 0: Thanos' "forever")."""
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in re.findall(r"(\d+)(ms|[ywdhms])", value))


def _check_quantity(value: str) -> str:
    if not _QUANTITY.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity such as '500m', '4Gi' or '2'")
    return value


@_CHECKED_ONCE
def _check_label_name(value: str) -> str:
    if not _LABEL_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    return value


def _check_dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS label (lower-case letters, digits and '-')")
    return value


# A scrape target: a DNS name or IPv4 address, or an IPv6 address in brackets, then an optional port
# (Prometheus 2.45 adds the scheme's default port when there is none).
_TARGET = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)(?::([0-9]+))?")


def _check_target(value: str) -> str:
    match = _TARGET.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a scrape target such as 'host:9100', '10.0.0.5:9100' or '[::1]:9100'")
    port = match.group(2)
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: port {port} is outside 1-65535")
    return value


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an http(s) URL such as 'https://events.pagerduty.com/v2/enqueue'")
    if "@" in parts.netloc:
        raise ValueError(f"{value!r} holds credentials: {REFERENCE_HINT}")
    try:
        port = parts.port  # ASCII digits in 0-65535, or ValueError
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"{value!r}: the port is not a number in 1-65535")
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
Quantity = Annotated[str, AfterValidator(_check_quantity)]
LabelName = Annotated[str, AfterValidator(_check_label_name)]
DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
ScrapeTarget = Annotated[str, AfterValidator(_check_target)]
HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
Port = Annotated[int, Field(ge=1, le=65535)]


def at(path: tuple[str | int, ...], message: str) -> str:
    """A model validator's message that names the field it is about, relative to the model.

    Pydantic reports a model validator's error at the model itself; the profile loader reads this
    prefix to point at the line of the offending key instead.
    """
    return f"@{json.dumps(list(path))} {message}"


def split_at(message: str) -> tuple[tuple[str | int, ...], str]:
    """The relative path and message `at` encoded (an empty path for plain messages)."""
    if message.startswith("@["):
        encoded, _, rest = message[1:].partition("] ")
        return tuple(json.loads(encoded + "]")), rest
    return (), message


class StrictModel(BaseModel):
    """Base of every profile model: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SecretRef(StrictModel):
    """A key of a Kubernetes Secret that the operator creates; its value is never rendered."""

    secret: DnsLabel = Field(description="Name of the Secret in the stack's namespace.")
    key: str = Field(description="Key inside the Secret.", pattern=r"^[-._a-zA-Z0-9]+$")

    @model_validator(mode="before")
    @classmethod
    def _reference_not_value(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"credentials are never written into profiles: {REFERENCE_HINT}")
        return value
