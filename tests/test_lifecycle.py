"""Lifecycle of the stateful workloads: flushing on stop, cheap starts, probes that let WAL replay finish,
and no CPU throttling of the TSDB workloads."""

from __future__ import annotations

from typing import Any

import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.workload import MIN_STARTUP_SECONDS
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from tests.conftest import PROFILES, find

GRACE = {"prometheus": 600, "loki": 300, "alertmanager": 120, "jaeger": 60}
VOLUMES = ("prometheus", "loki", "alertmanager")
TSDB = ("prometheus", "loki")


def pod(manifests: list[Manifest], name: str) -> dict[str, Any]:
    return dict(find(manifests, "StatefulSet", name)["spec"]["template"]["spec"])


def main_container(manifests: list[Manifest], name: str) -> dict[str, Any]:
    [container] = [c for c in pod(manifests, name)["containers"] if c["name"] == name]
    return dict(container)


@pytest.mark.parametrize("name, seconds", GRACE.items())
def test_stateful_pods_get_time_to_flush(production: list[Manifest], name: str, seconds: int) -> None:
    assert pod(production, name)["terminationGracePeriodSeconds"] == seconds


def test_the_grace_period_is_a_profile_setting() -> None:
    stack = load_profile("production", PROFILES, ["prometheus.termination_grace_period_seconds=900"]).stack
    assert pod(render_stack(stack), "prometheus")["terminationGracePeriodSeconds"] == 900


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
@pytest.mark.parametrize("name", VOLUMES)
def test_volumes_are_not_chowned_at_every_start(rendered: dict[str, list[Manifest]], profile: str,
                                                name: str) -> None:
    assert pod(rendered[profile], name)["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"


def test_jaeger_skips_the_chown_only_where_it_has_a_volume(rendered: dict[str, list[Manifest]]) -> None:
    assert pod(rendered["production"], "jaeger")["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
    assert "fsGroupChangePolicy" not in pod(rendered["development"], "jaeger")["securityContext"]


@pytest.mark.parametrize("name, path", [("prometheus", "/-/ready"), ("loki", "/ready")])
def test_a_startup_probe_covers_wal_replay_before_liveness_runs(production: list[Manifest], name: str,
                                                                 path: str) -> None:
    startup = main_container(production, name)["startupProbe"]
    assert startup["httpGet"] == {"path": path, "port": "http"}
    budget = startup["initialDelaySeconds"] + startup["periodSeconds"] * startup["failureThreshold"]
    assert budget >= MIN_STARTUP_SECONDS
    assert budget >= 600  # the shipped profiles give replay 10 min (Loki) and 15 min (Prometheus)


def test_lokis_liveness_probe_does_not_depend_on_the_ring(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        container = main_container(manifests, "loki")
        assert container["livenessProbe"]["httpGet"]["path"] == "/loki/api/v1/status/buildinfo"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"


@pytest.mark.parametrize("profile", ["production", "staging"])
@pytest.mark.parametrize("name", TSDB)
def test_tsdb_workloads_request_cpu_without_a_cpu_limit(rendered: dict[str, list[Manifest]], profile: str,
                                                        name: str) -> None:
    resources = main_container(rendered[profile], name)["resources"]
    assert "cpu" in resources["requests"]
    assert "cpu" not in resources["limits"]
    assert "memory" in resources["limits"]


def test_a_profile_may_set_a_cpu_limit(rendered: dict[str, list[Manifest]]) -> None:
    # Development keeps one (a small shared cluster), so the setting renders when present.
    assert main_container(rendered["development"], "prometheus")["resources"]["limits"] == {"cpu": "500m",
                                                                                           "memory": "2Gi"}


def test_other_workloads_keep_their_cpu_limits(production: list[Manifest]) -> None:
    assert main_container(production, "alertmanager")["resources"]["limits"]["cpu"] == "200m"
