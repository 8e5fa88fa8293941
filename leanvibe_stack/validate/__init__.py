"""Validate rendered objects as one system: schemas, cross-references, routing, PromQL, security, tools."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, json_path
from leanvibe_stack.validate.tools import ToolRun

if TYPE_CHECKING:
    from leanvibe_stack.models.identity import Identity
    from leanvibe_stack.validate.cluster import Cluster
    from leanvibe_stack.validate.identity import Locate
    from leanvibe_stack.validate.selection import Selection


@dataclass(frozen=True)
class Report:
    """Everything one validation found, sorted, and what the external tools said."""

    objects: int
    findings: list[Finding]
    tools: list[ToolRun] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        """Errors fail; warnings fail only under --strict."""
        return bool(self.errors or (strict and self.warnings))


SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)
MALFORMED = ("schema.invalid", "schema.unknown-kind")


def validate(
    manifests: list[Manifest],
    *,
    kube_version: str,
    run_tools: bool = False,
    require_tools: bool = False,
    rule_tests: list[Path] | None = None,
    identity: Identity | None = None,
    other_identities: Sequence[Identity] = (),
    locate: Locate | None = None,
    selection: Selection | None = None,
    cluster: Cluster | None = None,
) -> Report:
    """Run every in-process check; with `run_tools`, also promtool and amtool when installed.

    `identity` and `other_identities` (the rendered profile's and the other profiles') let the leak check
    name another environment's values; `locate` finds where the profile wrote one.  `selection` keeps the
    findings of some checks only (`--checks`/`--skip`; the tools run only when a `tool.*` check is selected);
    `cluster` is what exists besides the manifests (`--external`, and what Kubernetes bootstraps).
    """
    from leanvibe_stack.validate import schema, tools
    from leanvibe_stack.validate.cluster import Cluster
    from leanvibe_stack.validate.selection import Selection

    selection = selection or Selection()
    bundle = Bundle(manifests, cluster or Cluster())
    findings = schema.check(bundle, kube_version)
    context = (kube_version, identity, other_identities, locate)
    malformed = {f.object for f in findings if f.check in MALFORMED}
    try:
        findings += _semantic(bundle, *context)
    except SHAPE_ERRORS:
        # The checks below the schemas read objects in the shape the API server enforces.  An object out of that
        # shape (its schema findings say how) is one the API server refuses: check the others without it.  The
        # schemas let an object in a list be null, which Go decodes as an empty object missing its required fields.
        nulls = [error("schema.invalid", ObjectRef.of(m), path, "a list item is null: the API server reads it as "
                       "an empty object, without the fields it requires")
                 for m in manifests for path in _null_items(m.obj)]
        malformed |= {f.object for f in nulls}
        if not malformed:
            raise  # well-formed objects broke a check: a bug, reported as one
        findings += nulls
        kept = [m for m in manifests if ObjectRef.of(m) not in malformed]
        bundle = Bundle(kept, bundle.cluster)
        findings += _semantic(bundle, *context)
    runs: list[ToolRun] = []
    if run_tools and selection.wants_group("tool"):
        tool_findings, runs = tools.check(bundle, rule_tests=rule_tests or [], require=require_tools)
        findings += tool_findings
    chosen = [f for f in findings if selection.wants(f.check)]
    return Report(objects=len(manifests), findings=sorted(chosen, key=Finding.sort_key), tools=runs)


def _semantic(bundle: Bundle, kube_version: str, identity: Identity | None, other_identities: Sequence[Identity],
              locate: Locate | None) -> list[Finding]:
    """Every check after the schemas: what one object means to the others, and to the programs."""
    from leanvibe_stack.validate import (
        correlations,
        crossref,
        ingress,
        logql,
        loki,
        objects,
        panels,
        promql,
        rbac,
        releases,
        routing,
        security,
        sizes,
        synthetic,
        templates,
        thanos,
        tracing,
    )
    from leanvibe_stack.validate import (
        identity as identity_check,
    )

    return [
        *objects.check(bundle),
        *crossref.check(bundle),
        *ingress.check(bundle),
        *correlations.check(bundle),
        *routing.check(bundle),
        *promql.check(bundle),
        *logql.check(bundle),
        *panels.check(bundle),
        *security.check(bundle),
        *rbac.check(bundle),
        *sizes.check(bundle),
        *templates.check(bundle),
        *synthetic.check(bundle),
        *tracing.check(bundle),
        *thanos.check(bundle),
        *releases.check(bundle),
        *releases.check_kubernetes(kube_version),
        *loki.check(bundle),
        *identity_check.check(bundle, identity, other_identities, locate),
    ]


def _null_items(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[str]:
    """The JSON path of every null item of a list inside `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _null_items(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if item is None:
                yield json_path((*path, i))
            yield from _null_items(item, (*path, i))
