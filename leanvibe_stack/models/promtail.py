"""promtail.yaml as a typed model, mirroring the Promtail 2.9 configuration reference.

Scrape jobs are keyed by job name so a profile can override one job.  The push URL and the
positions file are derived by the stack, so there is exactly one client and nothing to
push twice.  Pipeline stages are one-key mappings (`- cri: {}`), each its own model.

One module on purpose (~530 lines): one model per section of Promtail's reference, so a reader checks
it against that page top to bottom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from leanvibe_stack.models.base import LabelName, Port, StrictModel
from leanvibe_stack.models.loki import (
    ByteSize,
    GoDuration,
    LogLevel,
    RefusingModel,
    refuse_placeholders,
)
from leanvibe_stack.models.relabel import RelabelConfig

JobName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
MetricName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# Values with one label value per request, user or process: as labels they explode the
# number of streams (and Loki's index).  Bounded labels are a product rule.
UNBOUNDED_LABELS = frozenset(
    {"request_id", "trace_id", "span_id", "tenant_id", "user_id", "session_id", "pid"}
)


class ServerConfig(StrictModel):
    """The `server` block: Promtail's HTTP (metrics, targets UI) and gRPC listeners."""

    http_listen_port: Port = Field(description="Port of Promtail's HTTP server (/metrics, /ready).")
    grpc_listen_port: int = Field(ge=0, le=65535, description="Port of the gRPC server (0: random port).")
    log_level: LogLevel | None = Field(None, description="Minimum level of Promtail's own log lines.")


class ClientConfig(RefusingModel):
    """Tunables of the single Loki client; its push URL is derived by the stack."""

    refused: ClassVar[Mapping[str, str]] = {
        "url": "the push URL is derived by the stack from the Loki Service",
    }

    tenant_id: str | None = Field(None, description="Tenant sent as X-Scope-OrgID with every push.")
    batchwait: GoDuration | None = Field(None, description="Longest wait before sending a batch.")
    batchsize: int | None = Field(None, ge=1, description="Largest batch to send, in bytes.")
    timeout: GoDuration | None = Field(None, description="Timeout of one push request.")
    external_labels: dict[LabelName, str] | None = Field(
        None, description="Static labels added to every line this client pushes."
    )


class NamespaceSelector(StrictModel):
    """The `namespaces` block of a Kubernetes SD config."""

    names: list[NonEmpty] = Field(min_length=1, description="Namespaces to discover targets in.")


class KubernetesSDConfig(StrictModel):
    """One `kubernetes_sd_configs` entry: targets discovered from the Kubernetes API."""

    role: Literal["node", "service", "pod", "endpoints", "endpointslice", "ingress"] = Field(
        description="Kind of object discovered as targets."
    )
    namespaces: NamespaceSelector | None = Field(None, description="Restrict discovery to these namespaces.")


class StaticConfig(StrictModel):
    """One `static_configs` entry: fixed targets, typically local files via `__path__`."""

    targets: list[NonEmpty] = Field(min_length=1, description="Target hosts (localhost for local files).")
    labels: dict[LabelName, str] | None = Field(None, description="Labels of these targets, incl. __path__.")


class JournalConfig(StrictModel):
    """The `journal` block: read the systemd journal."""

    json_: bool | None = Field(None, alias="json", description="Ship entries as JSON (all fields).")
    max_age: GoDuration | None = Field(None, description="Oldest entry read when Promtail starts.")
    path: str | None = Field(None, description="Journal directory to read.")
    labels: dict[LabelName, str] | None = Field(None, description="Labels added to every journal entry.")


# --- pipeline stages: each is a one-key mapping, modelled as a one-field wrapper -------------


class CriConfig(StrictModel):
    """Options of the `cri` stage, which parses the CRI (containerd, CRI-O) log format."""

    max_partial_lines: int | None = Field(None, ge=1, description="Partial lines buffered before merging.")
    max_partial_line_size: ByteSize | None = Field(None, description="Longest partial line kept.")
    max_partial_line_size_truncate: bool | None = Field(
        None, description="Truncate partial lines to max_partial_line_size before buffering."
    )


class DockerConfig(StrictModel):
    """The `docker` stage takes no options: it parses Docker's json-file log format."""


class JsonConfig(StrictModel):
    """Options of the `json` stage: extract values from a JSON log line with JMESPath."""

    expressions: dict[NonEmpty, str | None] = Field(
        min_length=1, description="Extracted key -> JMESPath expression (empty: the key itself)."
    )
    source: NonEmpty | None = Field(None, description="Extracted value to parse instead of the line.")
    drop_malformed: bool | None = Field(None, description="Drop lines that are not valid JSON.")


class RegexConfig(StrictModel):
    """Options of the `regex` stage: extract named RE2 capture groups."""

    expression: NonEmpty = Field(description="RE2 expression whose named groups become extracted values.")
    source: NonEmpty | None = Field(None, description="Extracted value to match instead of the line.")


class TimestampConfig(StrictModel):
    """Options of the `timestamp` stage: set the entry's time from an extracted value."""

    source: NonEmpty = Field(description="Extracted value holding the time.")
    format: NonEmpty = Field(description="Go reference layout or a name such as RFC3339, Unix.")
    fallback_formats: list[NonEmpty] | None = Field(None, description="Layouts tried when format fails.")
    location: str | None = Field(None, description="IANA time zone of times without an offset.")
    action_on_failure: Literal["skip", "fudge"] | None = Field(
        None, description="What to do with the time when parsing fails."
    )


class OutputConfig(StrictModel):
    """Options of the `output` stage: replace the log line with an extracted value."""

    source: NonEmpty = Field(description="Extracted value that becomes the log line.")


class DropConfig(StrictModel):
    """Options of the `drop` stage: drop entries matching all the given conditions."""

    source: NonEmpty | list[NonEmpty] | None = Field(None, description="Extracted value(s) tested.")
    separator: str | None = Field(None, description="Separator joining several source values.")
    expression: NonEmpty | None = Field(None, description="RE2 regex; drop when the value matches.")
    value: str | None = Field(None, description="Drop when the source value equals this.")
    older_than: GoDuration | None = Field(None, description="Drop entries older than this.")
    longer_than: ByteSize | None = Field(None, description="Drop lines longer than this.")
    drop_counter_reason: NonEmpty | None = Field(None, description="Reason label on the dropped counter.")

    @model_validator(mode="after")
    def _one_condition(self) -> DropConfig:
        if self.expression is not None and self.value is not None:
            raise ValueError("drop: expression and value are mutually exclusive")
        if self.value is not None and self.source is None:
            raise ValueError("drop: value needs source")
        conditions = (self.source, self.expression, self.older_than, self.longer_than)
        if all(condition is None for condition in conditions):
            raise ValueError("drop: set at least one of source, expression, older_than, longer_than")
        return self


class TenantConfig(StrictModel):
    """Options of the `tenant` stage: set the tenant of the entry."""

    source: NonEmpty | None = Field(None, description="Extracted value holding the tenant.")
    label: LabelName | None = Field(None, description="Label holding the tenant.")
    value: NonEmpty | None = Field(None, description="Fixed tenant.")

    @model_validator(mode="after")
    def _exactly_one(self) -> TenantConfig:
        if sum(option is not None for option in (self.source, self.label, self.value)) != 1:
            raise ValueError("tenant: set exactly one of source, label, value")
        return self


class TemplateConfig(StrictModel):
    """Options of the `template` stage: rewrite an extracted value with a Go template."""

    source: NonEmpty = Field(description="Extracted value to write (and read as .Value).")
    template: NonEmpty = Field(description="Go template, e.g. '{{ ToLower .Value }}'.")


class _MetricBase(RefusingModel):
    """Fields shared by every metric of the `metrics` stage."""

    refused: ClassVar[Mapping[str, str]] = {
        key: "it belongs inside the metric's config: block (outside it Promtail ignores it)"
        for key in ("match_all", "count_entry_bytes", "value", "action", "buckets")
    }

    description: str | None = Field(None, description="HELP text of the metric.")
    source: NonEmpty | None = Field(None, description="Extracted value the metric reads (default: its name).")
    prefix: str | None = Field(None, description="Metric name prefix (default promtail_custom_).")
    max_idle_duration: GoDuration | None = Field(None, description="Drop series idle this long (>= 1s).")


class CounterSettings(StrictModel):
    """The `config` block of a Counter."""

    match_all: bool | None = Field(None, description="Count every line, whether or not source exists.")
    count_entry_bytes: bool | None = Field(None, description="Add the line's bytes (needs match_all, add).")
    value: str | None = Field(None, description="Count only when the source value equals this string.")
    action: Literal["inc", "add"] = Field(description="inc by one, or add the source (or byte) value.")

    @model_validator(mode="after")
    def _upstream_rules(self) -> CounterSettings:
        if self.match_all and self.value is not None:
            raise ValueError("match_all: true cannot be combined with value")
        if self.count_entry_bytes and not self.match_all:
            raise ValueError("count_entry_bytes: true needs match_all: true")
        if self.count_entry_bytes and self.action != "add":
            raise ValueError("count_entry_bytes: true needs action: add")
        return self


class GaugeSettings(StrictModel):
    """The `config` block of a Gauge."""

    value: str | None = Field(None, description="Update only when the source value equals this string.")
    action: Literal["set", "inc", "dec", "add", "sub"] = Field(description="How the gauge changes.")


class HistogramSettings(StrictModel):
    """The `config` block of a Histogram."""

    value: str | None = Field(None, description="Observe only when the source value equals this string.")
    buckets: list[float] | None = Field(None, description="Upper bounds of the buckets.")


class CounterMetric(_MetricBase):
    """A Counter of the metrics stage."""

    type: Literal["Counter"] = Field(description="Metric type.")
    config: CounterSettings = Field(description="When and by how much the counter goes up.")


class GaugeMetric(_MetricBase):
    """A Gauge of the metrics stage."""

    type: Literal["Gauge"] = Field(description="Metric type.")
    config: GaugeSettings = Field(description="When and how the gauge changes.")


class HistogramMetric(_MetricBase):
    """A Histogram of the metrics stage."""

    type: Literal["Histogram"] = Field(description="Metric type.")
    config: HistogramSettings = Field(description="When the source value is observed, and buckets.")


Metric = Annotated[CounterMetric | GaugeMetric | HistogramMetric, Field(discriminator="type")]


def _refuse_unbounded(labels: Mapping[str, str | None], stage: str) -> None:
    for name, source in labels.items():
        if name in UNBOUNDED_LABELS or source in UNBOUNDED_LABELS:
            raise ValueError(
                f"{stage}: label {name!r} would carry an unbounded value ({source or name}); keep it "
                "in the log line and filter at query time (| json), or attach it with a "
                "structured_metadata stage (Loki 2.9: experimental, schema v13, allow_structured_metadata)"
            )


class _Stage(StrictModel):
    """A pipeline stage: a mapping with exactly one key, the stage name."""

    kind: ClassVar[str]


class CriStage(_Stage):
    """`- cri: {}` — parse the CRI log format (containerd, CRI-O); goes before json/regex."""

    kind: ClassVar[str] = "cri"
    cri: CriConfig = Field(description="Options of the cri stage.")


class DockerStage(_Stage):
    """`- docker: {}` — parse Docker's json-file log format."""

    kind: ClassVar[str] = "docker"
    docker: DockerConfig = Field(description="The docker stage takes no options.")


class JsonStage(_Stage):
    """`- json: {...}` — extract values from a JSON line."""

    kind: ClassVar[str] = "json"
    json_: JsonConfig = Field(alias="json", description="Options of the json stage.")


class RegexStage(_Stage):
    """`- regex: {...}` — extract named capture groups."""

    kind: ClassVar[str] = "regex"
    regex: RegexConfig = Field(description="Options of the regex stage.")


class TimestampStage(_Stage):
    """`- timestamp: {...}` — set the entry's time."""

    kind: ClassVar[str] = "timestamp"
    timestamp: TimestampConfig = Field(description="Options of the timestamp stage.")


class LabelsStage(_Stage):
    """`- labels: {name: source}` — promote extracted values to (indexed) labels."""

    kind: ClassVar[str] = "labels"
    labels: dict[LabelName, str | None] = Field(
        min_length=1, description="Label name -> extracted value (empty: same name)."
    )

    @field_validator("labels")
    @classmethod
    def _bounded(cls, labels: dict[str, str | None]) -> dict[str, str | None]:
        _refuse_unbounded(labels, "labels")
        return labels


class StructuredMetadataStage(_Stage):
    """`- structured_metadata: {name: source}` — attach non-indexed metadata (experimental in 2.9)."""

    kind: ClassVar[str] = "structured_metadata"
    structured_metadata: dict[LabelName, str | None] = Field(
        min_length=1, description="Metadata name -> extracted value (empty: same name)."
    )


class OutputStage(_Stage):
    """`- output: {source}` — replace the log line."""

    kind: ClassVar[str] = "output"
    output: OutputConfig = Field(description="Options of the output stage.")


class LabelDropStage(_Stage):
    """`- labeldrop: [names]` — remove labels from the entry."""

    kind: ClassVar[str] = "labeldrop"
    labeldrop: list[LabelName] = Field(min_length=1, description="Labels removed.")


class LabelAllowStage(_Stage):
    """`- labelallow: [names]` — keep only these labels."""

    kind: ClassVar[str] = "labelallow"
    labelallow: list[LabelName] = Field(min_length=1, description="Labels kept.")


class StaticLabelsStage(_Stage):
    """`- static_labels: {name: value}` — add fixed labels."""

    kind: ClassVar[str] = "static_labels"
    static_labels: dict[LabelName, str] = Field(min_length=1, description="Label name -> fixed value.")


class DropStage(_Stage):
    """`- drop: {...}` — drop matching entries."""

    kind: ClassVar[str] = "drop"
    drop: DropConfig = Field(description="Options of the drop stage.")


class MatchConfig(StrictModel):
    """Options of the `match` stage: run stages (or drop) for entries matching a LogQL selector."""

    selector: NonEmpty = Field(description="LogQL stream selector, optionally with line filters.")
    stages: list[PipelineStage] | None = Field(None, description="Stages run on matching entries.")
    action: Literal["keep", "drop"] | None = Field(None, description="Run stages (keep) or drop entries.")
    drop_counter_reason: NonEmpty | None = Field(None, description="Reason label on the dropped counter.")
    pipeline_name: NonEmpty | None = Field(None, description="Name added to the pipeline duration metric.")

    @model_validator(mode="after")
    def _stages_match_action(self) -> MatchConfig:
        if (self.action or "keep") == "keep" and not self.stages:
            raise ValueError("match with action keep needs stages")
        if self.action == "drop" and self.stages:
            raise ValueError("match with action drop cannot have stages")
        return self


class MatchStage(_Stage):
    """`- match: {...}` — conditional sub-pipeline."""

    kind: ClassVar[str] = "match"
    match: MatchConfig = Field(description="Options of the match stage.")


class MetricsStage(_Stage):
    """`- metrics: {name: metric}` — Prometheus metrics exposed on Promtail's /metrics."""

    kind: ClassVar[str] = "metrics"
    metrics: dict[MetricName, Metric] = Field(min_length=1, description="Metric name -> definition.")


class TenantStage(_Stage):
    """`- tenant: {...}` — set the entry's tenant."""

    kind: ClassVar[str] = "tenant"
    tenant: TenantConfig = Field(description="Options of the tenant stage.")


class TemplateStage(_Stage):
    """`- template: {...}` — rewrite an extracted value."""

    kind: ClassVar[str] = "template"
    template: TemplateConfig = Field(description="Options of the template stage.")


_STAGES: tuple[type[_Stage], ...] = (
    CriStage,
    DockerStage,
    JsonStage,
    RegexStage,
    TimestampStage,
    LabelsStage,
    StructuredMetadataStage,
    OutputStage,
    LabelDropStage,
    LabelAllowStage,
    StaticLabelsStage,
    DropStage,
    MatchStage,
    MetricsStage,
    TenantStage,
    TemplateStage,
)


def _stage_kind(value: Any) -> str | None:
    """The stage name of a raw one-key mapping or of a stage model; None if it is neither."""
    if isinstance(value, BaseModel):
        return getattr(value, "kind", None)
    if isinstance(value, Mapping) and len(value) == 1:
        return str(next(iter(value)))
    return None


PipelineStage = Annotated[
    Annotated[CriStage, Tag("cri")]
    | Annotated[DockerStage, Tag("docker")]
    | Annotated[JsonStage, Tag("json")]
    | Annotated[RegexStage, Tag("regex")]
    | Annotated[TimestampStage, Tag("timestamp")]
    | Annotated[LabelsStage, Tag("labels")]
    | Annotated[StructuredMetadataStage, Tag("structured_metadata")]
    | Annotated[OutputStage, Tag("output")]
    | Annotated[LabelDropStage, Tag("labeldrop")]
    | Annotated[LabelAllowStage, Tag("labelallow")]
    | Annotated[StaticLabelsStage, Tag("static_labels")]
    | Annotated[DropStage, Tag("drop")]
    | Annotated[MatchStage, Tag("match")]
    | Annotated[MetricsStage, Tag("metrics")]
    | Annotated[TenantStage, Tag("tenant")]
    | Annotated[TemplateStage, Tag("template")],
    Discriminator(
        _stage_kind,
        custom_error_type="pipeline_stage",
        custom_error_message="unknown or malformed pipeline stage: a stage is a mapping with exactly one "
        f"key, one of {', '.join(stage.kind for stage in _STAGES)} (e.g. '- cri: {{}}')",
    ),
]
MatchConfig.model_rebuild()


class ScrapeConfig(RefusingModel):
    """One scrape job: where Promtail finds log files and how it processes their lines."""

    refused: ClassVar[Mapping[str, str]] = {
        "job_name": "the job name is this entry's key under scrape_configs",
    }

    kubernetes_sd_configs: list[KubernetesSDConfig] | None = Field(
        None, description="Discover targets from the Kubernetes API."
    )
    static_configs: list[StaticConfig] | None = Field(None, description="Fixed targets.")
    journal: JournalConfig | None = Field(None, description="Read the systemd journal.")
    relabel_configs: list[RelabelConfig] | None = Field(
        None, description="Rules that filter targets and set their labels and __path__."
    )
    pipeline_stages: list[PipelineStage] | None = Field(None, description="Stages run on every line.")

    @model_validator(mode="after")
    def _has_targets(self) -> ScrapeConfig:
        if not (self.kubernetes_sd_configs or self.static_configs or self.journal):
            raise ValueError("a scrape job needs kubernetes_sd_configs, static_configs or journal")
        return self


class PromtailConfig(RefusingModel):
    """The content of promtail.yaml, minus what the stack derives (push URL, positions file)."""

    refused: ClassVar[Mapping[str, str]] = {
        "clients": "use client: (one client; its url is derived by the stack, so lines are pushed once)",
        "positions": "the positions file is derived by the stack (on a hostPath, so restarts resume)",
    }

    server: ServerConfig = Field(description="Promtail's HTTP and gRPC listeners.")
    client: ClientConfig = Field(description="Tunables of the one Loki client.")
    scrape_configs: dict[JobName, ScrapeConfig] = Field(
        min_length=1, description="Scrape jobs by job name; mapping order is the rendered order."
    )

    @model_validator(mode="after")
    def _no_placeholders(self) -> PromtailConfig:
        refuse_placeholders(self.model_dump(by_alias=True, exclude_none=True))
        return self


def render_promtail_config(config: PromtailConfig, *, push_url: str, positions_file: str) -> dict[str, Any]:
    """Return promtail.yaml as a plain dict with one client and the jobs as a list."""
    if not push_url.startswith(("http://", "https://")) or "${" in push_url:
        raise ValueError(f"push_url must be a literal http(s) URL, got {push_url!r}")
    client = {"url": push_url, **config.client.model_dump(by_alias=True, exclude_none=True)}
    jobs = [
        {"job_name": name, **job.model_dump(by_alias=True, exclude_none=True)}
        for name, job in config.scrape_configs.items()
    ]
    return {
        "server": config.server.model_dump(by_alias=True, exclude_none=True),
        "clients": [client],
        "positions": {"filename": positions_file},
        "scrape_configs": jobs,
    }
