"""Node agents: on every node, whatever its taints, and each looking only at its own node."""

from __future__ import annotations

import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.pods import Toleration
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from tests.conftest import PROFILES, find

AGENTS = ("fluent-bit", "node-exporter")


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
@pytest.mark.parametrize("agent", AGENTS)
def test_node_agents_tolerate_every_taint(rendered: dict[str, list[Manifest]], profile: str, agent: str) -> None:
    spec = find(rendered[profile], "DaemonSet", agent)["spec"]["template"]["spec"]
    assert spec["tolerations"] == [{"operator": "Exists"}]


def test_tolerating_everything_is_the_model_default_too() -> None:
    assert Toleration().model_dump(exclude_none=True) == {"operator": "Exists"}


def test_a_profile_narrows_the_tolerations() -> None:
    narrowed = '[{"key": "dedicated", "operator": "Equal", "value": "logging", "effect": "NoSchedule"}]'
    stack = load_profile("production", PROFILES, [f"node_exporter.tolerations={narrowed}"]).stack
    spec = find(render_stack(stack), "DaemonSet", "node-exporter")["spec"]["template"]["spec"]
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "logging",
                                    "effect": "NoSchedule"}]


def test_the_log_agent_reads_only_its_own_nodes_pods(production: list[Manifest]) -> None:
    # It tails the node's /var/log/containers (the files of this node's pods) and asks the API server for
    # one pod at a time: no list or watch that would show it the pods of other nodes.
    daemonset = find(production, "DaemonSet", "fluent-bit")["spec"]["template"]["spec"]
    assert {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}} in daemonset["volumes"]
    [role] = [m.obj for m in production if m.kind == "ClusterRole" and m.name.endswith("-fluent-bit")]
    assert [verb for rule in role["rules"] for verb in rule["verbs"]] == ["get"]
