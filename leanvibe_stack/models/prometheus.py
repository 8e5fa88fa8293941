"""Prometheus 2.45: the server, its scrape jobs and its alert rules.

Scrape-job and rule fields carry their upstream names so the rendered prometheus.yml and
rule files are plain dumps of these models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from leanvibe_stack.models.base import Duration, LabelName, Port, ScrapeTarget, StrictModel, at
from leanvibe_stack.models.relabel import RelabelConfig
from leanvibe_stack.models.workload import MAX_REPLICAS, HttpProbe, NonRootWorkload, Storage


class StaticConfig(StrictModel):
    """A fixed list of targets."""

    targets: list[ScrapeTarget] = Field(description="`host:port` targets (the port may be left out).", min_length=1)
    labels: dict[str, str] | None = Field(None, description="Labels added to every target.")


class KubernetesNamespaces(StrictModel):
    """Which namespaces Kubernetes service discovery watches."""

    names: list[str] | None = Field(None, description="Namespace names.")
    own_namespace: bool | None = Field(None, description="Watch Prometheus's own namespace.")


class KubernetesSDConfig(StrictModel):
    """Kubernetes service discovery."""

    role: Literal["node", "service", "pod", "endpoints", "endpointslice", "ingress"] = Field(
        description="Kind of object discovered as targets."
    )
    namespaces: KubernetesNamespaces | Literal["application"] | None = Field(
        None,
        description="Namespaces to watch; `application` means the profile's `global.app_namespace`; "
        "all namespaces when unset.",
    )


class Ec2Filter(StrictModel):
    """An EC2 DescribeInstances filter."""

    name: str = Field(description="Filter name, e.g. `tag:Environment`.")
    values: list[str] = Field(description="Accepted values.", min_length=1)


class Ec2SDConfig(StrictModel):
    """AWS EC2 service discovery (credentials from the pod's IAM role, never the profile)."""

    region: str | None = Field(None, description="AWS region, e.g. `us-east-1`; `global.region` when unset.")
    port: Port = Field(80, description="Port scraped on each instance's private IP.")
    refresh_interval: Duration | None = Field(None, description="How often instances are listed again.")
    environment_tag: str | None = Field(
        "Environment",
        description="Only instances whose tag of this name is `global.environment` (a filter put first); "
        "null lists the instances of every environment.",
    )
    filters: list[Ec2Filter] | None = Field(None, description="More instance filters.")


class TlsConfig(StrictModel):
    """TLS settings for scraping."""

    ca_file: str | None = Field(None, description="CA certificate file.")
    server_name: str | None = Field(None, description="Server name expected in the certificate.")
    insecure_skip_verify: bool | None = Field(None, description="Skip certificate verification.")


class Authorization(StrictModel):
    """The `Authorization` header sent with each scrape."""

    type: str = Field("Bearer", description="Authorization scheme.")
    credentials_file: str = Field(description="File holding the credentials, e.g. a service-account token.")


class ScrapeJob(StrictModel):
    """One `scrape_configs` entry; its name in the profile is its `job_name`."""

    scrape_interval: Duration | None = Field(None, description="Overrides the global scrape interval.")
    scrape_timeout: Duration | None = Field(None, description="Overrides the global scrape timeout.")
    metrics_path: str | None = Field(None, description="HTTP path of the metrics; default `/metrics`.")
    scheme: Literal["http", "https"] | None = Field(None, description="Scrape scheme; default `http`.")
    honor_labels: bool | None = Field(None, description="Keep target labels that clash with server labels.")
    tls_config: TlsConfig | None = Field(None, description="TLS settings.")
    authorization: Authorization | None = Field(None, description="Authorization header.")
    static_configs: list[StaticConfig] | None = Field(None, description="Fixed targets.")
    kubernetes_sd_configs: list[KubernetesSDConfig] | None = Field(None, description="Kubernetes discovery.")
    ec2_sd_configs: list[Ec2SDConfig] | None = Field(None, description="EC2 discovery.")
    relabel_configs: list[RelabelConfig] | None = Field(None, description="Target relabeling.")
    metric_relabel_configs: list[RelabelConfig] | None = Field(None, description="Sample relabeling.")

    @model_validator(mode="after")
    def _has_targets(self) -> ScrapeJob:
        if not (self.static_configs or self.kubernetes_sd_configs or self.ec2_sd_configs):
            raise ValueError("a scrape job needs static_configs, kubernetes_sd_configs or ec2_sd_configs")
        return self


class AlertRule(StrictModel):
    """An alerting rule; its name in the profile is the alert name."""

    expr: str = Field(description="PromQL expression; every result series is a firing alert.")
    for_: Duration | None = Field(None, alias="for", description="How long the expression must hold.")
    keep_firing_for: Duration | None = Field(None, description="How long to keep firing after it clears.")
    labels: dict[LabelName, str] = Field(default_factory=dict, description="Labels added to the alert.")
    annotations: dict[LabelName, str] = Field(default_factory=dict, description="Annotations (summary, ...).")

    @field_validator("expr")
    @classmethod
    def _strip(cls, expr: str) -> str:
        return expr.strip()


class RuleGroup(StrictModel):
    """A rule group, rendered as its own rule file."""

    interval: Duration | None = Field(None, description="Evaluation interval; the global one if unset.")
    rules: dict[str, AlertRule] = Field(description="Alert rules keyed by alert name.", min_length=1)


class PrometheusServer(NonRootWorkload):
    """The Prometheus StatefulSet and its configuration."""

    replicas: int = Field(ge=1, le=MAX_REPLICAS, description="Independent replicas scraping the same targets.")
    retention_time: Duration = Field(description="How long samples are kept (`storage.tsdb.retention.time`).")
    retention_size: str = Field(
        description="Most bytes of blocks kept (`storage.tsdb.retention.size`), e.g. `100GB`.",
        pattern=r"^\d+(B|KB|MB|GB|TB|PB|EB)$"
    )
    storage: Storage = Field(description="Per-replica TSDB volume.")
    liveness_probe: HttpProbe = Field(description="Liveness probe.")
    readiness_probe: HttpProbe = Field(description="Readiness probe.")
    extra_args: list[str] = Field(default_factory=list, description="Additional command-line flags.")
    scrape_interval: Duration = Field(description="Global scrape interval.")
    evaluation_interval: Duration = Field(description="Global rule evaluation interval.")
    scrape_jobs: dict[str, ScrapeJob] = Field(description="Scrape jobs keyed by job name.")
    rule_groups: dict[str, RuleGroup] = Field(description="Alert rule groups keyed by group name.")

    @field_validator("extra_args")
    @classmethod
    def _no_unauthenticated_admin(cls, args: list[str]) -> list[str]:
        # Prometheus has no authentication: these endpoints let anyone delete data or stop it.
        for arg in args:
            if arg.split("=")[0] in {"--web.enable-admin-api", "--web.enable-lifecycle"}:
                raise ValueError(f"{arg} exposes unauthenticated admin endpoints; leave it out")
        return args

    @model_validator(mode="after")
    def _unique_alert_names(self) -> PrometheusServer:
        seen: dict[str, str] = {}
        for group_name, group in self.rule_groups.items():
            for alert in group.rules:
                if alert in seen:
                    raise ValueError(at(("rule_groups", group_name, "rules", alert),
                                        f"alert {alert!r} is already defined in group {seen[alert]!r}"))
                seen[alert] = group_name
        return self

    def alert_rules(self) -> dict[str, Any]:
        """All alert rules by name."""
        return {name: rule for group in self.rule_groups.values() for name, rule in group.rules.items()}
