"""`leanvibe-stack graph`: the diagram parses (Mermaid by a strict grammar of what we emit, DOT by pydot or
Graphviz), and its edges are the Services and URLs of the render, nothing drawn by hand."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.graph import (
    ALERTS,
    NOTIFIES,
    PUSHES,
    QUERIES,
    SCRAPES,
    Edge,
    Graph,
    Node,
    build,
    to_dot,
    to_mermaid,
)
from leanvibe_stack.graph.discovery import discovered_workloads, resolve_service
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle, is_probe_job
from tests.conftest import RENDERED_PROFILES, invoke

pytestmark = pytest.mark.usefixtures("repo_cwd")


# --- Mermaid: a strict grammar of the subset we emit ------------------------------------------------------

ID = r"[A-Za-z_][A-Za-z0-9_]*"
TEXT = r'[^"\n]*'  # a quoted label: no raw double quote (written #quot;), no newline
MERMAID_NODE = re.compile(rf'^    (?P<id>{ID})\["(?P<label>{TEXT})"\]$')
MERMAID_EDGE = re.compile(rf'^    (?P<source>{ID}) -->\|"(?P<label>{TEXT})"\| (?P<target>{ID})$')
MERMAID_COMMENT = re.compile(r"^    %% [^\n]*$")
MERMAID_KEYWORDS = {"end", "graph", "subgraph", "flowchart", "style", "class", "classdef", "click", "linkstyle"}


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> label) and edges (source, target, label); fails on any line outside the grammar."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR", lines[0]
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if node := MERMAID_NODE.match(line):
            assert not edges, f"line {number}: node definitions come before edges"
            assert node["id"] not in nodes, f"line {number}: {node['id']} defined twice"
            assert node["id"].lower() not in MERMAID_KEYWORDS, f"line {number}: {node['id']} is a Mermaid keyword"
            nodes[node["id"]] = node["label"]
        elif edge := MERMAID_EDGE.match(line):
            for end in ("source", "target"):
                assert edge[end] in nodes, f"line {number}: {edge[end]} is not defined"
            edges.append((edge["source"], edge["target"], edge["label"]))
        else:
            assert MERMAID_COMMENT.match(line), f"line {number} is not Mermaid we emit: {line!r}"
    return nodes, edges


def unescape_mermaid(text: str) -> str:
    return text.replace("#quot;", '"').replace("#35;", "#")


# --- DOT: pydot when installed, else Graphviz ---------------------------------------------------------------


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> label) and edges (source, target, label) as real DOT parsers read them: pydot and
    Graphviz's `dot`, each when installed (both must agree); neither skips locally and fails in CI."""
    parsed = [parse(text) for parse in (_pydot, _graphviz) if parse is not None]
    if not parsed:
        if os.environ.get("CI") == "true":
            pytest.fail("no DOT parser is installed; CI must install pydot (the test extras)")
        pytest.skip("no DOT parser: pip install pydot (or apt-get install graphviz)")
    for other in parsed[1:]:
        assert (other[0], sorted(other[1])) == (parsed[0][0], sorted(parsed[0][1]))
    return parsed[0]


DotParser = Callable[[str], tuple[dict[str, str], list[tuple[str, str, str]]]]


def _parse_with_pydot(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    with warnings.catch_warnings():  # pydot 4 calls pyparsing's deprecated camelCase API
        warnings.simplefilter("ignore", DeprecationWarning)
        pydot: Any = importlib.import_module("pydot")  # untyped use: mypy passes whether or not it is installed
        graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1, "pydot could not parse the DOT"
    (graph,) = graphs
    nodes = {_dot_unquote(n.get_name()): _dot_unquote(n.get("label")) for n in graph.get_nodes()
             if n.get_name() not in ("node", "edge", "graph")}
    edges = [(_dot_unquote(e.get_source()), _dot_unquote(e.get_destination()), _dot_unquote(e.get("label")))
             for e in graph.get_edges()]
    return nodes, edges


def _parse_with_graphviz(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    dot = shutil.which("dot")
    assert dot is not None
    result = subprocess.run([dot, "-Tjson0"], input=text, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    objects = data.get("objects", [])
    nodes = {o["name"]: _esc_string(o["label"]) for o in objects}
    edges = [(objects[e["tail"]]["name"], objects[e["head"]]["name"], _esc_string(e["label"]))
             for e in data.get("edges", [])]
    return nodes, edges


def _esc_string(label: str) -> str:
    """A label as Graphviz draws it (escString): `\\` is one backslash."""
    return label.replace("\\\\", "\\")


_pydot: DotParser | None = _parse_with_pydot if importlib.util.find_spec("pydot") is not None else None
_graphviz: DotParser | None = _parse_with_graphviz if shutil.which("dot") is not None else None


def _dot_unquote(value: Any) -> str:
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


# --- the commands -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_graph_prints_mermaid_that_parses_and_matches_the_model(profile: str,
                                                                 rendered: dict[str, list[Manifest]]) -> None:
    result = invoke("graph", "--profile", profile)
    assert result.exit_code == 0, result.output
    nodes, edges = parse_mermaid(result.stdout)
    graph = build(rendered[profile])
    assert nodes == {n.id: n.label for n in graph.nodes}
    assert edges == [(e.source, e.target, e.label) for e in graph.edges]
    assert f"%% leanvibe-stack {profile}: derived from the rendered objects" in result.stdout


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_graph_prints_dot_that_parses_and_matches_the_model(profile: str,
                                                            rendered: dict[str, list[Manifest]]) -> None:
    result = invoke("graph", "--profile", profile, "--format", "dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f'digraph "leanvibe-stack {profile}" {{\n')
    nodes, edges = parse_dot(result.stdout)
    graph = build(rendered[profile])
    assert nodes == {n.id: n.label for n in graph.nodes}
    assert sorted(edges) == sorted((e.source, e.target, e.label) for e in graph.edges)


def test_graph_is_deterministic() -> None:
    first, second = invoke("graph", "-p", "production"), invoke("graph", "-p", "production", "-f", "mermaid")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout
    assert invoke("graph", "-p", "production", "-f", "dot").stdout == invoke("graph", "-p", "production",
                                                                             "-f", "dot").stdout


def test_graph_reads_the_profile_from_the_environment() -> None:
    result = invoke("graph", env={"LEANVIBE_PROFILE": "staging"})
    assert result.exit_code == 0, result.output
    assert "%% leanvibe-stack staging" in result.stdout


def test_graph_usage_errors_exit_2() -> None:
    assert invoke("graph").exit_code == 2
    assert invoke("graph", "-p", "production", "--format", "svg").exit_code == 2
    unknown = invoke("graph", "-p", "no-such-profile")
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output


def test_the_production_diagram(production: list[Manifest]) -> None:
    """The edges an operator expects, by name: a regression guard on the whole picture."""
    graph = build(production)
    found = {(e.source, e.verb, e.target) for e in graph.edges}
    assert {
        ("prometheus", SCRAPES, "prometheus"),
        ("prometheus", SCRAPES, "node_exporter"),
        ("prometheus", SCRAPES, "kube_state_metrics"),
        ("prometheus", SCRAPES, "grafana"),  # kubernetes-pods: its pods carry prometheus.io/scrape
        ("prometheus", SCRAPES, "job_leanvibe_backend"),
        ("prometheus", SCRAPES, "job_aws_resources"),
        ("prometheus", ALERTS, "alertmanager"),
        ("loki", ALERTS, "alertmanager"),
        ("fluent_bit", PUSHES, "loki"),
        ("grafana", QUERIES, "thanos_query"),  # Thanos on: Query deduplicates the replicas
        ("thanos_query", QUERIES, "prometheus"),  # the sidecars' StoreAPI
        ("grafana", QUERIES, "loki"),
        ("grafana", QUERIES, "alertmanager"),
        ("alertmanager", NOTIFIES, "receiver_pagerduty_critical"),
    } <= found
    assert graph.node("receiver_security_team").label == "receiver security-team: slack, pagerduty, email"
    assert graph.node("job_aws_resources").label == "job aws-resources (ec2_sd)"
    assert graph.node("node_exporter").label == "node-exporter (DaemonSet)"


# --- edges are the render's Services and URLs ---------------------------------------------------------------


def _service_of_url(url: str, client_namespace: str) -> tuple[str, str]:
    """(namespace, name) of an in-cluster URL, read independently of the engine: name[.namespace[.svc...]]."""
    host = urlsplit(url).hostname or ""
    labels = host.split(".")
    if labels[0].startswith("_"):  # an SRV name: _port._proto.service...
        labels = labels[2:]
    return (labels[1] if len(labels) > 1 else client_namespace), labels[0]


def _workloads_behind(bundle: Bundle, namespace: str, name: str) -> list[Manifest]:
    service = bundle.get("Service", namespace, name)
    assert service is not None, f"Service {namespace}/{name} is not rendered"
    selector = service.obj["spec"]["selector"]
    owners = {id(p.owner): p.owner for p in bundle.pods
              if p.namespace == namespace and all(p.labels.get(k) == v for k, v in selector.items())}
    assert owners, f"Service {namespace}/{name} selects no rendered workload"
    return list(owners.values())


def _has_edge(graph: Graph, source: Manifest, target: Manifest, verb: str, via: str | None = None) -> Edge:
    source_id = graph.workload_id(source.kind, source.namespace, source.name)
    target_id = graph.workload_id(target.kind, target.namespace, target.name)
    assert source_id and target_id
    matches = [e for e in graph.edges_from(source_id, verb) if e.target == target_id and (via is None or e.via == via)]
    assert matches, f"no {verb!r} edge {source_id} -> {target_id} (via {via})"
    return matches[0]


def _config(bundle: Bundle, program: str) -> tuple[Manifest, dict[str, Any], str]:
    config = bundle.config(program)
    assert config is not None
    return config.pod.owner, config.data, config.pod.namespace


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_every_grafana_datasource_url_gives_a_queries_edge(profile: str, rendered: dict[str, list[Manifest]]) -> None:
    bundle = Bundle(rendered[profile])
    graph = build(bundle)
    datasources = bundle.grafana_datasources
    assert datasources
    for mounted, data in datasources:
        grafana = next(p.owner for p in bundle.pods if p.owner.name == "grafana")
        assert mounted.source is not None
        for datasource in data["datasources"]:
            namespace, name = _service_of_url(datasource["url"], mounted.source.namespace)
            for workload in _workloads_behind(bundle, namespace, name):
                edge = _has_edge(graph, grafana, workload, QUERIES, f"Service {namespace}/{name}")
                assert edge.detail == datasource["name"]


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_the_log_agent_outputs_give_one_pushes_edge_to_loki(profile: str,
                                                            rendered: dict[str, list[Manifest]]) -> None:
    bundle = Bundle(rendered[profile])
    graph = build(bundle)
    agent, data, namespace = _config(bundle, "fluent-bit")
    loki, _, _ = _config(bundle, "loki")
    outputs = data["pipeline"]["outputs"]
    for output in outputs:
        service_namespace, name = _service_of_url(f"http://{output['host']}:{output['port']}", namespace)
        assert _workloads_behind(bundle, service_namespace, name) == [loki]
    edge = _has_edge(graph, agent, loki, PUSHES, f"Service {service_namespace}/{name}")
    assert edge.detail == ", ".join(output["alias"] for output in outputs)


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_prometheus_and_the_loki_ruler_alert_the_alertmanager(profile: str,
                                                              rendered: dict[str, list[Manifest]]) -> None:
    bundle = Bundle(rendered[profile])
    graph = build(bundle)
    prometheus, data, namespace = _config(bundle, "prometheus")
    alertmanager, am_data, _ = _config(bundle, "alertmanager")
    for am in data["alerting"]["alertmanagers"]:
        for dns in am["dns_sd_configs"]:
            for name in dns["names"]:
                service_namespace, service = _service_of_url(f"http://{name}", namespace)
                assert _workloads_behind(bundle, service_namespace, service) == [alertmanager]
                _has_edge(graph, prometheus, alertmanager, ALERTS, f"Service {service_namespace}/{service}")
    loki, loki_data, loki_namespace = _config(bundle, "loki")
    service_namespace, service = _service_of_url(loki_data["ruler"]["alertmanager_url"], loki_namespace)
    assert _workloads_behind(bundle, service_namespace, service) == [alertmanager]
    _has_edge(graph, loki, alertmanager, ALERTS, f"Service {service_namespace}/{service}")
    am_id = graph.workload_id(alertmanager.kind, alertmanager.namespace, alertmanager.name)
    assert am_id
    notified = [graph.node(e.target).label for e in graph.edges_from(am_id, NOTIFIES)]
    assert [label.split(":")[0] for label in notified] == [f"receiver {r['name']}" for r in am_data["receivers"]]


def test_static_scrape_targets_resolve_to_the_workload_behind_their_service(production: list[Manifest]) -> None:
    bundle = Bundle(production)
    graph = build(bundle)
    prometheus, data, namespace = _config(bundle, "prometheus")
    # Probe jobs' targets are parameters, not addresses (test_blackbox.py covers their edges).
    statics = [(job["job_name"], target) for job in data["scrape_configs"] if not is_probe_job(job)
               for static in job.get("static_configs", []) for target in static["targets"]]
    assert ("kube-state-metrics", "kube-state-metrics:8080") in statics
    for job, target in statics:
        host = target.rsplit(":", 1)[0]
        if host == "localhost":
            _has_edge(graph, prometheus, prometheus, SCRAPES)
            continue
        for workload in _workloads_behind(bundle, namespace, host):
            edge = _has_edge(graph, prometheus, workload, SCRAPES, f"Service {namespace}/{host}")
            assert edge.detail == f"job {job}"


# --- a mutated render: edges follow the objects ----------------------------------------------------------


def _without(manifests: list[Manifest], *drop: tuple[str, str]) -> list[Manifest]:
    kept = [m for m in manifests if (m.kind, m.name) not in drop]
    assert len(kept) == len(manifests) - len(drop)
    return kept


@pytest.mark.parametrize("drop", [
    [("DaemonSet", "fluent-bit")],
    [("ConfigMap", "fluent-bit-config")],
    [("DaemonSet", "fluent-bit"), ("ConfigMap", "fluent-bit-config")],
])
def test_removing_the_log_agent_removes_the_pushes_edge(production: list[Manifest],
                                                        drop: list[tuple[str, str]]) -> None:
    assert [e for e in build(production).edges if e.verb == PUSHES]
    mutated = build(_without(production, *drop))
    assert [e for e in mutated.edges if e.verb == PUSHES] == []
    assert [e for e in mutated.edges if e.verb == QUERIES]  # the rest of the picture stays


def test_an_unrendered_loki_service_leaves_the_push_pointing_outside(production: list[Manifest]) -> None:
    graph = build(_without(production, ("Service", "loki")))
    (push,) = [e for e in graph.edges if e.verb == PUSHES]
    assert graph.node(push.target).kind == "external"
    assert push.via == ""
    assert graph.node(push.target).label == "http://loki.leanvibe-monitoring.svc.cluster.local:3100/loki/api/v1/push"
    assert push.detail == "pods, backend, neo4j, redis, syslog, journal"


def test_removing_alerting_from_prometheus_removes_its_alerts_edge(production: list[Manifest]) -> None:
    mutated = []
    for manifest in production:
        if manifest.kind == "ConfigMap" and manifest.name == "prometheus-config":
            config = yamlio.load(manifest.obj["data"]["prometheus.yml"])
            del config["alerting"]
            obj = {**manifest.obj, "data": {"prometheus.yml": yamlio.dump(config)}}
            manifest = Manifest(obj, manifest.component, manifest.source)
        mutated.append(manifest)
    edges = build(mutated).edges
    assert [(e.source, e.target) for e in edges if e.verb == ALERTS] == [("loki", "alertmanager")]


# --- the engine's pieces -------------------------------------------------------------------------------------


def _service(name: str, namespace: str, selector: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> Manifest:
    spec: dict[str, Any] = {"ports": [{"name": "http", "port": 80}]}
    if selector:
        spec["selector"] = selector
    return Manifest({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
                     "spec": spec}, "test", "test")


def _deployment(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str] | None = None,
                image: str = "example/app:1") -> Manifest:
    return Manifest({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
                     "spec": {"selector": {"matchLabels": labels}, "template": {
                         "metadata": {"labels": labels, "annotations": annotations or {}},
                         "spec": {"containers": [{"name": name, "image": image,
                                                  "ports": [{"name": "http", "containerPort": 8080}]}]}}}},
                    "test", "test")


def test_resolve_service_reads_cluster_dns_names() -> None:
    web, headless = _service("web", "apps", {"app": "web"}), _service("web-headless", "apps", {"app": "web"})
    bundle = Bundle([web, headless, _deployment("web", "apps", {"app": "web"})])
    assert resolve_service(bundle, "web", "apps") is web
    assert resolve_service(bundle, "web", "other") is None
    assert resolve_service(bundle, "web.apps", "other") is web
    assert resolve_service(bundle, "web.apps.svc", "other") is web
    assert resolve_service(bundle, "web.apps.svc.cluster.local", "other") is web
    assert resolve_service(bundle, "web-0.web-headless.apps.svc.cluster.local", "other") is headless
    assert resolve_service(bundle, "web-0.web-headless", "apps") is headless
    assert resolve_service(bundle, "_http._tcp.web.apps.svc.cluster.local", "other") is web
    assert resolve_service(bundle, "web.apps.svc.k8s.example", "other") is web  # a custom cluster domain
    assert resolve_service(bundle, "events.pagerduty.com", "apps") is None
    assert resolve_service(bundle, "svc-web.apps.example.com", "apps") is None  # `.svc` inside a label
    assert resolve_service(bundle, "web.svc.example.com", "apps") is None
    assert resolve_service(bundle, "", "apps") is None


def test_kubernetes_sd_runs_keep_and_drop_over_the_rendered_objects() -> None:
    scraped = _deployment("scraped", "apps", {"app": "a"}, {"prometheus.io/scrape": "true"})
    quiet = _deployment("quiet", "apps", {"app": "b"})
    elsewhere = _deployment("elsewhere", "other", {"app": "c"}, {"prometheus.io/scrape": "true"})
    service = _service("svc-a", "apps", {"app": "a"})
    bundle = Bundle([scraped, quiet, elsewhere, service])
    keep_annotated = [{"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "regex": "true",
                       "action": "keep"}]
    assert discovered_workloads(bundle, {"role": "pod"}, keep_annotated, "mon") == [scraped, elsewhere]
    assert discovered_workloads(bundle, {"role": "pod", "namespaces": {"names": ["apps"]}}, keep_annotated,
                                "mon") == [scraped]
    assert discovered_workloads(bundle, {"role": "pod", "namespaces": {"own_namespace": True}}, keep_annotated,
                                "other") == [elsewhere]
    drop_b = [{"source_labels": ["__meta_kubernetes_pod_label_app"], "regex": "b", "action": "drop"}]
    assert discovered_workloads(bundle, {"role": "pod"}, drop_b, "mon") == [scraped, elsewhere]
    by_service = [{"source_labels": ["__meta_kubernetes_namespace", "__meta_kubernetes_service_name"],
                   "regex": "apps;svc-.*", "action": "keep"}]
    assert discovered_workloads(bundle, {"role": "endpoints"}, by_service, "mon") == [scraped]
    assert discovered_workloads(bundle, {"role": "service"}, by_service, "mon") == [scraped]
    assert discovered_workloads(bundle, {"role": "pod"}, [{"source_labels": ["__meta_kubernetes_pod_name"],
                                                           "regex": "x", "action": "keep"}], "mon") is None
    renamed = [{"source_labels": ["__meta_kubernetes_pod_label_app"], "target_label": "__meta_kubernetes_pod_label_app",
                "replacement": "z"}, *drop_b]
    assert discovered_workloads(bundle, {"role": "pod"}, renamed, "mon") is None  # a rewritten label is unknown
    assert discovered_workloads(bundle, {"role": "node"}, [], "mon") is None


def _scrape_bundle(scrape_configs: list[dict[str, Any]], extra: list[Manifest]) -> Bundle:
    prometheus_yml = yamlio.dump({"scrape_configs": scrape_configs})
    config_map = Manifest({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p", "namespace": "mon"},
                           "data": {"prometheus.yml": prometheus_yml}}, "test", "test")
    prometheus = _deployment("prom", "mon", {"app": "prom"}, image="prom/prometheus:v2.45.0")
    spec = prometheus.obj["spec"]["template"]["spec"]
    spec["containers"][0].update({"args": ["--config.file=/etc/p/prometheus.yml"],
                                  "volumeMounts": [{"name": "config", "mountPath": "/etc/p"}]})
    spec["volumes"] = [{"name": "config", "configMap": {"name": "p"}}]
    return Bundle([config_map, prometheus, *extra])


def test_scrape_jobs_outside_the_render_become_job_nodes() -> None:
    web = _deployment("web", "mon", {"app": "web"})
    bundle = _scrape_bundle([
        {"job_name": "web", "static_configs": [{"targets": ["web:80", "db.example.com:5432"]}]},
        {"job_name": "nodes", "kubernetes_sd_configs": [{"role": "node"}]},
        {"job_name": "files", "file_sd_configs": [{"files": ["/x.json"]}]},
    ], [web, _service("web", "mon", {"app": "web"})])
    graph = build(bundle)
    scrapes = [(e.target, e.label) for e in graph.edges if e.verb == SCRAPES]
    assert scrapes == [("web", "scrapes (job web)"), ("job_web", "scrapes"), ("job_nodes", "scrapes"),
                       ("job_files", "scrapes")]
    assert graph.node("job_web").label == "job web (db.example.com:5432)"
    assert graph.node("job_nodes").label == "job nodes (kubernetes_sd: node)"
    assert graph.node("job_files").label == "job files (file_sd)"
    assert graph.node("prom").label == "prom (Deployment)"


def test_ids_are_sanitized_unique_and_never_keywords() -> None:
    manifests = [_deployment("end", "a", {"app": "1"}), _deployment("end", "b", {"app": "2"}),
                 _deployment("9lives", "a", {"app": "3"}), _deployment("x.y", "a", {"app": "4"}),
                 _deployment("x-y", "a", {"app": "5"})]
    graph = build(manifests)
    assert [n.id for n in graph.nodes] == ["n_end", "b_end", "n_9lives", "x_y", "a_x_y"]
    nodes, _ = parse_mermaid(to_mermaid(graph))
    assert list(nodes) == [n.id for n in graph.nodes]


def test_labels_are_escaped_for_mermaid_and_dot() -> None:
    graph = Graph([Node("a", 'say "hi" #1', "external", ("external", "a")),
                   Node("b", "back\\slash", "external", ("external", "b"))],
                  [Edge("a", "b", QUERIES, 'ds "x"')])
    nodes, edges = parse_mermaid(to_mermaid(graph, "title"))
    assert unescape_mermaid(nodes["a"]) == 'say "hi" #1'
    assert unescape_mermaid(edges[0][2]) == 'queries (ds "x")'
    dot_nodes, dot_edges = parse_dot(to_dot(graph, 'odd "title"'))
    assert dot_nodes == {"a": 'say "hi" #1', "b": "back\\slash"}
    assert dot_edges == [("a", "b", 'queries (ds "x")')]
