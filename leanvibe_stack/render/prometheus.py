"""Prometheus: StatefulSet, config and rule ConfigMaps, Services, RBAC, PDB, NetworkPolicy."""

from __future__ import annotations

from typing import Any

from leanvibe_stack.manifest import Manifest, json_size
from leanvibe_stack.models.prometheus import AlertRule, Ec2SDConfig, KubernetesSDConfig, RuleGroup, ScrapeJob
from leanvibe_stack.models.stack import GlobalSettings, Stack
from leanvibe_stack.render import blackbox, thanos
from leanvibe_stack.render.common import (
    REPLICA_LABEL,
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

CONFIG_DIR = "/etc/prometheus/config"
RULES_DIR = "/etc/prometheus/rules"
# Rule files per ConfigMap, in bytes of the JSON that client-side `kubectl apply` stores in the object's
# last-applied-configuration annotation (all annotations: at most 262,144 bytes).  The 64 KiB left is for
# the rest of the object and what a kustomization may add (labels, annotations).
RULES_SHARD_BUDGET = 192 * 1024
PORT = 9090

# Discovery lists and watches these objects cluster-wide; nodes/metrics is what the kubelet asks for its
# /metrics and /metrics/cadvisor (kubelet authorization: the `metrics` subresource).  No nodes/proxy: that
# grants the kubelet's whole API, commands in containers included.
CLUSTER_ROLE_RULES = [
    {"apiGroups": [""], "resources": ["nodes", "services", "endpoints", "pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
]


def render(stack: Stack, topo: Topology) -> list[Manifest]:
    c = topo.prometheus
    server = stack.prometheus
    config = prometheus_config(stack, topo)
    rules = rule_files(stack.prometheus.rule_groups)
    shards = rule_shards(rules)
    shard_names = [f"{c.name}-rules" if i == 0 else f"{c.name}-rules-{i + 1}" for i in range(len(shards))]
    args = [
        f"--config.file={CONFIG_DIR}/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        f"--web.external-url=https://{ui_host(c, stack.global_)}",
        "--web.route-prefix=/",
        # POST /-/reload for the config-reloader sidecar (also /-/quit: only the NetworkPolicy's clients reach it).
        *(["--web.enable-lifecycle"] if stack.config_reloader else []),
        *thanos.prometheus_args(stack),
        *server.extra_args,
    ]
    reloader = stack.config_reloader and reloader_container(
        stack.config_reloader, stack.global_, PORT, [("config", CONFIG_DIR), ("rules", RULES_DIR)])
    clients = [Peer(topo.prometheus), Peer(topo.grafana), *ui_peers(stack.global_)]
    sidecar = thanos.sidecar_container(stack, PORT, "/prometheus", "storage")
    # The sidecars' StoreAPI: SRV records of the headless Service's `grpc` port name every replica for Query.
    grpc = [{"name": "grpc", "port": thanos.GRPC_PORT, "targetPort": "grpc"}] if sidecar else []
    objects = [
        service_account(c, server, automount=True),
        render_object("common/clusterrole.yaml.j2", c.name, c=c, rules=CLUSTER_ROLE_RULES),
        render_object("common/clusterrolebinding.yaml.j2", c.name, c=c),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-config", extra_labels={},
                      data={"prometheus.yml": yaml_file(config)}),
        *(render_object("common/configmap.yaml.j2", c.name, c=c, name=name, extra_labels={}, data=shard)
          for name, shard in zip(shard_names, shards, strict=True)),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False, sticky=server.replicas > 1,
                      ports=[{"name": "http", "port": PORT, "targetPort": "http"}]),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.headless, headless=True,
                      ports=[{"name": "http", "port": PORT, "targetPort": "http"}, *grpc]),
        render_object("prometheus/statefulset.yaml.j2", c.name, c=c, p=server,
                      placement=pod_placement(server, spread=c),
                      image=image_ref(server.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      args=args, checksum=None if reloader else checksum(config, rules), reloader=reloader,
                      sidecar=sidecar, sidecar_volume=thanos.objstore_volume(stack),
                      annotations=thanos.workload_annotations(stack),
                      config_dir=CONFIG_DIR, rules_dir=RULES_DIR,
                      config_map=f"{c.name}-config",
                      rules_sources=[{"configMap": {"name": name}} for name in shard_names]),
    ]
    if server.replicas > 1:
        objects.append(render_object("common/poddisruptionbudget.yaml.j2", c.name, c=c))
    if stack.global_.network_policy.enabled:
        rules_ = [IngressRule([(PORT, "TCP")], clients).as_policy_rule(c.namespace)]
        if sidecar and topo.thanos_query:
            rules_ += [IngressRule([(thanos.GRPC_PORT, "TCP")], [Peer(topo.thanos_query)]).as_policy_rule(c.namespace),
                       IngressRule([(thanos.HTTP_PORT, "TCP")], [Peer(topo.prometheus)]).as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules_))
    if server.ingress:
        objects.append(ui_ingress(c, stack.global_, server.ingress, port="http"))
    return objects


def external_labels(stack: Stack) -> dict[str, str]:
    """The labels every alert of this stack carries, whichever ruler (Prometheus or Loki's) sends it."""
    settings = stack.global_
    return {"cluster": settings.cluster, "region": settings.region, "environment": settings.environment}


def prometheus_config(stack: Stack, topo: Topology) -> dict[str, Any]:
    """prometheus.yml: global labels from the profile, Alertmanagers found by DNS, the scrape jobs."""
    settings, server = stack.global_, stack.prometheus
    alertmanager = topo.alertmanager
    return {
        "global": {
            "scrape_interval": server.scrape_interval,
            "evaluation_interval": server.evaluation_interval,
            "external_labels": {**external_labels(stack), REPLICA_LABEL: "$POD_NAME"},
        },
        "rule_files": [f"{RULES_DIR}/*.yml"],
        # Prometheus 3.13 reads retention from its (reloadable) config; the command-line flags are deprecated.
        "storage": {"tsdb": {"retention": {"time": server.retention_time, "size": server.retention_size}}},
        "alerting": {
            # Both replicas send every alert; without their replica label the two copies are one alert to
            # Alertmanager, which then notifies once.
            "alert_relabel_configs": [{"action": "labeldrop", "regex": REPLICA_LABEL}],
            "alertmanagers": [{
                "api_version": "v2",
                "timeout": "10s",
                # Every Alertmanager replica gets every alert: the headless Service's A records list them all.
                "dns_sd_configs": [{"names": [alertmanager.fqdn(alertmanager.headless)], "type": "A",
                                    "port": topo.alertmanager_port}],
            }],
        },
        "scrape_configs": [
            *(scrape_config(name, job, settings) for name, job in server.scrape_jobs.items()),
            *blackbox.probe_scrape_configs(stack, topo),
            *thanos.sidecar_scrape_configs(stack),
        ],
    }


def scrape_config(name: str, job: ScrapeJob, settings: GlobalSettings) -> dict[str, Any]:
    body = job.model_dump(mode="json", by_alias=True, exclude_none=True,
                          exclude={"kubernetes_sd_configs", "ec2_sd_configs"})
    config: dict[str, Any] = {"job_name": name, **body}
    if job.kubernetes_sd_configs:
        config["kubernetes_sd_configs"] = [_kubernetes_sd(sd, settings.app_namespace)
                                           for sd in job.kubernetes_sd_configs]
    if job.ec2_sd_configs:
        config["ec2_sd_configs"] = [_ec2_sd(sd, settings) for sd in job.ec2_sd_configs]
    # Keep the upstream key order: discovery before relabeling.
    for key in ("relabel_configs", "metric_relabel_configs"):
        if key in config:
            config[key] = config.pop(key)
    return config


def _ec2_sd(sd: Ec2SDConfig, settings: GlobalSettings) -> dict[str, Any]:
    """EC2 discovery of this environment's instances only (its tag filter comes first), in its region."""
    config = {"region": sd.region or settings.region,
              **sd.model_dump(mode="json", exclude_none=True, exclude={"region", "environment_tag", "filters"})}
    filters = [{"name": f"tag:{sd.environment_tag}", "values": [settings.environment]}] if sd.environment_tag else []
    filters += [f.model_dump(mode="json", exclude_none=True) for f in sd.filters or []]
    return config | ({"filters": filters} if filters else {})


def _kubernetes_sd(sd: KubernetesSDConfig, app_namespace: str) -> dict[str, Any]:
    if sd.namespaces == "application":
        return {"role": sd.role, "namespaces": {"names": [app_namespace]}}
    return sd.model_dump(mode="json", exclude_none=True)


def rule_files(rule_groups: dict[str, RuleGroup]) -> dict[str, str]:
    """One rule file per group, named after it (Prometheus' format, which Loki's ruler reads too)."""
    files = {}
    for group_name, group in rule_groups.items():
        body: dict[str, Any] = {"name": group_name}
        if group.interval:
            body["interval"] = group.interval
        body["rules"] = [alert_rule(name, rule) for name, rule in group.rules.items()]
        files[f"{group_name}.yml"] = yaml_file({"groups": [body]})
    return files


def rule_shards(files: dict[str, str], budget: int = RULES_SHARD_BUDGET) -> list[dict[str, str]]:
    """Rule files packed in order into as few ConfigMaps' data as the budget allows (always one, maybe empty).

    Greedy and deterministic: a file joins the current shard unless that would pass the budget; a file
    bigger than the budget on its own gets a shard of its own (validate then reports its size).
    """
    shards: list[dict[str, str]] = [{}]
    used = 0
    for key, text in files.items():
        cost = json_size(key) + json_size(text) + 2  # "key":"text", in the annotation's JSON
        if shards[-1] and used + cost > budget:
            shards.append({})
            used = 0
        shards[-1][key] = text
        used += cost
    return shards


def alert_rule(name: str, rule: AlertRule) -> dict[str, Any]:
    dumped = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"alert": name, **{key: value for key, value in dumped.items() if value != {}}}
