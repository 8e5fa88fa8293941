"""The graph as Mermaid or Graphviz DOT text."""

from __future__ import annotations

from leanvibe_stack.graph.model import Graph


def to_mermaid(graph: Graph, title: str = "") -> str:
    """A Mermaid `flowchart LR`: `id["label"]` nodes and `a -->|"label"| b` edges, labels quoted."""
    lines = ["flowchart LR"]
    if title:
        lines.append(f"    %% {title}")
    lines += [f'    {node.id}["{_mermaid_text(node.label)}"]' for node in graph.nodes]
    lines += [f'    {e.source} -->|"{_mermaid_text(e.label)}"| {e.target}' for e in graph.edges]
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace("#", "#35;").replace('"', "#quot;").replace("\n", " ")


_DOT_SHAPES = {"workload": "box", "job": "ellipse", "receiver": "note", "external": "box", "service": "box"}


def to_dot(graph: Graph, title: str = "stack") -> str:
    """A Graphviz `digraph`: every id and label quoted."""
    lines = [f"digraph {_dot_text(title)} {{", "    rankdir=LR;", "    node [shape=box];"]
    for node in graph.nodes:
        style = ', style="dashed"' if node.kind in ("external", "job") else ""
        lines.append(f"    {_dot_text(node.id)} [label={_dot_text(node.label)}, "
                     f"shape={_DOT_SHAPES[node.kind]}{style}];")
    for edge in graph.edges:
        tooltip = f", tooltip={_dot_text(edge.via)}" if edge.via else ""
        lines.append(f"    {_dot_text(edge.source)} -> {_dot_text(edge.target)} [label={_dot_text(edge.label)}"
                     f"{tooltip}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
