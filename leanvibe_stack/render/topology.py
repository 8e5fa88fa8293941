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
            prometheus=component("prometheus", "metrics", instance, stack.prometheus.image, g),
            alertmanager=component("alertmanager", "alerting", instance, stack.alertmanager.image, g),
            loki=component("loki", "logs", instance, stack.loki.image, g),
            fluent_bit=component("fluent-bit", "log-collector", instance, stack.fluent_bit.image, g,
                               namespace=g.agents_namespace),
            grafana=component("grafana", "dashboards", instance, stack.grafana.image, g),
            node_exporter=component("node-exporter", "exporter", instance, stack.node_exporter.image, g,
                                    namespace=g.agents_namespace),
            kube_state_metrics=component("kube-state-metrics", "exporter", instance,
                                         stack.kube_state_metrics.image, g),
            blackbox_exporter=component("blackbox-exporter", "exporter", instance, stack.blackbox_exporter.image, g)
            if stack.blackbox_exporter else None,
            otel_collector=component("otel-collector", "trace-collector", instance, stack.otel_collector.image, g)
            if stack.otel_collector else None,
            jaeger=component("jaeger", "traces", instance, stack.jaeger.image, g) if stack.jaeger else None,
            thanos_query=component("thanos-query", "query", instance, stack.thanos.query.image, g)
            if stack.thanos else None,
            thanos_store=component("thanos-store", "store-gateway", instance, stack.thanos.store.image, g)
            if stack.thanos else None,
            thanos_compactor=component("thanos-compactor", "compactor", instance, stack.thanos.compactor.image, g)
            if stack.thanos else None,
        )
