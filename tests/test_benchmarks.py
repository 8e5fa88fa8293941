"""The performance benchmark runs (no timing assertions) and its synthetic profiles are valid and complete."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.run import QUICK_SIZES, QUICK_SUITE, QUICK_UNKNOWN_RULES, console_script
from benchmarks.synthetic import alert_rule, copy_profiles, scrape_job, write_profile
from leanvibe_stack.api import render_profile
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.blackbox import probe_job_names
from leanvibe_stack.profiles import load_profile
from tests.conftest import PROFILES, REPO, find

SIZE = 500  # 500 rules (two rule ConfigMaps), 50 scrape jobs, 10 dashboards


@pytest.mark.long
def test_quick_benchmark_runs_and_prints_every_figure() -> None:
    if console_script("kubernetes-validate", "kubernetes_validate") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the kubernetes-validate CLI is not installed; CI must install the project's dependencies")
        pytest.skip("the kubernetes-validate CLI is not installed")
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick"], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = ["cold render production, unchanged inputs (render cache)",
               "cold render production, its file edited (render cache on)", "cold render production, render cache off",
               "cold --help", "cold --version", "peer: kubernetes-validate --strict",
               "warm render+validate production (in-process)", "growth 10x input",
               "validate production with the tools, cache off", "the same tool commands alone, one after the other",
               "validate production with the tools, unchanged re-run", "validate production --no-tools",
               f"validate FILE --no-tools, {QUICK_UNKNOWN_RULES:,} rules on unknown metrics",
               f"test suite ({QUICK_SUITE}, quick)"]
    for size in QUICK_SIZES:
        figures += [f"render+validate synthetic {size} rules", f"peak RSS synthetic {size} rules"]
    for figure in figures:
        assert f"| {figure}" in result.stdout, f"{figure!r} missing from:\n{result.stdout}"
    assert "FAILED" not in result.stdout
    assert result.stdout.startswith("machine: ")


def _rules(manifests: list[Manifest]) -> list[str]:
    shards = [m.obj["data"] for m in manifests if m.kind == "ConfigMap" and m.name.startswith("prometheus-rules")]
    return [rule["alert"] for data in shards for text in data.values()
            for group in yaml.safe_load(text)["groups"] for rule in group["rules"] if "alert" in rule]


def _jobs(manifests: list[Manifest]) -> list[str]:
    config = yaml.safe_load(find(manifests, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    return [job["job_name"] for job in config["scrape_configs"]]


def _dashboards(manifests: list[Manifest]) -> list[dict[str, Any]]:
    maps = [m.obj for m in manifests
            if m.kind == "ConfigMap" and m.obj["metadata"]["labels"].get("grafana_dashboard") == "1"]
    return [yaml.safe_load(text) for data in maps for key, text in data["data"].items() if key.endswith(".json")]


def test_synthetic_profile_is_valid_and_complete(tmp_path: Path) -> None:
    profiles = copy_profiles(tmp_path / "profiles")
    synthetic = write_profile(profiles, SIZE)
    assert (synthetic.rules, synthetic.jobs, synthetic.dashboards) == (SIZE, SIZE // 10, SIZE // 50)

    rendered = render_profile(synthetic.name, profiles)  # raises ValidationFailed on any error finding
    assert rendered.report is not None and not rendered.report.errors
    baseline = render_profile("production", PROFILES)
    assert baseline.report is not None
    # Known metrics and routed labels: no warning production itself does not have (metrics.unknown, ...).
    assert {f.check for f in rendered.report.warnings} <= {f.check for f in baseline.report.warnings}

    parent = load_profile("production", PROFILES).stack
    rules, jobs, dashboards = _rules(rendered.manifests), _jobs(rendered.manifests), _dashboards(rendered.manifests)
    assert len(rules) == len(set(rules)) == len(parent.prometheus.alert_rules()) + SIZE
    assert {alert_rule(i)[0] for i in range(SIZE)} <= set(rules)
    probes = probe_job_names(parent.blackbox_exporter)
    sidecar = 1 if parent.thanos is not None else 0  # the thanos-sidecar job production's Thanos adds
    assert len(jobs) == len(set(jobs)) == len(parent.prometheus.scrape_jobs) + len(probes) + sidecar + SIZE // 10
    assert {scrape_job(i)[0] for i in range(SIZE // 10)} <= set(jobs)
    assert len(dashboards) == len(parent.grafana.dashboards) + SIZE // 50
    assert len({d["uid"] for d in dashboards}) == len({d["title"] for d in dashboards}) == len(dashboards)
    assert all(len(d["panels"]) >= 5 for d in dashboards)
