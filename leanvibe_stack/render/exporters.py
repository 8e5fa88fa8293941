"""node-exporter (host metrics, agents namespace) and kube-state-metrics (Kubernetes object metrics)."""

from __future__ import annotations

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.common import (
    IngressRule,
    Peer,
    image_ref,
    pod_placement,
    service_account,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

# kube-state-metrics collectors and the API objects each one lists and watches.  Secrets and
# ConfigMaps are left out on purpose: reading them would let the exporter see secret values.
KSM_COLLECTORS: dict[str, tuple[str, str]] = {
    "cronjobs": ("batch", "cronjobs"),
    "daemonsets": ("apps", "daemonsets"),
    "deployments": ("apps", "deployments"),
    "horizontalpodautoscalers": ("autoscaling", "horizontalpodautoscalers"),
    "jobs": ("batch", "jobs"),
    "namespaces": ("", "namespaces"),
    "nodes": ("", "nodes"),
    "persistentvolumeclaims": ("", "persistentvolumeclaims"),
    "persistentvolumes": ("", "persistentvolumes"),
    "poddisruptionbudgets": ("policy", "poddisruptionbudgets"),
    "pods": ("", "pods"),
    "replicasets": ("apps", "replicasets"),
    "resourcequotas": ("", "resourcequotas"),
    "services": ("", "services"),
    "statefulsets": ("apps", "statefulsets"),
}


def render_node_exporter(stack: Stack, topo: Topology) -> list[Manifest]:
    c, exporter = topo.node_exporter, stack.node_exporter
    return [
        service_account(c, exporter, automount=False),
        # Headless: the `node-exporter` scrape job discovers one endpoint per node through it.
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=True,
                      ports=[{"name": "metrics", "port": 9100, "targetPort": "metrics"}]),
        render_object("node-exporter/daemonset.yaml.j2", c.name, c=c, n=exporter, placement=pod_placement(exporter),
                      image=image_ref(exporter.image, stack.global_), pull_policy=stack.global_.image_pull_policy,),
    ]


def render_kube_state_metrics(stack: Stack, topo: Topology) -> list[Manifest]:
    c, ksm = topo.kube_state_metrics, stack.kube_state_metrics
    objects = [
        service_account(c, ksm, automount=True),
        render_object("common/clusterrole.yaml.j2", c.name, c=c, rules=_ksm_rules()),
        render_object("common/clusterrolebinding.yaml.j2", c.name, c=c),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False, ports=[
            {"name": "http-metrics", "port": 8080, "targetPort": "http-metrics"},
            {"name": "telemetry", "port": 8081, "targetPort": "telemetry"},
        ]),
        render_object("kube-state-metrics/deployment.yaml.j2", c.name, c=c, k=ksm, placement=pod_placement(ksm),
                      image=image_ref(ksm.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=[f"--resources={','.join(KSM_COLLECTORS)}", "--port=8080", "--telemetry-port=8081"]),
    ]
    if stack.global_.network_policy.enabled:
        rules = [IngressRule([(8080, "TCP"), (8081, "TCP")], [Peer(topo.prometheus)]).as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    return objects


def _ksm_rules() -> list[dict[str, object]]:
    groups: dict[str, list[str]] = {}
    for group, resource in KSM_COLLECTORS.values():
        groups.setdefault(group, []).append(resource)
    return [{"apiGroups": [group], "resources": sorted(resources), "verbs": ["list", "watch"]}
            for group, resources in sorted(groups.items())]
