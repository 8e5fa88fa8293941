"""Grafana: Deployment, provisioned datasources, one ConfigMap per dashboard."""

from __future__ import annotations

from typing import Any

from leanvibe_stack.errors import Problem, ProfileError
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.grafana import Dashboard, Datasource, load_dashboard
from leanvibe_stack.models.stack import GlobalSettings, Stack
from leanvibe_stack.models.tracing import listen_port
from leanvibe_stack.render import thanos
from leanvibe_stack.render.common import (
    Component,
    IngressRule,
    Peer,
    checksum,
    image_ref,
    indented_json,
    pod_placement,
    service_account,
    ui_host,
    ui_ingress,
    ui_peers,
    yaml_file,
)
from leanvibe_stack.render.engine import render_object
from leanvibe_stack.render.topology import Topology

PORT = 3000
DASHBOARDS_DIR = "/var/lib/grafana-dashboards"
NAMESPACE_VARIABLE = "namespace"  # a dashboard variable by this name defaults to global.app_namespace
DASHBOARD_LABEL = {"grafana_dashboard": "1"}  # also what the common dashboard sidecars watch for


def render(stack: Stack, topo: Topology) -> list[Manifest]:
    """Grafana's objects.  Its pod's checksum covers the datasources and the dashboard providers only: Grafana
    12 reads those at start-up (or through the admin API), while the file provider re-reads the dashboards'
    ConfigMap volume every `updateIntervalSeconds`, so a dashboard change restarts nothing."""
    c, grafana = topo.grafana, stack.grafana
    datasources = datasources_file(stack, topo)
    providers = providers_file()
    dashboards = {name: dashboard_json(name, d, stack.global_) for name, d in grafana.dashboards.items()}
    objects = [
        service_account(c, grafana, automount=False),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-datasources", extra_labels={},
                      data={"datasources.yaml": datasources_text(datasources)}),
        render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-dashboard-providers",
                      extra_labels={}, data={"dashboards.yaml": yaml_file(providers)}),
        *(
            render_object("common/configmap.yaml.j2", c.name, c=c, name=f"{c.name}-dashboard-{name}",
                          extra_labels=DASHBOARD_LABEL, data={f"{name}.json": text})
            for name, text in dashboards.items()
        ),
        render_object("common/service.yaml.j2", c.name, c=c, name=c.name, headless=False,
                      ports=[{"name": "http", "port": PORT, "targetPort": "http"}]),
        render_object("grafana/deployment.yaml.j2", c.name, c=c, g=grafana, placement=pod_placement(grafana),
                      image=image_ref(grafana.image, stack.global_), pull_policy=stack.global_.image_pull_policy,
                      env=_env(stack, c), checksum=checksum(datasources, providers),
                      external_secrets=sorted({grafana.admin.user.secret, grafana.admin.password.secret}),
                      dashboards_dir=DASHBOARDS_DIR, dashboard_sources=_dashboard_sources(c.name, stack)),
    ]
    if stack.global_.network_policy.enabled:
        clients = [Peer(topo.prometheus), *ui_peers(stack.global_)]
        rules = [IngressRule([(PORT, "TCP")], clients).as_policy_rule(c.namespace)]
        objects.append(render_object("common/networkpolicy.yaml.j2", c.name, c=c, rules=rules))
    if grafana.ingress:
        objects.append(ui_ingress(c, stack.global_, grafana.ingress, port="http"))
    return objects


def _env(stack: Stack, c: Component) -> list[dict[str, Any]]:
    admin = stack.grafana.admin
    return [
        {"name": "GF_SECURITY_ADMIN_USER",
         "valueFrom": {"secretKeyRef": {"name": admin.user.secret, "key": admin.user.key}}},
        {"name": "GF_SECURITY_ADMIN_PASSWORD",
         "valueFrom": {"secretKeyRef": {"name": admin.password.secret, "key": admin.password.key}}},
        {"name": "GF_SERVER_ROOT_URL", "value": f"https://{ui_host(c, stack.global_)}"},
        {"name": "GF_ANALYTICS_REPORTING_ENABLED", "value": "false"},
        {"name": "GF_ANALYTICS_CHECK_FOR_UPDATES", "value": "false"},
    ]


def _dashboard_sources(name: str, stack: Stack) -> list[dict[str, Any]]:
    # One projected volume; each dashboard lands in its folder's directory (foldersFromFilesStructure).
    return [
        {"configMap": {"name": f"{name}-dashboard-{key}",
                       "items": [{"key": f"{key}.json", "path": f"{d.folder or 'General'}/{key}.json"}]}}
        for key, d in stack.grafana.dashboards.items()
    ]


def datasources_file(stack: Stack, topo: Topology) -> dict[str, Any]:
    """Provisioned datasources pointing at this stack's Services, with the stable uids dashboards use."""
    return {
        "apiVersion": 1,
        "datasources": [_datasource(name, ds, stack, topo) for name, ds in stack.grafana.datasources.items()],
    }


# Grafana expands environment variables ($NAME, ${NAME}) in every string of a provisioning file; `$$` is a
# literal `$`. Its own macros are therefore written with `$$`.
VALUE_MACRO = "$${__value.raw}"  # a derived field's internal link: query the linked datasource with the value
# ...and written with YAML's \u007B escape for its `{`: the file then holds no `${`, which reviewers and checks
# read as an unexpanded placeholder; Grafana's YAML parser reads back exactly VALUE_MACRO.
VALUE_MACRO_YAML = '"$$\\u007B__value.raw}"'


def datasources_text(datasources: dict[str, Any]) -> str:
    text = yaml_file(datasources)
    return text.replace(f": {VALUE_MACRO}\n", f": {VALUE_MACRO_YAML}\n")


def _datasource(name: str, ds: Datasource, stack: Stack, topo: Topology) -> dict[str, Any]:
    # With Thanos, Query: it deduplicates the replicas (and reaches back past the local retention).
    target = {"prometheus": thanos.grafana_target(topo) or (topo.prometheus, 9090), "loki": (topo.loki, topo.loki_port),
              "alertmanager": (topo.alertmanager, topo.alertmanager_port)}
    if topo.jaeger is not None and stack.jaeger is not None:
        target["jaeger"] = (topo.jaeger, listen_port(stack.jaeger.config.extensions.jaeger_query.http.endpoint))
    component, port = target[ds.type]
    out: dict[str, Any] = {
        "name": name, "type": ds.type, "uid": ds.uid, "access": "proxy",
        "url": f"http://{component.fqdn()}:{port}", "isDefault": ds.is_default, "editable": False,
    }
    json_data = _json_data(ds)
    if json_data:
        out["jsonData"] = json_data
    return out


def _json_data(ds: Datasource) -> dict[str, Any]:
    """The datasource's jsonData: Grafana's keys for the links the profile declares."""
    data: dict[str, Any] = {}
    if ds.type == "alertmanager":
        data["implementation"] = "prometheus"
    if ds.exemplar_trace_id_destinations:
        data["exemplarTraceIdDestinations"] = [{"name": link.label, "datasourceUid": link.datasource_uid}
                                               for link in ds.exemplar_trace_id_destinations]
    if ds.derived_fields:
        data["derivedFields"] = [{"name": field.name, "matcherRegex": field.matcher_regex,
                                  "datasourceUid": field.datasource_uid, "url": VALUE_MACRO}
                                 for field in ds.derived_fields]
    if ds.traces_to_logs is not None:
        logs = ds.traces_to_logs
        data["tracesToLogsV2"] = {
            "datasourceUid": logs.datasource_uid, "spanStartTimeShift": logs.span_start_time_shift,
            "spanEndTimeShift": logs.span_end_time_shift, "filterByTraceID": logs.filter_by_trace_id,
            "tags": [{"key": key, "value": label} for key, label in logs.tags.items()],
        }
    if ds.traces_to_metrics is not None:
        metrics = ds.traces_to_metrics
        data["tracesToMetrics"] = {
            "datasourceUid": metrics.datasource_uid,
            "tags": [{"key": key, "value": label} for key, label in metrics.tags.items()],
            "queries": [{"name": title, "query": query.replace("$", "$$")}
                        for title, query in metrics.queries.items()],
        }
    if ds.node_graph:
        data["nodeGraph"] = {"enabled": True}
    return data


def providers_file() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [{
            "name": "leanvibe-stack", "type": "file", "disableDeletion": True, "allowUiUpdates": False,
            "updateIntervalSeconds": 60,
            "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": True},
        }],
    }


def dashboard_json(name: str, dashboard: Dashboard, settings: GlobalSettings) -> str:
    """The dashboard file as provisioned, re-indented stably (the model checked it at load time), with this
    environment's identity: tagged with the environment, its `namespace` variable on the application's."""
    try:
        model = load_dashboard(dashboard.file)
    except ValueError as error:  # the file changed since the profile was loaded
        raise ProfileError([Problem(str(error), f"grafana.dashboards.{name}.file")]) from error
    tags = [str(tag) for tag in model.get("tags") or []]
    model["tags"] = tags if settings.environment in tags else [*tags, settings.environment]
    for variable in (model.get("templating") or {}).get("list") or []:
        if isinstance(variable, dict) and variable.get("name") == NAMESPACE_VARIABLE:
            variable["current"] = {"selected": False, "text": settings.app_namespace, "value": settings.app_namespace}
    return indented_json(model) + "\n"
