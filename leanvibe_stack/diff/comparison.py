"""Object-level comparison of two sets of Kubernetes objects: the engine of `diff` and `render --check`.

Objects are matched by (apiVersion, kind, namespace, name).  A changed object is shown as a unified
diff of its YAML, except that

* every multi-line value of a ConfigMap's `data` (an embedded config file: prometheus.yml, a rule
  file, alertmanager.yml, loki.yaml, fluent-bit.yaml, a dashboard's JSON, a template) is diffed as its
  own text, with its own line numbers, and stands as a placeholder in the object's YAML;
* `checksum/config` pod annotations are left out of the YAML diff and collapsed into one note per
  pod owner that names the mounted ConfigMaps (or Secrets) that changed and so caused it;
* every pod owner the change touches gets a `PodNote` saying what happens to its pods on apply: a changed
  pod template restarts them; a changed ConfigMap they mount, with the template unchanged, is reloaded by
  their config-reloader sidecar, re-read by Grafana's dashboard provider, or not seen until they restart.

The alerting summary (`alerting.py`) comes with every comparison.
"""

from __future__ import annotations

import copy
import datetime
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.diff.alerting import Alerting, alerting
from leanvibe_stack.diff.immutable import Refusal, refusals
from leanvibe_stack.diff.stored_data import refusals as stored_data_refusals
from leanvibe_stack.errors import InputError
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.output import INSTALL_ORDER
from leanvibe_stack.validate.bundle import as_dict
from leanvibe_stack.validate.releases import check_date

Key = tuple[str, str, str, str]
Sides = tuple[str, str]
CHECKSUM = "checksum/config"
EMBEDDED = "<embedded file, diffed on its own>"
NO_NEWLINE = "\\ No newline at end of file\n"
_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}


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


RESTARTS = "restarts"
SIDECAR = "reloads (sidecar)"
GRAFANA = "re-read by Grafana within 60s"
STALE = "keeps the old config until its pods restart"
RELOADER = "config-reloader"  # the sidecar's container name (render/common.py)
DASHBOARD_LABEL = "grafana_dashboard"  # ConfigMaps Grafana's file provider re-reads (render/grafana.py)


@dataclass(frozen=True)
class PodNote:
    """What applying the change does to one pod owner's pods (`action`), and the objects that cause it."""

    owner: str
    action: str  # RESTARTS | SIDECAR | GRAFANA | STALE
    causes: tuple[str, ...]

    def __str__(self) -> str:
        why = f" ({', '.join(self.causes)} changed)" if self.causes else ""
        return f"{self.owner}: {self.action}{why}"


@dataclass(frozen=True)
class Change:
    """An object on both sides whose content differs."""

    manifest: Manifest  # the new side's
    diffs: tuple[TextDiff, ...]
    checksum: ChecksumNote | None
    # What an update of the object cannot change (`kubectl apply` fails), or must not (stored data).
    refusals: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """Everything that differs between two sides, in install order."""

    sides: Sides
    added: tuple[Manifest, ...]
    removed: tuple[Manifest, ...]
    changed: tuple[Change, ...]
    alerting: Alerting
    pods: tuple[PodNote, ...] = ()

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
    def refused(self) -> list[Change]:
        """The changed objects `kubectl apply` cannot update (`immutable.py`) or must not (`stored_data.py`)."""
        return [c for c in self.changed if c.refusals]

    @property
    def notes(self) -> list[ChecksumNote]:
        return [c.checksum for c in self.changed if c.checksum is not None]


def label(key: Key) -> str:
    _, kind, namespace, name = key
    return "/".join(part for part in (kind, namespace, name) if part)


def compare(old: list[Manifest], new: list[Manifest], sides: Sides = ("a", "b"), *, context: int = 3,
            today: datetime.date | None = None) -> Comparison:
    """Match objects by (apiVersion, kind, namespace, name) and describe what differs.

    `today` (default: the check date, LEANVIBE_TODAY or today) decides which Loki schema periods have started.
    """
    day = today or check_date()
    before, after = _index(old, sides[0]), _index(new, sides[1])
    differing = [key for key in before.keys() & after.keys() if before[key].obj != after[key].obj]
    added = [after[key] for key in after.keys() - before.keys()]
    removed = [before[key] for key in before.keys() - after.keys()]
    content = [key for key in differing if _content(before[key]) != _content(after[key])]
    configs = {(k[1], k[2], k[3]) for k in [*content, *(m.key for m in added), *(m.key for m in removed)]}
    changed = [_change(before[key], after[key], sides, configs, context, day) for key in differing]
    return Comparison(sides, tuple(_ordered(added)), tuple(_ordered(removed)),
                      tuple(sorted(changed, key=lambda c: _order(c.manifest))), alerting(old, new),
                      tuple(_pod_notes(before, after, configs)))


def _pod_notes(before: dict[Key, Manifest], after: dict[Key, Manifest],
               configs: set[tuple[str, str, str]]) -> list[PodNote]:
    """One note per pod owner on both sides whose pod template or mounted configs changed, in install order."""
    notes = []
    for key in sorted(before.keys() & after.keys(), key=lambda k: _order(after[k])):
        old, new = before[key], after[key]
        if not _pod_template(new.obj):
            continue
        causes = sorted((kind, name) for kind, name in _mounted(old.obj) | _mounted(new.obj)
                        if (kind, new.namespace, name) in configs)
        if _pod_template(old.obj) != _pod_template(new.obj):
            # Beyond its checksum, the template itself changed (a container, flags, a volume): that restarts the
            # pods even when every changed config would have been reloaded; say so first.
            template = ("pod template",) if _without_checksum(old.obj) != _without_checksum(new.obj) else ()
            names = (*template, *(_cause_name(kind, name) for kind, name in causes))
            notes.append(PodNote(label(key), RESTARTS, names))
        elif causes:
            notes += _reload_notes(label(key), new, after, causes)
    return notes


def _cause_name(kind: str, name: str) -> str:
    return name if kind == "ConfigMap" else f"{kind}/{name}"


def _reload_notes(owner: str, pod_owner: Manifest, after: dict[Key, Manifest],
                  causes: list[tuple[str, str]]) -> list[PodNote]:
    """How pods whose template did not change pick up each changed config they mount (grouped by how)."""
    watched = _watched_configs(pod_owner.obj)
    by_action: dict[str, list[str]] = {}
    for kind, name in causes:
        config = after.get(("v1", kind, pod_owner.namespace, name))
        labels = as_dict(as_dict(config.obj.get("metadata")).get("labels")) if config else {}
        action = SIDECAR if (kind, name) in watched else GRAFANA if DASHBOARD_LABEL in labels else STALE
        by_action.setdefault(action, []).append(_cause_name(kind, name))
    return [PodNote(owner, action, tuple(names)) for action, names in by_action.items()]


def _watched_configs(obj: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of the ConfigMaps and Secrets mounted where a config-reloader container watches."""
    spec = as_dict(_pod_template(obj).get("spec"))
    reloaders = [as_dict(c) for c in spec.get("containers") or [] if as_dict(c).get("name") == RELOADER]
    dirs = {str(arg).partition("=")[2] for c in reloaders for arg in c.get("args") or []
            if str(arg).startswith("--watched-dir=")}
    volumes = {str(as_dict(m).get("name")) for c in reloaders for m in c.get("volumeMounts") or []
               if as_dict(m).get("mountPath") in dirs}
    return set().union(*(_sources(as_dict(v)) for v in spec.get("volumes") or []
                         if as_dict(v).get("name") in volumes))


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


def _change(old: Manifest, new: Manifest, sides: Sides, configs: set[tuple[str, str, str]], context: int,
            day: datetime.date) -> Change:
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
    return Change(new, tuple(diffs), _checksum_note(old, new, configs),
                  refusals(old, new) + stored_data_refusals(old, new, day))


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
    obj = _without_checksum(manifest.obj)
    data = obj.get("data")
    for key in embedded:
        if isinstance(data, dict) and key in data:
            data[key] = EMBEDDED
    return yamlio.dump(obj)


def _without_checksum(original: dict[str, Any]) -> dict[str, Any]:
    """A copy of the object without its pod template's checksum annotation."""
    obj = copy.deepcopy(original)
    metadata = _pod_template(obj).get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(metadata, dict) and isinstance(annotations, dict) and CHECKSUM in annotations:
        del annotations[CHECKSUM]
        if not annotations:
            del metadata["annotations"]
    return obj


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
    volumes = as_dict(_pod_template(obj).get("spec")).get("volumes") or []
    return set().union(*(_sources(as_dict(volume)) for volume in volumes))


def _sources(volume: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of the ConfigMaps and Secrets one volume projects."""
    found = set()
    for source in [volume, *(as_dict(s) for s in as_dict(volume.get("projected")).get("sources") or [])]:
        if "configMap" in source:
            found.add(("ConfigMap", str(as_dict(source["configMap"]).get("name", ""))))
        if "secret" in source:
            secret = as_dict(source["secret"])
            found.add(("Secret", str(secret.get("secretName") or secret.get("name") or "")))
    return found
