"""The diagram's values: nodes, the verbs of its edges, edges, the graph."""

from __future__ import annotations

from dataclasses import dataclass

SCRAPES, ALERTS, PUSHES, QUERIES, NOTIFIES = "scrapes", "alerts", "pushes logs", "queries", "notifies"
PROBES = "probes"
TRACES = "pushes traces"
BLOCKS = "stores blocks"
SERVES = "serves"  # an Ingress host, to the workloads behind its Service
VERBS = (SCRAPES, PROBES, ALERTS, PUSHES, TRACES, QUERIES, BLOCKS, NOTIFIES, SERVES)
NodeKey = tuple[str, ...]  # ("workload", kind, namespace, name) | ("job", owner, job) | ("receiver", name) | ...


@dataclass(frozen=True)
class Node:
    """One box of the diagram."""

    id: str  # unique, [A-Za-z_][A-Za-z0-9_]*: safe as a Mermaid and a DOT id
    label: str
    kind: str  # "workload" | "job" | "receiver" | "external" | "service"
    key: NodeKey


@dataclass(frozen=True)
class Edge:
    """`source --verb--> target`; `detail` says which job/datasource/URL, `via` which Service it resolved to."""

    source: str
    target: str
    verb: str
    detail: str = ""
    via: str = ""  # "Service <namespace>/<name>" when an address resolved to a rendered Service

    @property
    def label(self) -> str:
        return f"{self.verb} ({self.detail})" if self.detail else self.verb


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def workload_id(self, kind: str, namespace: str, name: str) -> str | None:
        """The id of a rendered workload's node, if the graph has one."""
        key = ("workload", kind, namespace, name)
        return next((n.id for n in self.nodes if n.key == key), None)

    def edges_from(self, source: str, verb: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.source == source and (verb is None or e.verb == verb)]
