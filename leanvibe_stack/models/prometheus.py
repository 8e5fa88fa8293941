"""Prometheus 3.13: the server, its scrape jobs and its alert rules.

Scrape-job and rule fields carry their upstream names so the rendered prometheus.yml and
rule files are plain dumps of these models.  They follow the v3.13.2 configuration reference
(docs/configuration/configuration.md) and command-line reference (docs/command-line/prometheus.md,
plus the hidden flags of cmd/prometheus/main.go); what Prometheus 3.0 removed or renamed
(docs/migration.md) is refused with the setting to use instead.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from leanvibe_stack.models.base import Duration, LabelName, Port, ScrapeTarget, StrictModel, at
from leanvibe_stack.models.ingress import GuardedUiIngress
from leanvibe_stack.models.relabel import RelabelConfig
from leanvibe_stack.models.workload import (
    MAX_REPLICAS,
    HttpProbe,
    NonRootWorkload,
    Storage,
    grace_period,
    startup_budget_covers_replay,
)


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


# The exposition formats Prometheus 3.13 negotiates (names are case-sensitive upstream).
ScrapeProtocol = Literal[
    "PrometheusProto", "OpenMetricsText0.0.1", "OpenMetricsText1.0.0", "PrometheusText0.0.4", "PrometheusText1.0.0",
]

# Scrape-job keys Prometheus 3 no longer reads, and what replaces each (docs/migration.md).
REMOVED_SCRAPE_KEYS = {
    "scrape_classic_histograms": "Prometheus 3 renamed it `always_scrape_classic_histograms`",
}


class ScrapeJob(StrictModel):
    """One `scrape_configs` entry; its name in the profile is its `job_name`."""

    scrape_interval: Duration | None = Field(None, description="Overrides the global scrape interval.")
    scrape_timeout: Duration | None = Field(None, description="Overrides the global scrape timeout.")
    scrape_protocols: list[ScrapeProtocol] | None = Field(
        None, description="Exposition formats to negotiate, in order of preference.", min_length=1
    )
    fallback_scrape_protocol: ScrapeProtocol | None = Field(
        None, description="Format assumed when a target sends no valid Content-Type (Prometheus 3 otherwise fails "
        "the scrape)."
    )
    scrape_native_histograms: bool | None = Field(None, description="Ingest native histograms (Prometheus 3.8+).")
    always_scrape_classic_histograms: bool | None = Field(
        None, description="Also ingest the classic form of histograms that are exposed as native ones."
    )
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

    @model_validator(mode="before")
    @classmethod
    def _no_removed_keys(cls, data: Any) -> Any:
        # Said here rather than as "extra inputs are not permitted": the user needs the new name.
        if isinstance(data, dict):
            for key, instead in REMOVED_SCRAPE_KEYS.items():
                if key in data:
                    raise ValueError(at((key,), f"`{key}` no longer exists: {instead}"))
        return data

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


def refuse_duplicate_alerts(rule_groups: dict[str, RuleGroup]) -> None:
    """One alert name, one rule: Alertmanager, `routes` and `diff` know an alert by its name."""
    seen: dict[str, str] = {}
    for group_name, group in rule_groups.items():
        for alert in group.rules:
            if alert in seen:
                raise ValueError(at(("rule_groups", group_name, "rules", alert),
                                    f"alert {alert!r} is already defined in group {seen[alert]!r}"))
            seen[alert] = group_name


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
    startup_probe: HttpProbe = Field(
        default_factory=lambda: HttpProbe(path="/-/ready", period_seconds=15, timeout_seconds=3, failure_threshold=60),
        description="Startup probe: `/-/ready` answers once the WAL is replayed, and no liveness probe runs before "
        "it passes. At least 300 s in all (the default, prometheus-operator's: 15 s x 60 = 15 min).",
    )
    termination_grace_period_seconds: int = grace_period(
        600, "time to finish rule evaluations and write the head block's WAL and chunks to disk, so the next start "
        "replays less (kube-prometheus uses 600)."
    )
    extra_args: list[str] = Field(default_factory=list, description="Additional command-line flags.")
    scrape_interval: Duration = Field(description="Global scrape interval.")
    evaluation_interval: Duration = Field(description="Global rule evaluation interval.")
    scrape_jobs: dict[str, ScrapeJob] = Field(description="Scrape jobs keyed by job name.")
    rule_groups: dict[str, RuleGroup] = Field(description="Alert rule groups keyed by group name.")
    ingress: GuardedUiIngress | None = Field(
        None, description="An Ingress for the UI at its external URL; unset: none (port-forward, or your own).")

    @field_validator("startup_probe")
    @classmethod
    def _startup_covers_replay(cls, probe: HttpProbe) -> HttpProbe:
        return startup_budget_covers_replay(probe)

    @field_validator("extra_args")
    @classmethod
    def _no_unauthenticated_admin(cls, args: list[str]) -> list[str]:
        # Prometheus has no authentication: these endpoints let anyone delete data or stop it.
        for arg in args:
            if arg.split("=")[0] in {"--web.enable-admin-api", "--web.enable-lifecycle"}:
                raise ValueError(f"{arg} exposes unauthenticated admin endpoints; leave it out")
        return args

    @field_validator("extra_args")
    @classmethod
    def _flags_of_the_pinned_version(cls, args: list[str]) -> list[str]:
        for arg in args:
            problem = flag_problem(arg)
            if problem:
                raise ValueError(problem)
        return args

    @model_validator(mode="after")
    def _unique_alert_names(self) -> PrometheusServer:
        refuse_duplicate_alerts(self.rule_groups)
        return self

    def alert_rules(self) -> dict[str, Any]:
        """All alert rules by name."""
        return {name: rule for group in self.rule_groups.values() for name, rule in group.rules.items()}


# --------------------------------------------------------------------------------------------------------
# Command-line flags of Prometheus 3.13 (cmd/prometheus/main.go at v3.13.2, hidden ones included, and the
# logging flags it adds): an unknown flag stops Prometheus at start-up.
FLAGS = frozenset({
    "agent", "alertmanager.drain-notification-queue-on-shutdown", "alertmanager.notification-batch-size",
    "alertmanager.notification-queue-capacity", "auto-gomaxprocs", "auto-gomemlimit", "auto-gomemlimit.ratio",
    "config.auto-reload", "config.auto-reload-interval", "config.file", "enable-feature", "log.format", "log.level",
    "query.lookback-delta", "query.max-concurrency", "query.max-samples", "query.timeout",
    "rules.alert.for-grace-period", "rules.alert.for-outage-tolerance", "rules.alert.resend-delay",
    "rules.max-concurrent-evals", "scrape.adjust-timestamps", "scrape.discovery-reload-interval",
    "scrape.timestamp-tolerance", "storage.agent.checkpoint-batch-size",
    "storage.agent.checkpoint-from-in-memory-series", "storage.agent.no-lockfile", "storage.agent.path",
    "storage.agent.retention.max-time", "storage.agent.retention.min-time", "storage.agent.wal-compression",
    "storage.agent.wal-compression-type", "storage.agent.wal-segment-size", "storage.agent.wal-truncate-frequency",
    "storage.remote.flush-deadline", "storage.remote.read-concurrent-limit", "storage.remote.read-max-bytes-in-frame",
    "storage.remote.read-sample-limit", "storage.tsdb.allow-overlapping-compaction",
    "storage.tsdb.block-reload-interval", "storage.tsdb.delay-compact-file.path",
    "storage.tsdb.delayed-compaction.max-percent", "storage.tsdb.head-chunks-write-queue-size",
    "storage.tsdb.max-block-chunk-segment-size", "storage.tsdb.max-block-duration",
    "storage.tsdb.min-block-duration", "storage.tsdb.no-lockfile", "storage.tsdb.path",
    "storage.tsdb.retention.size", "storage.tsdb.retention.time", "storage.tsdb.samples-per-chunk",
    "storage.tsdb.wal-compression", "storage.tsdb.wal-compression-type", "storage.tsdb.wal-segment-size",
    "web.config.file", "web.console.libraries", "web.console.templates", "web.cors.origin", "web.enable-admin-api",
    "web.enable-lifecycle", "web.enable-otlp-receiver", "web.enable-remote-write-receiver", "web.external-url",
    "web.listen-address", "web.max-connections", "web.max-notifications-subscribers", "web.page-title",
    "web.read-timeout", "web.remote-write-receiver.accepted-protobuf-messages", "web.route-prefix",
    "web.search.max-limit", "web.user-assets",
})

# Flags that are gone or that the profile sets elsewhere, and what to use (CHANGELOG 3.0.0, docs/migration.md,
# the 3.13 command-line reference).
REPLACED_FLAGS = {
    "storage.tsdb.retention": "removed in Prometheus 3.0; set prometheus.retention_time",
    "storage.tsdb.retention.time": "deprecated in Prometheus 3.13; set prometheus.retention_time (rendered into "
                                   "prometheus.yml, where it wins over the flag)",
    "storage.tsdb.retention.size": "deprecated in Prometheus 3.13; set prometheus.retention_size (rendered into "
                                   "prometheus.yml, where it wins over the flag)",
    "alertmanager.timeout": "removed in Prometheus 3.0; the rendered alerting config sets each Alertmanager's timeout",
    "storage.tsdb.allow-overlapping-blocks": "removed in Prometheus 3.0; overlapping blocks are always accepted",
}

# Feature flags of Prometheus 3.13 (`--enable-feature`, its command-line reference) ...
FEATURES = frozenset({
    "concurrent-rule-eval", "created-timestamp-zero-ingestion", "delayed-compaction", "exemplar-storage",
    "extra-scrape-metrics", "memory-snapshot-on-shutdown", "metadata-wal-records", "old-ui",
    "otlp-deltatocumulative", "otlp-native-delta-ingestion", "promql-binop-fill-modifiers",
    "promql-delayed-name-removal", "promql-duration-expr", "promql-experimental-functions",
    "promql-extended-range-selectors", "promql-per-step-stats", "search-api", "st-storage", "st-synthesis",
    "type-and-unit-labels", "use-start-timestamps", "use-uncached-io", "xor2-encoding",
})
# ... and the ones that became default behaviour or a flag of their own (Prometheus only logs a warning for them).
REPLACED_FEATURES = {
    "promql-at-modifier": "the `@` modifier is always on since Prometheus 3.0",
    "promql-negative-offset": "negative offsets are always on since Prometheus 3.0",
    "new-service-discovery-manager": "the new discovery manager is the default since Prometheus 3.0",
    "expand-external-labels": "external labels expand ${VAR} by default since Prometheus 3.0",
    "no-default-scrape-port": "Prometheus 3.0 never adds a default port to targets",
    "agent": "use the --agent flag",
    "remote-write-receiver": "use the --web.enable-remote-write-receiver flag",
    "auto-gomemlimit": "on by default since Prometheus 3.0 (--no-auto-gomemlimit turns it off)",
    "auto-gomaxprocs": "on by default since Prometheus 3.0 (--no-auto-gomaxprocs turns it off)",
    "otlp-write-receiver": "use the --web.enable-otlp-receiver flag",
    "utf8-names": "UTF-8 names are the default since Prometheus 3.0",
    "native-histograms": "a no-op since Prometheus 3.9; set `scrape_native_histograms: true` on the scrape jobs",
}


def flag_problem(arg: str) -> str | None:
    """Why Prometheus 3.13 would refuse or ignore a command-line argument, or None when it takes it."""
    name, _, value = arg.partition("=")
    flag = name.removeprefix("--")
    if not name.startswith("--") or not flag:
        return f"{arg!r} is not a long flag such as --query.timeout=2m"
    if flag in REPLACED_FLAGS:
        return f"{name}: {REPLACED_FLAGS[flag]}"
    # kingpin accepts --no-X for every boolean flag X; a --no- form of a valued flag fails at start-up too.
    if flag not in FLAGS and flag.removeprefix("no-") not in FLAGS:
        return f"{name} is not a flag of Prometheus 3.13 (docs/command-line/prometheus.md); it would not start"
    if flag == "enable-feature":
        return _feature_problem(value)
    return None


def _feature_problem(value: str) -> str | None:
    for feature in (f.strip() for f in value.split(",")):
        if feature in REPLACED_FEATURES:
            return f"--enable-feature={feature}: {REPLACED_FEATURES[feature]}"
        if feature not in FEATURES:
            return (f"--enable-feature={feature}: Prometheus 3.13 has no such feature flag "
                    f"(it has: {', '.join(sorted(FEATURES))})")
    return None
