"""Validate rendered objects as one system: schemas, cross-references, routing, PromQL, security, tools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding
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
    from leanvibe_stack.validate import (
        correlations,
        crossref,
        logql,
        loki,
        objects,
        panels,
        promql,
        rbac,
        releases,
        routing,
        schema,
        security,
        sizes,
        synthetic,
        templates,
        tools,
        tracing,
    )
    from leanvibe_stack.validate import (
        identity as identity_check,
    )
    from leanvibe_stack.validate.cluster import Cluster
    from leanvibe_stack.validate.selection import Selection

    selection = selection or Selection()
    bundle = Bundle(manifests, cluster or Cluster())
    findings = [
        *schema.check(bundle, kube_version),
        *objects.check(bundle),
        *crossref.check(bundle),
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
        *releases.check(bundle),
        *releases.check_kubernetes(kube_version),
        *loki.check(bundle),
        *identity_check.check(bundle, identity, other_identities, locate),
    ]
    runs: list[ToolRun] = []
    if run_tools and selection.wants_group("tool"):
        tool_findings, runs = tools.check(bundle, rule_tests=rule_tests or [], require=require_tools)
        findings += tool_findings
    chosen = [f for f in findings if selection.wants(f.check)]
    return Report(objects=len(manifests), findings=sorted(chosen, key=Finding.sort_key), tools=runs)
