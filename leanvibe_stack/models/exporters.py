"""Exporters the stack's own scrape jobs and alerts depend on."""

from __future__ import annotations

from pydantic import Field

from leanvibe_stack.models.pods import Toleration, tolerate_everything
from leanvibe_stack.models.workload import NonRootWorkload


class NodeExporter(NonRootWorkload):
    """node-exporter DaemonSet: host metrics from every node (host-access exception)."""

    tolerations: list[Toleration] = Field(
        default_factory=tolerate_everything,
        description="Taints it runs on anyway; by default every taint (`[{operator: Exists}]`): a node "
        "agent missing from a tainted node leaves that node unwatched. A list narrows it.",
    )


class KubeStateMetrics(NonRootWorkload):
    """kube-state-metrics Deployment: metrics about Kubernetes objects (kube_*)."""
