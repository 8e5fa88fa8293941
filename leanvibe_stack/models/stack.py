"""The whole stack: global settings plus one model per component."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from leanvibe_stack.models.alertmanager import Alertmanager
from leanvibe_stack.models.base import DnsLabel, StrictModel, at
from leanvibe_stack.models.blackbox import BlackboxExporter, probe_job_names
from leanvibe_stack.models.exporters import KubeStateMetrics, NodeExporter
from leanvibe_stack.models.grafana import Grafana
from leanvibe_stack.models.identity import with_identity_defaults
from leanvibe_stack.models.logs import FluentBit, Loki
from leanvibe_stack.models.prometheus import PrometheusServer
from leanvibe_stack.models.thanos import Thanos
from leanvibe_stack.models.tracing import Jaeger, OtelCollector
from leanvibe_stack.models.workload import ConfigReloader

BLOCK_DURATION_FLAGS = ("--storage.tsdb.min-block-duration", "--storage.tsdb.max-block-duration")


class NetworkPolicySettings(StrictModel):
    """Ingress NetworkPolicies: each component accepts traffic only from the stack parts that use it."""

    enabled: bool = Field(True, description="Render one ingress NetworkPolicy per component.")
    ui_namespaces: list[DnsLabel] = Field(
        default_factory=list,
        description="Namespaces (e.g. of an ingress controller) allowed to reach the Grafana, Prometheus "
        "and Alertmanager web UIs.",
    )


class GlobalSettings(StrictModel):
    """Settings every component shares."""

    namespace: DnsLabel = Field(description="Namespace of the stack (restricted Pod Security Standard).")
    agents_namespace: DnsLabel = Field(
        description="Namespace of the host-access agents (Fluent Bit, node-exporter), labelled `privileged`."
    )
    app_namespace: DnsLabel = Field(
        description="Namespace of the monitored LeanVibe application (default `leanvibe-<environment>`)."
    )
    cluster: str = Field(
        description="Cluster name, added to every metric as the `cluster` label (default `leanvibe-<environment>`)."
    )
    region: str = Field(description="Cloud region, added to every metric as the `region` label.")
    environment: DnsLabel = Field(
        description="Environment name, e.g. `production`, `staging`, `eu`: added to every metric as the "
        "`environment` label."
    )
    shared_names: list[str] = Field(
        default_factory=list,
        description="Names of another environment (a bucket, a cluster) this one uses on purpose: "
        "`validate` does not report them as leaks.",
    )
    instance: DnsLabel | None = Field(
        None,
        description="The `app.kubernetes.io/instance` label of every object; it is part of every workload's "
        "selector, which Kubernetes never lets change: default `environment`, never the profile's file name.",
    )
    domain: str = Field(
        description="The company's DNS domain, e.g. `leanvibe.ai`.", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )
    external_url_base: str = Field(
        description="DNS suffix of the web UIs: Prometheus is served at https://prometheus.<base> "
        "(default `<environment>.<domain>`).",
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    )
    kubernetes_version: str = Field(description="Target Kubernetes minor version, e.g. `1.29`.", pattern=r"^1\.\d+$")
    cluster_domain: str = Field("cluster.local", description="Cluster DNS domain of Service names.")
    image_registry: str = Field(
        "", description="A mirror that replaces the registry of every image, e.g. `registry.example.com`."
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="imagePullPolicy of every container."
    )
    network_policy: NetworkPolicySettings = Field(
        default_factory=NetworkPolicySettings, description="Ingress NetworkPolicies."
    )


class Stack(StrictModel):
    """A fully merged profile: everything needed to render the stack."""

    description: str = Field("", description="What this profile is for (shown by `profiles list`).")
    global_: GlobalSettings = Field(alias="global", description="Settings every component shares.")
    prometheus: PrometheusServer = Field(description="Prometheus server, scrape jobs and alert rules.")
    alertmanager: Alertmanager = Field(description="Alertmanager cluster, routes and receivers.")
    loki: Loki = Field(description="Loki log store.")
    fluent_bit: FluentBit = Field(description="Fluent Bit, the log agent on every node.")
    grafana: Grafana = Field(description="Grafana, datasources and dashboards.")
    node_exporter: NodeExporter = Field(description="node-exporter DaemonSet.")
    kube_state_metrics: KubeStateMetrics = Field(description="kube-state-metrics Deployment.")
    blackbox_exporter: BlackboxExporter | None = Field(
        None, description="Synthetic monitoring: blackbox_exporter and its probes (not rendered when unset)."
    )
    otel_collector: OtelCollector | None = Field(
        None, description="Tracing: the OpenTelemetry Collector the applications send spans to (needs `jaeger`)."
    )
    jaeger: Jaeger | None = Field(None, description="Tracing: Jaeger v2, the trace store, UI and query API.")
    thanos: Thanos | None = Field(
        None,
        description="Thanos: a sidecar in every Prometheus pod uploading blocks to object storage, Query "
        "deduplicating the replicas (Grafana's Prometheus datasource), the store gateway and the compactor; "
        "unset: Grafana queries one Prometheus replica at a time.",
    )
    config_reloader: ConfigReloader | None = Field(
        None,
        description="Sidecar that reloads Prometheus and Alertmanager in place when their ConfigMaps change "
        "(Prometheus then runs with --web.enable-lifecycle, which needs the NetworkPolicies); unset: a config "
        "change restarts their pods through checksum/config.",
    )

    @model_validator(mode="before")
    @classmethod
    def _identity(cls, data: Any) -> Any:
        return with_identity_defaults(data)

    @model_validator(mode="before")
    @classmethod
    def _promtail_replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and "promtail" in data:
            raise ValueError(at(("promtail",), "Promtail reached end of life on 2026-03-02 and was replaced by "
                                               "fluent_bit (README: Upgrading); move its settings there"))
        return data

    @model_validator(mode="after")
    def _lifecycle_behind_policy(self) -> Stack:
        # The reloader needs Prometheus's --web.enable-lifecycle, which also serves an unauthenticated /-/quit:
        # only the NetworkPolicy keeps that port to the few clients that need it.
        if self.config_reloader is not None and not self.global_.network_policy.enabled:
            raise ValueError(at(("config_reloader",),
                                "needs global.network_policy.enabled: Prometheus's reload endpoint comes with "
                                "--web.enable-lifecycle (/-/quit too), which only the NetworkPolicy keeps from "
                                "every pod of the cluster; set config_reloader: null to restart on changes instead"))
        return self

    @model_validator(mode="after")
    def _ingress_controller_admitted(self) -> Stack:
        # The controller's pods connect to the UI's pods; with the NetworkPolicies on, only the namespaces in
        # ui_namespaces may, so an Ingress without its controller's namespace there answers 502/504 forever.
        policy = self.global_.network_policy
        if policy.enabled and not policy.ui_namespaces:
            for name in ("grafana", "prometheus", "alertmanager"):
                if getattr(self, name).ingress is not None:
                    raise ValueError(at((name, "ingress"), "add the ingress controller's namespace to "
                                        "global.network_policy.ui_namespaces: the NetworkPolicy drops its "
                                        "connections otherwise"))
        return self

    @model_validator(mode="after")
    def _thanos_owns_block_durations(self) -> Stack:
        # With the sidecar uploading, the stack renders min = max = 2h; without it, equal durations only stop
        # local compaction (the seed's bug), so they are never the profile's to set while Thanos is on.
        if self.thanos is None:
            return self
        for i, arg in enumerate(self.prometheus.extra_args):
            if arg.split("=")[0] in BLOCK_DURATION_FLAGS:
                raise ValueError(at(("prometheus", "extra_args", i),
                                    f"{arg.split('=')[0]} is rendered with Thanos (2h, so the sidecar uploads "
                                    "every block before local compaction could touch it); leave it out"))
        return self

    @model_validator(mode="after")
    def _remote_endpoints_are_other_environments(self) -> Stack:
        if self.thanos is None:
            return self
        for name, remote in self.thanos.query.remote_endpoints.items():
            if remote.environment == self.global_.environment:
                raise ValueError(at(("thanos", "query", "remote_endpoints", name, "environment"),
                                    "is this profile's own environment: its data is already queried "
                                    "through the local sidecars and store gateway"))
        return self

    @model_validator(mode="after")
    def _namespaces_differ(self) -> Stack:
        if self.global_.namespace == self.global_.agents_namespace:
            raise ValueError(at(("global", "agents_namespace"),
                                "must differ from global.namespace: host-access agents need a namespace with "
                                "a looser Pod Security level"))
        return self

    @model_validator(mode="after")
    def _alert_names_unique_across_rulers(self) -> Stack:
        prometheus = {alert: group for group, rules in self.prometheus.rule_groups.items() for alert in rules.rules}
        for group_name, group in self.loki.rule_groups.items():
            for alert in group.rules:
                if alert in prometheus:
                    raise ValueError(at(("loki", "rule_groups", group_name, "rules", alert),
                                        f"alert {alert!r} is already a Prometheus alert (group {prometheus[alert]!r})"))
        return self

    @model_validator(mode="after")
    def _collector_exports_to_jaeger(self) -> Stack:
        if self.otel_collector is not None and self.jaeger is None:
            raise ValueError(at(("otel_collector",), "exports to the rendered Jaeger, which is off: set `jaeger` "
                                                     "or turn the collector off too (`otel_collector: null`)"))
        if self.otel_collector is not None and self.jaeger is not None \
                and self.jaeger.config.receivers.otlp.protocols.grpc is None:
            raise ValueError(at(("jaeger", "config", "receivers", "otlp", "protocols", "grpc"),
                                "the collector exports OTLP over gRPC: Jaeger must serve it"))
        return self

    @model_validator(mode="after")
    def _structured_metadata_accepted(self) -> Stack:
        # Loki answers 400 to a push carrying structured metadata it does not allow: the whole batch is lost.
        limits = self.loki.config.limits_config
        if limits is not None and not limits.structured_metadata_allowed:
            for alias, output in self.fluent_bit.config.pipeline.outputs.items():
                if output.structured_metadata:
                    raise ValueError(at(("fluent_bit", "config", "pipeline", "outputs", alias, "structured_metadata"),
                                        "Loki refuses structured metadata (loki.config.limits_config."
                                        "allow_structured_metadata: false until its tsdb/v13 period starts)"))
        return self

    @model_validator(mode="after")
    def _datasources_have_their_component(self) -> Stack:
        for name, source in self.grafana.datasources.items():
            if source.type == "jaeger" and self.jaeger is None:
                raise ValueError(at(("grafana", "datasources", name, "type"),
                                    "a jaeger datasource queries the rendered Jaeger, which is off (`jaeger: null`)"))
        return self

    @model_validator(mode="after")
    def _probe_jobs_are_new(self) -> Stack:
        for probe, job in probe_job_names(self.blackbox_exporter).items():
            if job in self.prometheus.scrape_jobs:
                raise ValueError(at(("prometheus", "scrape_jobs", job),
                                    f"clashes with the scrape job of blackbox_exporter.probes.{probe}: rename one"))
        return self
