"""Loki and Fluent Bit workloads; their config file models live in loki.py and fluentbit.py."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from leanvibe_stack.models.base import SecretRef, StrictModel, at
from leanvibe_stack.models.fluentbit import FluentBitConfig
from leanvibe_stack.models.loki import LokiConfig
from leanvibe_stack.models.pods import Toleration, tolerate_everything
from leanvibe_stack.models.prometheus import RuleGroup, refuse_duplicate_alerts
from leanvibe_stack.models.workload import (
    MAX_REPLICAS,
    HttpProbe,
    NonRootWorkload,
    Storage,
    Workload,
    grace_period,
    startup_budget_covers_replay,
)


class S3Credentials(StrictModel):
    """AWS keys for Loki's S3 client, passed as environment from a Secret (omit for IAM roles)."""

    access_key_id: SecretRef = Field(description="Secret key holding AWS_ACCESS_KEY_ID.")
    secret_access_key: SecretRef = Field(description="Secret key holding AWS_SECRET_ACCESS_KEY.")


class Loki(NonRootWorkload):
    """The Loki StatefulSet (single binary, `-target=all`)."""

    replicas: int = Field(ge=1, le=MAX_REPLICAS, description="Replicas; more than one join a memberlist ring.")
    storage: Storage = Field(description="Per-replica volume for WAL, index cache and compactor.")
    liveness_probe: HttpProbe = Field(description="Liveness probe.")
    readiness_probe: HttpProbe = Field(description="Readiness probe.")
    startup_probe: HttpProbe = Field(
        default_factory=lambda: HttpProbe(path="/ready", period_seconds=15, timeout_seconds=3, failure_threshold=40),
        description="Startup probe: `/ready` answers once the WAL is replayed and the ring joined; no liveness "
        "probe runs before it passes. At least 300 s in all (default 15 s x 40 = 10 min).",
    )
    termination_grace_period_seconds: int = grace_period(
        300, "time for the ingester to checkpoint its WAL and leave the ring (the Loki chart's ingesters use 300)."
    )
    s3_credentials: S3Credentials | None = Field(None, description="Static S3 keys, if not using IAM roles.")
    config: LokiConfig = Field(description="loki.yaml, mirroring the Loki 3.7 configuration reference.")
    rule_groups: dict[str, RuleGroup] = Field(
        default_factory=dict,
        description="LogQL alert rule groups the ruler evaluates, keyed by group name (Prometheus rule format).",
    )

    @field_validator("startup_probe")
    @classmethod
    def _startup_covers_replay(cls, probe: HttpProbe) -> HttpProbe:
        return startup_budget_covers_replay(probe)

    @field_validator("liveness_probe")
    @classmethod
    def _liveness_is_process_health(cls, probe: HttpProbe) -> HttpProbe:
        # /ready fails while the ingester joins the ring or replays its WAL: as a liveness probe it restarts
        # pods that are starting normally, and they start over.
        if probe.path.rstrip("/") == "/ready":
            raise ValueError("/ready fails during ring join and WAL replay, so liveness would restart healthy pods; "
                             "use a path that only needs the process, e.g. /loki/api/v1/status/buildinfo")
        return probe

    @model_validator(mode="after")
    def _rules_need_a_ruler(self) -> Loki:
        if self.rule_groups and self.config.ruler is None:
            raise ValueError(at(("rule_groups",), "LogQL rules need config.ruler (nothing would evaluate them)"))
        refuse_duplicate_alerts(self.rule_groups)
        return self

    @model_validator(mode="after")
    def _shared_store_for_replicas(self) -> Loki:
        # Replicas on local filesystem storage would each hold a disjoint part of the logs.
        stores = {period.object_store for period in self.config.schema_config.configs}
        if self.replicas > 1 and "filesystem" in stores:
            raise ValueError(at(("replicas",), "replicas > 1 need object storage (s3): filesystem storage "
                                               "is per replica, so each would hold a disjoint part of the logs"))
        return self


class FluentBit(Workload):
    """The Fluent Bit DaemonSet (host-access exception: it reads node log files as root)."""

    tolerations: list[Toleration] = Field(
        default_factory=tolerate_everything,
        description="Taints it runs on anyway; by default every taint (`[{operator: Exists}]`): a node "
        "agent missing from a tainted node leaves that node unwatched. A list narrows it.",
    )
    tenant_id: str | None = Field(
        None, description="Loki tenant (X-Scope-OrgID) of every push (default `leanvibe-<environment>`)."
    )
    config: FluentBitConfig = Field(description="fluent-bit.yaml, mirroring Fluent Bit 5.1's YAML configuration.")
