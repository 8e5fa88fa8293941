"""How a validation report is shown: text lines or stable JSON on stdout, a summary table on stderr."""

from __future__ import annotations

import json
from collections import Counter
from typing import TextIO

from leanvibe_stack.validate import Report

JSON_FORMAT_VERSION = 1


def as_text(report: Report) -> str:
    """One line per finding: severity, check id, object, path, message (tab-free, grep-friendly)."""
    lines = []
    for f in report.findings:
        where = " ".join(part for part in (str(f.object or ""), f.path) if part)
        lines.append(f"{f.severity}: {f.check}: {where}: {f.message}" if where else
                     f"{f.severity}: {f.check}: {f.message}")
    return "".join(f"{line}\n" for line in lines)


def as_json(report: Report, strict: bool) -> str:
    """Stable JSON for CI: keys sorted, findings in a fixed order."""
    document = {
        "version": JSON_FORMAT_VERSION,
        "ok": not report.failed(strict),
        "summary": {"objects": report.objects, "errors": len(report.errors), "warnings": len(report.warnings)},
        "tools": [{"name": t.name, "status": t.status, "detail": t.detail} for t in report.tools],
        "findings": [f.as_dict() for f in report.findings],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def print_summary(report: Report, stream: TextIO) -> None:
    """A table of findings per check id, and the tools' status, for humans (stderr)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, highlight=False, soft_wrap=True)
    counts = Counter((f.check, f.severity) for f in report.findings)
    if counts:
        table = Table(title=None, box=None, show_header=True, header_style="bold")
        table.add_column("check")
        table.add_column("severity")
        table.add_column("count", justify="right")
        for (check, severity), count in sorted(counts.items()):
            table.add_row(check, severity, str(count))
        console.print(table)
    for tool in report.tools:
        detail = f" ({tool.detail})" if tool.detail and tool.status != "failed" else ""
        cached = " (cached verdict: same input, same tool version)" if tool.cached else ""
        console.print(f"{tool.name}: {tool.status}{detail}{cached}", markup=False)
    console.print(f"{report.objects} objects: {len(report.errors)} error(s), {len(report.warnings)} warning(s)",
                  markup=False)
