"""`leanvibe-stack graph`: who scrapes, pushes to, queries and alerts whom, as Mermaid or Graphviz DOT.

The diagram is derived from the rendered objects and the configs their pods load
(`leanvibe_stack.topology_graph`), never drawn by hand.
"""

# No `from __future__ import annotations`: typer reads the option types of the command defined inside
# `register`, where the shared option aliases are local names.
from enum import StrEnum
from typing import Annotated

import typer


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


def register(app: typer.Typer) -> None:
    """Add `graph` to the CLI."""
    from leanvibe_stack.cli import ProfileOption, ProfilesDirOption, SetOption, _usage, reports_errors

    @app.command()
    @reports_errors
    def graph(
        profile: ProfileOption = None,
        profiles_dir: ProfilesDirOption = None,
        overrides: SetOption = None,
        output_format: Annotated[
            GraphFormat, typer.Option("--format", "-f", help="Mermaid flowchart or Graphviz digraph.")
        ] = GraphFormat.mermaid,
    ) -> None:
        """Print a diagram of the rendered stack: who scrapes, pushes logs to, queries, alerts and notifies whom.

        Edges come from the configs the pods load (scrape jobs, alerting, Promtail clients, Grafana
        datasources, the Loki ruler, Alertmanager receivers), each address resolved to the rendered
        Service and the workload behind it. A scrape job whose targets are outside the render is a
        node named after the job. Paste Mermaid into a Markdown ```mermaid block; pipe DOT to
        `dot -Tsvg`.
        """
        import sys

        from leanvibe_stack import api, topology_graph

        if profile is None:
            _usage("give --profile NAME (or set LEANVIBE_PROFILE)")
            return
        rendered = api.render_profile(profile, profiles_dir, validate=False, overrides=overrides)
        built = topology_graph.build(rendered.manifests)
        title = f"leanvibe-stack {rendered.name}"
        if output_format is GraphFormat.dot:
            sys.stdout.write(topology_graph.to_dot(built, title))
        else:
            sys.stdout.write(topology_graph.to_mermaid(built, f"{title}: derived from the rendered objects"))
