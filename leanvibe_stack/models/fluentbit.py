"""fluent-bit.yaml as a typed model, mirroring Fluent Bit 5.1's YAML configuration.

The file has three sections the stack uses: `service`, `parsers` and `pipeline` (inputs, filters,
outputs).  Only the plugins LeanVibe uses are modelled, each a strict model told apart by its `name`
and holding the property names of that plugin's config map (fluent/fluent-bit v5.1.1, plugins/*/).
A profile keys every plugin by an alias, rendered as Fluent Bit's `alias` (it names the plugin in
Fluent Bit's own metrics), so a profile can override one plugin; the list order is the profile's.
The Loki outputs' address and tenant are derived by the stack.

One module on purpose (~500 lines): one model per plugin, in the order a reader meets them in the
file (service, parsers, inputs, filters, outputs), each to be checked against its config map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, StringConstraints, field_validator, model_validator

from leanvibe_stack.models.base import Port
from leanvibe_stack.models.loki import RefusingModel, refuse_placeholders

# flb_utils_size_to_bytes: a number with an optional K/KB/M/MB/G/GB suffix.
Size = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?([kKmMgG][bB]?)?$")]
# FLB_CONFIG_MAP_TIME: seconds, or a number with an s/m/h/d suffix.
TimeValue = Annotated[str, StringConstraints(pattern=r"^\d+[smhd]?$")]
Alias = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
LokiLabel = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
LogLevel = Literal["off", "error", "warn", "info", "debug", "trace"]
StorageType = Literal["memory", "filesystem"]
# Multiline parsers compiled into Fluent Bit (src/multiline/flb_ml_parser_*.c); no other is declared here.
BUILTIN_MULTILINE_PARSERS = frozenset({"docker", "cri", "go", "python", "java", "ruby"})
# Keys that mean one value per request, user or process: as Loki labels they explode the stream count.
UNBOUNDED_LABELS = frozenset({"request_id", "trace_id", "span_id", "tenant_id", "user_id", "session_id", "pid"})
# List properties of type CLIST, which Fluent Bit reads as one comma-separated string (a YAML list would
# be taken as the property written several times, which these properties do not allow).
COMMA_LISTS = frozenset({"multiline.parser", "labels", "remove_keys", "structured_metadata"})
_NAMED_GROUP = re.compile(r"\(\?<([a-zA-Z_][a-zA-Z0-9_]*)>")


class ServiceConfig(RefusingModel):
    """The `service` section: flush cadence, the HTTP server (health, metrics) and buffering."""

    refused: ClassVar[Mapping[str, str]] = {
        "parsers_file": "declare parsers in the `parsers` section of this file",
        "plugins_file": "the stack runs only plugins built into the image",
        "daemon": "a container's main process must stay in the foreground",
    }

    flush: int = Field(ge=1, description="Seconds between flushes of buffered records to the outputs.")
    grace: int | None = Field(None, ge=1, description="Seconds to flush buffers on shutdown before exiting.")
    log_level: LogLevel | None = Field(None, description="Minimum level of Fluent Bit's own log lines.")
    http_server: Literal[True] = Field(description="Serve health and metrics (probes and Prometheus need it).")
    http_listen: Literal["0.0.0.0"] = Field(description="Listen address of the HTTP server: all interfaces.")
    http_port: Port = Field(description="Port of the HTTP server (/api/v1/health, /api/v2/metrics/prometheus).")
    health_check: Literal[True] = Field(description="Serve /api/v1/health, which the liveness probe reads.")
    hc_errors_count: int | None = Field(None, ge=1, description="Output errors per period that make it unhealthy.")
    hc_retry_failure_count: int | None = Field(
        None, ge=1, description="Failed retries per period that make it unhealthy."
    )
    hc_period: int | None = Field(None, ge=1, description="Seconds over which errors are counted.")
    storage_path: str | None = Field(
        None, alias="storage.path", description="Directory of filesystem buffers (survive restarts and outages)."
    )
    storage_sync: Literal["normal", "full"] | None = Field(None, alias="storage.sync", description="fsync mode.")
    storage_checksum: bool | None = Field(None, alias="storage.checksum", description="CRC32 of buffered chunks.")
    storage_backlog_mem_limit: Size | None = Field(
        None, alias="storage.backlog.mem_limit", description="Memory for replaying buffered chunks at start."
    )
    storage_metrics: bool | None = Field(None, alias="storage.metrics", description="Export buffer metrics.")
    storage_max_chunks_up: int | None = Field(
        None, ge=1, alias="storage.max_chunks_up", description="Buffered chunks (about 2 MB each) kept in memory."
    )


class Parser(RefusingModel):
    """One entry of the `parsers` section: how a parser filter turns a line into fields."""

    refused: ClassVar[Mapping[str, str]] = {"types": "Loki stores strings; leave values as parsed"}

    name: NonEmpty = Field(description="Name parser filters refer to.")
    format: Literal["json", "regex", "logfmt"] = Field(description="Parser backend.")
    regex: NonEmpty | None = Field(None, description="Onigmo regex whose named groups (?<name>...) become fields.")
    time_key: NonEmpty | None = Field(None, description="Field holding the record's time.")
    time_format: NonEmpty | None = Field(None, description="strptime format of time_key (%L: fractional seconds).")
    time_keep: bool | None = Field(None, description="Keep time_key in the record after using it.")

    @model_validator(mode="after")
    def _regex_matches_format(self) -> Parser:
        if (self.format == "regex") != (self.regex is not None):
            raise ValueError("regex is required with format: regex and not allowed with other formats")
        if self.regex is not None:
            try:
                re.compile(_NAMED_GROUP.sub(r"(?P<\1>", self.regex))
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        if (self.time_key is None) != (self.time_format is None):
            raise ValueError("time_key and time_format go together")
        return self

    def fields(self) -> set[str]:
        """Field names a regex parser creates (a JSON parser's depend on the line)."""
        return set(_NAMED_GROUP.findall(self.regex or ""))


class _Plugin(RefusingModel):
    """What every input, filter and output takes."""

    log_level: LogLevel | None = Field(None, description="Log level of this plugin's own messages.")


class _Routed(_Plugin):
    """A filter or output: applies to the records whose tag `match` (glob) or `match_regex` selects."""

    match: NonEmpty | None = Field(None, description="Tag pattern with * wildcards.")
    match_regex: NonEmpty | None = Field(None, description="Tag regular expression (instead of match).")

    @model_validator(mode="after")
    def _one_match(self) -> _Routed:
        if (self.match is None) == (self.match_regex is None):
            raise ValueError("set exactly one of match and match_regex (without one the plugin never runs)")
        return self

    def matches(self, tag: str) -> bool:
        """Whether this plugin sees records with `tag`."""
        if self.match_regex is not None:
            return re.search(self.match_regex, tag) is not None
        pattern = ".*".join(re.escape(part) for part in (self.match or "").split("*"))
        return re.fullmatch(pattern, tag) is not None


# --- inputs -------------------------------------------------------------------------------------------


class _Input(_Plugin):
    tag: NonEmpty = Field(description="Tag of the records (tail: a trailing * expands to the file's path).")
    mem_buf_limit: Size | None = Field(None, description="Memory the input may buffer before it pauses.")
    storage_type: StorageType | None = Field(
        None, alias="storage.type", description="Buffer chunks in memory or on disk (service storage.path)."
    )

    def sample_tag(self) -> str:
        """A tag a record of this input carries (tail puts the file's path, dotted, in place of `*`)."""
        return self.tag


class TailInput(_Input):
    """The `tail` input: follow files, e.g. the container logs of this node under /var/log/containers."""

    refused: ClassVar[Mapping[str, str]] = {
        "multiline": "the old multiline mode is superseded; use multiline.parser",
        "docker_mode": "superseded by multiline.parser: docker",
        "parser": "parse in a parser filter after multiline.parser joined the lines",
    }

    name: Literal["tail"] = Field(description="Plugin name.")
    path: NonEmpty = Field(description="Comma-separated file globs to follow.")
    exclude_path: NonEmpty | None = Field(None, description="Comma-separated globs of files not to follow.")
    path_key: NonEmpty | None = Field(None, description="Record key that receives the file's path.")
    multiline_parser: list[NonEmpty] | None = Field(
        None, alias="multiline.parser", description="Multiline parsers joining lines (cri: CRI format, partials)."
    )
    db: NonEmpty | None = Field(None, description="SQLite file of read offsets (on the node: survives restarts).")
    db_locking: bool | None = Field(None, alias="db.locking", description="Lock the database to this process.")
    read_from_head: bool | None = Field(None, description="Read files met at start-up from their beginning.")
    refresh_interval: int | None = Field(None, ge=1, description="Seconds between scans for new files.")
    rotate_wait: TimeValue | None = Field(None, description="How long a rotated file is still followed.")
    skip_long_lines: bool | None = Field(None, description="Skip lines longer than buffer_max_size (not stop).")
    buffer_chunk_size: Size | None = Field(None, description="Initial read buffer per file.")
    buffer_max_size: Size | None = Field(None, description="Longest line read.")
    ignore_older: TimeValue | None = Field(None, description="Ignore files not modified for this long.")


    def sample_tag(self) -> str:
        first = self.path.split(",")[0].strip().lstrip("/").replace("/", ".").replace("*", "x")
        return self.tag.replace("*", first, 1)


class SystemdInput(_Input):
    """The `systemd` input: read the node's journal."""

    name: Literal["systemd"] = Field(description="Plugin name.")
    path: NonEmpty = Field(description="Journal directory (on the node, mounted read-only).")
    db: NonEmpty | None = Field(None, description="SQLite file of the journal cursor (survives restarts).")
    read_from_tail: bool | None = Field(None, description="Start at the journal's end when no cursor is stored.")
    strip_underscores: bool | None = Field(None, description="Drop the leading _ of journal field names.")
    lowercase: bool | None = Field(None, description="Lower-case journal field names.")
    max_entries: int | None = Field(None, ge=1, description="Entries read per round.")
    systemd_filter: list[NonEmpty] | None = Field(None, description="FIELD=value matches of the entries to read.")


Input = Annotated[TailInput | SystemdInput, Discriminator("name")]


# --- filters ------------------------------------------------------------------------------------------


class KubernetesFilter(_Routed):
    """The `kubernetes` filter: adds the pod's namespace, name, container, labels and node to each record."""

    refused: ClassVar[Mapping[str, str]] = {
        "tls.verify": "never turn off verification of the API server's certificate",
        "merge_log": "parse the one application's JSON in a parser filter: merging every container's JSON "
        "turns arbitrary fields of third-party pods into record keys",
    }

    name: Literal["kubernetes"] = Field(description="Plugin name.")
    kube_tag_prefix: NonEmpty | None = Field(None, description="Tag prefix before the log file's name.")
    labels: bool | None = Field(None, description="Add the pod's labels.")
    annotations: bool | None = Field(None, description="Add the pod's annotations.")
    buffer_size: Size | None = Field(None, description="Largest API response read (a pod's JSON).")
    kube_meta_cache_ttl: TimeValue | None = Field(None, description="How long pod metadata stays cached.")
    k8s_logging_exclude: bool | None = Field(
        None, alias="k8s-logging.exclude", description="Honour the fluentbit.io/exclude pod annotation."
    )
    use_kubelet: bool | None = Field(None, description="Ask the node's kubelet instead of the API server.")


class MultilineFilter(_Routed):
    """The `multiline` filter: joins multi-line messages (e.g. Python tracebacks) in a record key."""

    name: Literal["multiline"] = Field(description="Plugin name.")
    multiline_parser: list[NonEmpty] = Field(
        alias="multiline.parser", min_length=1, description="Multiline parsers, e.g. python, java, go."
    )
    multiline_key_content: NonEmpty = Field(alias="multiline.key_content", description="Key holding the text.")
    flush_ms: int | None = Field(None, ge=1, description="Milliseconds a pending multi-line message waits.")
    emitter_mem_buf_limit: Size | None = Field(None, description="Memory of the filter's re-emitting buffer.")



class ParserFilter(_Routed):
    """The `parser` filter: parses one key of the record with a declared parser."""

    name: Literal["parser"] = Field(description="Plugin name.")
    key_name: NonEmpty = Field(description="Record key holding the text to parse.")
    parser: NonEmpty = Field(description="Name of a parser of the `parsers` section.")
    reserve_data: bool | None = Field(None, description="Keep the record's other keys next to the parsed ones.")
    preserve_key: bool | None = Field(None, description="Keep key_name after parsing it.")


_RULE = re.compile(r"^(\$\S+) (\S+) (\S+) (true|false)$")
_ALTERNATIVES = re.compile(r"\^\(([\w.-]+(?:\|[\w.-]+)*)\)\$")


class RewriteTagFilter(_Routed):
    """The `rewrite_tag` filter: re-emits records whose key matches a regex under a new tag."""

    name: Literal["rewrite_tag"] = Field(description="Plugin name.")
    rule: list[NonEmpty] = Field(
        min_length=1, description="'$KEY REGEX NEW_TAG KEEP' rules, tried in order until one matches."
    )
    emitter_name: NonEmpty | None = Field(None, description="Name of the emitter (it names its metrics).")
    emitter_mem_buf_limit: Size | None = Field(None, description="Memory of the re-emitting buffer.")
    emitter_storage_type: StorageType | None = Field(
        None, alias="emitter_storage.type", description="Buffer re-emitted records in memory or on disk."
    )

    @field_validator("rule")
    @classmethod
    def _rules_have_four_parts(cls, rules: list[str]) -> list[str]:
        for rule in rules:
            if not _RULE.fullmatch(rule):
                raise ValueError(f"rule {rule!r} is not '$KEY REGEX NEW_TAG KEEP' (four parts, no spaces in the "
                                 "regex, KEEP true or false)")
        return rules

    def known_tags(self) -> list[str]:
        """The tags the rules emit, where they can be told offline: a literal tag, or `$1` of a regex that
        is a list of alternatives, `^(a|b)$`.  Tags built from record values are left out."""
        tags = []
        for rule in self.rule:
            match = _RULE.fullmatch(rule)
            assert match is not None  # checked above
            _, regex, tag, _ = match.groups()
            alternatives = _ALTERNATIVES.fullmatch(regex)
            if "$" not in tag:
                tags.append(tag)
            elif alternatives and re.fullmatch(r"[^$]*\$1[^$]*", tag):
                tags += [tag.replace("$1", word) for word in alternatives.group(1).split("|")]
        return tags


class GrepFilter(_Routed):
    """The `grep` filter: keeps (regex) or drops (exclude) records whose key matches a regex."""

    name: Literal["grep"] = Field(description="Plugin name.")
    regex: list[NonEmpty] | None = Field(None, description="'KEY REGEX': keep only matching records.")
    exclude: list[NonEmpty] | None = Field(None, description="'KEY REGEX': drop matching records.")
    logical_op: Literal["and", "or", "legacy"] | None = Field(None, description="How several patterns combine.")

    @model_validator(mode="after")
    def _has_pattern(self) -> GrepFilter:
        if not (self.regex or self.exclude):
            raise ValueError("set regex or exclude")
        if self.regex and self.exclude and self.logical_op not in (None, "legacy"):
            raise ValueError("regex and exclude cannot be combined with logical_op")
        return self


class ModifyFilter(_Routed):
    """The `modify` filter: sets, adds, renames or removes keys, optionally under conditions."""

    name: Literal["modify"] = Field(description="Plugin name.")
    condition: list[NonEmpty] | None = Field(None, description="Conditions that must all hold, e.g. "
                                             "'key_value_equals component neo4j.cypher'.")
    set: list[NonEmpty] | None = Field(None, description="'KEY VALUE': set the key (replacing it).")
    add: list[NonEmpty] | None = Field(None, description="'KEY VALUE': add the key unless present.")
    remove: list[NonEmpty] | None = Field(None, description="Keys to remove.")
    rename: list[NonEmpty] | None = Field(None, description="'KEY NEW_KEY': rename unless NEW_KEY exists.")


class RecordModifierFilter(_Routed):
    """The `record_modifier` filter: keeps only the listed keys (or removes some)."""

    name: Literal["record_modifier"] = Field(description="Plugin name.")
    allowlist_key: list[NonEmpty] | None = Field(None, description="Keys to keep; every other key is removed.")
    remove_key: list[NonEmpty] | None = Field(None, description="Keys to remove.")

    @model_validator(mode="after")
    def _has_keys(self) -> RecordModifierFilter:
        if not (self.allowlist_key or self.remove_key):
            raise ValueError("set allowlist_key or remove_key")
        return self


Filter = Annotated[
    KubernetesFilter | MultilineFilter | ParserFilter | RewriteTagFilter | GrepFilter | ModifyFilter
    | RecordModifierFilter,
    Discriminator("name"),
]


# --- outputs ------------------------------------------------------------------------------------------

_DERIVED = "derived by the stack from the Loki Service"
_LABEL = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*)=(.+)$")


class LokiOutput(_Routed):
    """The `loki` output: pushes records as log lines with stream labels; address and tenant are derived."""

    refused: ClassVar[Mapping[str, str]] = {
        "host": _DERIVED,
        "port": _DERIVED,
        "uri": _DERIVED,
        "tenant_id": "derived from global.environment (fluent_bit.tenant_id sets it)",
        "tenant_id_key": "one stack, one tenant: fluent_bit.tenant_id",
        "label_keys": "write `name=$key` in labels, so every label's name is explicit",
        "label_map_path": "write `name=$key` in labels, so every label's name is explicit",
        "auto_kubernetes_labels": "every pod label (pod-template-hash, controller-revision-hash...) would become "
        "a Loki label: one stream per rollout; name the labels you query in labels",
        "http_user": "the in-cluster Loki needs no credentials; never write one into the config",
        "http_passwd": "the in-cluster Loki needs no credentials; never write one into the config",
        "bearer_token": "the in-cluster Loki needs no credentials; never write one into the config",
    }

    name: Literal["loki"] = Field(description="Plugin name.")
    labels: list[NonEmpty] = Field(
        min_length=1, description="Stream labels: 'name=value' (static) or 'name=$record_accessor'."
    )
    remove_keys: list[NonEmpty] | None = Field(None, description="Record keys not written into the log line.")
    drop_single_key: Literal["raw", True, False] | None = Field(
        None, description="raw: a record left with one key becomes that value, verbatim, as the line."
    )
    line_format: Literal["json", "key_value"] | None = Field(None, description="How a record becomes a line.")
    structured_metadata: list[NonEmpty] | None = Field(
        None, description="'name=$record_accessor' entries stored as Loki structured metadata (not labels)."
    )
    compress: Literal["gzip"] | None = Field(None, description="Compress pushes.")
    retry_limit: int | Literal["no_limits"] | None = Field(
        None, description="Retries of a failed push before its records are dropped."
    )
    storage_total_limit_size: Size | None = Field(
        None, alias="storage.total_limit_size", description="Disk this output's queue may use before dropping."
    )
    workers: int | None = Field(None, ge=0, description="Threads pushing in parallel.")

    @field_validator("labels", "structured_metadata")
    @classmethod
    def _named(cls, entries: list[str] | None) -> list[str] | None:
        for entry in entries or []:
            match = _LABEL.fullmatch(entry)
            if not match:
                raise ValueError(f"{entry!r} is not 'name=value' or 'name=$record_accessor'")
        return entries

    @field_validator("labels")
    @classmethod
    def _bounded(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            name = entry.split("=", 1)[0]
            if name in UNBOUNDED_LABELS:
                raise ValueError(f"label {name!r} has one value per request, user or process: one stream each "
                                 "explodes Loki's index; keep it in the line (or structured_metadata)")
        return entries


    def label_names(self) -> set[str]:
        return {entry.split("=", 1)[0] for entry in self.labels}


Output = Annotated[LokiOutput, Discriminator("name")]


class Pipeline(RefusingModel):
    """The `pipeline` section: inputs, then filters in order, then outputs, each keyed by its alias."""

    refused: ClassVar[Mapping[str, str]] = {"processors": "use filters (one pipeline, one place to read it)"}

    inputs: dict[Alias, Input] = Field(min_length=1, description="Inputs, keyed by alias.")
    filters: dict[Alias, Filter] = Field(default_factory=dict, description="Filters, applied in this order.")
    outputs: dict[Alias, Output] = Field(min_length=1, description="Outputs, keyed by alias.")


class FluentBitConfig(RefusingModel):
    """fluent-bit.yaml (YAML format), as LeanVibe uses it."""

    refused: ClassVar[Mapping[str, str]] = {
        "includes": "one file: everything the agent does is in this config",
        "multiline_parsers": "the built-in multiline parsers (cri, python, go, java) cover the stack's logs",
        "env": "take values from the profile; secrets never go into the config",
    }

    service: ServiceConfig = Field(description="Flush, HTTP server and buffering.")
    parsers: dict[NonEmpty, Parser] = Field(default_factory=dict, description="Parsers, keyed by name.")
    pipeline: Pipeline = Field(description="Inputs, filters and outputs.")

    @model_validator(mode="before")
    @classmethod
    def _parser_names(cls, data: Any) -> Any:
        # The key names the parser; writing the name again is allowed only if it agrees.
        if isinstance(data, Mapping) and isinstance(data.get("parsers"), Mapping):
            parsers = {}
            for key, parser in data["parsers"].items():
                if isinstance(parser, Mapping) and parser.get("name", key) != key:
                    raise ValueError(f"parsers.{key}: name {parser['name']!r} differs from its key")
                parsers[key] = {**parser, "name": key} if isinstance(parser, Mapping) else parser
            data = {**data, "parsers": parsers}
        return data

    @model_validator(mode="after")
    def _references(self) -> FluentBitConfig:
        for alias, plugin in [*self.pipeline.inputs.items(), *self.pipeline.filters.items()]:
            where = f"pipeline.{'inputs' if alias in self.pipeline.inputs else 'filters'}.{alias}"
            for parser in getattr(plugin, "multiline_parser", None) or []:
                if parser not in BUILTIN_MULTILINE_PARSERS:
                    raise ValueError(f"{where}: multiline.parser {parser!r} is not built in "
                                     f"({', '.join(sorted(BUILTIN_MULTILINE_PARSERS))})")
            if isinstance(plugin, ParserFilter) and plugin.parser not in self.parsers:
                raise ValueError(f"{where}: parser {plugin.parser!r} is not declared in parsers "
                                 f"({', '.join(sorted(self.parsers)) or 'none'})")
            if getattr(plugin, "storage_type", None) == "filesystem" and self.service.storage_path is None:
                raise ValueError(f"{where}: storage.type filesystem needs service.storage.path")
        return self

    @model_validator(mode="after")
    def _every_input_reaches_an_output(self) -> FluentBitConfig:
        # A record no output matches is dropped silently: Fluent Bit does not warn.
        tags = [plugin.sample_tag() for plugin in self.pipeline.inputs.values()]
        tags += [tag for plugin in self.pipeline.filters.values() if isinstance(plugin, RewriteTagFilter)
                 for tag in plugin.known_tags()]
        for tag in tags:
            if not any(output.matches(tag) for output in self.pipeline.outputs.values()):
                raise ValueError(f"records tagged {tag!r} match no output: they would be dropped")
        return self

    @model_validator(mode="after")
    def _no_placeholders(self) -> FluentBitConfig:
        # Fluent Bit would expand ${VAR} from its environment, which holds nothing the config may use.
        refuse_placeholders(self.model_dump(by_alias=True, exclude_none=True))
        return self


def render_fluent_bit_config(
    config: FluentBitConfig, *, loki_host: str, loki_port: int, tenant_id: str | None
) -> dict[str, Any]:
    """Return fluent-bit.yaml as a plain dict: aliases written into each plugin, Loki's address derived."""
    dumped = config.model_dump(by_alias=True, exclude_none=True, mode="json")
    pipeline: dict[str, list[dict[str, Any]]] = {}
    for section in ("inputs", "filters", "outputs"):
        plugins = []
        for alias, plugin in dumped["pipeline"][section].items():
            entry = {"name": plugin.pop("name"), "alias": alias, **plugin}
            for key in COMMA_LISTS & entry.keys():
                if isinstance(entry[key], list):
                    entry[key] = ", ".join(entry[key])
            if section == "outputs" and entry["name"] == "loki":
                entry.update(host=loki_host, port=loki_port, uri="/loki/api/v1/push")
                if tenant_id:
                    entry["tenant_id"] = tenant_id
            plugins.append(entry)
        if plugins:
            pipeline[section] = plugins
    return {
        "service": dumped["service"],
        "parsers": list(dumped["parsers"].values()),
        "pipeline": pipeline,
    }
