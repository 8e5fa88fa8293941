"""Alertmanager: clustered StatefulSet, config and template ConfigMaps, Services, PDB, NetworkPolicy."""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.alertmanager import Alertmanager, Receiver, Route
from leanvibe_stack.models.base import SecretRef
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.common import (
    IngressRule,
    Peer,
    checksum,
    image_ref,
    pod_placement,
    reloader_container,
    service_account,
    ui_host,
    ui_ingress,
    ui_peers,
    yaml_file,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

CONFIG_DIR = "/etc/alertmanager/config"
TEMPLATES_DIR = "/etc/alertmanager/templates"
SECRETS_DIR = "/etc/alertmanager/secrets"
CLUSTER_PORT = 9094


def secret_file(ref: SecretRef) -> str:
    """Where a referenced Secret key is mounted; the config's `*_file` fields point here."""
    return f"{SECRETS_DIR}/{ref.secret}/{ref.key}"


def render(stack: Stack, topo: Topology) -> list[Manifest]:
    c = topo.alertmanager
    am = stack.alertmanager
    config = alertmanager_config(am)
    templates = {f"{name}.tmpl": text for name, text in am.templates.items()}
    secrets = sorted({ref.secret for ref in am.secret_refs()})
    http = {"name": "http", "port": topo.alertmanager_port, "targetPort": "http"}
    cluster_ports = [
        {"name": "cluster-tcp", "port": CLUSTER_PORT, "targetPort": "cluster-tcp", "protocol": "TCP"},
        {"name": "cluster-udp", "port": CLUSTER_PORT, "targetPort": "cluster-udp", "protocol": "UDP"},
    ]
    # Alertmanager's /-/reload needs no flag; the sidecar calls it on loopback when a ConfigMap changes.
    reloader = stack.config_reloader and reloader_container(
        stack.config_reloader, stack.global_, topo.alertmanager_port,
        [("config", CONFIG_DIR), ("templates", TEMPLATES_DIR)])
    objects = [
        service_account(c, am, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"alertmanager.yml": yaml_file(config)}),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-templates", extra_labels={},
                      data=templates),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False, ports=[http]),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True,
                      ports=[http, *cluster_ports]),
        render_object("alertmanager/statefulset.yaml.j2", c.name, c=c, a=am, placement=pod_placement(am, spread=c),
                      image=image_ref(am.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=_args(stack, topo), checksum=None if reloader else checksum(config, templates),
                      reloader=reloader, external_secrets=secrets,
                      mounts=_mounts(secrets), volumes=_volumes(c.name, secrets)),
    ]
    if am.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        clients = [Peer(topo.prometheus), Peer(topo.loki), Peer(topo.grafana), Peer(c), *ui_peers(stack.global_)]
        rules = [
            IngressRule([(topo.alertmanager_port, "TCP")], clients).as_policy_rule(c.namespace),
            IngressRule([(CLUSTER_PORT, "TCP"), (CLUSTER_PORT, "UDP")], [Peer(c)]).as_policy_rule(c.namespace),
        ]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    if am.ingress:
        objects.append(ui_ingress(c, stack.global_, am.ingress, port="http"))
    return objects


def _args(stack: Stack, topo: Topology) -> list[str]:
    am, c = stack.alertmanager, topo.alertmanager
    args = [
        f"--config.file={CONFIG_DIR}/alertmanager.yml",
        "--storage.path=/alertmanager",
        f"--data.retention={am.data_retention}",
        f"--web.external-url=https://{ui_host(c, stack.global_)}",
    ]
    if am.replicas == 1:
        return [*args, "--cluster.listen-address="]  # a single replica has no peers to gossip with
    peers = [f"--cluster.peer={c.pod_fqdn(i)}:{CLUSTER_PORT}" for i in range(am.replicas)]
    return [
        *args,
        f"--cluster.listen-address=0.0.0.0:{CLUSTER_PORT}",
        f"--cluster.advertise-address=$(POD_IP):{CLUSTER_PORT}",
        *peers,
        "--cluster.reconnect-timeout=10m",
    ]


def _mounts(secrets: list[str]) -> list[dict[str, Any]]:
    return [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "templates", "mountPath": TEMPLATES_DIR, "readOnly": True},
        *({"name": f"secret-{s}", "mountPath": f"{SECRETS_DIR}/{s}", "readOnly": True} for s in secrets),
        {"name": "storage", "mountPath": "/alertmanager"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def _volumes(name: str, secrets: list[str]) -> list[dict[str, Any]]:
    return [
        {"name": "config", "configMap": {"name": f"{name}-config"}},
        {"name": "templates", "configMap": {"name": f"{name}-templates"}},
        *({"name": f"secret-{s}", "secret": {"secretName": s}} for s in secrets),
        {"name": "tmp", "emptyDir": {"sizeLimit": "100Mi"}},
    ]


def alertmanager_config(am: Alertmanager) -> dict[str, Any]:
    """alertmanager.yml: secrets as `*_file` paths, templates where they are mounted."""
    config: dict[str, Any] = {"global": _global(am), "templates": [f"{TEMPLATES_DIR}/*.tmpl"]}
    config["route"] = _route(am.route)
    if am.inhibit_rules:
        config["inhibit_rules"] = [rule.model_dump(mode="json") for rule in am.inhibit_rules.values()]
    config["receivers"] = [_receiver(name, receiver) for name, receiver in am.receivers.items()]
    return config


def _global(am: Alertmanager) -> dict[str, Any]:
    g = am.global_
    out: dict[str, Any] = {}
    if g.resolve_timeout:
        out["resolve_timeout"] = g.resolve_timeout
    if g.smtp:
        out["smtp_smarthost"] = g.smtp.smarthost
        out["smtp_from"] = g.smtp.sender
        if g.smtp.auth_username:
            out["smtp_auth_username"] = g.smtp.auth_username
        if g.smtp.auth_password:
            out["smtp_auth_password_file"] = secret_file(g.smtp.auth_password)
        if g.smtp.require_tls is not None:
            out["smtp_require_tls"] = g.smtp.require_tls
    if g.slack_api_url:
        out["slack_api_url_file"] = secret_file(g.slack_api_url)
    if g.pagerduty_url:
        out["pagerduty_url"] = g.pagerduty_url
    return out


def _route(route: Route) -> dict[str, Any]:
    out = route.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"routes"})
    if route.routes:
        out["routes"] = [_route(child) for child in route.routes.values()]
    return out


def _receiver(name: str, receiver: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if receiver.slack_configs:
        out["slack_configs"] = [
            _with_file(c.model_dump(mode="json", exclude_none=True), "api_url") for c in receiver.slack_configs
        ]
    if receiver.pagerduty_configs:
        out["pagerduty_configs"] = [
            _with_file(c.model_dump(mode="json", exclude_none=True), "routing_key")
            for c in receiver.pagerduty_configs
        ]
    if receiver.email_configs:
        out["email_configs"] = [c.model_dump(mode="json", exclude_none=True) for c in receiver.email_configs]
    if receiver.webhook_configs:
        out["webhook_configs"] = [
            _with_file(c.model_dump(mode="json", exclude_none=True), "url_secret", "url_file")
            for c in receiver.webhook_configs
        ]
    return out


def _with_file(config: dict[str, Any], field: str, file_field: str | None = None) -> dict[str, Any]:
    """Replace a dumped SecretRef field by Alertmanager's file field (`<field>_file` unless named), in place."""
    if field not in config:
        return config
    ref = SecretRef.model_validate(config[field])
    name = file_field or f"{field}_file"
    return {(name if k == field else k): (secret_file(ref) if k == field else v) for k, v in config.items()}
