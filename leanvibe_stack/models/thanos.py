"""Thanos 0.42: a sidecar in every Prometheus pod, Query, the store gateway and the compactor.

Mirrors the v0.42.4 references: the `--help` output of each command (docs/components/sidecar.md, query.md,
store.md, compact.md), Query's endpoint config file (cmd/thanos/endpointset.go: `endpoints`, `address`,
`client_config.tls_config`, `server_name`), and the object-store config (docs/storage.md, objstore's S3, GCS
and Azure providers).  The object-store config file itself lives in a Secret the operator creates (it
holds, or the pod's cloud identity replaces, the credentials); the profile declares the file's shape without
credentials, so the bucket each environment uses is known, checked and never another environment's.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from leanvibe_stack.credentials import REFERENCE_HINT
from leanvibe_stack.models.base import DnsLabel, Duration, SecretRef, StrictModel, at, duration_seconds
from leanvibe_stack.models.workload import MAX_REPLICAS, Container, HttpProbe, NonRootWorkload, Storage

# --------------------------------------------------------------------------------------------------------
# Command-line flags of Thanos 0.42 (`thanos <command> --help`, v0.42.4 docs): kingpin refuses an unknown
# flag and the component does not start.  Boolean flags also take the `--no-` form.
_COMMON = frozenset({
    "log.level", "log.format", "tracing.config-file", "tracing.config", "auto-gomemlimit.ratio", "http-address",
    "http-grace-period", "http.config", "request.logging-config-file", "request.logging-config",
})
_COMMON_BOOLS = frozenset({"enable-auto-gomemlimit"})
_GRPC_SERVER = frozenset({
    "grpc-address", "grpc-server-tls-cert", "grpc-server-tls-key", "grpc-server-tls-client-ca",
    "grpc-server-tls-min-version", "grpc-server-tls-ciphers", "grpc-server-tls-curves",
    "grpc-server-max-connection-age", "grpc-grace-period",
})
_OBJSTORE = frozenset({"objstore.config-file", "objstore.config"})

VALUED_FLAGS: dict[str, frozenset[str]] = {
    "sidecar": _COMMON | _GRPC_SERVER | _OBJSTORE | frozenset({
        "prometheus.url", "prometheus.ready_timeout", "prometheus.get_config_interval",
        "prometheus.get_config_timeout", "prometheus.http-client-file", "prometheus.http-client", "tsdb.path",
        "reloader.config-file", "reloader.config-envsubst-file", "reloader.rule-dir", "reloader.watch-interval",
        "reloader.retry-interval", "reloader.method", "reloader.process-name", "hash-func",
        "shipper.meta-file-name", "shipper.upload-concurrency", "store.limits.request-series",
        "store.limits.request-samples", "min-time",
    }),
    "query": _COMMON | _GRPC_SERVER | frozenset({
        "grpc-client-tls-cert", "grpc-client-tls-key", "grpc-client-tls-ca", "grpc-client-server-name",
        "grpc-compression", "grpc-client-tls-min-version", "web.route-prefix", "web.external-prefix",
        "web.prefix-header", "query.timeout", "query.promql-engine", "query.mode", "query.max-concurrent",
        "query.lookback-delta", "query.max-concurrent-select", "query.conn-metric.label", "deduplication.func",
        "query.replica-label", "query.partition-label", "query.metadata.default-time-range", "selector-label",
        "query.active-query-path", "enable-feature", "query.default-evaluation-interval", "query.default-step",
        "store.response-timeout", "selector.relabel-config-file", "selector.relabel-config", "alert.query-url",
        "query.telemetry.request-duration-seconds-quantiles", "query.telemetry.request-samples-quantiles",
        "query.telemetry.request-series-seconds-quantiles", "query.tenant-header", "query.default-tenant-id",
        "query.tenant-certificate-field", "query.tenant-label-name", "store.sd-dns-interval",
        "store.unhealthy-timeout", "endpoint.sd-config-file", "endpoint.sd-config",
        "endpoint.sd-config-reload-interval", "store.sd-files", "store.sd-interval", "endpoint", "endpoint-group",
        "endpoint-strict", "endpoint-group-strict", "store.limits.request-series", "store.limits.request-samples",
    }),
    "store": _COMMON | _GRPC_SERVER | _OBJSTORE | frozenset({
        "store.limits.request-series", "store.limits.request-samples", "data-dir", "index-cache-size",
        "index-cache.config-file", "index-cache.config", "chunk-pool-size", "store.grpc.touched-series-limit",
        "store.grpc.series-sample-limit", "store.grpc.downloaded-bytes-limit", "store.grpc.series-max-concurrency",
        "objstore-parquet.config-file", "objstore-parquet.config", "sync-block-duration",
        "block-discovery-strategy", "block-sync-concurrency", "block-meta-fetch-concurrency", "min-time",
        "max-time", "selector.relabel-config-file", "selector.relabel-config", "consistency-delay",
        "ignore-deletion-marks-delay", "delete-delay", "store.posting-group-max-key-series-ratio",
        "store.index-header-lazy-download-strategy", "web.external-prefix", "web.prefix-header",
        "bucket-web-label", "matcher-cache-size",
    }),
    "compact": _COMMON | _OBJSTORE | frozenset({
        "data-dir", "consistency-delay", "retention.resolution-raw", "retention.resolution-5m",
        "retention.resolution-1h", "wait-interval", "block-discovery-strategy", "block-meta-fetch-concurrency",
        "block-files-concurrency", "block-viewer.global.sync-block-interval",
        "block-viewer.global.sync-block-timeout", "compact.cleanup-interval", "compact.progress-interval",
        "compact.concurrency", "compact.blocks-fetch-concurrency", "downsample.concurrency", "delete-delay",
        "deduplication.func", "deduplication.replica-label", "hash-func", "min-time", "max-time",
        "selector.relabel-config-file", "selector.relabel-config", "web.route-prefix", "web.external-prefix",
        "web.prefix-header", "bucket-web-label",
    }),
}
BOOL_FLAGS: dict[str, frozenset[str]] = {
    "sidecar": _COMMON_BOOLS | {"shipper.upload-compacted"},
    "query": _COMMON_BOOLS | {"grpc-client-tls-secure", "grpc-client-tls-skip-verify", "web.disable-cors",
                              "query.enable-x-functions", "query.auto-downsampling", "query.partial-response",
                              "query.enforce-tenancy"},
    "store": _COMMON_BOOLS | {"cache-index-header", "store.enable-index-header-lazy-reader",
                              "store.enable-lazy-expanded-postings", "web.disable", "web.disable-cors",
                              "disable-admin-operations"},
    "compact": _COMMON_BOOLS | {"wait", "downsampling.disable", "web.disable", "web.disable-cors",
                                "disable-admin-operations"},
}
COMMANDS = tuple(VALUED_FLAGS)

# Flags the stack renders from the profile: an extra argument may not say them a second time.
OWNED_FLAGS: dict[str, dict[str, str]] = {
    "sidecar": {"objstore.config-file": "thanos.object_store", "tsdb.path": "(the Prometheus volume)",
                "prometheus.url": "(the pod's Prometheus)", "grpc-address": "(rendered)",
                "http-address": "(rendered)"},
    "query": {"query.replica-label": "(Prometheus' replica label)", "endpoint.sd-config-file":
              "thanos.query.remote_endpoints", "query.partial-response": "thanos.query.partial_response",
              "query.timeout": "thanos.query.query_timeout", "store.response-timeout":
              "thanos.query.store_response_timeout", "grpc-address": "(rendered)", "http-address": "(rendered)"},
    "store": {"objstore.config-file": "thanos.object_store", "data-dir": "(the cache volume)",
              "index-cache-size": "thanos.store.index_cache_size", "grpc-address": "(rendered)",
              "http-address": "(rendered)"},
    "compact": {"objstore.config-file": "thanos.object_store", "data-dir": "(the compactor volume)",
                "retention.resolution-raw": "thanos.compactor.retention.raw",
                "retention.resolution-5m": "thanos.compactor.retention.five_minutes",
                "retention.resolution-1h": "thanos.compactor.retention.one_hour",
                "downsampling.disable": "thanos.compactor.downsampling", "wait": "(rendered)",
                "http-address": "(rendered)"},
}
# Never accepted: the object-store config inline on the command line holds its credentials in the pod spec;
# the --endpoint family is deprecated in 0.42 (the endpoint config file replaces it).
REFUSED_FLAGS = {
    "objstore.config": "puts the object-store config, credentials included, into the pod spec: the stack reads "
                       "it from the Secret of thanos.object_store (--objstore.config-file)",
    "endpoint": "deprecated in Thanos 0.42: the rendered endpoint config file (--endpoint.sd-config-file) lists "
                "the endpoints; add others as thanos.query.remote_endpoints",
    "endpoint-group": "deprecated in Thanos 0.42 (the endpoint config file replaces it)",
    "endpoint-strict": "deprecated in Thanos 0.42 (the endpoint config file replaces it)",
    "endpoint-group-strict": "deprecated in Thanos 0.42 (the endpoint config file replaces it)",
    "store.sd-files": "deprecated in Thanos 0.42 (the endpoint config file replaces it)",
}


def flag_problem(command: str, arg: str) -> str | None:
    """Why `thanos <command>` 0.42 would refuse a command-line argument, or None when it takes it."""
    name, equals, _ = arg.partition("=")
    flag = name.removeprefix("--")
    if not name.startswith("--") or not flag:
        return f"{arg!r} is not a long flag such as --log.level=debug"
    if flag in REFUSED_FLAGS:
        return f"{name}: {REFUSED_FLAGS[flag]}"
    valued, bools = VALUED_FLAGS[command], BOOL_FLAGS[command]
    if flag in valued:
        return None if equals else f"{name} needs a value ({name}=...)"
    if flag in bools or (flag.startswith("no-") and flag.removeprefix("no-") in bools):
        return f"{name} is a boolean flag: it takes no value" if equals else None
    return f"{name} is not a flag of `thanos {command}` 0.42 (docs/components/{command}.md); it would not start"


def _extra_args(command: str, args: list[str]) -> list[str]:
    for arg in args:
        problem = flag_problem(command, arg)
        if problem:
            raise ValueError(problem)
        flag = arg.partition("=")[0].removeprefix("--").removeprefix("no-")
        owner = OWNED_FLAGS[command].get(flag)
        if owner:
            raise ValueError(f"--{flag} is rendered by the stack; set {owner}" if not owner.startswith("(")
                             else f"--{flag} is rendered by the stack {owner}; leave it out")
    return args


# --------------------------------------------------------------------------------------------------------
# Object storage: the shape of the objstore.yml the Secret holds, without its credentials.

def _no_credentials(data: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        for key in keys:
            if key in data:
                raise ValueError(at((key,), f"credentials are never written into profiles: the Secret's objstore.yml "
                                            f"holds {key} (or the pod's cloud identity replaces it); {REFERENCE_HINT}"))
    return data


class S3Config(StrictModel):
    """objstore's S3 provider (docs/storage.md, S3), without credentials: access_key/secret_key live in the
    Secret's file, or the pod's IAM role (EKS IRSA) answers through the AWS credential chain."""

    bucket: str = Field(description="Bucket name (default `leanvibe-thanos-<environment>`).",
                        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    endpoint: str = Field(description="S3 endpoint host, e.g. `s3.us-east-1.amazonaws.com` (default from "
                                      "global.region).", pattern=r"^[A-Za-z0-9.-]+(:\d+)?$")
    region: str | None = Field(None, description="Bucket region; objstore derives it when unset.")
    aws_sdk_auth: bool | None = Field(None, description="Use the AWS SDK's default credential chain.")
    insecure: bool | None = Field(None, description="Plain HTTP to the endpoint (never for AWS).")
    signature_version2: bool | None = Field(None, description="Sign with AWS signature v2.")
    disable_dualstack: bool | None = Field(None, description="No IPv6 dual-stack endpoint.")
    bucket_lookup_type: Literal["auto", "virtual-hosted", "path"] | None = Field(
        None, description="How the bucket is addressed.")
    list_objects_version: Literal["v1", "v2"] | None = Field(None, description="ListObjects API version.")
    send_content_md5: bool | None = Field(None, description="Send Content-MD5 with uploads.")
    disable_multipart: bool | None = Field(None, description="Upload in one part.")
    part_size: int | None = Field(None, ge=5 * 1024 * 1024, description="Multipart part size in bytes.")
    put_user_metadata: dict[str, str] | None = Field(
        None, description="Metadata on every object, e.g. `X-Amz-Storage-Class: STANDARD_IA`.")
    sts_endpoint: str | None = Field(None, description="STS endpoint for the credential chain.")
    max_retries: int | None = Field(None, ge=0, description="Retries per request.")

    @model_validator(mode="before")
    @classmethod
    def _credentials_elsewhere(cls, data: Any) -> Any:
        return _no_credentials(data, ("access_key", "secret_key", "session_token", "sse_config"))


class GcsConfig(StrictModel):
    """objstore's GCS provider (docs/storage.md, GCS), without the inline service account."""

    bucket: str = Field(description="Bucket name (default `leanvibe-thanos-<environment>`).",
                        pattern=r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
    chunk_size_bytes: int | None = Field(None, ge=0, description="Upload chunk size.")
    max_retries: int | None = Field(None, ge=0, description="Retries per request.")

    @model_validator(mode="before")
    @classmethod
    def _credentials_elsewhere(cls, data: Any) -> Any:
        return _no_credentials(data, ("service_account",))


class AzureConfig(StrictModel):
    """objstore's Azure provider (docs/storage.md, Azure), without the account key."""

    storage_account: str = Field(description="Storage account name.", pattern=r"^[a-z0-9]{3,24}$")
    container: str = Field(description="Container name.", pattern=r"^[a-z0-9](-?[a-z0-9]){2,62}$")
    endpoint: str | None = Field(None, description="Endpoint suffix, e.g. `blob.core.windows.net`.")
    max_retries: int | None = Field(None, ge=0, description="Retries per request.")
    user_assigned_id: str | None = Field(None, description="Client id of a user-assigned managed identity.")

    @model_validator(mode="before")
    @classmethod
    def _credentials_elsewhere(cls, data: Any) -> Any:
        return _no_credentials(data, ("storage_account_key", "storage_connection_string"))


class S3Store(StrictModel):
    """An S3 bucket."""

    type: Literal["S3"] = Field(description="Provider.")
    config: S3Config = Field(description="The provider's settings (no credentials).")


class GcsStore(StrictModel):
    """A Google Cloud Storage bucket."""

    type: Literal["GCS"] = Field(description="Provider.")
    config: GcsConfig = Field(description="The provider's settings (no credentials).")


class AzureStore(StrictModel):
    """An Azure Blob Storage container."""

    type: Literal["AZURE"] = Field(description="Provider.")
    config: AzureConfig = Field(description="The provider's settings (no credentials).")


class ObjectStore(StrictModel):
    """Where the sidecars upload blocks and the store gateway and compactor read them.

    The file Thanos reads is `secret` (an objstore.yml: `type`, `config`, `prefix`, credentials if any), which
    the operator creates; `bucket` here must be what that file names: the render shows it
    (`leanvibe.ai/objstore-bucket`) so no environment reads or writes another's bucket.
    """

    secret: SecretRef = Field(description="The Secret key holding objstore.yml (`--objstore.config-file`).")
    provider: Annotated[S3Store | GcsStore | AzureStore, Field(discriminator="type")] = Field(
        description="The provider and its settings, as the Secret's file writes them, without credentials.")
    prefix: str | None = Field(None, description="Path prefix inside the bucket.", pattern=r"^[A-Za-z0-9._/-]+$")

    @property
    def bucket(self) -> str:
        config = self.provider.config
        return config.container if isinstance(config, AzureConfig) else config.bucket


# --------------------------------------------------------------------------------------------------------
# Workloads

def _probe(path: str) -> Any:
    return Field(default_factory=lambda: HttpProbe(path=path, period_seconds=30 if "healthy" in path else 5,
                                                   timeout_seconds=3, failure_threshold=4 if "healthy" in path else 3),
                 description=f"HTTP probe on `{path}`.")


class ThanosProcess(StrictModel):
    """What every Thanos process has: the `thanos <command>` it runs, its HTTP probes, and the profile's extra
    flags, each checked against that command's flags at the pinned version."""

    command: ClassVar[str]
    liveness_probe: HttpProbe = _probe("/-/healthy")
    readiness_probe: HttpProbe = _probe("/-/ready")
    extra_args: list[str] = Field(default_factory=list,
                                  description="More flags of this Thanos command (refused: unknown flags, and "
                                  "those the stack renders itself).")

    @field_validator("extra_args")
    @classmethod
    def _known_flags(cls, args: list[str]) -> list[str]:
        return _extra_args(cls.command, args)


class ThanosSidecar(Container, ThanosProcess):
    """The sidecar in every Prometheus pod: serves the replica's data over gRPC (StoreAPI) and uploads each
    2 h block to the object store.  It runs with the Prometheus pod's non-root identity."""

    command = "sidecar"



class RemoteTls(StrictModel):
    """TLS to another cluster's Query, every file from a Secret."""

    ca: SecretRef = Field(description="CA that signed the remote server's certificate.")
    cert: SecretRef | None = Field(None, description="Client certificate (mutual TLS).")
    key: SecretRef | None = Field(None, description="Client key (mutual TLS).")
    server_name: str | None = Field(None, description="Name expected in the remote certificate (default: the host).")

    @model_validator(mode="after")
    def _pair(self) -> RemoteTls:
        if (self.cert is None) != (self.key is None):
            raise ValueError(at(("cert" if self.cert is None else "key",),
                                "mutual TLS needs both cert and key (or neither)"))
        return self


class RemoteEndpoint(StrictModel):
    """Another cluster's Query (or sidecar) gRPC endpoint, read over TLS: one Grafana sees every environment."""

    address: str = Field(description="`host:port` of the remote gRPC StoreAPI, e.g. "
                                     "`thanos-grpc.staging.leanvibe.ai:443`.",
                         pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$")
    environment: DnsLabel = Field(description="The environment it serves (its series carry it as `environment`).")
    tls: RemoteTls = Field(description="TLS settings; every remote endpoint is read over TLS.")


class ThanosQuery(NonRootWorkload, ThanosProcess):
    """Thanos Query: one PromQL API over every sidecar and store gateway, deduplicating the replicas."""

    command = "query"

    replicas: int = Field(2, ge=1, le=MAX_REPLICAS, description="Stateless replicas behind one Service.")
    partial_response: bool = Field(
        True, description="Answer with what the healthy stores return (and a warning Grafana shows) when one "
        "fails or exceeds store_response_timeout; false fails the whole query instead.")
    query_timeout: Duration = Field("2m", description="Longest a query runs (`--query.timeout`).")
    store_response_timeout: Duration = Field(
        "30s", description="Longest Query waits for one store (`--store.response-timeout`): a slow remote cluster "
        "then costs a warning, not the dashboard.")
    remote_endpoints: dict[DnsLabel, RemoteEndpoint] = Field(
        default_factory=dict, description="Other clusters' Query endpoints, keyed by name.")

    @model_validator(mode="after")
    def _store_timeout_below_query_timeout(self) -> ThanosQuery:
        if duration_seconds(self.store_response_timeout) >= duration_seconds(self.query_timeout):
            raise ValueError(at(("store_response_timeout",), f"must be shorter than query_timeout "
                                                             f"({self.query_timeout}), or a slow store times the "
                                                             "whole query out instead of being left out"))
        return self


class ThanosStore(NonRootWorkload, ThanosProcess):
    """The store gateway: serves the object store's blocks over gRPC; its volume caches index headers."""

    command = "store"

    replicas: int = Field(1, ge=1, le=MAX_REPLICAS, description="Replicas, each serving every block.")
    storage: Storage = Field(description="Per-replica cache volume (index headers), e.g. `20Gi`.")
    index_cache_size: str = Field("1GB", description="In-memory index cache (`--index-cache-size`).",
                                  pattern=r"^\d+(B|KB|MB|GB|TB)$")


# The compactor makes 5 m blocks from raw blocks older than 40 h, and 1 h blocks from 5 m blocks older than
# 10 d (docs/components/compact.md, Downsampling): a shorter retention deletes the data before that.
MIN_RAW_FOR_5M = 40 * 3600
MIN_5M_FOR_1H = 10 * 24 * 3600


class CompactorRetention(StrictModel):
    """How long the object store keeps each resolution (`0d`: forever)."""

    raw: Duration = Field(description="Raw samples (`--retention.resolution-raw`).")
    five_minutes: Duration = Field(description="5-minute downsampled blocks (`--retention.resolution-5m`).")
    one_hour: Duration = Field(description="1-hour downsampled blocks (`--retention.resolution-1h`).")


class ThanosCompactor(NonRootWorkload, ThanosProcess):
    """The compactor: compacts, downsamples and applies retention in the bucket.  Exactly one runs per bucket
    (two would compact the same blocks: overlaps, then a halt), so there is no replica count."""

    command = "compact"

    storage: Storage = Field(description="Scratch volume: it holds the blocks of the largest compaction group.")
    downsampling: bool = Field(True, description="Make 5 m and 1 h blocks for long-range queries.")
    retention: CompactorRetention = Field(description="Retention per resolution.")

    @model_validator(mode="before")
    @classmethod
    def _one_replica(cls, data: Any) -> Any:
        if isinstance(data, dict) and "replicas" in data:
            raise ValueError(at(("replicas",), "the compactor always runs exactly one pod per bucket: two would "
                                               "compact the same blocks into overlapping ones and halt"))
        return data

    @model_validator(mode="after")
    def _downsampling_has_its_input(self) -> ThanosCompactor:
        if not self.downsampling:
            return self
        raw, five = duration_seconds(self.retention.raw), duration_seconds(self.retention.five_minutes)
        if raw and raw < MIN_RAW_FOR_5M:
            raise ValueError(at(("retention", "raw"), "deletes raw blocks before the compactor downsamples them "
                                                      "(at 40h): keep at least 2d, or set downsampling: false"))
        if five and five < MIN_5M_FOR_1H:
            raise ValueError(at(("retention", "five_minutes"), "deletes 5m blocks before the compactor makes 1h "
                                                               "blocks of them (at 10d): keep at least 10d"))
        return self


class Thanos(StrictModel):
    """Thanos: deduplicated queries over the Prometheus replicas, long-term storage, other clusters."""

    object_store: ObjectStore = Field(description="The bucket and the Secret holding its objstore.yml.")
    sidecar: ThanosSidecar = Field(description="The sidecar in every Prometheus pod.")
    query: ThanosQuery = Field(description="Thanos Query (Grafana's Prometheus datasource points at it).")
    store: ThanosStore = Field(description="The store gateway.")
    compactor: ThanosCompactor = Field(description="The compactor (a single replica).")
