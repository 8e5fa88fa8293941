"""Pieces every workload shares: image, resources, probes, storage, pod security."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from leanvibe_stack.models.base import DnsLabel, Quantity, StrictModel
from leanvibe_stack.models.pods import PodSettings

MAX_REPLICAS = 100  # far above any sane observability stack; catches typos like 30000


class Image(StrictModel):
    """A container image pinned to a tag (never `latest`)."""

    registry: str = Field("docker.io", description="Registry; `global.image_registry` (a mirror) overrides it.")
    repository: str = Field(description="Image repository without registry, e.g. `prom/prometheus`.")
    tag: str = Field(description="Pinned image tag, e.g. `v2.45.0`.", min_length=1)
    digest: str | None = Field(
        None,
        description="Content digest the tag must resolve to, e.g. `sha256:0123...`: rendered as "
        "`repository:tag@digest`, so the node pulls exactly these bytes.",
        pattern=r"^sha256:[0-9a-f]{64}$",
    )

    @field_validator("tag")
    @classmethod
    def _pinned(cls, tag: str) -> str:
        if tag == "latest":
            raise ValueError("pin the image to a version; `latest` makes renders non-reproducible")
        return tag

    @property
    def version(self) -> str:
        """The version label value: the tag without a leading `v`."""
        return self.tag.removeprefix("v")


class ResourceAmounts(StrictModel):
    """CPU and memory amounts."""

    cpu: Quantity = Field(description="CPU, e.g. `500m` or `2`.")
    memory: Quantity = Field(description="Memory, e.g. `512Mi` or `4Gi`.")


class ResourceLimits(StrictModel):
    """The most a container may use: memory always, CPU only when asked for."""

    cpu: Quantity | None = Field(
        None,
        description="CPU limit, e.g. `1000m`; unset: none. A CPU limit throttles the container even on an idle "
        "node (CFS quota), which stalls query, compaction and WAL replay on the TSDB workloads; the request "
        "still reserves their share.",
    )
    memory: Quantity = Field(description="Memory limit, e.g. `4Gi`: beyond it the container is OOM-killed.")


class Resources(StrictModel):
    """Container resource requests and limits."""

    requests: ResourceAmounts = Field(description="What the scheduler reserves.")
    limits: ResourceLimits = Field(description="What the container may use at most.")


class HttpProbe(StrictModel):
    """An HTTP GET probe against the container's main port."""

    path: str = Field(description="Path to GET, e.g. `/-/ready`.", pattern=r"^/")
    initial_delay_seconds: int = Field(0, ge=0, le=3600, description="Seconds before the first probe.")
    period_seconds: int = Field(10, ge=1, le=3600, description="Seconds between probes.")
    timeout_seconds: int = Field(1, ge=1, le=3600, description="Seconds before a probe times out.")
    failure_threshold: int = Field(3, ge=1, le=100, description="Consecutive failures before acting.")

    def kubernetes(self, port: str) -> dict[str, Any]:
        """The probe as a container spec has it, against the named `port`."""
        return {"httpGet": {"path": self.path, "port": port}, "initialDelaySeconds": self.initial_delay_seconds,
                "periodSeconds": self.period_seconds, "timeoutSeconds": self.timeout_seconds,
                "failureThreshold": self.failure_threshold}


# The shortest startup budget (initial delay + period x failures) a TSDB workload accepts: replaying the
# WAL of a large volume takes minutes, and until the startup probe passes no liveness probe runs.
MIN_STARTUP_SECONDS = 300


def startup_budget_covers_replay(probe: HttpProbe) -> HttpProbe:
    """A startup probe that gives WAL replay at least MIN_STARTUP_SECONDS before the kubelet restarts the pod."""
    budget = probe.initial_delay_seconds + probe.period_seconds * probe.failure_threshold
    if budget < MIN_STARTUP_SECONDS:
        raise ValueError(f"allows {budget}s to start (initial_delay_seconds + period_seconds x failure_threshold); "
                         f"WAL replay needs at least {MIN_STARTUP_SECONDS}s, or the kubelet kills the replaying pod")
    return probe


def grace_period(default: int, why: str) -> Any:
    """terminationGracePeriodSeconds of a workload that must flush before it stops."""
    return Field(default, ge=30, le=3600, description=f"Seconds between SIGTERM and SIGKILL: {why}")


class Storage(StrictModel):
    """A ReadWriteOnce volume per replica (a StatefulSet volumeClaimTemplate)."""

    size: Quantity = Field(description="Requested capacity, e.g. `150Gi`.")
    storage_class: DnsLabel | None = Field(None, description="StorageClass name; the cluster default if unset.")


class PodUser(StrictModel):
    """The non-root identity a pod runs as (restricted Pod Security Standard)."""

    run_as_user: int = Field(ge=1, description="UID of every container; never 0 (root).")
    run_as_group: int = Field(ge=1, description="Primary GID of every container.")
    fs_group: int = Field(ge=1, description="GID that owns mounted volumes.")


class Container(StrictModel):
    """What every container of the stack has."""

    image: Image = Field(description="Container image.")
    resources: Resources = Field(description="Container resources.")


class Workload(Container, PodSettings):
    """What every component's pods share: their main container, where they run, the operator's metadata."""


class NonRootWorkload(Workload):
    """A workload that meets the restricted Pod Security Standard."""

    pod_user: PodUser = Field(description="Non-root identity of the pod.")


class ConfigReloader(Container):
    """The config-reloader sidecar of Prometheus and Alertmanager (prometheus-operator's
    `prometheus-config-reloader`): it watches the mounted config directories and POSTs the program's
    `/-/reload` on 127.0.0.1 when the kubelet updates a ConfigMap, so a config change needs no restart.
    It runs with the pod's non-root identity."""
