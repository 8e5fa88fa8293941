"""Dashboard panels Grafana 12 cannot load.

Grafana 12 removed AngularJS support.  The core Angular panels and the best-known Angular plugins are gone:
Grafana converts them to their React successors each time a dashboard opens, as far as the options map, and
a provisioned dashboard (`allowUiUpdates: false`) never keeps the result, so the file stays on a type that
no longer exists.  The list is the one Grafana's own detector treats as migratable legacy panels
(grafana/detect-angular-dashboards, detector.go) with the successors Grafana's Angular-deprecation docs name.

Check id: `dashboard.panel-type-removed` (error), naming the panel and its replacement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

# Removed panel type -> (what it was, the type to use instead).
REMOVED_PANEL_TYPES = {
    "graph": ("the Angular Graph (old) panel", "timeseries (or barchart / histogram for non-time x-axes)"),
    "table-old": ("the Angular Table (old) panel", "table"),
    "singlestat": ("the Angular Singlestat panel", "stat (or gauge)"),
    "grafana-singlestat-panel": ("the Angular Singlestat plugin", "stat (or gauge)"),
    "grafana-piechart-panel": ("the Angular Pie Chart plugin", "piechart"),
    "grafana-worldmap-panel": ("the Angular Worldmap plugin", "geomap"),
}


def check(bundle: Bundle) -> list[Finding]:
    findings = []
    for manifest, key, dashboard in bundle.dashboards:
        if not isinstance(dashboard, dict):
            continue  # dashboard.invalid reports it
        for path, panel in _panels(dashboard):
            kind = panel.get("type")
            if isinstance(kind, str) and kind in REMOVED_PANEL_TYPES:
                findings.append(_removed(ObjectRef.of(manifest), f"{key}:{path}.type", panel, kind))
    return findings


def _removed(obj: ObjectRef, path: str, panel: dict[str, Any], kind: str) -> Finding:
    what, instead = REMOVED_PANEL_TYPES[kind]
    title = panel.get("title")
    name = f"panel {title!r}" if isinstance(title, str) and title else f"panel id {panel.get('id')}"
    return error("dashboard.panel-type-removed", obj, path,
                 f"{name} is type {kind!r}, {what}, which Grafana 12 no longer loads (AngularJS support was "
                 f"removed); use type {instead} with its options")


def _panels(dashboard: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON path, panel) for every panel: top level, inside rows, and in the pre-5.0 `rows` layout."""

    def walk(items: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for i, panel in enumerate(items if isinstance(items, list) else []):
            if isinstance(panel, dict):
                yield f"{prefix}[{i}]", panel
                yield from walk(panel.get("panels"), f"{prefix}[{i}].panels")

    yield from walk(dashboard.get("panels"), "panels")
    for r, row in enumerate(dashboard.get("rows") or []):
        if isinstance(row, dict):
            yield from walk(row.get("panels"), f"rows[{r}].panels")
