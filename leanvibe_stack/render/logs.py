"""Loki (StatefulSet, memberlist ring) and Promtail (DaemonSet in the agents namespace)."""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.base import SecretRef
from leanvibe_stack.models.loki import render_loki_config
from leanvibe_stack.models.promtail import render_promtail_config
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.common import IngressRule, Peer, checksum, image_ref, yaml_file
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

LOKI_CONFIG_DIR = "/etc/loki/config"
PROMTAIL_CONFIG_DIR = "/etc/promtail"
POSITIONS_DIR = "/run/promtail"
MEMBERLIST_PORT = 7946
GRPC_PORT = 9096

# Promtail discovers pods cluster-wide to find the log files of those on its node.
PROMTAIL_RULES = [{"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}]


def render_loki(stack: Stack, topo: Topology) -> list[Manifest]:
    c, loki = topo.loki, stack.loki
    config = loki_config(stack, topo)
    http = {"name": "http", "port": topo.loki_port, "targetPort": "http"}
    peer_ports = [
        {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc"},
        {"name": "memberlist", "port": MEMBERLIST_PORT, "targetPort": "memberlist"},
    ]
    objects = [
        render_object("common/serviceaccount.yaml.j2", c.name, c=c, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"loki.yaml": yaml_file(config)}),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False, ports=[http]),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True,
                      ports=[http, *peer_ports]),
        render_object("loki/statefulset.yaml.j2", c.name, c=c, l=loki,
                      image=image_ref(loki.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=[f"-config.file={LOKI_CONFIG_DIR}/loki.yaml", "-target=all"],
                      env=_s3_env(stack), checksum=checksum(config), config_dir=LOKI_CONFIG_DIR,
                      external_secrets=_external_secrets(stack)),
    ]
    if loki.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        clients = [Peer(topo.promtail), Peer(topo.grafana), Peer(topo.prometheus), Peer(c)]
        rules = [
            IngressRule([(topo.loki_port, "TCP")], clients).as_policy_rule(c.namespace),
            IngressRule([(GRPC_PORT, "TCP"), (MEMBERLIST_PORT, "TCP")], [Peer(c)]).as_policy_rule(c.namespace),
        ]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    return objects


def loki_config(stack: Stack, topo: Topology) -> dict[str, Any]:
    """loki.yaml: the profile's settings plus the ring and Alertmanager addresses of this stack."""
    c, am = topo.loki, topo.alertmanager
    join = [f"{c.fqdn(c.headless)}:{MEMBERLIST_PORT}"] if stack.loki.replicas > 1 else []
    return render_loki_config(
        stack.loki.config,
        memberlist_join=join,
        # The ruler resolves the SRV record of the headless Service's `http` port: every replica.
        alertmanager_url=f"http://_http._tcp.{am.fqdn(am.headless)}",
        alertmanager_discovery=True,
    )


def _s3_env(stack: Stack) -> list[dict[str, Any]]:
    creds = stack.loki.s3_credentials
    if creds is None:
        return []
    return [_secret_env("AWS_ACCESS_KEY_ID", creds.access_key_id),
            _secret_env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key)]


def _external_secrets(stack: Stack) -> list[str]:
    creds = stack.loki.s3_credentials
    return sorted({creds.access_key_id.secret, creds.secret_access_key.secret}) if creds else []


def _secret_env(name: str, ref: SecretRef) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}


def render_promtail(stack: Stack, topo: Topology) -> list[Manifest]:
    c, promtail = topo.promtail, stack.promtail
    config = promtail_config(stack, topo)
    return [
        render_object("common/serviceaccount.yaml.j2", c.name, c=c, automount=True),
        render_object("common/clusterrole.yaml.j2", c.name, c=c, rules=PROMTAIL_RULES),
        render_object("common/clusterrolebinding.yaml.j2", c.name, c=c),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"promtail.yaml": yaml_file(config)}),
        render_object("promtail/daemonset.yaml.j2", c.name, c=c, p=promtail,
                      image=image_ref(promtail.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      tolerations=[t.model_dump(mode="json") for t in promtail.tolerations],
                      checksum=checksum(config), config_dir=PROMTAIL_CONFIG_DIR, positions_dir=POSITIONS_DIR),
    ]


def promtail_config(stack: Stack, topo: Topology) -> dict[str, Any]:
    """promtail.yaml: one client pushing to this stack's Loki, positions on the node."""
    loki = topo.loki
    return render_promtail_config(
        stack.promtail.config,
        push_url=f"http://{loki.fqdn()}:{topo.loki_port}/loki/api/v1/push",
        positions_file=f"{POSITIONS_DIR}/positions.yaml",
    )
