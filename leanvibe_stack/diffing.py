"""Object-level comparison of two sets of Kubernetes objects: the engine of `diff` and `render --check`.

Objects are matched by (apiVersion, kind, namespace, name).  A changed object is shown as a unified
diff of its YAML, except that

* every multi-line value of a ConfigMap's `data` (an embedded config file: prometheus.yml, a rule
  file, alertmanager.yml, loki.yaml, promtail.yaml, a dashboard's JSON, a template) is diffed as its
  own text, with its own line numbers, and stands as a placeholder in the object's YAML;
* `checksum/config` pod annotations are left out of the YAML diff and collapsed into one note per
  pod owner that names the mounted ConfigMaps (or Secrets) that changed and so caused it.

The alerting summary is computed from both sides' rule files and Alertmanager configs (found the
way the pods load them, through `Bundle`): rules added, removed or changed, and alerts whose
receivers change, by routing each alert's static labels through each side's route tree.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import html
import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.errors import InputError, Problem, ProfileError
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.output import INSTALL_ORDER
from leanvibe_stack.validate.bundle import Bundle, as_dict
from leanvibe_stack.validate.routing import RouteNode, alert_labels, parse_route, receivers_for

Key = tuple[str, str, str, str]
Sides = tuple[str, str]
CHECKSUM = "checksum/config"
EMBEDDED = "<embedded file, diffed on its own>"
NO_NEWLINE = "\\ No newline at end of file\n"
RULE_FIELDS = ("expr", "for", "keep_firing_for", "labels", "annotations")
_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}


# --- the model ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDiff:
    """One unified diff: of an object's YAML (`data_key` None) or of one embedded config file."""

    title: str
    data_key: str | None
    text: str

    @property
    def counts(self) -> tuple[int, int]:
        """(lines added, lines removed), headers excluded."""
        body = self.text.splitlines()[2:]
        return sum(1 for line in body if line.startswith("+")), sum(1 for line in body if line.startswith("-"))


@dataclass(frozen=True)
class ChecksumNote:
    """A pod's `checksum/config` changed; `causes` are the mounted configs that changed."""

    owner: str
    change: str  # "changed" | "added" | "removed"
    causes: tuple[str, ...]

    def __str__(self) -> str:
        why = f"{', '.join(self.causes)} changed" if self.causes else "no mounted config in this comparison changed"
        return f"{self.owner}: {CHECKSUM} {self.change} ({why})"


@dataclass(frozen=True)
class Change:
    """An object on both sides whose content differs."""

    manifest: Manifest  # the new side's
    diffs: tuple[TextDiff, ...]
    checksum: ChecksumNote | None


@dataclass(frozen=True)
class RuleChange:
    """An alerting rule added, removed or changed; for changed ones, which fields."""

    alert: str
    change: str  # "added" | "removed" | "changed"
    fields: tuple[str, ...] = ()
    receivers: tuple[str, ...] | None = None  # added: where it goes; removed: where it went; None: unknown


@dataclass(frozen=True)
class Reroute:
    """An alert on both sides that reaches different receivers (rule labels or routes changed)."""

    alert: str
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class Alerting:
    rules: tuple[RuleChange, ...] = ()
    reroutes: tuple[Reroute, ...] = ()

    def count(self, change: str) -> int:
        return sum(1 for rule in self.rules if rule.change == change)


@dataclass(frozen=True)
class Comparison:
    """Everything that differs between two sides, in install order."""

    sides: Sides
    added: tuple[Manifest, ...]
    removed: tuple[Manifest, ...]
    changed: tuple[Change, ...]
    alerting: Alerting

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def name(self, manifest: Manifest) -> str:
        """`Kind/namespace/name`, with the apiVersion when another object here has the same label."""
        text = label(manifest.key)
        everything = [*self.added, *self.removed, *(c.manifest for c in self.changed)]
        clash = any(label(m.key) == text and m.key != manifest.key for m in everything)
        return f"{text} ({manifest.key[0]})" if clash else text

    @property
    def notes(self) -> list[ChecksumNote]:
        return [c.checksum for c in self.changed if c.checksum is not None]


def label(key: Key) -> str:
    _, kind, namespace, name = key
    return "/".join(part for part in (kind, namespace, name) if part)


# --- comparing ----------------------------------------------------------------------------------------------


def compare(old: list[Manifest], new: list[Manifest], sides: Sides = ("a", "b"), *, context: int = 3) -> Comparison:
    """Match objects by (apiVersion, kind, namespace, name) and describe what differs."""
    before, after = _index(old, sides[0]), _index(new, sides[1])
    differing = [key for key in before.keys() & after.keys() if before[key].obj != after[key].obj]
    added = [after[key] for key in after.keys() - before.keys()]
    removed = [before[key] for key in before.keys() - after.keys()]
    content = [key for key in differing if _content(before[key]) != _content(after[key])]
    configs = {(k[1], k[2], k[3]) for k in [*content, *(m.key for m in added), *(m.key for m in removed)]}
    changed = [_change(before[key], after[key], sides, configs, context) for key in differing]
    return Comparison(sides, tuple(_ordered(added)), tuple(_ordered(removed)),
                      tuple(sorted(changed, key=lambda c: _order(c.manifest))), alerting(old, new))


def _content(manifest: Manifest) -> list[Any]:
    """What a pod sees of a mounted ConfigMap or Secret (labels and annotations aside)."""
    return [manifest.obj.get(field) for field in ("data", "binaryData", "stringData")]


def _index(manifests: list[Manifest], side: str) -> dict[Key, Manifest]:
    index: dict[Key, Manifest] = {}
    for manifest in manifests:
        if manifest.key in index:
            raise InputError(f"{side}: {label(manifest.key)} appears twice ({index[manifest.key].source}, "
                             f"{manifest.source}); give one tree per side")
        index[manifest.key] = manifest
    return index


def _order(manifest: Manifest) -> tuple[int, str, str, str, str]:
    return (_RANK.get(manifest.kind, len(_RANK)), manifest.kind, manifest.name, manifest.namespace, manifest.key[0])


def _ordered(manifests: Iterable[Manifest]) -> list[Manifest]:
    return sorted(manifests, key=_order)


def _change(old: Manifest, new: Manifest, sides: Sides, configs: set[tuple[str, str, str]], context: int) -> Change:
    title = label(new.key)
    embedded = _embedded_keys(old, new)
    diffs = []
    body = unified(_body(old, embedded), _body(new, embedded), title, sides, context)
    if body:
        diffs.append(TextDiff(title, None, body))
    for key in embedded:
        before, after = _data(old).get(key), _data(new).get(key)
        if before != after:
            text = unified(_text(before), _text(after), f"{title} data[{key}]", sides, context)
            diffs.append(TextDiff(f"{title} data[{key}]", key, text))
    return Change(new, tuple(diffs), _checksum_note(old, new, configs))


def unified(old: str, new: str, title: str, sides: Sides, context: int = 3) -> str:
    """A unified diff (`--- title<TAB>side`), empty when equal; marks a last line without newline as diff does."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), title, title,
                                 sides[0], sides[1], n=context)
    return "".join(line if line.endswith("\n") else f"{line}\n{NO_NEWLINE}" for line in lines)


def _data(manifest: Manifest) -> dict[str, Any]:
    return as_dict(manifest.obj.get("data"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else yamlio.dump(value)


def _embedded_keys(old: Manifest, new: Manifest) -> list[str]:
    """ConfigMap data keys whose value is a multi-line text on either side: files diffed on their own."""
    if new.kind != "ConfigMap":
        return []
    keys = dict.fromkeys([*_data(new), *_data(old)])
    return [key for key in keys if any(isinstance(v, str) and "\n" in v for v in (_data(old).get(key),
                                                                                    _data(new).get(key)))]


def _body(manifest: Manifest, embedded: list[str]) -> str:
    """The object's YAML with embedded files as placeholders and without its checksum annotation."""
    obj = copy.deepcopy(manifest.obj)
    data = obj.get("data")
    for key in embedded:
        if isinstance(data, dict) and key in data:
            data[key] = EMBEDDED
    metadata = _pod_template(obj).get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(metadata, dict) and isinstance(annotations, dict) and CHECKSUM in annotations:
        del annotations[CHECKSUM]
        if not annotations:
            del metadata["annotations"]
    return yamlio.dump(obj)


def _pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload (the object itself for a Pod); {} for other kinds."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj
    spec = as_dict(obj.get("spec"))
    if kind == "CronJob":
        spec = as_dict(as_dict(spec.get("jobTemplate")).get("spec"))
    return as_dict(spec.get("template"))


def _checksum(obj: dict[str, Any]) -> str | None:
    value = as_dict(as_dict(_pod_template(obj).get("metadata")).get("annotations")).get(CHECKSUM)
    return None if value is None else str(value)


def _checksum_note(old: Manifest, new: Manifest, configs: set[tuple[str, str, str]]) -> ChecksumNote | None:
    """The note for a changed checksum; `configs` are the (kind, namespace, name) whose content changed."""
    before, after = _checksum(old.obj), _checksum(new.obj)
    if before == after:
        return None
    change = "changed" if before and after else "added" if after else "removed"
    mounted = _mounted(old.obj) | _mounted(new.obj)
    causes = sorted(name if kind == "ConfigMap" else f"{kind}/{name}" for kind, name in mounted
                    if (kind, new.namespace, name) in configs)
    return ChecksumNote(label(new.key), change, tuple(causes))


def _mounted(obj: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap and Secret the pod template's volumes project."""
    found = set()
    for volume in as_dict(_pod_template(obj).get("spec")).get("volumes") or []:
        volume = as_dict(volume)
        sources = [volume, *(as_dict(s) for s in as_dict(volume.get("projected")).get("sources") or [])]
        for source in sources:
            if "configMap" in source:
                found.add(("ConfigMap", str(as_dict(source["configMap"]).get("name", ""))))
            if "secret" in source:
                secret = as_dict(source["secret"])
                found.add(("Secret", str(secret.get("secretName") or secret.get("name") or "")))
    return found


# --- alerting -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AlertView:
    """One side's alerting rules (by alert name; `Name #2` for a repeated name) and route tree."""

    rules: dict[str, dict[str, Any]]
    route: RouteNode | None
    external_labels: dict[str, Any]

    def receivers(self, alert: str) -> tuple[str, ...] | None:
        if self.route is None:
            return None
        return tuple(receivers_for(self.route, alert_labels(self.rules[alert], self.external_labels)))


def _alert_view(manifests: list[Manifest]) -> _AlertView:
    bundle = Bundle(manifests)
    rules: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for rule in bundle.alert_rules:
        seen[rule.name] = seen.get(rule.name, 0) + 1
        rules[rule.name if seen[rule.name] == 1 else f"{rule.name} #{seen[rule.name]}"] = rule.rule
    alertmanager, prometheus = bundle.config("alertmanager"), bundle.config("prometheus")
    route = alertmanager.data.get("route") if alertmanager else None
    external = as_dict(as_dict(prometheus.data.get("global")).get("external_labels")) if prometheus else {}
    return _AlertView(rules, parse_route(route, strict=False) if isinstance(route, dict) else None, external)


def alerting(old: list[Manifest], new: list[Manifest]) -> Alerting:
    """Rules added, removed or changed, and alerts whose receivers change, between two sets of objects."""
    before, after = _alert_view(old), _alert_view(new)
    rules: list[RuleChange] = []
    reroutes: list[Reroute] = []
    for alert in sorted(before.rules.keys() | after.rules.keys()):
        if alert not in before.rules:
            rules.append(RuleChange(alert, "added", receivers=after.receivers(alert)))
        elif alert not in after.rules:
            rules.append(RuleChange(alert, "removed", receivers=before.receivers(alert)))
        else:
            fields = _changed_fields(before.rules[alert], after.rules[alert])
            if fields:
                rules.append(RuleChange(alert, "changed", fields))
            old_receivers, new_receivers = before.receivers(alert), after.receivers(alert)
            if old_receivers is not None and new_receivers is not None and old_receivers != new_receivers:
                reroutes.append(Reroute(alert, old_receivers, new_receivers))
    return Alerting(tuple(rules), tuple(reroutes))


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    fields = [f for f in (old.keys() | new.keys()) - {"alert"} if old.get(f) != new.get(f)]
    return tuple(sorted(fields, key=lambda f: (RULE_FIELDS.index(f) if f in RULE_FIELDS else len(RULE_FIELDS), f)))


# --- text ---------------------------------------------------------------------------------------------------

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
        if change.checksum:
            yield "note", str(change.checksum)
        for diff in change.diffs:
            yield from _diff_lines(diff.text)
    alerting = list(_alerting_lines(comparison.alerting))
    if alerting:
        yield "", ""
        yield "head", "alerting:"
        yield from (("", f"  {line}") for line in alerting)
    yield "", ""
    yield "head", summary(comparison)


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
    """One line of counts: objects, alert rules, re-routed alerts."""
    alerting = comparison.alerting
    return (f"{comparison.sides[0]} -> {comparison.sides[1]}: {len(comparison.added)} added, "
            f"{len(comparison.removed)} removed, {len(comparison.changed)} changed; alert rules: "
            f"{alerting.count('added')} added, {alerting.count('removed')} removed, {alerting.count('changed')} "
            f"changed; {len(alerting.reroutes)} alert(s) with other receivers")


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
    lines += _alerting_table(comparison.alerting)
    for word, manifests in (("Added", comparison.added), ("Removed", comparison.removed)):
        if manifests:
            lines += [f"**{word}:** " + ", ".join(_code(comparison.name(m)) for m in manifests), ""]
    if comparison.notes:
        lines += ["**Pods rolled by config changes**", "", *(f"- {_code(str(note))}" for note in comparison.notes), ""]
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
                    "changed": len(comparison.changed)},
        "added": [_ref(m) for m in comparison.added],
        "removed": [_ref(m) for m in comparison.removed],
        "changed": [_changed_json(c, stat) for c in comparison.changed],
        "checksum_notes": [str(note) for note in comparison.notes],
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
    }


# --- sides --------------------------------------------------------------------------------------------------

GIT_PREFIX = "git:"


def side_name(spec: str) -> str:
    return "stdin" if spec == "-" else spec


def load_side(spec: str, *, profile: str | None = None, profiles_dir: Path | None = None) -> list[Manifest]:
    """The objects of one side of a diff.

    In this order: `git:REV` (the profile `profile` rendered from the repo's profiles at REV), `-`
    (manifests on stdin), an existing directory (rendered manifests), an existing file (manifests when
    a document has apiVersion and kind, else a profile file), otherwise a profile name.  Profiles are
    rendered without validation: a diff shows what changes, valid or not.
    """
    from leanvibe_stack.validate.inputs import load_manifests

    if spec.startswith(GIT_PREFIX):
        if not profile:
            raise InputError(f"{spec}: a git: side needs --profile NAME (the profile to render at that revision)")
        return git_side(spec[len(GIT_PREFIX):], profile, profiles_dir)
    path = Path(spec)
    if spec == "-" or path.is_dir() or (path.is_file() and _holds_manifests(path)):
        return load_manifests([spec])
    if not path.exists() and ("/" in spec or spec.endswith((".yaml", ".yml", ".json"))):
        raise InputError(f"{spec}: no such file or directory")
    return _render(spec, profiles_dir)


def _render(spec: str, profiles_dir: Path | None) -> list[Manifest]:
    from leanvibe_stack.api import render_profile

    return render_profile(spec, profiles_dir, validate=False).manifests


def _holds_manifests(path: Path) -> bool:
    """Whether a file holds Kubernetes objects (any document with apiVersion and kind), not a profile."""
    try:
        documents = yamlio.load_all(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return True  # load_manifests reports why it cannot be read
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in documents)


def git_side(rev: str, profile: str, profiles_dir: Path | None = None) -> list[Manifest]:
    """Render `profile` from the repo's profiles as they were at `rev`, without touching the working tree.

    The repo is the one holding the working directory; the profiles are `profiles/` at its top (or
    `profiles_dir`, which must lie inside the repo).  Templates and code are the running ones.
    """
    if not rev:
        raise InputError("git:: give a revision, e.g. git:HEAD or git:origin/main")
    if "/" in profile or profile.endswith((".yaml", ".yml")):
        raise InputError(f"--profile {profile}: give a profile name for git: sides, not a path")
    top = Path(_git(["rev-parse", "--show-toplevel"], Path.cwd(), f"git:{rev}: not inside a git repository"))
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], top,
                  f"git:{rev}: unknown revision {rev!r}")
    relative = _relative_profiles(top, profiles_dir)
    archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", commit, "--", relative],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise InputError(f"git:{rev}: no {relative}/ directory at {rev}")
    with tempfile.TemporaryDirectory(prefix="leanvibe-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            _extract(tar, Path(tmp))
        directory = Path(tmp) / relative
        if not (directory / f"{profile}.yaml").is_file():
            names = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
            raise InputError(f"git:{rev}: no profile {profile!r} in {relative}/ at {rev} (there: {names})")
        try:
            return _render(profile, directory)
        except ProfileError as error:
            raise ProfileError([_at_revision(problem, tmp, rev) for problem in error.problems]) from error


def _at_revision(problem: Problem, tmp: str, rev: str) -> Problem:
    """A problem of a profile extracted to `tmp`, with its paths written as git's `REV:path`."""
    def spelled(text: str) -> str:
        for prefix in dict.fromkeys([tmp, str(Path(tmp).resolve())]):
            text = text.replace(f"{prefix}/", f"{rev}:")
        return text

    location = problem.location
    if location is not None:
        location = dataclasses.replace(location, file=spelled(str(location.file)))
    return dataclasses.replace(problem, message=spelled(problem.message), location=location)


def _git(args: list[str], cwd: Path, error: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as missing:
        raise InputError("git: sides need git, which is not installed") from missing
    if result.returncode != 0 or not result.stdout.strip():
        raise InputError(error)
    return result.stdout.strip()


def _relative_profiles(top: Path, profiles_dir: Path | None) -> str:
    if profiles_dir is None:
        return "profiles"
    try:
        return profiles_dir.resolve().relative_to(top.resolve()).as_posix()
    except ValueError as outside:
        raise InputError(f"--profiles-dir {profiles_dir} is not inside the git repository {top}") from outside


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
    else:  # pragma: no cover - Python < 3.11.4; git archive writes only the repo's own paths
        tar.extractall(target)


# --- render --check -----------------------------------------------------------------------------------------


def tree_drift(files: dict[str, str], target: Path) -> str:
    """What `render --check` prints for one stale tree (empty when the disk matches `files`).

    The objects are compared with `compare` (per-object diffs, embedded files, checksum notes,
    alerting); then files missing, extra or renumbered; then a plain diff of each file whose bytes
    differ while its objects do not (a comment edited by hand, kustomization.yaml).
    """
    entries = {p.name: p for p in target.glob("*")} if target.is_dir() else {}
    folders = [f"{p}: a directory where only rendered files belong\n" for p in entries.values() if p.is_dir()]
    committed = {name: _read(p) for name, p in entries.items() if not p.is_dir()}
    if committed == files and not folders:
        return ""
    sides = (f"{target} (committed)", f"{target} (rendered)")
    old, old_files = _parse_tree(committed, target)
    new, new_files = _parse_tree(files, target)
    try:
        comparison = compare(old, new, sides)
        objects, touched = as_text(comparison), _touched_files(comparison, old_files, new_files)
    except InputError as error:
        objects, touched = f"{error}\n", set()
    lines = folders + _file_lines(committed, files, target)
    diffs = [_file_diff(committed[n], files[n], target / n) for n in sorted(committed.keys() & files.keys())
             if committed[n] != files[n] and n not in touched]
    return f"{target} is stale:\n" + objects + "".join(lines) + "".join(diffs)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"<cannot read: {error}>\n"


def _parse_tree(files: dict[str, str], target: Path) -> tuple[list[Manifest], dict[Key, str]]:
    """The objects of a tree's YAML files (kustomization.yaml and unparsable files skipped) and their files."""
    manifests: list[Manifest] = []
    for name, text in sorted(files.items()):
        if name == "kustomization.yaml" or not name.endswith((".yaml", ".yml")):
            continue
        try:
            documents = yamlio.load_all(text)
        except yamlio.YAMLError:
            continue  # shown as a plain file diff
        manifests += [Manifest(d, "", str(target / name)) for d in documents if isinstance(d, dict)]
    return manifests, {m.key: Path(m.source).name for m in manifests}


def _touched_files(comparison: Comparison, old: dict[Key, str], new: dict[Key, str]) -> set[str]:
    keys = [m.key for m in (*comparison.added, *comparison.removed, *(c.manifest for c in comparison.changed))]
    return {files[key] for key in keys for files in (old, new) if key in files}


def _file_lines(committed: dict[str, str], files: dict[str, str], target: Path) -> list[str]:
    missing = sorted(files.keys() - committed.keys())
    extra = sorted(committed.keys() - files.keys())
    renumbered = {name for name in missing if files[name] in {committed[e] for e in extra}}
    lines = [f"missing from {target}: {name}\n" for name in missing if name not in renumbered]
    lines += [f"extra file in {target}: {name}\n" for name in extra
              if committed[name] not in {files[m] for m in renumbered}]
    if renumbered:
        lines.append(f"{len(renumbered)} file(s) in {target} renumbered (same object, new file name)\n")
    return lines


def _file_diff(committed: str, rendered: str, path: Path) -> str:
    return "".join(difflib.unified_diff(committed.splitlines(keepends=True), rendered.splitlines(keepends=True),
                                        f"{path} (committed)", f"{path} (rendered)"))
