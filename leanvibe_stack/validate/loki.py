"""Loki's schema periods: what Loki 3 needs to start, and where its new data goes.

Loki reads each stored day with the schema period that covered it (`schema_config.configs`, oldest
first, each starting at a UTC midnight) and writes with the *active* period: the last one whose
`from` has passed, or the first when none has (`ActivePeriodConfig`, pkg/storage/config of Loki
v3.7.6).  Two rules follow, judged on the check date (today, or `LEANVIBE_TODAY`):

* With structured metadata allowed (`limits_config.allow_structured_metadata`, true by default since
  Loki 3.0), Loki 3 refuses to start unless the period active at startup is `tsdb` with schema `v13`
  (`validateSchemaRequirements`, pkg/loki/validation.go): `loki.structured-metadata-schema` (error).
  Loki 2 images are left alone (structured metadata was off by default there).
* The newest period is where data goes from now on; anything but tsdb/v13 there keeps Loki on an
  index and schema it no longer recommends (upgrade guide 3.0): `loki.schema-not-v13` (warning).

`periods` and `started` are shared with `diff`, which refuses a change to a period that has started
(`loki.schema-period-started`, diff/stored_data.py).

Check ids: `loki.structured-metadata-schema`, `loki.schema-not-v13`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from leanvibe_stack.validate.bundle import Bundle, ConfigFile, as_dict, dicts
from leanvibe_stack.validate.findings import Finding, error, warning
from leanvibe_stack.validate.releases import check_date, identify

# The index store and schema a period needs for structured metadata (and that Loki 3 recommends).
CURRENT_STORE, CURRENT_SCHEMA = "tsdb", "v13"


@dataclass(frozen=True)
class Period:
    """One schema period as rendered: its position, its first day and its raw mapping."""

    index: int
    start: datetime.date
    data: dict[str, Any]

    @property
    def layout(self) -> str:
        return f"{self.data.get('store')}/{self.data.get('schema')}"

    @property
    def current(self) -> bool:
        return (self.data.get("store"), self.data.get("schema")) == (CURRENT_STORE, CURRENT_SCHEMA)


def periods(loki_yaml: Any) -> list[Period]:
    """The schema periods of a parsed loki.yaml whose `from` is a date (others are the model's concern)."""
    found = []
    for i, period in enumerate(dicts(as_dict(as_dict(loki_yaml).get("schema_config")).get("configs"))):
        try:
            found.append(Period(i, datetime.date.fromisoformat(str(period.get("from"))), period))
        except ValueError:
            continue
    return found


def started(all_periods: list[Period], day: datetime.date) -> list[Period]:
    """Periods Loki has written with by the end of `day`: those starting on or before it."""
    return [period for period in all_periods if period.start <= day]


def active(all_periods: list[Period], day: datetime.date) -> Period | None:
    """The period Loki writes with on `day` (the first one when none has started yet)."""
    candidates = started(all_periods, day) or all_periods[:1]
    return candidates[-1] if candidates else None


def check(bundle: Bundle, today: datetime.date | None = None) -> list[Finding]:
    day = today or check_date()
    findings: list[Finding] = []
    for config in bundle.configs:
        if config.program == "loki" and isinstance(config.data, dict):
            findings += [*_structured_metadata(config, day), *_newest_not_current(config)]
    return findings


def _structured_metadata(config: ConfigFile, day: datetime.date) -> Iterator[Finding]:
    _, version = identify(str(config.container.get("image", "")))
    if version is not None and int(version.split(".")[0]) < 3:
        return
    allowed = as_dict(config.data.get("limits_config")).get("allow_structured_metadata", True) is not False
    period = active(periods(config.data), day)
    if allowed and period is not None and not period.current:
        yield error("loki.structured-metadata-schema", config.holder,
                    f"{config.file.key}:schema_config.configs[{period.index}]",
                    f"structured metadata is allowed (limits_config.allow_structured_metadata, default true in "
                    f"Loki 3) but the period active on {day.isoformat()} (from {period.start.isoformat()}) is "
                    f"{period.layout}, not {CURRENT_STORE}/{CURRENT_SCHEMA}: Loki 3 refuses to start; set "
                    "allow_structured_metadata: false until a tsdb/v13 period has started")


def _newest_not_current(config: ConfigFile) -> Iterator[Finding]:
    all_periods = periods(config.data)
    newest = all_periods[-1] if all_periods else None
    if newest is not None and not newest.current:
        yield warning("loki.schema-not-v13", config.holder, f"{config.file.key}:schema_config.configs[{newest.index}]",
                      f"the newest schema period (from {newest.start.isoformat()}) is {newest.layout}: new data "
                      f"stays on an index Loki 3 no longer recommends, without structured metadata; add a "
                      f"{CURRENT_STORE}/{CURRENT_SCHEMA} period from a future UTC midnight (existing periods stay "
                      "as they are)")
