"""blackbox_exporter: blackbox.yml, Deployment, Service, NetworkPolicy, and the scrape jobs of its probes."""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.blackbox import BlackboxExporter, ServiceTarget, probe_job_names
from leanvibe_stack.models.stack import Stack
from leanvibe_stack.render.common import (
    Component,
    IngressRule,
    Peer,
    checksum,
    image_ref,
    pod_placement,
    service_account,
    yaml_file,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

PORT = 9115
CONFIG_DIR = "/etc/blackbox_exporter"
# Pings go out of unprivileged ICMP sockets, which the kernel allows only to groups in this namespaced
# sysctl (restricted Pod Security allows it); no NET_RAW capability.
PING_SYSCTL = "net.ipv4.ping_group_range"


def render(stack: Stack, topo: Topology) -> list[Manifest]:
    exporter, c = stack.blackbox_exporter, topo.blackbox_exporter
    if exporter is None or c is None:
        return []
    config = blackbox_config(exporter)
    objects = [
        service_account(c, exporter, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"blackbox.yml": yaml_file(config)}),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False,
                      ports=[{"name": "http", "port": PORT, "targetPort": "http"}]),
        render_object("blackbox-exporter/deployment.yaml.j2", c.name, c=c, b=exporter, port=PORT,
                      placement=pod_placement(exporter),
                      image=image_ref(exporter.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=[f"--config.file={CONFIG_DIR}/blackbox.yml", f"--web.listen-address=:{PORT}"],
                      config_dir=CONFIG_DIR, checksum=checksum(config), sysctls=_sysctls(exporter)),
    ]
    if exporter.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        rules = [IngressRule([(PORT, "TCP")], [Peer(topo.prometheus)]).as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    return objects


def blackbox_config(exporter: BlackboxExporter) -> dict[str, Any]:
    """blackbox.yml: every module with the settings it states (upstream defaults fill in the rest)."""
    return {"modules": {name: _compact(module.model_dump(mode="json", exclude_none=True))
                        for name, module in exporter.modules.items()}}


def _compact(value: Any) -> Any:
    """Without empty lists and mappings: `headers: {}` says nothing the exporter's default does not."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v != {} and v != []}
    return value


def _sysctls(exporter: BlackboxExporter) -> list[dict[str, str]]:
    """With an icmp module, the pod's own group may open ping sockets; nothing else is allowed."""
    if not exporter.pings:
        return []
    group = str(exporter.pod_user.run_as_group)
    return [{"name": PING_SYSCTL, "value": f"{group} {group}"}]


def probe_scrape_configs(stack: Stack, topo: Topology) -> list[dict[str, Any]]:
    """One scrape job per probe: Prometheus asks the exporter (the address) to probe each target (a parameter)."""
    exporter, c = stack.blackbox_exporter, topo.blackbox_exporter
    if exporter is None or c is None:
        return []
    jobs = []
    job_names = probe_job_names(exporter)
    for name, probe in exporter.probes.items():
        prober = exporter.modules[probe.module].prober
        targets = [_target(t, prober, stack) for t in probe.targets]
        job: dict[str, Any] = {"job_name": job_names[name], "metrics_path": "/probe",
                               "params": {"module": [probe.module]}}
        if probe.interval:
            job["scrape_interval"] = probe.interval
        job["static_configs"] = [{"targets": targets, "labels": {**probe.labels, "probe_severity": probe.severity}}]
        job["relabel_configs"] = _probe_relabeling(c)
        jobs.append(job)
    return jobs


def _probe_relabeling(c: Component) -> list[dict[str, Any]]:
    return [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"source_labels": ["__param_module"], "target_label": "module"},
        {"target_label": "__address__", "replacement": f"{c.fqdn()}:{PORT}"},
    ]


def _target(target: str | ServiceTarget, prober: str, stack: Stack) -> str:
    if isinstance(target, str):
        return target
    namespace = stack.global_.app_namespace if target.namespace == "application" else target.namespace
    address = f"{target.service}.{namespace}.svc.{stack.global_.cluster_domain}:{target.port}"
    return f"{target.scheme}://{address}{target.path}" if prober == "http" else address
