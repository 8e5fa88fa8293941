"""Loki (StatefulSet, memberlist ring) and Fluent Bit (DaemonSet in the agents namespace)."""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.base import SecretRef
from leanvibe_stack.models.fluentbit import FluentBitConfig, KubernetesFilter, render_fluent_bit_config
from leanvibe_stack.models.loki import render_loki_config
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.common import (
    IngressRule,
    Peer,
    checksum,
    image_ref,
    pod_placement,
    service_account,
    yaml_file,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.prometheus import external_labels, rule_files
from leanvibe_stack.render.topology import Topology

LOKI_CONFIG_DIR = "/etc/loki/config"
FLUENT_BIT_CONFIG_DIR = "/fluent-bit/etc/leanvibe"
# On the node: tail offsets, the journal cursor and buffered records (see fluent_bit.config).
FLUENT_BIT_STATE_DIR = "/var/lib/fluent-bit"
MEMBERLIST_PORT = 7946
GRPC_PORT = 9096

# What Fluent Bit 5.1's kubernetes filter asks the API server (plugins/filter_kubernetes/kube_meta.c): one
# GET /api/v1/namespaces/<ns>/pods/<pod> per pod whose log file it tails, and the files under /var/log/containers
# are those of its own node's pods. It never lists or watches, and asks for no namespaces (namespace_labels
# and namespace_annotations are off).
FLUENT_BIT_RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
# With use_kubelet the filter asks its node's kubelet for /pods instead, which the kubelet authorizes as
# nodes/proxy.
KUBELET_PODS_RULE = {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}
KUBELET_PODS_EXCEPTION = ("The kubernetes filter's use_kubelet reads pod metadata from the node's kubelet (GET /pods), "
                          "which the kubelet authorizes as nodes/proxy.")


def render_loki(stack: Stack, topo: Topology) -> list[Manifest]:
    c, loki = topo.loki, stack.loki
    config = loki_config(stack, topo)
    http = {"name": "http", "port": topo.loki_port, "targetPort": "http"}
    peer_ports = [
        {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc"},
        {"name": "memberlist", "port": MEMBERLIST_PORT, "targetPort": "memberlist"},
    ]
    rules_dir = loki_rules_dir(stack)
    objects = [
        service_account(c, loki, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"loki.yaml": yaml_file(config)}),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False, ports=[http]),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True,
                      ports=[http, *peer_ports]),
        render_object("loki/statefulset.yaml.j2", c.name, c=c, l=loki, placement=pod_placement(loki, spread=c),
                      image=image_ref(loki.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=[f"-config.file={LOKI_CONFIG_DIR}/loki.yaml", "-target=all"],
                      env=_s3_env(stack), checksum=checksum(config), config_dir=LOKI_CONFIG_DIR,
                      external_secrets=_external_secrets(stack), rules_dir=rules_dir),
    ]
    if rules_dir:
        # Not in the pod's checksum: the ruler re-reads its directory every poll_interval (1m), so a rule
        # change reaches it when the kubelet refreshes the mount, without restarting Loki.
        objects.insert(2, render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-rules",
                                        extra_labels={}, data=rule_files(stack.loki.rule_groups)))
    if loki.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        clients = [Peer(topo.fluent_bit), Peer(topo.grafana), Peer(topo.prometheus), Peer(c)]
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
        external_labels=external_labels(stack),
    )


def ruler_tenant(stack: Stack) -> str:
    """The tenant directory the ruler reads rules from: Loki files everything under `fake` without auth."""
    return (stack.fluent_bit.tenant_id or "fake") if stack.loki.config.auth_enabled else "fake"


def loki_rules_dir(stack: Stack) -> str | None:
    """Where the rule files are mounted: the ruler's local directory, then the tenant."""
    ruler = stack.loki.config.ruler
    if ruler is None or not stack.loki.rule_groups:
        return None
    return f"{ruler.storage.local.directory.rstrip('/')}/{ruler_tenant(stack)}"


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


def fluent_bit_rules(config: FluentBitConfig) -> list[dict[str, Any]]:
    """Read access to single pods; nodes/proxy only when a kubernetes filter asks the kubelet."""
    return [*FLUENT_BIT_RULES, *([KUBELET_PODS_RULE] if _uses_kubelet(config) else [])]


def _uses_kubelet(config: FluentBitConfig) -> bool:
    return any(isinstance(f, KubernetesFilter) and f.use_kubelet for f in config.pipeline.filters.values())


def render_fluent_bit(stack: Stack, topo: Topology) -> list[Manifest]:
    c, agent = topo.fluent_bit, stack.fluent_bit
    config = fluent_bit_config(stack, topo)
    return [
        service_account(c, agent, automount=True),
        render_object("common/clusterrole.yaml.j2", c.name, c=c, rules=fluent_bit_rules(agent.config),
                      exception=KUBELET_PODS_EXCEPTION if _uses_kubelet(agent.config) else ""),
        render_object("common/clusterrolebinding.yaml.j2", c.name, c=c),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"fluent-bit.yaml": yaml_file(config)}),
        render_object("fluent-bit/daemonset.yaml.j2", c.name, c=c, f=agent, placement=pod_placement(agent),
                      image=image_ref(agent.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      checksum=checksum(config), config_dir=FLUENT_BIT_CONFIG_DIR, state_dir=FLUENT_BIT_STATE_DIR,
                      http_port=agent.config.service.http_port),
    ]


def fluent_bit_config(stack: Stack, topo: Topology) -> dict[str, Any]:
    """fluent-bit.yaml: every Loki output pushes to this stack's Loki, as this environment's tenant."""
    return render_fluent_bit_config(stack.fluent_bit.config, loki_host=topo.loki.fqdn(), loki_port=topo.loki_port,
                                    tenant_id=stack.fluent_bit.tenant_id)
