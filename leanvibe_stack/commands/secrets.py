"""`leanvibe-stack secrets`: every Secret and key the rendered stack reads, and how to create them."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from leanvibe_stack.commands.options import (
    OutputFormat,
    ProfileOption,
    ProfilesDirOption,
    SetOption,
    required_profile,
)


def secrets(
    profile: ProfileOption = None,
    profiles_dir: ProfilesDirOption = None,
    overrides: SetOption = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", help="A table and kubectl commands, or a JSON array of keys.")
    ] = OutputFormat.text,
) -> None:
    """List every Secret and key the rendered stack mounts or references, and how to create each Secret.

    Derived from the rendered objects: env secretKeyRef, envFrom, Secret volumes (the keys of a whole
    mounted Secret are the files its configs name). Create the namespaces first
    (`render --only namespace`), then these Secrets, then the rest: pods wait in ContainerCreating
    until their Secrets exist.
    """
    from leanvibe_stack import api
    from leanvibe_stack.validate.bundle import Bundle
    from leanvibe_stack.validate.secrets import create_commands, secret_uses

    rendered = api.render_profile(required_profile(profile), profiles_dir, validate=False, overrides=overrides)
    uses = secret_uses(Bundle(rendered.manifests))
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps([{"namespace": u.namespace, "secret": u.secret, "key": u.key,
                                      "workload": u.workload, "use": u.use} for u in uses], indent=2) + "\n")
        return
    rows = [("NAMESPACE", "SECRET", "KEY", "WORKLOAD", "READ AS"),
            *((u.namespace, u.secret, u.key or "*", u.workload, u.use) for u in uses)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        sys.stdout.write("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[4]]) + "\n")
    if uses:
        sys.stdout.write("\n# Write each value to the file named below, then pipe to `kubectl apply -f -` (or your "
                         "secret manager):\n")
        sys.stdout.write("".join(f"{line}\n" for line in create_commands(uses)))


def register(app: typer.Typer) -> None:
    """Add `secrets` to the CLI."""
    app.command()(secrets)
