"""`leanvibe-stack validate` end to end: profiles, trees, stdin, JSON, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from leanvibe_stack import output
from leanvibe_stack.cli import app
from leanvibe_stack.manifest import Manifest
from tests.conftest import REPO, require_tool, warned_profile

RUNNER = CliRunner()


def _invoke_render(profile: str, directory: str) -> int:
    return CliRunner().invoke(app, ["render", "--profile", profile, "--output-dir", directory]).exit_code


def _validate(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, ["validate", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _json(stdout: str) -> dict[str, object]:
    document = json.loads(stdout)
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_every_profile_validates_without_errors_with_the_real_tools(profile: str) -> None:
    require_tool("promtool")
    require_tool("amtool")
    require_tool("prometheus-blackbox-exporter")
    code, stdout, _ = _validate("--profile", profile, "--require-tools", "--output", "json")
    report = _json(stdout)
    assert code == 0, stdout
    assert report["summary"]["errors"] == 0  # type: ignore[index]
    assert {t["name"]: t["status"] for t in report["tools"]} == {  # type: ignore[attr-defined]
        "promtool-rules": "passed", "promtool-tests": "passed", "amtool": "passed", "blackbox-exporter": "passed"}


def test_the_committed_tree_validates_like_its_profile(tmp_path: Path) -> None:
    warned = warned_profile(tmp_path)  # a finding to compare (the shipped profiles have none)
    tree_dir = tmp_path / "tree"
    assert _invoke_render(str(warned), str(tree_dir)) == 0
    _, from_tree, _ = _validate(str(tree_dir), "--kube-version", "1.36", "--output", "json", "--no-tools")
    _, from_profile, _ = _validate("--profile", str(warned), "--output", "json", "--no-tools")
    tree, profile = _json(from_tree), _json(from_profile)
    findings: list[dict[str, str]] = profile["findings"]  # type: ignore[assignment]
    # Only a render from the profile knows where a value was written: its findings end by saying so.
    assert findings and all("(profile: " in finding["message"] for finding in findings)
    for finding in findings:
        finding["message"] = re.sub(r" \(profile: [^()]*\)$", "", finding["message"])
    assert tree == profile


def test_stdin_is_read_with_a_dash(production: list[Manifest]) -> None:
    code, stdout, _ = _validate("-", "--no-tools", "--output", "json", stdin=output.stream(production))
    assert code == 0
    assert _json(stdout)["summary"]["objects"] == len(production)  # type: ignore[index]


def test_warnings_fail_only_under_strict(tmp_path: Path) -> None:
    warned = str(warned_profile(tmp_path))
    assert _validate("--profile", warned, "--no-tools")[0] == 0
    code, stdout, _ = _validate("--profile", warned, "--no-tools", "--strict")
    assert code == 1
    assert "routing.unreachable-route" in stdout


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_the_shipped_profiles_pass_strict(profile: str) -> None:
    code, stdout, stderr = _validate("--profile", profile, "--no-tools", "--strict")
    assert (code, stdout) == (0, ""), stdout
    assert "0 error(s), 0 warning(s)" in stderr


def test_findings_are_text_lines_with_severity_check_object_and_path(tmp_path: Path) -> None:
    _, stdout, stderr = _validate("--profile", str(warned_profile(tmp_path)), "--no-tools")
    last = len(yaml.safe_load((REPO / "profiles" / "base.yaml").read_text())["alertmanager"]["route"]["routes"])
    assert stdout == (
        "warning: routing.unreachable-route: ConfigMap/leanvibe-monitoring/alertmanager-config "
        f"alertmanager.yml:route.routes[{last}]: " + stdout.split(f"route.routes[{last}]: ", 1)[1]
    )
    assert stdout.count("\n") == 1
    assert re.search(r"\d+ objects: 0 error\(s\), 1 warning\(s\)", stderr)


def test_profile_and_paths_together_are_a_usage_error() -> None:
    assert _validate("--profile", "production", str(REPO / "out" / "production"))[0] == 2
    assert _validate()[0] == 2


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    code, _, stderr = _validate(str(tmp_path / "nope"))
    assert code == 2
    assert "no such file or directory" in stderr


def test_render_refuses_to_write_invalid_objects(tmp_path: Path) -> None:
    profile = tmp_path / "broken.yaml"
    profile.write_text(f"extends: {REPO / 'profiles' / 'production.yaml'}\n"
                       "alertmanager:\n  route:\n    routes:\n      platform:\n        matchers: ['team=~\"(\"']\n")
    result = RUNNER.invoke(app, ["render", "--profile", str(profile), "--output-dir", str(tmp_path / "out")])
    assert result.exit_code in (1, 2), result.output
    assert not (tmp_path / "out").exists()
