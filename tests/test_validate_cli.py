"""`leanvibe-stack validate` end to end: profiles, trees, stdin, JSON, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leanvibe_stack import output
from leanvibe_stack.cli import app
from leanvibe_stack.manifest import Manifest
from tests.conftest import REPO, require_tool

RUNNER = CliRunner()


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


def test_the_committed_tree_validates_like_its_profile() -> None:
    _, from_tree, _ = _validate(str(REPO / "out" / "production"), "--kube-version", "1.36", "--output", "json",
                                "--no-tools")
    _, from_profile, _ = _validate("--profile", "production", "--output", "json", "--no-tools")
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


def test_warnings_fail_only_under_strict() -> None:
    # Production keeps one warning: the security route no seed alert reaches yet.
    assert _validate("--profile", "production", "--no-tools")[0] == 0
    code, stdout, _ = _validate("--profile", "production", "--no-tools", "--strict")
    assert code == 1
    assert "routing.unreachable-route" in stdout


def test_findings_are_text_lines_with_severity_check_object_and_path() -> None:
    _, stdout, stderr = _validate("--profile", "production", "--no-tools")
    assert stdout == (
        "warning: routing.unreachable-route: ConfigMap/leanvibe-monitoring/alertmanager-config "
        "alertmanager.yml:route.routes[3]: " + stdout.split("route.routes[3]: ", 1)[1]
    )
    assert "69 objects: 0 error(s), 1 warning(s)" in stderr  # the security route (issue 14)


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
