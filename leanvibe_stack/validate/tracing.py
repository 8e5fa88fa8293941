"""Tracing: the configs of the OpenTelemetry Collector and of Jaeger v2, which share the collector's shape.

Read from the rendered objects: the file each container's `--config` names, its container and the Services
that select its pods.

* `otel.unknown-component` (error): a pipeline, or `service.extensions`, names a component the file does not
  declare: the program refuses to start.
* `otel.unused-component` (warning): a declared receiver, processor or exporter no pipeline uses, or an
  extension `service.extensions` does not start: it is configured but never runs.
* `otel.memory-limiter-first` (error): a pipeline whose first processor is not memory_limiter: data is held
  by other processors before anything can refuse it, and the pod is OOM-killed instead of pushing back.
* `otel.k8sattributes-after-batch` (error): batch runs before k8s_attributes: a batch mixes spans of many
  pods and drops the connection's address, so spans get no or wrong pod metadata.
* `otel.listen-address` (error): a server with no endpoint (recent collectors then bind localhost), one on
  a loopback address, or a bare `:PORT`: other pods cannot reach it, or the host is left to a default.
* `otel.port-mismatch` (error): a port the config listens on that the container does not declare, a
  container port nothing in the config listens on, or a Service port whose number differs from the
  container port it targets: config, container and Service must agree on every port.

Exporter endpoints are followed by `url.unresolved` (crossref.py), like every other address.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leanvibe_stack.validate.bundle import COLLECTOR_PROGRAMS, Bundle, ConfigFile, as_dict, as_list, dicts
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning

SECTIONS = ("receivers", "processors", "exporters")
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
# Servers that bind localhost when their endpoint is left out (collector v0.104 and later).
_SERVERS: tuple[tuple[str, ...], ...] = (
    ("receivers", "otlp", "protocols", "grpc"), ("receivers", "otlp", "protocols", "http"), ("receivers", "zipkin"),
    ("extensions", "health_check"), ("extensions", "healthcheckv2", "http"))
CHECKS = ("otel.unknown-component", "otel.unused-component", "otel.memory-limiter-first",
          "otel.k8sattributes-after-batch", "otel.listen-address", "otel.port-mismatch")


def check(bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    for config in _configs(bundle):
        for run in (_components, _processor_order, _listen_addresses):
            findings.extend(run(config))
        findings.extend(_ports(bundle, config))
    return findings


def _configs(bundle: Bundle) -> list[ConfigFile]:
    """One parsed file per workload (its replicas share it)."""
    found: dict[tuple[str, str, str], ConfigFile] = {}
    for config in bundle.configs:
        if config.program in COLLECTOR_PROGRAMS and isinstance(config.data, dict):
            owner = config.pod.owner
            found.setdefault((owner.kind, owner.namespace, owner.name), config)
    return list(found.values())


def _type(component_id: Any) -> str:
    return str(component_id).partition("/")[0]


def _pipelines(config: ConfigFile) -> dict[str, dict[str, Any]]:
    pipelines = as_dict(as_dict(config.data.get("service")).get("pipelines"))
    return {str(name): as_dict(pipeline) for name, pipeline in pipelines.items()}


def _where(config: ConfigFile, path: str) -> tuple[ObjectRef | None, str]:
    return config.holder, f"{config.file.key}:{path}"


# --- components ---------------------------------------------------------------------------------------------


def _components(config: ConfigFile) -> Iterator[Finding]:
    used: dict[str, set[str]] = {section: set() for section in SECTIONS}
    for name, pipeline in _pipelines(config).items():
        for section in SECTIONS:
            declared = as_dict(config.data.get(section))
            for i, component in enumerate(as_list(pipeline.get(section))):
                used[section].add(str(component))
                if str(component) not in declared:
                    yield error("otel.unknown-component", *_where(config, f"service.pipelines.{name}.{section}[{i}]"),
                                f"pipeline {name} names {section[:-1]} {component!r}, which {section} does not "
                                f"declare (declared: {', '.join(map(str, declared)) or 'none'}): "
                                f"{config.program} refuses to start")
    started = [str(e) for e in as_list(as_dict(config.data.get("service")).get("extensions"))]
    extensions = as_dict(config.data.get("extensions"))
    for i, extension in enumerate(started):
        if extension not in extensions:
            yield error("otel.unknown-component", *_where(config, f"service.extensions[{i}]"),
                        f"service.extensions names {extension!r}, which extensions does not declare: "
                        f"{config.program} refuses to start")
    yield from _unused(config, used, set(started))


def _unused(config: ConfigFile, used: dict[str, set[str]], started: set[str]) -> Iterator[Finding]:
    for section in SECTIONS:
        for component in as_dict(config.data.get(section)):
            if str(component) not in used[section]:
                yield warning("otel.unused-component", *_where(config, f"{section}.{component}"),
                              f"{section[:-1]} {component!r} is declared but no pipeline uses it: it never runs")
    for extension in as_dict(config.data.get("extensions")):
        if str(extension) not in started:
            yield warning("otel.unused-component", *_where(config, f"extensions.{extension}"),
                          f"extension {extension!r} is declared but service.extensions does not start it")


def _processor_order(config: ConfigFile) -> Iterator[Finding]:
    for name, pipeline in _pipelines(config).items():
        processors = [_type(p) for p in as_list(pipeline.get("processors"))]
        path = f"service.pipelines.{name}.processors"
        if not processors or processors[0] != "memory_limiter":
            first = f"starts with {processors[0]!r}" if processors else "has no processors"
            yield error("otel.memory-limiter-first", *_where(config, path),
                        f"pipeline {name} {first}: memory_limiter must run first, or data piles up in memory before "
                        "anything can refuse it and the pod is OOM-killed instead of pushing back")
        attributes = [i for i, p in enumerate(processors) if p in ("k8s_attributes", "k8sattributes")]
        batches = [i for i, p in enumerate(processors) if p == "batch"]
        if attributes and batches and batches[0] < attributes[0]:
            yield error("otel.k8sattributes-after-batch", *_where(config, path),
                        f"pipeline {name} batches before k8s_attributes: a batch mixes spans of many pods and loses "
                        "the sender's address, so spans get no or the wrong pod's metadata")


# --- listen addresses and ports -------------------------------------------------------------------------------


def _listen_addresses(config: ConfigFile) -> Iterator[Finding]:
    for server in _SERVERS:
        if server[-2] == "protocols":
            present = server[-1] in as_dict(_get(config.data, server[:-1]))
        else:
            present = server[1] in as_dict(config.data.get(server[0]))
        if present and not as_dict(_get(config.data, server)).get("endpoint"):
            yield error("otel.listen-address", *_where(config, ".".join(server)),
                        "no endpoint: the server binds localhost (the collector's default since v0.104), which no "
                        "other pod reaches; set `endpoint: 0.0.0.0:PORT`")
    for path, endpoint in _endpoints(config.data):
        host, _, port = endpoint.rpartition(":")
        problem = None
        if host in LOOPBACK:
            problem = f"{endpoint!r} listens on loopback only: no other pod reaches it"
        elif host == "":
            problem = f"{endpoint!r} leaves the host to the program, whose default is localhost for most servers"
        if problem:
            yield error("otel.listen-address", *_where(config, path), f"{problem}; use `0.0.0.0:{port}`")
    for i, reader in enumerate(_readers(config.data)):
        host = str(reader.get("host", ""))
        if host in ("", *LOOPBACK):
            yield error("otel.listen-address",
                        *_where(config, f"service.telemetry.metrics.readers[{i}].pull.exporter.prometheus.host"),
                        f"the metrics endpoint listens on {host or 'localhost (the default)'}: Prometheus cannot "
                        "scrape it; set host 0.0.0.0")


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = as_dict(data).get(key)
    return data


def _endpoints(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, endpoint) of every server in receivers and extensions (a host:port under an `endpoint` key)."""
    def walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
        for key, item in as_dict(value).items():
            if key == "endpoint" and isinstance(item, str) and ":" in item and "://" not in item:
                yield f"{path}.{key}", item
            elif isinstance(item, dict):
                yield from walk(item, f"{path}.{key}")
    for section in ("receivers", "extensions"):
        yield from walk(data.get(section), section)


def _readers(data: dict[str, Any]) -> list[dict[str, Any]]:
    metrics = as_dict(as_dict(as_dict(data.get("service")).get("telemetry")).get("metrics"))
    return [as_dict(as_dict(as_dict(r.get("pull")).get("exporter")).get("prometheus"))
            for r in dicts(metrics.get("readers"))]


def listen_ports(data: dict[str, Any]) -> dict[int, str]:
    """Every port the config listens on, with where."""
    ports: dict[int, str] = {}
    for path, endpoint in _endpoints(data):
        port = endpoint.rpartition(":")[2]
        if port.isdigit():
            ports.setdefault(int(port), path)
    for i, reader in enumerate(_readers(data)):
        if isinstance(reader.get("port"), int):
            ports.setdefault(reader["port"], f"service.telemetry.metrics.readers[{i}]")
    return ports


def _ports(bundle: Bundle, config: ConfigFile) -> Iterator[Finding]:
    listening = listen_ports(config.data)
    declared = {p.get("containerPort"): p for p in dicts(config.container.get("ports"))}
    name = config.container.get("name")
    for port, path in listening.items():
        if port not in declared:
            yield error("otel.port-mismatch", *_where(config, path),
                        f"{config.program} listens on {port}, which container {name!r} does not declare "
                        f"(ports: {sorted(map(str, declared))}): no Service or probe can name it")
    for i, (number, entry) in enumerate(declared.items()):
        if number not in listening:
            yield error("otel.port-mismatch", config.pod.ref, f"{config.container_path}.ports[{i}]",
                        f"container port {entry.get('name') or number} ({number}) is opened by nothing in "
                        f"{config.file.key}, which listens on {sorted(listening)}")
    yield from _service_ports(bundle, config, declared)


def _service_ports(bundle: Bundle, config: ConfigFile, declared: dict[Any, dict[str, Any]]) -> Iterator[Finding]:
    by_name = {p.get("name"): number for number, p in declared.items() if p.get("name")}
    for service in bundle.of_kind("Service"):
        selector = as_dict(as_dict(service.obj.get("spec")).get("selector"))
        if service.namespace != config.pod.namespace or not selector \
                or any(config.pod.labels.get(k) != v for k, v in selector.items()):
            continue
        for i, port in enumerate(dicts(as_dict(service.obj.get("spec")).get("ports"))):
            target = port.get("targetPort", port.get("port"))
            number = by_name.get(target) if isinstance(target, str) else target
            if number is not None and number != port.get("port"):
                yield error("otel.port-mismatch", ObjectRef.of(service), f"spec.ports[{i}]",
                            f"Service port {port.get('port')} leads to container port {number}: clients use the "
                            f"port {config.program}'s config and documentation name, so the two must be equal")
