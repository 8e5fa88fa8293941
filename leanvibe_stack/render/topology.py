"""Identities of all components, built once per render so every renderer agrees on names."""

from __future__ import annotations

from dataclasses import dataclass

from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.common import Component, component


@dataclass(frozen=True)
class Topology:
    """Every component of the stack and the ports others reach it on."""

    prometheus: Component
    alertmanager: Component
    loki: Component
    fluent_bit: Component
    grafana: Component
    node_exporter: Component
    kube_state_metrics: Component
    blackbox_exporter: Component | None  # None: the profile has no synthetic monitoring
    otel_collector: Component | None  # None: the profile has no tracing
    jaeger: Component | None
    thanos_query: Component | None  # None: the profile has no Thanos
    thanos_store: Component | None
    thanos_compactor: Component | None
    alertmanager_port: int = 9093
    loki_port: int = 3100

    @classmethod
    def of(cls, stack: Stack, instance: str) -> Topology:
        g = stack.global_
        return cls(
            prometheus=component("prometheus", "metrics", instance, stack.prometheus, g),
            alertmanager=component("alertmanager", "alerting", instance, stack.alertmanager, g),
            loki=component("loki", "logs", instance, stack.loki, g),
            fluent_bit=component("fluent-bit", "log-collector", instance, stack.fluent_bit, g,
                               namespace=g.agents_namespace),
            grafana=component("grafana", "dashboards", instance, stack.grafana, g),
            node_exporter=component("node-exporter", "exporter", instance, stack.node_exporter, g,
                                    namespace=g.agents_namespace),
            kube_state_metrics=component("kube-state-metrics", "exporter", instance,
                                         stack.kube_state_metrics, g),
            blackbox_exporter=component("blackbox-exporter", "exporter", instance, stack.blackbox_exporter, g)
            if stack.blackbox_exporter else None,
            otel_collector=component("otel-collector", "trace-collector", instance, stack.otel_collector, g)
            if stack.otel_collector else None,
            jaeger=component("jaeger", "traces", instance, stack.jaeger, g) if stack.jaeger else None,
            thanos_query=component("thanos-query", "query", instance, stack.thanos.query, g)
            if stack.thanos else None,
            thanos_store=component("thanos-store", "store-gateway", instance, stack.thanos.store, g)
            if stack.thanos else None,
            thanos_compactor=component("thanos-compactor", "compactor", instance, stack.thanos.compactor, g)
            if stack.thanos else None,
        )
