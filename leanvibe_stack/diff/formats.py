"""How a comparison is shown: text (optionally coloured), --stat counts, a Markdown PR comment, stable JSON."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

from leanvibe_stack.diff.alerting import Alerting
from leanvibe_stack.diff.comparison import CHECKSUM, Change, Comparison
from leanvibe_stack.diff.immutable import Refusal
from leanvibe_stack.manifest import Manifest

# --- text ---------------------------------------------------------------------------------------------------

REFUSED = "REFUSED ON UPDATE"  # marks a change the API server rejects, in every format
UNSAFE = "REFUSED"  # with the check id: a change the API server accepts but that misreads stored data
_ANSI = {"add": "\x1b[32m", "del": "\x1b[31m", "hunk": "\x1b[36m", "head": "\x1b[1m", "note": "\x1b[33m"}
_RESET = "\x1b[0m"
Styled = Iterator[tuple[str, str]]  # (style, line without newline)


def as_text(comparison: Comparison, *, color: bool = False) -> str:
    """Added/removed objects, checksum notes and unified diffs, the alerting summary, a summary line.

    Empty when the sides are identical.  With `color`, ANSI colours wrap each line; the text is otherwise
    byte-identical.
    """
    if comparison.identical:
        return ""
    return "".join(_paint(style, line, color) for style, line in _text_lines(comparison))


def _paint(style: str, line: str, color: bool) -> str:
    return f"{_ANSI[style]}{line}{_RESET}\n" if color and style in _ANSI and line else f"{line}\n"


def _text_lines(comparison: Comparison) -> Styled:
    for manifest in comparison.added:
        yield "add", f"added: {comparison.name(manifest)}"
    for manifest in comparison.removed:
        yield "del", f"removed: {comparison.name(manifest)}"
    for change in comparison.changed:
        for refusal in change.refusals:
            name = comparison.name(change.manifest)
            yield "del", f"{marker(refusal)}: {name}: {refusal.field}: {refusal.way_through}"
        if change.checksum:
            yield "note", str(change.checksum)
        for diff in change.diffs:
            yield from _diff_lines(diff.text)
    if comparison.pods:
        yield "", ""
        yield "head", "pods on apply:"
        yield from (("note", f"  {note}") for note in comparison.pods)
    alerting = list(_alerting_lines(comparison.alerting))
    if alerting:
        yield "", ""
        yield "head", "alerting:"
        yield from (("", f"  {line}") for line in alerting)
    yield "", ""
    yield "head", summary(comparison)


def marker(refusal: Refusal) -> str:
    """`REFUSED ON UPDATE`, or `REFUSED (check id)` for a change that is refused to protect stored data."""
    return f"{UNSAFE} ({refusal.check})" if refusal.check else REFUSED


def _diff_lines(text: str) -> Styled:
    for i, line in enumerate(text.splitlines()):
        style = "head" if i < 2 else "hunk" if line.startswith("@@") else \
            "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        yield style, line


def _receivers(receivers: tuple[str, ...] | None) -> str:
    return "unknown" if receivers is None else ", ".join(receivers) or "none"


def _alerting_lines(alerting: Alerting) -> Iterator[str]:
    for rule in alerting.rules:
        if rule.change == "changed":
            yield f"rule changed: {rule.alert} ({', '.join(rule.fields)})"
        else:
            yield f"rule {rule.change}: {rule.alert} (receivers: {_receivers(rule.receivers)})"
    for reroute in alerting.reroutes:
        yield f"receivers changed: {reroute.alert}: {_receivers(reroute.old)} -> {_receivers(reroute.new)}"


def summary(comparison: Comparison) -> str:
    """One line of counts: objects, alert rules, re-routed alerts, and objects an update cannot change."""
    alerting = comparison.alerting
    api, data = _refused_by_kind(comparison)
    refused = f"; {len(api)} object(s) `kubectl apply` cannot update" if api else ""
    refused += f"; {len(data)} object(s) changing how stored data is read" if data else ""
    return (f"{comparison.sides[0]} -> {comparison.sides[1]}: {len(comparison.added)} added, "
            f"{len(comparison.removed)} removed, {len(comparison.changed)} changed; alert rules: "
            f"{alerting.count('added')} added, {alerting.count('removed')} removed, {alerting.count('changed')} "
            f"changed; {len(alerting.reroutes)} alert(s) with other receivers{refused}")


def as_stat(comparison: Comparison) -> str:
    """Counts only: one line per differing object, then the summary line."""
    rows = [(comparison.name(m), "added") for m in comparison.added]
    rows += [(comparison.name(m), "removed") for m in comparison.removed]
    rows += [(comparison.name(c.manifest), _stat(c)) for c in comparison.changed]
    width = max((len(name) for name, _ in rows), default=0)
    return "".join(f" {name:<{width}} | {what}\n" for name, what in rows) + summary(comparison) + "\n"


def _stat(change: Change) -> str:
    plus = sum(d.counts[0] for d in change.diffs)
    minus = sum(d.counts[1] for d in change.diffs)
    parts = [f"+{plus} -{minus}"] if change.diffs else []
    if change.checksum:
        parts.append(f"{CHECKSUM} ({', '.join(change.checksum.causes) or 'no mounted config changed'})")
    if change.refusals:
        api = [r.field for r in change.refusals if not r.check]
        if api:
            parts.append(f"{REFUSED} ({', '.join(api)})")
        parts += [f"{marker(r)} {r.field}" for r in change.refusals if r.check]
    return ", ".join(parts)


# --- markdown -----------------------------------------------------------------------------------------------


MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters; leave room for a bot's own text


def as_markdown(comparison: Comparison, *, stat: bool = False) -> str:
    """A PR comment: a table of counts, the alerting summary, then one collapsible diff per changed object.

    Diffs that would take the comment past MARKDOWN_LIMIT characters are left out, and counted.
    """
    old, new = (_code(side) for side in comparison.sides)
    lines = [f"#### leanvibe-stack diff: {old} → {new}", ""]
    if comparison.identical:
        return "\n".join([*lines, "No differences.", ""])
    lines += _count_table(comparison)
    lines += _refusals_warning(comparison)
    lines += _alerting_table(comparison.alerting)
    for word, manifests in (("Added", comparison.added), ("Removed", comparison.removed)):
        if manifests:
            lines += [f"**{word}:** " + ", ".join(_code(comparison.name(m)) for m in manifests), ""]
    if comparison.notes:
        lines += ["**Pods rolled by config changes**", "", *(f"- {_code(str(note))}" for note in comparison.notes), ""]
    if comparison.pods:
        lines += ["**Pods on apply**", "", *(f"- {_code(str(note))}" for note in comparison.pods), ""]
    if stat:
        return "\n".join(lines)
    details = [_details(comparison.name(change.manifest), change) for change in comparison.changed if change.diffs]
    size = sum(len(line) + 1 for line in lines)
    for shown, block in enumerate(details):
        size += sum(len(line) + 1 for line in block)
        if size > MARKDOWN_LIMIT:
            lines += [f"_{len(details) - shown} more changed object(s) not shown, to stay within a PR comment's "
                      "size limit: run `leanvibe-stack diff` locally for every diff._", ""]
            break
        lines += block
    return "\n".join(lines)


def _count_table(comparison: Comparison) -> list[str]:
    alerting = comparison.alerting
    return ["| | Added | Removed | Changed |", "|---|--:|--:|--:|",
            f"| Objects | {len(comparison.added)} | {len(comparison.removed)} | {len(comparison.changed)} |",
            f"| Alert rules | {alerting.count('added')} | {alerting.count('removed')} | {alerting.count('changed')} |",
            ""]


def _refusals_warning(comparison: Comparison) -> list[str]:
    """A GitHub warning block: the objects `kubectl apply` will fail on or must not change, and the way through."""
    if not comparison.refused:
        return []
    api, data = _refused_by_kind(comparison)
    lines = ["> [!WARNING]"]
    if api:
        lines.append(f"> **{REFUSED}: `kubectl apply` will fail on {len(api)} object(s).** "
                     "The API server refuses these changes to an existing object; apply them this way:")
    if data:
        lines.append(f"> **{UNSAFE}: {len(data)} object(s) would change how stored data is read.** "
                     "The API server would accept these changes, but they must not be applied as they are:")
    for change in comparison.refused:
        for refusal in change.refusals:
            lines.append(f"> - {_code(comparison.name(change.manifest))} `{refusal.field}`"
                         f"{f' ({refusal.check})' if refusal.check else ''}: {refusal.way_through}")
    return [*lines, ""]


def _refused_by_kind(comparison: Comparison) -> tuple[list[Change], list[Change]]:
    """(changes the API server refuses, changes refused to protect stored data); one change may be in both."""
    return ([c for c in comparison.refused if any(not r.check for r in c.refusals)],
            [c for c in comparison.refused if any(r.check for r in c.refusals)])


def _alerting_table(alerting: Alerting) -> list[str]:
    if not (alerting.rules or alerting.reroutes):
        return []
    rows = [f"| {_code(r.alert, cell=True)} | {r.change}: {', '.join(r.fields)} |" if r.change == "changed" else
            f"| {_code(r.alert, cell=True)} | {r.change} (receivers: {_receiver_codes(r.receivers)}) |"
            for r in alerting.rules]
    rows += [f"| {_code(r.alert, cell=True)} | receivers: {_receiver_codes(r.old)} → {_receiver_codes(r.new)} |"
             for r in alerting.reroutes]
    return ["**Alerting**", "", "| Alert | Change |", "|---|---|", *rows, ""]


def _receiver_codes(receivers: tuple[str, ...] | None) -> str:
    return "unknown" if receivers is None else ", ".join(_code(r, cell=True) for r in receivers) or "none"


def _details(name: str, change: Change) -> list[str]:
    text = "".join(diff.text for diff in change.diffs)
    fence = "`" * max(3, _longest_run(text, "`") + 1)
    return [f"<details><summary>{html.escape(name)}</summary>", "", f"{fence}diff", text.rstrip("\n"), fence, "",
            "</details>", ""]


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def _code(text: str, *, cell: bool = False) -> str:
    """An inline code span; in a table `cell`, `|` is escaped as GitHub requires even inside code."""
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    span = f"{ticks}{pad}{text}{pad}{ticks}"
    return span.replace("|", "\\|") if cell else span


# --- json ---------------------------------------------------------------------------------------------------


def as_json(comparison: Comparison, *, stat: bool = False) -> str:
    """Stable JSON (sorted keys): objects added, removed and changed with per-file diffs, notes, alerting."""
    alerting = comparison.alerting
    data = {
        "old": comparison.sides[0],
        "new": comparison.sides[1],
        "identical": comparison.identical,
        "summary": {"added": len(comparison.added), "removed": len(comparison.removed),
                    "changed": len(comparison.changed), "immutable": len(comparison.refused)},
        "added": [_ref(m) for m in comparison.added],
        "removed": [_ref(m) for m in comparison.removed],
        "changed": [_changed_json(c, stat) for c in comparison.changed],
        "checksum_notes": [str(note) for note in comparison.notes],
        "pods": [{"owner": note.owner, "action": note.action, "causes": list(note.causes), "note": str(note)}
                 for note in comparison.pods],
        "alerting": {
            "summary": {change: alerting.count(change) for change in ("added", "removed", "changed")}
            | {"rerouted": len(alerting.reroutes)},
            "rules": [{"alert": r.alert, "change": r.change, "fields": list(r.fields),
                       "receivers": None if r.receivers is None else list(r.receivers)} for r in alerting.rules],
            "receivers": [{"alert": r.alert, "old": list(r.old), "new": list(r.new)} for r in alerting.reroutes],
        },
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _ref(manifest: Manifest) -> dict[str, str]:
    api_version, kind, namespace, name = manifest.key
    return {"apiVersion": api_version, "kind": kind, "namespace": namespace, "name": name}


def _changed_json(change: Change, stat: bool) -> dict[str, Any]:
    diffs = [{"title": d.title, "data_key": d.data_key, "added": d.counts[0], "removed": d.counts[1]}
             | ({} if stat else {"diff": d.text}) for d in change.diffs]
    checksum = change.checksum
    return _ref(change.manifest) | {
        "diffs": diffs,
        "checksum": None if checksum is None else {"change": checksum.change, "causes": list(checksum.causes),
                                                   "note": str(checksum)},
        "immutable": bool(change.refusals),
        "refusals": [{"field": r.field, "way_through": r.way_through} | ({"check": r.check} if r.check else {})
                     for r in change.refusals],
    }
