"""Changes the API server accepts but that rewrite how stored data is read: refused like immutable ones.

Loki reads every stored day with the schema period that covered it, so a period that has started
(its `from` on or before the check date: today, or `LEANVIBE_TODAY`) describes data already in the
bucket.  Changing or removing such a period, or adding one that starts on or before the check date,
makes Loki read those days with the wrong index or schema: they vanish from queries (Loki's
"Storage schema" docs: a new period must start in the future).  `loki.schema-period-started`
flags each one in `diff`, and `diff --fail-on-immutable` fails on it.

Any ConfigMap value that parses to a mapping with `schema_config.configs` is treated as a loki.yaml;
an old side without one (a first install) stores nothing yet, so nothing is refused.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import yaml

from leanvibe_stack import yamlio
from leanvibe_stack.diff.immutable import Refusal
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import as_dict
from leanvibe_stack.validate.loki import Period, periods, started

CHECK = "loki.schema-period-started"


def refusals(old: Manifest, new: Manifest, day: datetime.date) -> tuple[Refusal, ...]:
    """Schema periods of a loki.yaml in `old`/`new` (a ConfigMap) whose change would misread stored days."""
    if old.kind != "ConfigMap" or new.kind != "ConfigMap":
        return ()
    before, after = as_dict(old.obj.get("data")), as_dict(new.obj.get("data"))
    found: list[Refusal] = []
    for key in sorted(before.keys() & after.keys()):
        old_periods, new_periods = _periods(before[key]), _periods(after[key])
        if old_periods is not None and new_periods is not None:
            found += _period_refusals(key, old_periods, new_periods, day)
    return tuple(found)


def _periods(text: Any) -> list[Period] | None:
    if not isinstance(text, str) or "schema_config" not in text:
        return None
    try:
        data = yamlio.load(text)
    except yaml.YAMLError:  # not YAML: not a loki.yaml either
        return None
    return periods(data) if "configs" in as_dict(as_dict(data).get("schema_config")) else None


def _period_refusals(key: str, old: list[Period], new: list[Period], day: datetime.date) -> Iterator[Refusal]:
    kept = {p.start: p for p in new}
    for period in started(old, day):
        now = kept.get(period.start)
        if now is None or now.data != period.data:
            what = "removed" if now is None else "changed"
            yield Refusal(f"data[{key}] schema_config.configs[{period.index}] (from {period.start})",
                          f"{what}, but Loki has stored data under it since {period.start} (a started period): "
                          "restore it exactly as it was, and put the new layout in a new period whose `from` is a "
                          f"UTC midnight after {day} by which the config is applied everywhere", CHECK)
    earlier = {p.start for p in old}
    for period in started(new, day):
        if period.start not in earlier:
            yield Refusal(f"data[{key}] schema_config.configs[{period.index}] (from {period.start})",
                          f"added with a start on or before {day}: Loki would read data it already stored with "
                          f"this period; give it a `from` after {day} (a UTC midnight by which the config is applied "
                          "everywhere)", CHECK)
