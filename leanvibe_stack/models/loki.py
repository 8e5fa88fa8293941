"""loki.yaml as a typed model, mirroring the Loki 3.7 configuration reference.

Sources (grafana/loki at tag v3.7.6): docs/sources/shared/configuration.md (keys, meanings,
defaults), docs/sources/setup/upgrade/_index.md (what 3.0 removed or renamed) and
pkg/loki/validation.go (the schema rule structured metadata imposes at startup).

Only the blocks LeanVibe uses are modelled, each with its upstream key names, so the
rendered file is the model dump.  Keys that Loki 3 removed, that it no longer honours,
or that the stack derives itself (ring, memberlist, the ruler's Alertmanager address)
are refused with a message saying what to do instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from leanvibe_stack.models.base import Duration, Port, StrictModel, at

# Go time.Duration as parsed by time.ParseDuration: no days or weeks ("24h", "5m", "30s").
_GO_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
# dskit flagext.ByteSize (go-humanize): "10MB", "256KB", "1.5GiB", or a plain byte count.
_BYTE_SIZE = re.compile(r"^\d+(\.\d+)? ?([kKmMgGtTpPeE]i?[bB]?|[bB])?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLACEHOLDER = "${"
_REMOVED = "removed in Loki 3.0"


def _check_go_duration(value: str) -> str:
    if value in ("", "0") or not _GO_DURATION.fullmatch(value):
        raise ValueError(f"{value!r} is not a Go duration such as '24h', '5m' or '30s' (no 'd' or 'w')")
    return value


def _check_byte_size(value: int | str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is not a byte size (must be >= 0)")
        return value
    if not _BYTE_SIZE.fullmatch(value):
        raise ValueError(f"{value!r} is not a byte size such as '10MB', '256KB' or 0")
    return value


def _check_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD (quote it in YAML)") from None
    if not _DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD (quote it in YAML)")
    return value


GoDuration = Annotated[str, AfterValidator(_check_go_duration)]
ByteSize = Annotated[int | str, AfterValidator(_check_byte_size)]
DateString = Annotated[str, AfterValidator(_check_date)]
ObjectStore = Literal["s3", "filesystem"]
LogLevel = Literal["debug", "info", "warn", "error"]


class RefusingModel(StrictModel):
    """A strict model that explains why a known-but-refused key is not accepted."""

    refused: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _refuse_known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if key in cls.refused:
                    raise ValueError(f"{key!r} is not accepted: {cls.refused[key]}")
        return data


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path, string) for every string, key included, inside a dumped config."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield path, str(key)
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def refuse_placeholders(dumped: Mapping[str, Any]) -> None:
    """Refuse `${...}`: neither Loki (without -config.expand-env) expands it here."""
    for path, text in _strings(dumped, ""):
        if _PLACEHOLDER in text:
            raise ValueError(
                f"{path}: {text!r} contains a '${{...}}' placeholder, which would stay literal; "
                "take secrets from a Secret via env or a *_file field, and write capture groups as $1"
            )


class ServerConfig(StrictModel):
    """The `server` block: Loki's HTTP and gRPC listeners."""

    http_listen_port: Port = Field(description="Port of Loki's HTTP API (push, query, /ready, /metrics).")
    grpc_listen_port: Port = Field(description="Port of Loki's gRPC server used between components.")
    log_level: LogLevel | None = Field(None, description="Minimum level of Loki's own log lines.")


class CommonConfig(RefusingModel):
    """The `common` block: settings shared by every Loki component."""

    refused: ClassVar[Mapping[str, str]] = {
        "storage": "configure object and index storage once, in storage_config",
        "ring": "the ring is derived by the stack (memberlist for several replicas, else inmemory)",
    }

    path_prefix: str = Field(description="Directory under which Loki keeps its local state by default.")
    replication_factor: int = Field(ge=1, description="How many ingesters receive each stream.")


class QuerySchedulerConfig(StrictModel):
    """The `query_scheduler` block: the queue between query frontend and queriers."""

    max_outstanding_requests_per_tenant: int | None = Field(
        None, ge=1, description="Queued queries per tenant before the scheduler answers 429."
    )


class FrontendConfig(StrictModel):
    """The `frontend` block: the query frontend that splits and queues queries."""

    max_outstanding_per_tenant: int | None = Field(
        None, ge=1, description="Queued queries per tenant before the frontend answers 429."
    )
    compress_responses: bool | None = Field(None, description="Gzip query responses when clients accept it.")


class EmbeddedCacheConfig(StrictModel):
    """The `embedded_cache` backend: an in-process cache with no extra service."""

    enabled: bool = Field(description="Turn the in-process cache on.")
    max_size_mb: int | None = Field(None, ge=1, description="Memory the cache may use, in MB.")
    ttl: GoDuration | None = Field(None, description="How long a cached entry stays valid.")


class CacheConfig(RefusingModel):
    """A Loki `cache_config`; only the embedded cache is modelled."""

    refused: ClassVar[Mapping[str, str]] = {
        "filesystem": "Loki has no filesystem cache; use embedded_cache: {enabled: true}",
    }

    embedded_cache: EmbeddedCacheConfig = Field(description="In-process cache backend.")


class ResultsCacheConfig(StrictModel):
    """The `results_cache` block of query_range."""

    cache: CacheConfig = Field(description="Cache backend holding query results.")


class QueryRangeConfig(RefusingModel):
    """The `query_range` block: splitting, retries and result caching of range queries."""

    refused: ClassVar[Mapping[str, str]] = {
        "split_queries_by_interval": f"{_REMOVED} from query_range; it is limits_config.split_queries_by_interval",
    }

    align_queries_with_step: bool | None = Field(None, description="Align query start/end to the step.")
    max_retries: int | None = Field(None, ge=0, description="Retries of a failed sub-query.")
    parallelise_shardable_queries: bool | None = Field(
        None, description="Shard queries that can be split by stream across queriers."
    )
    cache_results: bool | None = Field(None, description="Cache range-query results in results_cache.")
    results_cache: ResultsCacheConfig | None = Field(None, description="Where query results are cached.")

    @model_validator(mode="after")
    def _cache_needs_backend(self) -> QueryRangeConfig:
        if self.cache_results and self.results_cache is None:
            raise ValueError("cache_results: true needs results_cache.cache.embedded_cache")
        return self


class WalConfig(StrictModel):
    """The ingester `wal` block: the write-ahead log replayed after a crash."""

    enabled: bool = Field(description="Write incoming data to the WAL before acknowledging it.")
    dir: str = Field(description="Directory of the WAL; it must be on persistent storage.")


class IngesterConfig(RefusingModel):
    """The `ingester` block: how ingesters build and flush chunks."""

    refused: ClassVar[Mapping[str, str]] = {
        "max_transfer_retries": f"{_REMOVED}; a restarted ingester replays its WAL instead",
        "lifecycler": "the ingester ring is derived by the stack through common.ring",
    }

    chunk_idle_period: GoDuration | None = Field(
        None, description="Flush a chunk whose stream received nothing for this long."
    )
    chunk_retain_period: GoDuration | None = Field(
        None, description="Keep a flushed chunk in memory this long for queries."
    )
    wal: WalConfig | None = Field(None, description="Write-ahead log settings.")


class IndexConfig(StrictModel):
    """The `index` block of a schema period: index table naming."""

    prefix: str = Field(pattern=r"^[a-zA-Z0-9_-]+$", description="Prefix of the period's index tables.")
    period: GoDuration = Field(description="Time span of one index table; shipper stores need 24h.")


# The schema and index a period needs before Loki 3 stores structured metadata in it.
STRUCTURED_METADATA_STORE, STRUCTURED_METADATA_SCHEMA = "tsdb", "v13"


class PeriodConfig(StrictModel):
    """One entry of `schema_config.configs`: the storage layout from a date onwards."""

    from_: DateString = Field(alias="from", description="First day (UTC, YYYY-MM-DD) this period applies.")
    store: Literal["boltdb-shipper", "tsdb"] = Field(description="Index store of the period.")
    object_store: ObjectStore = Field(description="Object store for chunks (and the shipped index).")
    schema_: Literal["v11", "v12", "v13"] = Field(alias="schema", description="Schema version.")
    index: IndexConfig = Field(description="Index table naming of the period.")

    @property
    def holds_structured_metadata(self) -> bool:
        """Whether Loki 3 accepts structured metadata while this period is the active one."""
        return (self.store, self.schema_) == (STRUCTURED_METADATA_STORE, STRUCTURED_METADATA_SCHEMA)


class SchemaConfig(StrictModel):
    """The `schema_config` block: the list of storage periods."""

    configs: list[PeriodConfig] = Field(min_length=1, description="Periods, oldest first.")


class SseConfig(StrictModel):
    """The `sse` block of the S3 client: server-side encryption of stored objects."""

    type: Literal["SSE-S3", "SSE-KMS"] = Field(description="Encryption with S3-managed or KMS keys.")
    kms_key_id: str | None = Field(None, description="KMS key that encrypts objects (SSE-KMS only).")

    @model_validator(mode="after")
    def _kms_key_matches_type(self) -> SseConfig:
        if (self.type == "SSE-KMS") != (self.kms_key_id is not None):
            raise ValueError("kms_key_id is required with SSE-KMS and not allowed with SSE-S3")
        return self


_NO_KEYS = "credentials come from the AWS default chain (env from a Secret, or an IAM role), never loki.yaml"


class AwsStorageConfig(RefusingModel):
    """The `aws` block of storage_config: the S3 client used for chunks and index."""

    refused: ClassVar[Mapping[str, str]] = {
        "access_key_id": _NO_KEYS,
        "secret_access_key": _NO_KEYS,
        "session_token": _NO_KEYS,
        "s3": "use bucketnames and region (an s3:// URL can carry credentials)",
        "sse_encryption": f"{_REMOVED}; use sse: {{type: SSE-S3}}",
    }

    bucketnames: str = Field(description="Bucket (or comma-separated buckets) holding Loki's objects.")
    region: str = Field(description="AWS region of the bucket.")
    endpoint: str | None = Field(None, description="S3 endpoint, for S3-compatible stores such as MinIO.")
    s3forcepathstyle: bool | None = Field(None, description="Address the bucket by path, not host.")
    sse: SseConfig | None = Field(None, description="Server-side encryption of stored objects.")


class IndexShipperConfig(RefusingModel):
    """The `boltdb_shipper` / `tsdb_shipper` block: local index files shipped to the object store."""

    refused: ClassVar[Mapping[str, str]] = {
        "shared_store": f"{_REMOVED}; the index goes to each schema period's object_store",
        "shared_store_key_prefix": f"{_REMOVED}; set index.path_prefix in the schema period instead",
        "use_boltdb_shipper_as_backup": f"{_REMOVED}; it was a remnant of TSDB's experimental phase",
    }

    active_index_directory: str = Field(description="Directory where ingesters write index files.")
    cache_location: str = Field(description="Directory where queriers cache downloaded index files.")
    cache_ttl: GoDuration | None = Field(None, description="How long downloaded index files stay cached.")


class FilesystemConfig(StrictModel):
    """The `filesystem` block of storage_config: chunks on a local volume."""

    directory: str = Field(description="Directory holding chunks.")


class StorageConfig(StrictModel):
    """The `storage_config` block: object stores and index shippers."""

    aws: AwsStorageConfig | None = Field(None, description="S3 object store.")
    boltdb_shipper: IndexShipperConfig | None = Field(None, description="Index shipper of boltdb-shipper.")
    tsdb_shipper: IndexShipperConfig | None = Field(None, description="Index shipper of tsdb periods.")
    filesystem: FilesystemConfig | None = Field(None, description="Local filesystem object store.")


class CompactorConfig(RefusingModel):
    """The `compactor` block: index compaction and retention (deletion) of old data."""

    refused: ClassVar[Mapping[str, str]] = {
        "shared_store": f"{_REMOVED}; the compactor serves every period's object_store "
        "(see delete_request_store)",
        "shared_store_key_prefix": f"{_REMOVED}; see delete_request_store_key_prefix",
        "deletion_mode": f"{_REMOVED} from compactor; it is limits_config.deletion_mode",
    }

    working_directory: str = Field(description="Directory for files being compacted and retention markers.")
    compaction_interval: GoDuration | None = Field(None, description="Interval between compaction runs.")
    retention_enabled: bool | None = Field(
        None, description="Delete data older than limits_config.retention_period."
    )
    retention_delete_delay: GoDuration | None = Field(
        None, description="Delay between marking chunks for deletion and deleting them."
    )
    retention_delete_worker_count: int | None = Field(
        None, ge=1, description="Workers deleting expired chunks."
    )
    delete_request_store: ObjectStore | None = Field(
        None, description="Object store holding log-deletion requests (required with retention since Loki 3.0)."
    )

    @model_validator(mode="after")
    def _retention_needs_delete_store(self) -> CompactorConfig:
        # pkg/compactor/config.go: Loki 3 refuses to start the compactor otherwise.
        if self.retention_enabled and self.delete_request_store is None:
            raise ValueError("retention_enabled: true needs delete_request_store (Loki 3 refuses to start without it)")
        return self


class LimitsConfig(RefusingModel):
    """The `limits_config` block: per-tenant ingestion and retention limits."""

    refused: ClassVar[Mapping[str, str]] = {
        "enforce_metric_name": f"{_REMOVED}; remove it",
    }

    reject_old_samples: bool | None = Field(None, description="Refuse entries older than the max age.")
    reject_old_samples_max_age: Duration | None = Field(None, description="Oldest entry age accepted.")
    ingestion_rate_mb: float | None = Field(None, gt=0, description="Sustained ingestion rate, MB/s.")
    ingestion_burst_size_mb: float | None = Field(None, gt=0, description="Ingestion burst size, MB.")
    per_stream_rate_limit: ByteSize | None = Field(None, description="Sustained rate of one stream, per s.")
    per_stream_rate_limit_burst: ByteSize | None = Field(None, description="Burst size of one stream.")
    max_streams_per_user: int | None = Field(None, ge=0, description="Active streams per ingester (0: none).")
    max_global_streams_per_user: int | None = Field(
        None, ge=0, description="Active streams across the cluster (0: no limit)."
    )
    max_line_size: ByteSize | None = Field(None, description="Longest accepted log line (0: no limit).")
    retention_period: Duration | None = Field(None, description="Age after which the compactor deletes data.")
    allow_structured_metadata: bool | None = Field(
        None,
        description="Accept structured metadata on entries (Loki 3 default: true). While it is allowed, Loki 3 "
        "refuses to start unless the schema period active at startup is tsdb with schema v13.",
    )

    @property
    def structured_metadata_allowed(self) -> bool:
        """Loki 3 allows structured metadata unless the profile turns it off."""
        return self.allow_structured_metadata is not False


class RulerLocalStorage(StrictModel):
    """The `local` block of ruler storage: rule files on disk."""

    directory: str = Field(description="Directory holding one sub-directory of rule files per tenant.")


class RulerStorage(StrictModel):
    """The ruler `storage` block; only local storage is modelled."""

    type: Literal["local"] = Field(description="Backend holding rule groups.")
    local: RulerLocalStorage = Field(description="Local rule storage settings.")


class RulerConfig(RefusingModel):
    """The `ruler` block: evaluation of LogQL alerting and recording rules."""

    refused: ClassVar[Mapping[str, str]] = {
        "alertmanager_url": "derived by the stack from its Alertmanager Service",
        "enable_alertmanager_discovery": "derived by the stack from how Alertmanager is addressed",
        "ring": "the ruler ring is derived by the stack through common.ring",
        "external_labels": "derived: the cluster, region and environment labels Prometheus' alerts carry too",
    }

    storage: RulerStorage = Field(description="Where the ruler reads rule groups from.")
    rule_path: str = Field(description="Scratch directory where the ruler writes the rules it loads.")
    enable_api: bool | None = Field(None, description="Serve the rules API.")
    enable_alertmanager_v2: bool | None = Field(
        None, description="Send alerts with Alertmanager API v2 (Loki's default since 3.2)."
    )
    alertmanager_refresh_interval: GoDuration | None = Field(
        None, description="How often discovered Alertmanager addresses are refreshed."
    )

    @model_validator(mode="after")
    def _alertmanager_v2_only(self) -> RulerConfig:
        if self.enable_alertmanager_v2 is False:
            raise ValueError("enable_alertmanager_v2: false sends to Alertmanager API v1, which Alertmanager "
                             "removed in 0.27 (the stack runs a newer one); leave it out (Loki 3 defaults to v2)")
        return self

    @model_validator(mode="after")
    def _scratch_apart_from_rules(self) -> RulerConfig:
        if self.rule_path.rstrip("/") == self.storage.local.directory.rstrip("/"):
            raise ValueError("rule_path must differ from storage.local.directory (the ruler rewrites it)")
        return self


class AnalyticsConfig(StrictModel):
    """The `analytics` block: anonymous usage reporting to Grafana Labs."""

    reporting_enabled: bool = Field(description="Send anonymous usage statistics.")


class LokiConfig(RefusingModel):
    """The content of loki.yaml, minus the parts the stack derives (ring, memberlist, Alertmanager)."""

    refused: ClassVar[Mapping[str, str]] = {
        "table_manager": "retention is done by the compactor "
        "(compactor.retention_enabled + limits_config.retention_period)",
        "chunk_store_config": f"its max_look_back_period was {_REMOVED} (limits_config.max_query_lookback "
        "replaces it); leave chunk_store_config out",
        "memberlist": "derived by the stack from the replica count",
    }

    auth_enabled: bool = Field(description="Require the X-Scope-OrgID tenant header on every request.")
    server: ServerConfig = Field(description="HTTP and gRPC listeners.")
    common: CommonConfig = Field(description="Settings shared by every component.")
    query_scheduler: QuerySchedulerConfig | None = Field(None, description="Query queue settings.")
    frontend: FrontendConfig | None = Field(None, description="Query frontend settings.")
    query_range: QueryRangeConfig | None = Field(None, description="Range-query splitting and caching.")
    ingester: IngesterConfig | None = Field(None, description="Chunk building and flushing.")
    schema_config: SchemaConfig = Field(description="Storage layout periods.")
    storage_config: StorageConfig = Field(description="Object stores and index shippers.")
    compactor: CompactorConfig | None = Field(None, description="Compaction and retention.")
    limits_config: LimitsConfig | None = Field(None, description="Per-tenant limits and retention period.")
    ruler: RulerConfig | None = Field(None, description="LogQL rule evaluation.")
    analytics: AnalyticsConfig | None = Field(None, description="Usage reporting.")

    @model_validator(mode="after")
    def _periods_sorted(self) -> LokiConfig:
        starts = [period.from_ for period in self.schema_config.configs]
        if any(later <= earlier for earlier, later in zip(starts, starts[1:], strict=False)):
            raise ValueError(f"schema_config.configs must be sorted by 'from', without repeats: {starts}")
        return self

    @model_validator(mode="after")
    def _periods_backed(self) -> LokiConfig:
        for period in self.schema_config.configs:
            where = f"schema_config period from {period.from_}"
            if period.object_store not in self.configured_object_stores():
                raise ValueError(f"{where}: object_store {period.object_store} is not in storage_config")
            shipper = "boltdb_shipper" if period.store == "boltdb-shipper" else "tsdb_shipper"
            if getattr(self.storage_config, shipper) is None:
                raise ValueError(f"{where}: store {period.store} needs storage_config.{shipper}")
            if period.index.period != "24h":
                raise ValueError(f"{where}: {period.store} needs index.period 24h")
        return self

    @model_validator(mode="after")
    def _structured_metadata_schema(self) -> LokiConfig:
        # pkg/loki/validation.go: with structured metadata allowed, Loki 3 refuses to start unless the
        # period active at startup is tsdb + v13.  Which period is active depends on the day (the
        # `validate` check loki.structured-metadata-schema judges that); the newest period becomes
        # active sooner or later, so it must qualify whatever the day.
        limits = self.limits_config or LimitsConfig()
        newest = self.schema_config.configs[-1]
        if limits.structured_metadata_allowed and not newest.holds_structured_metadata:
            # Point at the setting when the profile writes it, else at the newest period.
            where: tuple[str | int, ...] = ("limits_config", "allow_structured_metadata") \
                if limits.allow_structured_metadata is not None \
                else ("schema_config", "configs", len(self.schema_config.configs) - 1)
            raise ValueError(at(
                where,
                f"structured metadata is allowed (limits_config.allow_structured_metadata, Loki 3 default: true) "
                f"but the newest schema period (from {newest.from_}) is {newest.store}/{newest.schema_}: Loki 3 "
                "refuses to start once it is active; add a tsdb/v13 period from a future date, or set "
                "limits_config.allow_structured_metadata: false",
            ))
        return self

    @model_validator(mode="after")
    def _delete_store_backed(self) -> LokiConfig:
        store = self.compactor.delete_request_store if self.compactor else None
        if store is not None and store not in self.configured_object_stores():
            raise ValueError(f"compactor.delete_request_store {store} is not in storage_config")
        return self

    @model_validator(mode="after")
    def _no_placeholders(self) -> LokiConfig:
        refuse_placeholders(self.model_dump(by_alias=True, exclude_none=True))
        return self

    def configured_object_stores(self) -> set[str]:
        """Object stores that storage_config configures ("s3", "filesystem")."""
        stores = {"s3": self.storage_config.aws, "filesystem": self.storage_config.filesystem}
        return {name for name, block in stores.items() if block is not None}


# Top-level blocks in the order the rendered loki.yaml lists them.
_BLOCK_ORDER = (
    "auth_enabled",
    "server",
    "common",
    "memberlist",
    "query_scheduler",
    "frontend",
    "query_range",
    "ingester",
    "schema_config",
    "storage_config",
    "compactor",
    "limits_config",
    "ruler",
    "analytics",
)


def _check_http_url(url: str, what: str) -> None:
    if not url.startswith(("http://", "https://")) or _PLACEHOLDER in url:
        raise ValueError(f"{what} must be a literal http(s) URL, got {url!r}")


def render_loki_config(
    config: LokiConfig, *, memberlist_join: list[str], alertmanager_url: str, alertmanager_discovery: bool,
    external_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return loki.yaml as a plain dict: the profile's blocks plus the ring and ruler wiring."""
    if not memberlist_join and config.common.replication_factor > 1:
        raise ValueError("common.replication_factor > 1 needs memberlist join members (several replicas)")
    _check_http_url(alertmanager_url, "alertmanager_url")
    blocks = config.model_dump(by_alias=True, exclude_none=True)
    store = "memberlist" if memberlist_join else "inmemory"
    blocks["common"]["ring"] = {"kvstore": {"store": store}}
    if memberlist_join:
        blocks["memberlist"] = {"join_members": list(memberlist_join)}
    if "ruler" in blocks:
        blocks["ruler"]["alertmanager_url"] = alertmanager_url
        blocks["ruler"]["enable_alertmanager_discovery"] = alertmanager_discovery
        if external_labels:
            blocks["ruler"]["external_labels"] = dict(external_labels)
    return {key: blocks[key] for key in _BLOCK_ORDER if key in blocks}
