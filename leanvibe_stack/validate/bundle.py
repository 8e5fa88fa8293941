"""The set of objects being validated, indexed, with the config files its pods actually load.

Checks work from rendered objects alone (never from the profile), so `validate out/production`
and `validate --profile production` see exactly the same thing.  A config file is found the way
the kubelet and the program would find it: a `--config.file` flag, resolved through the
container's volumeMounts to a ConfigMap key.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.cluster import Cluster
from leanvibe_stack.validate.findings import ObjectRef

# Every kind of the Kubernetes API whose objects run pods from a template (apps/v1, batch/v1, core/v1), and Pod.
# core/v1 PodTemplate is left out: other controllers copy it, nothing runs it as it is.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
                  "Pod")
# Which program a container runs, told by the last part of its image repository.
PROGRAMS = ("prometheus", "alertmanager", "loki", "fluent-bit", "grafana", "blackbox-exporter",
            "opentelemetry-collector-contrib", "jaeger", "thanos")
# The programs whose config has the OpenTelemetry Collector's shape (receivers, processors, exporters, service).
COLLECTOR_PROGRAMS = ("opentelemetry-collector-contrib", "jaeger")
GRAFANA_DATASOURCES = "/etc/grafana/provisioning/datasources/"


@dataclass(frozen=True)
class Pod:
    """A pod template (or Pod) and the workload that owns it."""

    owner: Manifest
    spec: dict[str, Any]
    labels: dict[str, str]
    path: str  # JSON path of the pod spec inside the owner
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(self.owner)

    @property
    def namespace(self) -> str:
        return self.owner.namespace

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(JSON path, container) for every init and regular container."""
        for key in ("initContainers", "containers"):
            for i, container in enumerate(self.spec.get(key) or []):
                yield f"{self.path}.{key}[{i}]", container


@dataclass(frozen=True)
class MountedFile:
    """A file a container sees, backed by a key of a ConfigMap or Secret in the bundle."""

    path: str
    source: Manifest | None  # None when the volume's object is not in the bundle
    source_kind: str  # "ConfigMap" | "Secret" | other volume types
    source_name: str
    key: str

    def text(self) -> str | None:
        if self.source is None:
            return None
        value = (self.source.obj.get("data") or {}).get(self.key)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ConfigFile:
    """A parsed config file a program loads: where it is, which object holds it, its content."""

    program: str
    pod: Pod
    container_path: str
    container: dict[str, Any]
    file: MountedFile
    data: Any

    @property
    def holder(self) -> ObjectRef | None:
        return ObjectRef.of(self.file.source) if self.file.source else None


@dataclass
class Bundle:
    """The objects under validation, with lookups every check needs."""

    manifests: list[Manifest]
    cluster: Cluster = field(default_factory=Cluster)  # what exists without being in `manifests`
    _index: dict[tuple[str, str, str], Manifest] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for manifest in self.manifests:
            self._index[(manifest.kind, manifest.namespace, manifest.name)] = manifest

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        return self._index.get((kind, namespace, name))

    def exists(self, kind: str, namespace: str, name: str) -> bool:
        """Whether the object is in the bundle, or exists in the cluster anyway (bootstrapped or declared)."""
        return self.get(kind, namespace, name) is not None or self.cluster.has(kind, namespace, name)

    def of_kind(self, *kinds: str) -> list[Manifest]:
        return [m for m in self.manifests if m.kind in kinds]

    def selected_pods(self, service: Manifest) -> list[Pod]:
        """The pods a Service's selector picks in its namespace (none for a selector-less Service)."""
        selector = as_dict(as_dict(service.obj.get("spec")).get("selector"))
        return [pod for pod in self.pods if selector and pod.namespace == service.namespace
                and all(pod.labels.get(k) == v for k, v in selector.items())]

    @cached_property
    def pods(self) -> list[Pod]:
        pods = []
        for manifest in self.of_kind(*WORKLOAD_KINDS):
            if manifest.kind == "Pod":
                meta = as_dict(manifest.obj.get("metadata"))
                pods.append(Pod(manifest, as_dict(manifest.obj.get("spec")), as_dict(meta.get("labels")), "spec",
                                as_dict(meta.get("annotations"))))
                continue
            spec, path = manifest.obj.get("spec") or {}, "spec"
            if manifest.kind == "CronJob":
                spec, path = (spec.get("jobTemplate") or {}).get("spec") or {}, "spec.jobTemplate.spec"
            template = as_dict(spec.get("template"))
            meta = as_dict(template.get("metadata"))
            pods.append(Pod(manifest, as_dict(template.get("spec")), as_dict(meta.get("labels")),
                            f"{path}.template.spec", as_dict(meta.get("annotations"))))
        return pods

    def mounted_files(self, pod: Pod, container: dict[str, Any]) -> list[MountedFile]:
        """Every ConfigMap/Secret-backed file the container sees (projected volumes included)."""
        volumes = {v.get("name"): v for v in pod.spec.get("volumes") or []}
        files = []
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name"), {})
            for kind, name, items in _volume_sources(volume):
                source = self.get(kind, pod.namespace, name)
                for key, relative in items if items is not None else _all_keys(source):
                    if mount.get("subPath"):
                        if mount["subPath"] != relative:
                            continue
                        relative = ""
                    path = posixpath.join(mount.get("mountPath", ""), relative) if relative else mount["mountPath"]
                    files.append(MountedFile(path, source, kind, name, key))
        return files

    def files_matching(self, pod: Pod, container: dict[str, Any], pattern: str) -> list[MountedFile]:
        """Mounted files a glob (as Prometheus/Alertmanager expand `rule_files`/`templates`) matches."""
        return [f for f in self.mounted_files(pod, container) if fnmatch.fnmatchcase(f.path, pattern)
                and posixpath.dirname(f.path) == posixpath.dirname(pattern)]

    def config_glob(self, config: ConfigFile, pattern: str) -> list[MountedFile]:
        """Files a glob in a config file matches; relative globs start at the config file's directory."""
        absolute = posixpath.normpath(posixpath.join(posixpath.dirname(config.file.path), pattern))
        return self.files_matching(config.pod, config.container, absolute)

    @cached_property
    def configs(self) -> list[ConfigFile]:
        """The main config file of every container whose program we know and whose flag names one."""
        found = []
        for pod in self.pods:
            for path, container in pod.containers():
                program = program_of(container)
                flag_value = config_flag(container)
                if program is None or flag_value is None:
                    continue
                for mounted in self.mounted_files(pod, container):
                    if mounted.path == flag_value:
                        text = mounted.text()
                        data = _parse(text) if text is not None else None
                        found.append(ConfigFile(program, pod, path, container, mounted, data))
        return found

    def config(self, program: str) -> ConfigFile | None:
        """The first parsed config file of a program (replicas of one workload share it)."""
        return next((c for c in self.configs if c.program == program and isinstance(c.data, dict)), None)

    # The parsed files below are read by several checks: parsed once per bundle, never changed.
    @cached_property
    def rule_files(self) -> list[tuple[MountedFile, Any]]:
        """Rule files Prometheus loads: its `rule_files` globs expanded over what is mounted."""
        config = self.config("prometheus")
        if config is None:
            return []
        found = []
        for pattern in as_list(config.data.get("rule_files")):
            for mounted in self.config_glob(config, str(pattern)):
                text = mounted.text()
                found.append((mounted, _parse(text) if text is not None else None))
        return found

    @cached_property
    def loki_rule_files(self) -> list[tuple[MountedFile, Any]]:
        """Rule files Loki's ruler loads: with local rule storage, every file directly in a tenant folder
        `<directory>/<tenant>/` (Loki 3.7 `pkg/ruler/rulestore/local`); when `auth_enabled` is false the
        one tenant is `fake`, and a file in another tenant's folder is never evaluated against its logs."""
        config = self.config("loki")
        directory = loki_rules_directory(config.data) if config is not None else None
        if config is None or directory is None:
            return []
        single_tenant = config.data.get("auth_enabled") is False
        found = []
        for mounted in self.mounted_files(config.pod, config.container):
            relative = posixpath.relpath(mounted.path, directory)
            parts = relative.split("/")
            if len(parts) == 2 and not relative.startswith("..") and (parts[0] == "fake" or not single_tenant):
                text = mounted.text()
                found.append((mounted, _parse(text) if text is not None else None))
        return found

    @cached_property
    def alert_rules(self) -> list[AlertRule]:
        """Every alerting rule of every loaded rule file (Prometheus' and Loki's ruler's), with where it is."""
        rules = []
        for mounted, data in [*self.rule_files, *self.loki_rule_files]:
            groups = data.get("groups") if isinstance(data, dict) else None
            for g, group in enumerate(dicts(groups)):
                for r, rule in enumerate(as_list(group.get("rules"))):
                    if isinstance(rule, dict) and "alert" in rule:
                        rules.append(AlertRule(mounted, f"{mounted.key}:groups[{g}].rules[{r}]", rule))
        return rules

    @cached_property
    def dashboards(self) -> list[tuple[Manifest, str, Any]]:
        """(ConfigMap, key, parsed JSON) of every dashboard ConfigMap (label grafana_dashboard)."""
        found = []
        for manifest in self.of_kind("ConfigMap"):
            labels = (manifest.obj.get("metadata") or {}).get("labels") or {}
            if "grafana_dashboard" not in labels:
                continue
            for key, text in (manifest.obj.get("data") or {}).items():
                if key.endswith(".json"):
                    try:
                        found.append((manifest, key, json.loads(text)))
                    except (TypeError, json.JSONDecodeError):
                        found.append((manifest, key, None))
        return found

    @cached_property
    def grafana_datasources(self) -> list[tuple[MountedFile, Any]]:
        """Datasource provisioning files mounted into Grafana containers."""
        found = []
        for pod in self.pods:
            for _, container in pod.containers():
                if program_of(container) != "grafana":
                    continue
                for mounted in self.mounted_files(pod, container):
                    if mounted.path.startswith(GRAFANA_DATASOURCES) and mounted.path.endswith((".yaml", ".yml")):
                        text = mounted.text()
                        found.append((mounted, _parse(text) if text is not None else None))
        return found


@dataclass(frozen=True)
class AlertRule:
    """An alerting rule as Prometheus (PromQL) or Loki's ruler (LogQL) loads it."""

    file: MountedFile
    path: str
    rule: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.rule.get("alert", ""))

    @property
    def holder(self) -> ObjectRef | None:
        return ObjectRef.of(self.file.source) if self.file.source else None


def program_of(container: dict[str, Any]) -> str | None:
    image = str(container.get("image", ""))
    repository = image.rsplit("@", 1)[0].rsplit(":", 1)[0] if "/" in image or ":" in image else image
    name = repository.rsplit("/", 1)[-1]
    return name if name in PROGRAMS else None


CONFIG_FLAGS = ("--config.file", "-config.file")
# Programs whose flag is spelled otherwise (Grafana's `--config` names an ini file, not checked here).
PROGRAM_CONFIG_FLAGS = {"fluent-bit": ("--config", "-c"), "opentelemetry-collector-contrib": ("--config",),
                        "jaeger": ("--config",), "thanos": ()}


def config_flag(container: dict[str, Any]) -> str | None:
    """The config file a container's command line names (`--config.file=X` or `--config.file X`)."""
    words = [str(word) for word in [*(container.get("command") or []), *(container.get("args") or [])]]
    flags = PROGRAM_CONFIG_FLAGS.get(program_of(container) or "", CONFIG_FLAGS)
    for i, word in enumerate(words):
        name, equals, value = word.partition("=")
        if name in flags:
            return value if equals else (words[i + 1] if i + 1 < len(words) else None)
    return None


def loki_outputs(fluent_bit: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON path, output) of every `loki` output of a parsed fluent-bit.yaml."""
    outputs = as_list(as_dict(as_dict(fluent_bit).get("pipeline")).get("outputs"))
    for i, output in enumerate(outputs):
        if isinstance(output, dict) and str(output.get("name", "")).lower() == "loki":
            yield f"pipeline.outputs[{i}]", output


def loki_rules_directory(loki: dict[str, Any]) -> str | None:
    """Where Loki's ruler reads rule files: `ruler.storage` (type local), or `ruler_storage` (backend local)
    when `storage_config.use_thanos_objstore` is true; Loki 3.7 ignores the other (`pkg/loki/modules.go`)."""
    if as_dict(loki.get("storage_config")).get("use_thanos_objstore") is True:
        storage, kind = as_dict(loki.get("ruler_storage")), "backend"
    else:
        storage, kind = as_dict(as_dict(loki.get("ruler")).get("storage")), "type"
    directory = as_dict(storage.get("local")).get("directory")
    if storage.get(kind) != "local" or not directory:
        return None
    return posixpath.normpath(str(directory))


def as_list(value: Any) -> list[Any]:
    """A config value that should be a list; anything else reads as empty (the schema/tools report it)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """A config value that should be a mapping; anything else reads as empty."""
    return value if isinstance(value, dict) else {}


def strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every string inside a parsed document: mapping keys and list indexes, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, (*path, i))
    elif isinstance(value, str):
        yield path, value


def dicts(value: Any) -> list[dict[str, Any]]:
    """The mapping items of a list that should hold mappings."""
    return [item for item in as_list(value) if isinstance(item, dict)]


Items = list[tuple[str, str]] | None  # (key, relative path); None: every key of the object


def _volume_sources(volume: dict[str, Any]) -> Iterator[tuple[str, str, Items]]:
    """(kind, name, items) of each ConfigMap/Secret a volume projects."""
    # A null source (`configMap: null`) is no source: the API server reads it as unset.
    config_map, secret = as_dict(volume.get("configMap")), as_dict(volume.get("secret"))
    if "configMap" in volume:
        yield "ConfigMap", config_map.get("name", ""), _items(config_map)
    elif "secret" in volume:
        yield "Secret", secret.get("secretName", ""), _items(secret)
    elif "projected" in volume:
        for source in dicts(as_dict(volume.get("projected")).get("sources")):
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if key in source:
                    yield kind, as_dict(source[key]).get("name", ""), _items(as_dict(source[key]))


def _items(spec: dict[str, Any]) -> Items:
    items = spec.get("items")
    return [(str(i.get("key", "")), str(i.get("path", ""))) for i in items] if items else None


def _all_keys(source: Manifest | None) -> list[tuple[str, str]]:
    if source is None:
        return []
    keys = [*(source.obj.get("data") or {}), *(source.obj.get("binaryData") or {}),
            *(source.obj.get("stringData") or {})]
    return [(key, key) for key in keys]


def _parse(text: str) -> Any:
    # The renderer's data for exactly this text when it has just dumped it (`render`/`validate --profile`):
    # what parsing the text gives, without parsing it again.
    data = yamlio.recall(text)
    if data is not yamlio.MISSING:
        return data
    try:
        return yamlio.load(text)
    except yamlio.YAMLError:
        return None


def scrape_address(job: dict[str, Any]) -> str | None:
    """The one address every target of a scrape job is scraped at, when relabeling sets `__address__` to
    a constant (the blackbox_exporter pattern: the static targets become the `target` parameter).

    A `replace` without source labels and with the default regex always applies; the last rule that
    writes `__address__` wins, and one that depends on a target's labels means there is no one address.
    """
    address = None
    for rule in dicts(job.get("relabel_configs")):
        if rule.get("target_label") != "__address__" or rule.get("action", "replace") != "replace":
            continue
        replacement = str(rule.get("replacement", "$1"))
        constant = not rule.get("source_labels") and rule.get("regex", "(.*)") == "(.*)" and "$" not in replacement
        address = replacement if constant else None
    return address


def is_probe_job(job: dict[str, Any]) -> bool:
    """Whether a job's static targets are parameters of one exporter rather than addresses: relabeling
    sends every target to one address (blackbox_exporter's probe jobs)."""
    return bool(dicts(job.get("static_configs"))) and scrape_address(job) is not None
