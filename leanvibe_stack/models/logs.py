"""Loki and Fluent Bit workloads; their config file models live in loki.py and fluentbit.py."""

from __future__ import annotations

from pydantic import Field, model_validator

from leanvibe_stack.models.base import SecretRef, StrictModel, at
from leanvibe_stack.models.fluentbit import FluentBitConfig
from leanvibe_stack.models.loki import LokiConfig
from leanvibe_stack.models.prometheus import RuleGroup, refuse_duplicate_alerts
from leanvibe_stack.models.workload import (
    MAX_REPLICAS,
    HttpProbe,
    NonRootWorkload,
    Storage,
    Toleration,
    Workload,
    tolerate_everything,
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
    s3_credentials: S3Credentials | None = Field(None, description="Static S3 keys, if not using IAM roles.")
    config: LokiConfig = Field(description="loki.yaml, mirroring the Loki 3.7 configuration reference.")
    rule_groups: dict[str, RuleGroup] = Field(
        default_factory=dict,
        description="LogQL alert rule groups the ruler evaluates, keyed by group name (Prometheus rule format).",
    )

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
