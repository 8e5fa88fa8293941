"""Render a Stack into Kubernetes objects, one renderer per component."""

from __future__ import annotations

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.stack import Stack


def render_stack(stack: Stack) -> list[Manifest]:
    """Every object of the stack, in component order (output.py sorts them for installation)."""
    from leanvibe_stack.render import (
        alertmanager,
        blackbox,
        exporters,
        grafana,
        logs,
        namespaces,
        prometheus,
        thanos,
        tracing,
    )
    from leanvibe_stack.render.topology import Topology

    instance = stack.global_.instance or stack.global_.environment
    topo = Topology.of(stack, instance)
    return [
        *namespaces.render(stack, instance),
        *prometheus.render(stack, topo),
        *alertmanager.render(stack, topo),
        *logs.render_loki(stack, topo),
        *logs.render_fluent_bit(stack, topo),
        *grafana.render(stack, topo),
        *exporters.render_node_exporter(stack, topo),
        *exporters.render_kube_state_metrics(stack, topo),
        *blackbox.render(stack, topo),
        *tracing.render_collector(stack, topo),
        *tracing.render_jaeger(stack, topo),
        *thanos.render(stack, topo),
    ]
