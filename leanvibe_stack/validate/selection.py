"""Which checks a validation reports: every check id, the groups they form, and named sets of checks.

A group is the part of an id before its first dot (`schema`, `ref`, `routing`, `promql`, ...): `--checks ref`
selects `ref.configmap`, `ref.secret` and the others.  `refs` and `pss` are spelt as users say them.  A named
set, `third-party`, is the checks that hold for any Kubernetes manifests, not only the ones this tool renders
(README "Validating manifests you did not render").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from leanvibe_stack.errors import UsageError

# Every check id `validate` reports, in the README's order (routing, tracing, rbac, ingress and thanos list theirs
# in CHECKS).
_IDS = (
    "schema.invalid", "schema.unknown-kind", "schema.unsupported-version", "schema.version-fallback",
    "quantity.malformed", "object.duplicate", "selector.mismatch", "service.no-pods", "service.target-port",
    "probe.port", "ref.configmap", "ref.secret", "ref.pvc", "ref.serviceaccount", "ref.configmap-key",
    "mount.config-file", "config.invalid", "loki.structured-metadata-schema", "loki.schema-not-v13",
    "dashboard.invalid", "dashboard.panel-type-removed", "mount.rule-files", "mount.templates", "url.unresolved",
    "binding.role", "binding.subject", "rules.template", "alertmanager.template", "promql.parse", "metrics.unknown",
    "logql.parse", "logql.unknown-label", "promql.removed-function", "promql.experimental-function",
    "promql.le-normalised", "promql.range-too-short", "security.pss", "security.credential", "security.placeholder",
    "image.unpinned", "configmap.too-large", "object.too-large-for-client-apply", "identity.leak",
    "image.end-of-life", "image.unknown-version", "kubernetes.end-of-life", "probe.unknown-module",
    "grafana.unknown-datasource-uid", "grafana.trace-logs-tag", "grafana.trace-metrics-query",
    "grafana.exemplars-not-stored", "tool.promtool-rules", "tool.promtool-tests", "tool.amtool",
    "tool.blackbox-exporter", "tool.not-run",
)
ALIASES = {"refs": ("ref",), "pss": ("security.pss",)}

# Checks that judge manifests by LeanVibe's own policies or catalogues, not by what Kubernetes or the programs
# do: the restricted Pod Security Standard for every pod (third-party charts target baseline, or need host
# access), RBAC breadth (operators need wide roles and know no `leanvibe.ai/rbac-exception`), metric names
# looked up in this stack's catalogues, release lines of the projects this stack pins, and another profile's
# names (there are no profiles).
NOT_THIRD_PARTY = ("security.pss", "rbac.dangerous", "metrics.unknown", "image.unknown-version", "identity.leak")


def all_ids() -> tuple[str, ...]:
    from leanvibe_stack.validate import ingress, rbac, routing, thanos, tracing

    return tuple(dict.fromkeys((*_IDS, *routing.CHECKS, *tracing.CHECKS, *rbac.CHECKS, *ingress.CHECKS,
                                *thanos.CHECKS)))


def group(check: str) -> str:
    return check.split(".", 1)[0]


def _third_party(ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(i for i in ids if i not in NOT_THIRD_PARTY)


NAMED_SETS: dict[str, Callable[[tuple[str, ...]], tuple[str, ...]]] = {"third-party": _third_party}


@dataclass(frozen=True)
class Selection:
    """The check ids a run reports (`None`: all of them)."""

    ids: frozenset[str] | None = None

    def wants(self, check: str) -> bool:
        return self.ids is None or check in self.ids

    def wants_group(self, name: str) -> bool:
        return self.ids is None or any(group(check) == name for check in self.ids)


def select(checks: Iterable[str] | None, skip: Iterable[str] | None) -> Selection:
    """`--checks` (default all) minus `--skip`; each value is comma-separated ids, groups or named sets."""
    wanted = _names(checks or [], "--checks")
    skipped = _names(skip or [], "--skip")
    if not wanted and not skipped:
        return Selection()
    ids = all_ids()
    chosen = set(_expand(wanted, ids)) if wanted else set(ids)
    chosen -= set(_expand(skipped, ids))
    if not chosen:
        raise UsageError("--checks/--skip: that selects no check at all")
    return Selection(frozenset(chosen))


def _names(values: Iterable[str], option: str) -> list[tuple[str, str]]:
    return [(option, name.strip()) for value in values for name in value.split(",") if name.strip()]


def _expand(names: list[tuple[str, str]], ids: tuple[str, ...]) -> list[str]:
    groups = sorted({group(i) for i in ids})
    found: list[str] = []
    for option, name in names:
        if name in NAMED_SETS:
            found += NAMED_SETS[name](ids)
            continue
        targets = ALIASES.get(name, (name,))
        matched = [i for i in ids if i in targets or group(i) in targets]
        if not matched:
            raise UsageError(f"{option}: unknown check id or group {name!r}; groups: {', '.join(groups)}; named "
                             f"sets: {', '.join(NAMED_SETS)}; ids: see `leanvibe-stack validate --list-checks`")
        found += matched
    return found


def list_checks() -> str:
    """`validate --list-checks`: one `id<TAB>group` line per check, then the named sets and aliases."""
    ids = all_ids()
    lines = [f"{check}\t{group(check)}" for check in ids]
    lines += [f"{name}\tset: {len(expand(ids))} checks" for name, expand in NAMED_SETS.items()]
    lines += [f"{alias}\tgroup alias: {', '.join(targets)}" for alias, targets in ALIASES.items()]
    return "".join(f"{line}\n" for line in lines)
