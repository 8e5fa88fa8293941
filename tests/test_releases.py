"""Supported software only (issue 13): the release catalogue, the end-of-life check and image digests."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from leanvibe_stack.errors import InputError
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.validate import releases
from leanvibe_stack.validate.bundle import Bundle
from tests.conftest import PROFILES, find, invoke

CHECK_DAY = datetime.date(2026, 12, 5)


def pod_with(image: str) -> Bundle:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "ns"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
               "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "x", "image": image}]}}}}
    return Bundle([Manifest(obj, "test", "test")])


@pytest.mark.parametrize("image, project, version", [
    ("docker.io/prom/prometheus:v2.45.0", "prometheus", "2.45"),
    ("quay.io/prometheus/prometheus:v3.13.2@sha256:" + "a" * 64, "prometheus", "3.13"),
    ("registry.example.com:5000/prom/alertmanager:v0.34.0", "alertmanager", "0.34"),
    ("registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0", "kube-state-metrics", "2.20"),
    ("grafana/grafana:13.2.3-ubuntu", "grafana", "13.2"),
    ("ghcr.io/fluent/fluent-bit:5.1.2", "fluent-bit", "5.1"),
    ("docker.io/library/redis:7.2", None, "7.2"),
    ("docker.io/grafana/loki", "loki", None),
])
def test_images_are_read_as_project_and_release_line(image: str, project: str | None, version: str | None) -> None:
    found, line = releases.identify(image)
    assert (found.name if found else None, line) == (project, version)


def test_every_shipped_image_is_on_a_supported_line(rendered: dict[str, list[Manifest]]) -> None:
    for profile, manifests in rendered.items():
        assert releases.check(Bundle(manifests), CHECK_DAY) == [], profile


@pytest.mark.parametrize("image", [
    # The company guide's 2023 pins, which this release moved off.
    "prom/prometheus:v2.45.0", "prom/alertmanager:v0.25.0", "grafana/loki:2.9.0", "grafana/promtail:2.9.0",
    "grafana/grafana:10.4.2", "prom/node-exporter:v1.6.1",
    "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.0",
])
def test_the_guide_pins_are_end_of_life(image: str) -> None:
    [finding] = releases.check(pod_with(image), CHECK_DAY)
    assert finding.check == "image.end-of-life" and "has been unsupported since" in finding.message


def test_the_check_date_decides() -> None:
    assert releases.check(pod_with("grafana/loki:2.9.0"), datetime.date(2025, 11, 7)) == []  # its last patch
    [old_loki] = releases.check(pod_with("grafana/loki:2.9.0"), datetime.date(2025, 11, 8))
    assert "loki 2.9 has been unsupported since 2025-11-07" in old_loki.message
    [at_check_day] = releases.check(pod_with("grafana/loki:2.9.0"), CHECK_DAY)
    assert "supported: 3.6, 3.7" in at_check_day.message
    assert releases.check(pod_with("prom/prometheus:v3.13.0"), datetime.date(2027, 7, 31)) == []
    [expired] = releases.check(pod_with("prom/prometheus:v3.13.0"), datetime.date(2027, 8, 1))
    assert expired.check == "image.end-of-life"


def test_a_line_the_catalogue_does_not_know_is_reported() -> None:
    [finding] = releases.check(pod_with("quay.io/prometheus/prometheus:v9.1.0"), CHECK_DAY)
    assert finding.check == "image.unknown-version" and "prometheus 9.1 is not in the release catalogue" in \
        finding.message


def test_images_of_unknown_projects_are_left_alone() -> None:
    assert releases.check(pod_with("docker.io/library/redis:7.2"), CHECK_DAY) == []


def test_every_catalogue_line_has_a_source_and_each_project_a_current_line() -> None:
    for project in releases.catalogue():
        assert project.repositories, project.name
        assert all(line.source for line in project.lines.values()), project.name
        if project.name != "promtail":  # end of life for good: Fluent Bit replaces it
            assert any(line.end_of_support is None or line.end_of_support >= CHECK_DAY
                       for line in project.lines.values()), project.name


def test_the_date_comes_from_leanvibe_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(releases.TODAY_VARIABLE, "2030-01-02")
    assert releases.check_date() == datetime.date(2030, 1, 2)
    monkeypatch.setenv(releases.TODAY_VARIABLE, "next tuesday")
    with pytest.raises(InputError, match="LEANVIBE_TODAY='next tuesday' is not a date"):
        releases.check_date()
    monkeypatch.delenv(releases.TODAY_VARIABLE)
    assert releases.check_date() == datetime.date.today()


def test_a_bad_check_date_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke("validate", "--profile", "production", "--no-tools", env={"LEANVIBE_TODAY": "soon"})
    assert result.exit_code == 2 and "LEANVIBE_TODAY='soon' is not a date" in result.stderr


def test_an_image_digest_pins_the_bytes() -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    stack = load_profile("production", PROFILES, [f"prometheus.image.digest={digest}"]).stack
    statefulset = find(render_stack(stack), "StatefulSet", "prometheus")
    image = statefulset["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"quay.io/prometheus/prometheus:v3.13.2@{digest}"
    with pytest.raises(Exception, match="digest"):
        load_profile("production", PROFILES, ["prometheus.image.digest=sha256:abc"])


def test_an_image_finding_names_the_profile_line_of_the_pin(tmp_path: Path) -> None:
    from leanvibe_stack import api

    old_pin = tmp_path / "old-loki.yaml"
    old_pin.write_text(f"extends: {PROFILES / 'staging.yaml'}\n"
                       "loki:\n  image: {repository: grafana/loki, tag: 2.9.0}\n")
    report = api.validate_profile(str(old_pin), PROFILES, kube_version=None, run_tools=False, require_tools=False,
                                  tests=[])
    [loki] = [f for f in report.findings if f.check == "image.end-of-life" and f.object and f.object.name == "loki"]
    assert f"(profile: {old_pin}:3:" in loki.message
