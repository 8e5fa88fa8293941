"""Safe to apply (issue 12): selectors that never depend on a profile's file name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def selectors(manifests: list[Manifest]) -> dict[tuple[str, str], dict[str, Any]]:
    """The labels every workload's and every Service's selector matches, by (kind, name)."""
    found = {(m.kind, m.name): m.obj["spec"]["selector"]["matchLabels"] for m in manifests if m.kind in WORKLOAD_KINDS}
    found |= {(m.kind, m.name): m.obj["spec"]["selector"] for m in manifests if m.kind == "Service"}
    return found


def render_file(path: Path, *overrides: str) -> list[Manifest]:
    return render_stack(load_profile(str(path), overrides=list(overrides)).stack)


def test_a_profile_that_only_extends_production_renders_its_selectors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, production: list[Manifest]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "us-east-1-main.yaml").write_text("extends: production\n")
    renamed = render_file(tmp_path / "us-east-1-main.yaml")
    assert len(selectors(production)) == 8 + 10  # workloads, Services
    assert selectors(renamed) == selectors(production)
    assert [m.obj for m in renamed] == [m.obj for m in production]  # and every other byte


def test_the_instance_is_the_environment_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text("extends: production\nglobal: {environment: eu}\n")
    eu = selectors(render_file(tmp_path / "eu.yaml"))
    assert eu[("StatefulSet", "prometheus")] == {"app.kubernetes.io/name": "prometheus",
                                                 "app.kubernetes.io/instance": "eu"}
    pinned = selectors(render_file(tmp_path / "eu.yaml", "global.instance=leanvibe"))
    assert {labels["app.kubernetes.io/instance"] for labels in pinned.values()} == {"leanvibe"}
