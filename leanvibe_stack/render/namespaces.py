"""The stack's two namespaces: restricted for the stack, privileged for host-access agents."""

from __future__ import annotations

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.engine import render_object

AGENTS_EXCEPTION = (
    "Fluent Bit reads node log files through read-only hostPath mounts as root, and node-exporter needs "
    "the host's network, PID namespace and filesystems; neither can run under the restricted or "
    "baseline Pod Security Standard. Only these two DaemonSets live here."
)


def render(stack: Stack, instance: str) -> list[Manifest]:
    g = stack.global_
    return [
        render_object("namespace/namespace.yaml.j2", "namespace", name=g.namespace, instance=instance,
                      level="restricted", reason=""),
        render_object("namespace/namespace.yaml.j2", "namespace", name=g.agents_namespace, instance=instance,
                      level="privileged", reason=AGENTS_EXCEPTION),
    ]
