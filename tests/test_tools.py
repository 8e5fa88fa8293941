"""The real tools accept what we render: promtool for rules, amtool for the Alertmanager config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.render import alertmanager as am_render
from leanvibe_stack.validate import tools
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.tools import without_url_files
from tests.conftest import REPO, find, require_tool

ALERT_TESTS = sorted((REPO / "profiles" / "rule-tests").glob("*_test.yml"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _rule_files(manifests: list[Manifest], directory: Path) -> list[Path]:
    data = find(manifests, "ConfigMap", "prometheus-rules")["data"]
    paths = []
    for name, text in data.items():
        (directory / name).write_text(text)
        paths.append(directory / name)
    return paths


def test_promtool_accepts_the_rendered_rules(production: list[Manifest], tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    result = _run(promtool, "check", "rules", *map(str, _rule_files(production, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 18 rules found" in result.stdout  # the guide's alerts
    assert "SUCCESS: 7 rules found" in result.stdout  # synthetic monitoring


def test_alert_unit_tests_pass_on_the_rendered_rules(production: list[Manifest], tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    # The tests name the rendered rules `rules.yml`: every group of every rendered rule file, in one.
    groups = [group for path in _rule_files(production, tmp_path) for group in yamlio.load(path.read_text())["groups"]]
    (tmp_path / "rules.yml").write_text(yamlio.dump({"groups": groups}))
    for test_file in ALERT_TESTS:
        shutil.copy(test_file, tmp_path / test_file.name)
    result = _run(promtool, "test", "rules", *(str(tmp_path / t.name) for t in ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(ALERT_TESTS) == 10


def test_amtool_accepts_the_rendered_config(production: list[Manifest], tmp_path: Path) -> None:
    amtool = require_tool("amtool")
    config = yamlio.load(find(production, "ConfigMap", "alertmanager-config")["data"]["alertmanager.yml"])
    templates = find(production, "ConfigMap", "alertmanager-templates")["data"]
    assert config["templates"] == [f"{am_render.TEMPLATES_DIR}/*.tmpl"]
    for name, text in templates.items():
        (tmp_path / name).write_text(text)
    config["templates"] = [f"{tmp_path}/*.tmpl"]  # where this test put the mounted files
    without_url_files(config)  # amtool 0.25 predates webhook url_file, as in validate's own run
    (tmp_path / "alertmanager.yml").write_text(yamlio.dump(config))
    result = _run(amtool, "check-config", str(tmp_path / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Found:\n - global config\n - route\n - {len(config['inhibit_rules'])} inhibit rules" in result.stdout
    assert " - 1 templates\n  SUCCESS" in result.stdout  # the one glob, whose files all parsed


def test_amtool_rejects_what_the_seed_had(tmp_path: Path) -> None:
    amtool = require_tool("amtool")
    seed_like = {"global": {"slack_api_url": "${SLACK_WEBHOOK_URL}"},
                 "route": {"receiver": "r"}, "receivers": [{"name": "r"}]}
    (tmp_path / "bad.yml").write_text(yamlio.dump(seed_like))
    assert _run(amtool, "check-config", str(tmp_path / "bad.yml")).returncode != 0


def test_a_tool_that_hangs_or_cannot_start_fails_its_check_not_the_program(
    production: list[Manifest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # promtool test rules on thousands of rules can run past the timeout: that is a failed check
    # (exit 1 with a reason), never an internal error.
    hanging = tmp_path / "hanging"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    hanging.chmod(0o755)
    broken = tmp_path / "broken"
    broken.write_text("not a program\n")
    broken.chmod(0o644)  # not executable: the OS refuses to start it
    monkeypatch.setattr(tools, "TIMEOUT_SECONDS", 1)
    for fake, reason in ((hanging, "did not finish within 1 s"), (broken, "could not run")):
        monkeypatch.setattr(tools, "_tool", lambda name, fake=fake: str(fake))
        findings, runs = tools.check(Bundle(production), rule_tests=ALERT_TESTS, require=True)
        assert {run.name: run.status for run in runs} == {
            "promtool-rules": "failed", "promtool-tests": "failed", "amtool": "failed", "blackbox-exporter": "failed"}
        assert all(reason in run.detail for run in runs), runs
        assert {f.check for f in findings} == {"tool.promtool-rules", "tool.promtool-tests", "tool.amtool",
                                               "tool.blackbox-exporter"}
