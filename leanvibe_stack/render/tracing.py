"""Tracing: the OpenTelemetry Collector gateway (Deployment) and Jaeger v2 (StatefulSet).

Applications send OTLP and Zipkin to the `otel-collector` Service; the collector adds the sending pod's
Kubernetes metadata and exports over OTLP/gRPC to the `jaeger` Service, which also serves the UI and the
query API Grafana reads.  Every port comes from the config files, so config, container and Service agree.

Where k8s_attributes runs: in this gateway, which applications reach directly through a ClusterIP
Service.  kube-proxy (and the common CNI service implementations) translate only the destination of
pod-to-Service traffic, so the collector sees the sending pod's own IP and associates spans by connection.
That holds only while nothing in between opens its own connection: no node agent, sidecar proxy or second
collector may forward spans to this one (they would all be attributed to the forwarder's pod).  SDKs that
set `k8s.pod.ip`/`k8s.pod.uid` are associated by those first.
"""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.models.tracing import (
    K8S_RESOURCES_FOR,
    CollectorConfig,
    JaegerConfig,
    OTLPProtocols,
    listen_port,
)
from leanvibe_stack.render.common import (
    Component,
    IngressRule,
    Peer,
    checksum,
    image_ref,
    pod_placement,
    service_account,
    ui_peers,
    yaml_file,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

COLLECTOR_CONFIG_DIR = "/etc/otelcol-contrib"
JAEGER_CONFIG_DIR = "/etc/jaeger"
BADGER_DIR = "/var/lib/jaeger/badger"  # the StatefulSet's volume
# The pods and namespaces k8s_attributes watches (read-only), plus what deployment names need.
_K8S_ATTRIBUTES_RULES = [{"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]}]


def render_collector(stack: Stack, topo: Topology) -> list[Manifest]:
    collector, c, jaeger = stack.otel_collector, topo.otel_collector, topo.jaeger
    if collector is None or c is None or jaeger is None:
        return []
    config = collector_config(stack, topo)
    ports = collector_ports(collector.config)
    service_ports = [p for p in ports if p["name"] not in ("health", "metrics")]
    objects = [
        service_account(c, collector, automount=True),
        render_object("common/clusterrole.yaml.j2", c.name, c=c, rules=collector_rules(collector.config)),
        render_object("common/clusterrolebinding.yaml.j2", c.name, c=c),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"config.yaml": yaml_file(config)}),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False,
                      ports=[_service_port(p) for p in service_ports]),
        render_object("otel-collector/deployment.yaml.j2", c.name, c=c, o=collector,
                      placement=pod_placement(collector, spread=c),
                      image=image_ref(collector.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=[f"--config={COLLECTOR_CONFIG_DIR}/config.yaml"], config_dir=COLLECTOR_CONFIG_DIR,
                      ports=ports, metrics_port=collector.config.service.telemetry.metrics_port,
                      checksum=checksum(config)),
    ]
    if collector.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        senders = [Peer(namespace=ns) for ns in dict.fromkeys([stack.global_.app_namespace,
                                                                *collector.client_namespaces])]
        rules = [IngressRule([(p["containerPort"], "TCP") for p in service_ports], senders),
                 IngressRule([(collector.config.service.telemetry.metrics_port, "TCP")], [Peer(topo.prometheus)])]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c,
                                     rules=[r.as_policy_rule(c.namespace) for r in rules]))
    return objects


def collector_config(stack: Stack, topo: Topology) -> dict[str, Any]:
    """config.yaml: the profile's settings, with the exporter sending to the rendered Jaeger Service."""
    assert stack.otel_collector is not None and topo.jaeger is not None
    config = _service_last(stack.otel_collector.config.model_dump(mode="json", by_alias=True, exclude_none=True))
    if "otlp_grpc" in config["exporters"]:
        config["exporters"]["otlp_grpc"] = {"endpoint": jaeger_otlp_address(stack, topo),
                                            **config["exporters"]["otlp_grpc"]}
    return config


def _service_last(config: dict[str, Any]) -> dict[str, Any]:
    """The components first, then the `service` that wires them: the order of upstream's examples."""
    return {**{k: v for k, v in config.items() if k != "service"}, "service": config["service"]}


def jaeger_otlp_address(stack: Stack, topo: Topology) -> str:
    """host:port of Jaeger's OTLP/gRPC receiver, through its Service."""
    assert stack.jaeger is not None and topo.jaeger is not None
    grpc = stack.jaeger.config.receivers.otlp.protocols.grpc
    assert grpc is not None  # Stack checks that Jaeger serves OTLP/gRPC when the collector is on
    return f"{topo.jaeger.fqdn()}:{listen_port(grpc.endpoint)}"


def collector_rules(config: CollectorConfig) -> list[dict[str, Any]]:
    """What k8s_attributes reads: pods and namespaces, and ReplicaSets when it names deployments."""
    attributes = config.processors.k8s_attributes
    if attributes is None:
        return []
    extra = sorted({K8S_RESOURCES_FOR[m] for m in attributes.extract.metadata if m in K8S_RESOURCES_FOR})
    return [*_K8S_ATTRIBUTES_RULES,
            *({"apiGroups": [group], "resources": [resource], "verbs": ["get", "list", "watch"]}
              for group, resource in extra)]


def collector_ports(config: CollectorConfig) -> list[dict[str, Any]]:
    """Container ports, named, in the order the Service lists them."""
    ports = _otlp_ports(config.receivers.otlp.protocols if config.receivers.otlp else None)
    if config.receivers.zipkin:
        ports.append(_port("zipkin", config.receivers.zipkin.endpoint))
    if config.extensions.health_check:
        ports.append(_port("health", config.extensions.health_check.endpoint))
    ports.append({"name": "metrics", "containerPort": config.service.telemetry.metrics_port})
    return ports


def _otlp_ports(protocols: OTLPProtocols | None) -> list[dict[str, Any]]:
    ports = []
    if protocols and protocols.grpc:
        ports.append(_port("otlp-grpc", protocols.grpc.endpoint))
    if protocols and protocols.http:
        ports.append(_port("otlp-http", protocols.http.endpoint))
    return ports


def _port(name: str, endpoint: str) -> dict[str, Any]:
    return {"name": name, "containerPort": listen_port(endpoint)}


def _service_port(port: dict[str, Any]) -> dict[str, Any]:
    return {"name": port["name"], "port": port["containerPort"], "targetPort": port["name"]}


# --- Jaeger --------------------------------------------------------------------------------------------------


def render_jaeger(stack: Stack, topo: Topology) -> list[Manifest]:
    jaeger, c = stack.jaeger, topo.jaeger
    if jaeger is None or c is None:
        return []
    config = jaeger_config(jaeger.config)
    ports = jaeger_ports(jaeger.config)
    service_ports = [_service_port(p) for p in ports if p["name"] not in ("health", "metrics")]
    objects = [
        service_account(c, jaeger, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"config.yaml": yaml_file(config)}),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False, ports=service_ports),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True, ports=service_ports),
        render_object("jaeger/statefulset.yaml.j2", c.name, c=c, j=jaeger, placement=pod_placement(jaeger),
                      image=image_ref(jaeger.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=[f"--config={JAEGER_CONFIG_DIR}/config.yaml"], config_dir=JAEGER_CONFIG_DIR,
                      ports=ports, metrics_port=jaeger.config.service.telemetry.metrics_port,
                      health_path=jaeger.config.extensions.healthcheckv2.http.status.path,
                      badger_dir=BADGER_DIR, checksum=checksum(config)),
    ]
    if stack.global_.network_policy.enabled:
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c,
                                     rules=_jaeger_policy(stack, topo, c)))
    return objects


def _jaeger_policy(stack: Stack, topo: Topology, c: Component) -> list[dict[str, Any]]:
    """OTLP from the collector only; the UI and query APIs from Grafana and the UI namespaces."""
    assert stack.jaeger is not None
    config = stack.jaeger.config
    query = config.extensions.jaeger_query
    rules = [IngressRule([(listen_port(query.http.endpoint), "TCP"), (listen_port(query.grpc.endpoint), "TCP")],
                         [Peer(topo.grafana), *ui_peers(stack.global_)]),
             IngressRule([(config.service.telemetry.metrics_port, "TCP")], [Peer(topo.prometheus)])]
    otlp = [(p["containerPort"], "TCP") for p in _otlp_ports(config.receivers.otlp.protocols)]
    if topo.otel_collector is not None:
        rules.insert(0, IngressRule(otlp, [Peer(topo.otel_collector)]))
    return [rule.as_policy_rule(c.namespace) for rule in rules]


def jaeger_config(config: JaegerConfig) -> dict[str, Any]:
    """config.yaml: the profile's settings, a Badger store placed on the pod's volume."""
    data = _service_last(config.model_dump(mode="json", by_alias=True, exclude_none=True))
    for name, backend in config.extensions.jaeger_storage.backends.items():
        if backend.badger is not None:
            data["extensions"]["jaeger_storage"]["backends"][name]["badger"] = {
                # Upstream's default is ephemeral (a temporary directory): state it, the volume is the point.
                "ephemeral": False,
                "directories": {"keys": f"{BADGER_DIR}/keys", "values": f"{BADGER_DIR}/values"},
                **data["extensions"]["jaeger_storage"]["backends"][name]["badger"],
            }
    return data


def jaeger_ports(config: JaegerConfig) -> list[dict[str, Any]]:
    """Container ports, named, in the order the Services list them."""
    query = config.extensions.jaeger_query
    return [_port("query-http", query.http.endpoint), _port("query-grpc", query.grpc.endpoint),
            *_otlp_ports(config.receivers.otlp.protocols),
            _port("health", config.extensions.healthcheckv2.http.endpoint),
            {"name": "metrics", "containerPort": config.service.telemetry.metrics_port}]
