"""`leanvibe-stack graph`: who scrapes, pushes to, queries and alerts whom, as Mermaid or Graphviz DOT.

The diagram is derived from the rendered objects and the configs their pods load
(`leanvibe_stack.graph`), never drawn by hand.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from leanvibe_stack.commands.options import ProfileOption, ProfilesDirOption, SetOption, required_profile


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


def graph(
    profile: ProfileOption = None,
    profiles_dir: ProfilesDirOption = None,
    overrides: SetOption = None,
    output_format: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Mermaid flowchart or Graphviz digraph.")
    ] = GraphFormat.mermaid,
) -> None:
    """Print a diagram of the rendered stack: who scrapes, pushes logs or traces to, queries, alerts and notifies whom.

    Edges come from the configs the pods load (scrape jobs, alerting, Fluent Bit's Loki outputs, Grafana
    datasources, the Loki ruler, Alertmanager receivers), each address resolved to the rendered
    Service and the workload behind it. A scrape job whose targets are outside the render is a
    node named after the job. Paste Mermaid into a Markdown ```mermaid block; pipe DOT to
    `dot -Tsvg`.
    """
    from leanvibe_stack import api
    from leanvibe_stack.graph import build, to_dot, to_mermaid

    rendered = api.render_profile(required_profile(profile), profiles_dir, validate=False, overrides=overrides)
    built = build(rendered.manifests)
    title = f"leanvibe-stack {rendered.name}"
    if output_format is GraphFormat.dot:
        sys.stdout.write(to_dot(built, title))
    else:
        sys.stdout.write(to_mermaid(built, f"{title}: derived from the rendered objects"))


def register(app: typer.Typer) -> None:
    """Add `graph` to the CLI."""
    app.command()(graph)
