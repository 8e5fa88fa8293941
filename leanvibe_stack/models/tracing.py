"""Tracing: the OpenTelemetry Collector (contrib) that receives spans, and Jaeger v2 that stores and serves them.

Both programs read a config file of the collector's shape (extensions, receivers, processors, exporters,
`service.pipelines`, `service.telemetry`).  The models mirror the configuration references of the pinned
versions, for the components the stack uses only, each strictly (unknown keys are errors, as upstream):

* collector-contrib v0.160.0: otlp and zipkin receivers; memory_limiter, k8s_attributes (its old name
  `k8sattributes` is a deprecated alias since contrib#45901, 2026-02; `deployment_name_from_replicaset`
  was removed in v0.160) and batch processors; the `otlp_grpc` exporter (the name the v0.159 release
  tests use); the health_check extension; the Prometheus pull reader of `service.telemetry.metrics`.
* Jaeger v2.21.0: the keys of cmd/jaeger at v2.20.0, the newest tag whose source was at hand (v2.21.0's
  own config reference was not; re-check on upgrade): the jaeger_storage (badger, memory), jaeger_query
  and healthcheckv2 (contrib's: `http.status.path` defaults to `/status`) extensions, the otlp receiver,
  memory_limiter and batch, and jaeger_storage_exporter.

Addresses the stack knows are derived, never written: the collector's exporter endpoint is the rendered
Jaeger Service, Badger's directories are the volume the StatefulSet mounts.  Every listen address is
`0.0.0.0:PORT`: since v0.104 the collector's servers default to localhost, which no other pod can reach.

One module, over ~500 lines on purpose: the two config files share their pipeline and telemetry models
and the rules about them (pipelines name declared components, memory_limiter first, no port twice).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from leanvibe_stack.models.base import DnsLabel, Duration, Port, StrictModel, at
from leanvibe_stack.models.workload import MAX_REPLICAS, NonRootWorkload, Storage, grace_period

_LISTEN = re.compile(r"^0\.0\.0\.0:([0-9]{1,5})$")


def _check_listen(value: str) -> str:
    match = _LISTEN.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r}: listen on every interface, `0.0.0.0:PORT` (localhost, the collector's "
                         "default, is unreachable from other pods; a bare `:PORT` hides that choice)")
    if not 1 <= int(match.group(1)) <= 65535:
        raise ValueError(f"{value!r}: port {match.group(1)} is outside 1-65535")
    return value


ListenAddress = Annotated[str, AfterValidator(_check_listen)]


def listen_port(address: str) -> int:
    """The port of a `0.0.0.0:PORT` listen address."""
    return int(address.rpartition(":")[2])


def component_type(component_id: str) -> str:
    """The type of a component id (`otlp_grpc/jaeger` -> `otlp_grpc`)."""
    return component_id.partition("/")[0]


# --- shared: servers, pipelines, telemetry ------------------------------------------------------------


class Server(StrictModel):
    """A server a component opens (confighttp/configgrpc ServerConfig, the part the stack sets)."""

    endpoint: ListenAddress = Field(description="Listen address, `0.0.0.0:PORT`.")


class GrpcServer(Server):
    """A gRPC server."""

    max_recv_msg_size_mib: int | None = Field(None, ge=1, le=1024, description="Largest message accepted (MiB).")


class OTLPProtocols(StrictModel):
    """The OTLP protocols a receiver serves; an absent protocol is not served."""

    grpc: GrpcServer | None = Field(None, description="OTLP over gRPC (port 4317 by convention).")
    http: Server | None = Field(None, description="OTLP over HTTP (port 4318 by convention).")

    @model_validator(mode="after")
    def _one_at_least(self) -> OTLPProtocols:
        if self.grpc is None and self.http is None:
            raise ValueError("serve grpc, http or both: a receiver without protocols refuses to start")
        return self


class OTLPReceiver(StrictModel):
    """The otlp receiver."""

    protocols: OTLPProtocols = Field(description="Protocols served.")


class MemoryLimiter(StrictModel):
    """memory_limiter: refuses data (receivers answer "retry later") before the container hits its limit.

    Percentages of the container's memory limit (the processor reads the cgroup), so resizing the pod
    keeps them right.  Upstream recommends a spike limit of about a fifth of the hard limit.
    """

    check_interval: Duration = Field("1s", description="How often memory use is measured.")
    limit_percentage: int = Field(ge=1, le=100, description="Hard limit, percent of the memory limit.")
    spike_limit_percentage: int = Field(ge=0, le=100, description="Headroom below the hard limit (soft limit).")

    @model_validator(mode="after")
    def _spike_below_limit(self) -> MemoryLimiter:
        if self.spike_limit_percentage >= self.limit_percentage:
            raise ValueError(at(("spike_limit_percentage",), "must be below limit_percentage (the soft limit is "
                                                             "their difference)"))
        return self


class Batch(StrictModel):
    """batch: groups spans into fewer, larger export requests."""

    send_batch_size: int = Field(8192, ge=1, description="Spans that trigger a send.")
    send_batch_max_size: int = Field(0, ge=0, description="Largest batch (0: no upper bound).")
    timeout: Duration = Field("200ms", description="Longest wait before a partial batch is sent.")

    @model_validator(mode="after")
    def _max_not_below_size(self) -> Batch:
        if self.send_batch_max_size and self.send_batch_max_size < self.send_batch_size:
            raise ValueError(at(("send_batch_max_size",), "must be 0 or at least send_batch_size"))
        return self


class Pipeline(StrictModel):
    """One `service.pipelines` entry: component ids in order."""

    receivers: list[str] = Field(min_length=1, description="Receiver ids.")
    processors: list[str] = Field(default_factory=list, description="Processor ids, in the order they run.")
    exporters: list[str] = Field(min_length=1, description="Exporter ids.")


class PrometheusPull(StrictModel):
    """The Prometheus endpoint of the program's own metrics."""

    host: Literal["0.0.0.0"] = Field(description="Listen host: `0.0.0.0` (the default reader binds localhost).")
    port: Port = Field(description="Port Prometheus scrapes (the pod's `prometheus.io/port`).")


class PullExporter(StrictModel):
    """A pull reader's exporter."""

    prometheus: PrometheusPull = Field(description="Prometheus text endpoint at /metrics.")


class PullReader(StrictModel):
    """A pull metric reader."""

    exporter: PullExporter = Field(description="Its exporter.")


class MetricReader(StrictModel):
    """One entry of `service.telemetry.metrics.readers`."""

    pull: PullReader = Field(description="A reader Prometheus scrapes.")


class TelemetryMetrics(StrictModel):
    """The program's own metrics."""

    level: Literal["none", "basic", "normal", "detailed"] = Field("normal", description="Verbosity.")
    readers: list[MetricReader] = Field(min_length=1, max_length=1, description="Exactly one Prometheus reader.")


class TelemetryLogs(StrictModel):
    """The program's own logs (stderr)."""

    level: Literal["debug", "info", "warn", "error"] = Field("info", description="Lowest level logged.")
    encoding: Literal["console", "json"] = Field("json", description="Line format.")


class Telemetry(StrictModel):
    """`service.telemetry`."""

    metrics: TelemetryMetrics = Field(description="Own metrics, scraped by Prometheus.")
    logs: TelemetryLogs = Field(default_factory=TelemetryLogs, description="Own logs.")

    @property
    def metrics_port(self) -> int:
        return self.metrics.readers[0].pull.exporter.prometheus.port


class ServiceSection(StrictModel):
    """`service`: the extensions started, the pipelines, the program's own telemetry."""

    extensions: list[str] = Field(default_factory=list, description="Extension ids to start.")
    pipelines: dict[str, Pipeline] = Field(min_length=1, description="Pipelines by id (`traces`, `traces/x`).")
    telemetry: Telemetry = Field(description="The program's own metrics and logs.")

    @model_validator(mode="after")
    def _trace_pipelines(self) -> ServiceSection:
        for name in self.pipelines:
            if component_type(name) != "traces":
                raise ValueError(at(("pipelines", name), "only traces pipelines are modelled (`traces` or "
                                                         "`traces/NAME`)"))
        return self


class _Config(StrictModel):
    """What both config files share: the service section and the pipeline rules."""

    service: ServiceSection = Field(description="Pipelines, extensions started, own telemetry.")

    def declared(self) -> dict[str, set[str]]:
        """Declared component ids per section."""
        dump = self.model_dump(by_alias=True, exclude_none=True)
        return {section: set(dump.get(section) or {}) for section in
                ("receivers", "processors", "exporters", "extensions")}

    @model_validator(mode="after")
    def _pipelines_use_declared_components(self) -> _Config:
        declared = self.declared()
        service = self.service
        for name, pipeline in service.pipelines.items():
            for section in ("receivers", "processors", "exporters"):
                for i, component in enumerate(getattr(pipeline, section)):
                    if component not in declared[section]:
                        raise ValueError(at(("service", "pipelines", name, section, i),
                                            f"{component!r} is not declared under {section} "
                                            f"(declared: {', '.join(sorted(declared[section])) or 'none'})"))
            if not pipeline.processors or component_type(pipeline.processors[0]) != "memory_limiter":
                raise ValueError(at(("service", "pipelines", name, "processors"),
                                    "memory_limiter must run first: it refuses data before anything else "
                                    "holds it in memory"))
        for i, extension in enumerate(service.extensions):
            if extension not in declared["extensions"]:
                raise ValueError(at(("service", "extensions", i), f"{extension!r} is not declared under extensions"))
        return self

    @model_validator(mode="after")
    def _one_listener_per_port(self) -> _Config:
        seen: dict[int, tuple[str | int, ...]] = {}
        for path, port in self.listeners():
            if port in seen:
                raise ValueError(at(path, f"port {port} is already taken by {'.'.join(map(str, seen[port]))}: "
                                          "the second listener would fail to bind"))
            seen[port] = path
        return self

    def listeners(self) -> Iterator[tuple[tuple[str | int, ...], int]]:
        """(path, port) of every server the config opens."""
        yield from _endpoints(self.model_dump(by_alias=True, exclude_none=True), ())
        yield ("service", "telemetry", "metrics", "readers", 0), self.service.telemetry.metrics_port


def _endpoints(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "endpoint" and isinstance(item, str) and _LISTEN.fullmatch(item):
                yield (*path, key), listen_port(item)
            else:
                yield from _endpoints(item, (*path, key))


# --- the collector --------------------------------------------------------------------------------------------


class ZipkinReceiver(StrictModel):
    """The zipkin receiver (Zipkin v1/v2 JSON and protobuf over HTTP)."""

    endpoint: ListenAddress = Field(description="Listen address (port 9411 by convention).")


class CollectorReceivers(StrictModel):
    """Receivers the stack uses."""

    otlp: OTLPReceiver | None = Field(None, description="OTLP from the applications' SDKs.")
    zipkin: ZipkinReceiver | None = Field(None, description="Zipkin, the guide's alternative tracing format.")


K8sMetadata = Literal[
    "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time", "k8s.pod.ip",
    "k8s.deployment.name", "k8s.replicaset.name", "k8s.statefulset.name", "k8s.daemonset.name",
    "k8s.job.name", "k8s.cronjob.name", "k8s.node.name", "container.image.name", "container.image.tag",
]
# What the processor reads from the API server for each piece of metadata it extracts.
K8S_RESOURCES_FOR: dict[str, tuple[str, str]] = {"k8s.deployment.name": ("apps", "replicasets"),
                                                 "k8s.replicaset.name": ("apps", "replicasets")}


class AssociationSource(StrictModel):
    """Where the processor finds the pod a span came from."""

    from_: Literal["connection", "resource_attribute"] = Field(
        alias="from", description="`connection`: the sender's IP; `resource_attribute`: an attribute the SDK set.")
    name: Literal["k8s.pod.ip", "k8s.pod.uid", "k8s.pod.name"] | None = Field(
        None, description="The attribute, for `resource_attribute`.")

    @model_validator(mode="after")
    def _name_for_attributes(self) -> AssociationSource:
        if (self.from_ == "resource_attribute") != (self.name is not None):
            raise ValueError("`name` goes with `from: resource_attribute`, and only with it")
        return self


class PodAssociation(StrictModel):
    """One association rule: all its sources must match (rules are tried in order)."""

    sources: list[AssociationSource] = Field(min_length=1, max_length=4, description="Sources, all required.")


class K8sExtract(StrictModel):
    """What the processor adds to each span's resource."""

    metadata: list[K8sMetadata] = Field(min_length=1, description="Resource attributes taken from the pod.")


class K8sAttributes(StrictModel):
    """k8s_attributes: adds the sending pod's Kubernetes metadata to its spans."""

    auth_type: Literal["serviceAccount"] = Field("serviceAccount", description="The pod's ServiceAccount.")
    passthrough: Literal[False] = Field(
        False, description="Always false here: passthrough only records the IP for a later gateway, and this "
        "collector is the one that talks to the API server.")
    extract: K8sExtract = Field(description="Metadata to extract.")
    pod_association: list[PodAssociation] = Field(min_length=1, description="How a span finds its pod, in order.")


class CollectorProcessors(StrictModel):
    """Processors the stack uses."""

    memory_limiter: MemoryLimiter | None = Field(None, description="Refuses data under memory pressure.")
    k8s_attributes: K8sAttributes | None = Field(None, description="Kubernetes metadata of the sending pod.")
    batch: Batch | None = Field(None, description="Batches spans for export.")


class ClientTLS(StrictModel):
    """Client TLS of an exporter."""

    insecure: bool = Field(description="Plain-text gRPC: inside the cluster, behind the NetworkPolicies.")


class SendingQueue(StrictModel):
    """The exporter's in-memory queue: what rides out a short Jaeger restart."""

    enabled: bool = Field(True, description="Queue requests instead of blocking the pipeline.")
    num_consumers: int = Field(10, ge=1, le=100, description="Parallel senders.")
    queue_size: int = Field(1000, ge=1, description="Requests (batches) held at most.")


class RetryOnFailure(StrictModel):
    """Retries of a failed export."""

    enabled: bool = Field(True, description="Retry retryable failures.")
    initial_interval: Duration = Field("5s", description="First wait.")
    max_interval: Duration = Field("30s", description="Longest wait.")
    max_elapsed_time: Duration = Field("300s", description="Give up (and count the spans failed) after this.")


class OTLPGrpcExporter(StrictModel):
    """otlp_grpc: sends spans to Jaeger; its `endpoint` is derived from the rendered Jaeger Service."""

    tls: ClientTLS = Field(description="Client TLS.")
    compression: Literal["gzip", "zstd", "snappy", "none"] = Field("gzip", description="Request compression.")
    timeout: Duration = Field("5s", description="Per-request timeout.")
    sending_queue: SendingQueue = Field(default_factory=SendingQueue, description="The in-memory queue.")
    retry_on_failure: RetryOnFailure = Field(default_factory=RetryOnFailure, description="Retries.")


class CollectorExporters(StrictModel):
    """Exporters the stack uses (to Jaeger only)."""

    otlp_grpc: OTLPGrpcExporter | None = Field(None, description="OTLP/gRPC to the rendered Jaeger.")


class HealthCheck(StrictModel):
    """health_check: the liveness/readiness endpoint (path `/`)."""

    endpoint: ListenAddress = Field(description="Listen address (13133 by convention).")


class CollectorExtensions(StrictModel):
    """Extensions the stack uses."""

    health_check: HealthCheck | None = Field(None, description="Probes of the kubelet.")


class CollectorConfig(_Config):
    """config.yaml of otelcol-contrib."""

    receivers: CollectorReceivers = Field(description="Receivers.")
    processors: CollectorProcessors = Field(description="Processors.")
    exporters: CollectorExporters = Field(description="Exporters.")
    extensions: CollectorExtensions = Field(default_factory=CollectorExtensions, description="Extensions.")

    @model_validator(mode="after")
    def _attributes_before_batch(self) -> CollectorConfig:
        for name, pipeline in self.service.pipelines.items():
            kinds = [component_type(p) for p in pipeline.processors]
            if "k8s_attributes" in kinds and "batch" in kinds and kinds.index("batch") < kinds.index("k8s_attributes"):
                raise ValueError(at(("service", "pipelines", name, "processors"),
                                    "k8s_attributes must run before batch: a batch mixes spans of many pods and "
                                    "loses the sender's address the processor associates them by"))
        return self


class OtelCollector(NonRootWorkload):
    """The OpenTelemetry Collector gateway: a Deployment behind a Service, fed by the applications."""

    replicas: int = Field(2, ge=1, le=MAX_REPLICAS, description="Pods (more than one: a PodDisruptionBudget).")
    client_namespaces: list[DnsLabel] = Field(
        default_factory=list,
        description="Namespaces besides `global.app_namespace` whose pods may send spans.")
    config: CollectorConfig = Field(description="config.yaml (the exporter endpoint is derived).")


# --- Jaeger -----------------------------------------------------------------------------------------------------


class BadgerTTL(StrictModel):
    """How long Badger keeps spans."""

    spans: Duration = Field(description="Retention of spans, e.g. `168h`.")


class BadgerSettings(StrictModel):
    """Badger, an embedded key-value store on the pod's volume (its directories are derived)."""

    ttl: BadgerTTL = Field(description="Retention.")
    consistency: bool = Field(False, description="Sync every write to disk (slower; survives node crashes).")
    maintenance_interval: Duration = Field("5m", description="Value-log garbage collection interval.")
    metrics_update_interval: Duration = Field("10s", description="Interval of Badger's own metrics.")


class MemorySettings(StrictModel):
    """In-memory store: lost on every restart."""

    max_traces: int = Field(ge=1, description="Traces kept at most (0, upstream's default, is unbounded).")


class TraceBackend(StrictModel):
    """One trace store: `badger` on the StatefulSet's volume, or `memory` (a child profile switches with
    `badger: null` and a `memory` entry)."""

    badger: BadgerSettings | None = Field(None, description="Badger on the pod's volume.")
    memory: MemorySettings | None = Field(None, description="In memory, lost on restart.")

    @model_validator(mode="after")
    def _exactly_one(self) -> TraceBackend:
        if (self.badger is None) == (self.memory is None):
            raise ValueError("set exactly one of badger and memory")
        return self


class JaegerStorage(StrictModel):
    """jaeger_storage: named trace stores."""

    backends: dict[str, TraceBackend] = Field(
        min_length=1, max_length=1, description="Exactly one trace store, by name.")


class QueryStorage(StrictModel):
    """Stores the query service reads."""

    traces: str = Field(description="Name of the jaeger_storage backend with the traces.")


class JaegerQuery(StrictModel):
    """jaeger_query: the UI and the query APIs (Grafana's Jaeger datasource uses the HTTP one)."""

    storage: QueryStorage = Field(description="Stores read.")
    http: Server = Field(description="UI and HTTP API (16686 by convention).")
    grpc: Server = Field(description="gRPC query API (16685 by convention).")
    max_clock_skew_adjust: Duration | None = Field(None, description="Largest clock skew corrected in a trace.")


class StatusPath(StrictModel):
    """The health status page."""

    enabled: Literal[True] = Field(True, description="Serve it (the kubelet probes it).")
    path: str = Field("/status", pattern=r"^/\S*$", description="Path.")


class HealthCheckV2Http(StrictModel):
    """healthcheckv2's HTTP server."""

    endpoint: ListenAddress = Field(description="Listen address (13133 by convention).")
    status: StatusPath = Field(default_factory=StatusPath, description="The status page the probes read.")


class HealthCheckV2(StrictModel):
    """healthcheckv2 (component status based health)."""

    use_v2: Literal[True] = Field(True, description="The component-status mode (the legacy one is deprecated).")
    http: HealthCheckV2Http = Field(description="HTTP server.")


class JaegerExtensions(StrictModel):
    """Extensions of Jaeger."""

    jaeger_storage: JaegerStorage = Field(description="Trace stores.")
    jaeger_query: JaegerQuery = Field(description="Query service and UI.")
    healthcheckv2: HealthCheckV2 = Field(description="Probes of the kubelet.")


class JaegerReceivers(StrictModel):
    """Jaeger receives OTLP/gRPC from the collector only."""

    otlp: OTLPReceiver = Field(description="OTLP from the collector.")


class JaegerProcessors(StrictModel):
    """Processors of Jaeger."""

    memory_limiter: MemoryLimiter | None = Field(None, description="Refuses data under memory pressure.")
    batch: Batch | None = Field(None, description="Batches spans for the store.")


class StorageExporter(StrictModel):
    """jaeger_storage_exporter: writes spans to a jaeger_storage backend."""

    trace_storage: str = Field(description="Name of the backend written to.")


class JaegerExporters(StrictModel):
    """Exporters of Jaeger."""

    jaeger_storage_exporter: StorageExporter = Field(description="Writes to the trace store.")


class JaegerConfig(_Config):
    """Jaeger v2's config.yaml."""

    extensions: JaegerExtensions = Field(description="Storage, query, health.")
    receivers: JaegerReceivers = Field(description="Receivers.")
    processors: JaegerProcessors = Field(description="Processors.")
    exporters: JaegerExporters = Field(description="Exporters.")

    @model_validator(mode="after")
    def _stores_exist(self) -> JaegerConfig:
        backends = self.extensions.jaeger_storage.backends
        named = [(("extensions", "jaeger_query", "storage", "traces"), self.extensions.jaeger_query.storage.traces),
                 (("exporters", "jaeger_storage_exporter", "trace_storage"),
                  self.exporters.jaeger_storage_exporter.trace_storage)]
        for path, name in named:
            if name not in backends:
                raise ValueError(at(path, f"no backend {name!r} in extensions.jaeger_storage.backends "
                                          f"(defined: {', '.join(backends)})"))
        return self

    @property
    def backend(self) -> TraceBackend:
        return next(iter(self.extensions.jaeger_storage.backends.values()))


class Jaeger(NonRootWorkload):
    """Jaeger v2: one StatefulSet pod that stores spans and serves the UI and query APIs.

    One replica: Badger is an embedded store one process owns, and an in-memory store is not shared, so
    a second pod would hold other traces than the first.
    """

    storage: Storage | None = Field(None, description="The volume of a Badger store (required with badger).")
    termination_grace_period_seconds: int = grace_period(
        60, "time to export the spans in flight and for Badger to flush its memtables and close its files."
    )
    config: JaegerConfig = Field(description="config.yaml (Badger's directories are derived).")

    @model_validator(mode="after")
    def _badger_on_a_volume(self) -> Jaeger:
        badger = self.config.backend.badger is not None
        if badger and self.storage is None:
            raise ValueError(at(("storage",), "a badger store needs a volume: set storage.size"))
        if not badger and self.storage is not None:
            raise ValueError(at(("storage",), "an in-memory store writes nothing to disk: remove storage"))
        return self
