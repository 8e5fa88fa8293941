"""RBAC: rendered Roles and ClusterRoles grant no dangerous permission unless they document why.

A rule is dangerous when it grants (the permissions the Kubernetes RBAC good-practices page names as
escalation paths):

* `*` in verbs or resources: everything, including what later Kubernetes versions add;
* `nodes/proxy`: the kubelet's whole API, commands in any container of the node included;
* `pods/exec` or `pods/attach`: commands in, or the terminal of, any container;
* `escalate`, `bind` or `impersonate`: granting oneself, or acting with, more than one holds;
* `get`, `list` or `watch` on `secrets` in a ClusterRole without `resourceNames`: every Secret of the
  cluster (a namespaced Role is left alone: it reads its own namespace's).

A role documents an exception with the `leanvibe.ai/rbac-exception` annotation, whose value says why
it needs that permission; an empty value documents nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

CHECKS = ("rbac.dangerous",)
EXCEPTION = "leanvibe.ai/rbac-exception"
ESCALATING_VERBS = ("escalate", "bind", "impersonate")
READ_VERBS = ("get", "list", "watch")
# Subresource -> what holding it allows.
DANGEROUS_RESOURCES = {
    "nodes/proxy": "the kubelet's whole API, commands in any container of the node included",
    "pods/exec": "running commands in any container",
    "pods/attach": "attaching to any container's terminal",
}


def check(bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    for role in bundle.of_kind("ClusterRole", "Role"):
        if _documented(role):
            continue
        for i, rule in enumerate(role.obj.get("rules") or []):
            if isinstance(rule, dict):
                findings.extend(_dangerous(role, i, rule))
    return findings


def _documented(role: Manifest) -> bool:
    annotations = (role.obj.get("metadata") or {}).get("annotations") or {}
    return bool(str(annotations.get(EXCEPTION) or "").strip())


def _dangerous(role: Manifest, i: int, rule: dict[str, Any]) -> Iterator[Finding]:
    ref, path = ObjectRef.of(role), f"rules[{i}]"
    verbs = [str(v) for v in rule.get("verbs") or []]
    resources = [str(r) for r in rule.get("resources") or []]
    if "*" in verbs:
        yield _finding(ref, f"{path}.verbs", "`*` verbs: every action, including ones added later")
    if "*" in resources:
        yield _finding(ref, f"{path}.resources", "`*` resources: every resource, including ones added later")
    for resource, allows in DANGEROUS_RESOURCES.items():
        if resource in resources:
            yield _finding(ref, f"{path}.resources", f"{resource}: {allows}")
    for verb in ESCALATING_VERBS:
        if verb in verbs:
            yield _finding(ref, f"{path}.verbs", f"the {verb} verb: more privilege than the role itself holds")
    reads = sorted(set(verbs) & set(READ_VERBS))
    if role.kind == "ClusterRole" and "secrets" in resources and reads and not rule.get("resourceNames"):
        yield _finding(ref, f"{path}.resources", f"{'/'.join(reads)} on secrets cluster-wide: every Secret")


def _finding(ref: ObjectRef, path: str, grant: str) -> Finding:
    return error("rbac.dangerous", ref, path,
                 f"grants {grant}; narrow the rule, or say why the workload needs it in the {EXCEPTION} "
                 f"annotation of the role")
