"""The real tools, when installed: promtool on the rules, amtool on the Alertmanager config,
blackbox_exporter's own `--config.check` on blackbox.yml.

A tool that is not on PATH is reported as "not run" (a warning, an error with --require-tools),
never as passed.  Files are written exactly as the pods would see them, into a temporary
directory; only the config's own template glob is pointed there.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.validate.bundle import Bundle, as_dict, as_list, dicts
from leanvibe_stack.validate.findings import Finding, error, warning

TIMEOUT_SECONDS = 300
# blackbox_exporter is installed as `blackbox_exporter` from upstream's archives and under its package name
# by Debian (prometheus-blackbox-exporter).
BLACKBOX_EXPORTER = ("blackbox_exporter", "prometheus-blackbox-exporter")


@dataclass(frozen=True)
class ToolRun:
    """The outcome of one tool check: passed, failed or not run."""

    name: str
    status: str  # "passed" | "failed" | "not run"
    detail: str = ""


def check(bundle: Bundle, *, rule_tests: list[Path], require: bool) -> tuple[list[Finding], list[ToolRun]]:
    findings: list[Finding] = []
    runs: list[ToolRun] = []
    with tempfile.TemporaryDirectory(prefix="leanvibe-validate-") as tmp:
        work = Path(tmp)
        for run in (_promtool_rules(bundle, work), _promtool_tests(bundle, work, rule_tests), _amtool(bundle, work),
                    _blackbox(bundle, work)):
            if run is None:
                continue
            runs.append(run)
            if run.status == "failed":
                findings.append(error(f"tool.{run.name}", None, "", run.detail))
            elif run.status == "not run":
                report = error if require else warning
                findings.append(report("tool.not-run", None, "", f"{run.name}: {run.detail}"))
    return findings, runs


def _tool(name: str) -> str | None:
    return shutil.which(name)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The tool's result; one that hangs or cannot start fails (exit -1) with the reason as its output."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        reason = f"did not finish within {TIMEOUT_SECONDS} s"
    except OSError as error:
        reason = f"could not run {args[0]}: {error.strerror or error}"
    return subprocess.CompletedProcess(args, -1, "", reason)


def _write_rules(bundle: Bundle, directory: Path) -> list[Path]:
    directory.mkdir(exist_ok=True)
    paths = []
    for mounted, _ in bundle.rule_files:
        text = mounted.text()
        if text is not None:
            path = directory / Path(mounted.path).name
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    return paths


def _promtool_rules(bundle: Bundle, work: Path) -> ToolRun | None:
    rules = _write_rules(bundle, work / "rules")
    if not rules:
        return None
    promtool = _tool("promtool")
    if promtool is None:
        return ToolRun("promtool-rules", "not run", "promtool is not installed (Debian: prometheus)")
    result = _run(promtool, "check", "rules", *map(str, rules))
    if result.returncode != 0:
        return ToolRun("promtool-rules", "failed", f"promtool check rules: {_tail(result)}")
    return ToolRun("promtool-rules", "passed")


def _promtool_tests(bundle: Bundle, work: Path, rule_tests: list[Path]) -> ToolRun | None:
    rules = _write_rules(bundle, work / "tests")
    if not rules or not rule_tests:
        return None
    promtool = _tool("promtool")
    if promtool is None:
        return ToolRun("promtool-tests", "not run", "promtool is not installed (Debian: prometheus)")
    # The unit tests name the rendered rules `rules.yml`, whatever the group's file is called.
    combined = {"groups": [g for path in rules for g in (yamlio.load(path.read_text()) or {}).get("groups", [])]}
    (work / "tests" / "rules.yml").write_text(yamlio.dump(combined), encoding="utf-8")
    copies, skipped = [], []
    rendered = {str(rule.get("alert")) for group in combined["groups"] for rule in group.get("rules") or []}
    for test in rule_tests:
        if not _tests_rendered_alerts(test, rendered):
            skipped.append(test.name)
            continue
        copy = work / "tests" / test.name
        shutil.copyfile(test, copy)
        copies.append(str(copy))
    if not copies:
        return None  # nothing here tests this render's alerts
    result = _run(promtool, "test", "rules", *copies)
    if result.returncode != 0:
        return ToolRun("promtool-tests", "failed", f"promtool test rules: {_tail(result)}")
    left_out = f"; left out, their alerts are not rendered: {', '.join(skipped)}" if skipped else ""
    return ToolRun("promtool-tests", "passed", f"{len(copies)} test file(s){left_out}")


def _tests_rendered_alerts(test: Path, rendered: set[str]) -> bool:
    """Whether a unit-test file tests any alert this render has: the tests of an optional component
    (`thanos_test.yml`) apply only to the profiles that turn it on.  A file that tests none of its alerts is
    left out (and said); one that tests some runs whole, so a missing alert among them still fails it."""
    try:
        data = yamlio.load(test.read_text(encoding="utf-8"))
    except (OSError, yamlio.YAMLError):
        return True  # promtool reports what it cannot read
    names = {str(case.get("alertname")) for t in dicts(as_dict(data).get("tests"))
             for case in dicts(t.get("alert_rule_test"))}
    return not names or bool(names & rendered)


# Debian's amtool is 0.25; webhook `url_file` came in Alertmanager 0.26. Its copy of the config reads the URL
# inline instead, so amtool judges everything else; the file's path is checked by validate's mount checks.
AMTOOL_025_URL = "https://url-file.invalid/"


def without_url_files(data: dict[str, Any]) -> None:
    for receiver in dicts(data.get("receivers")):
        for webhook in dicts(receiver.get("webhook_configs")):
            if "url_file" in webhook:
                del webhook["url_file"]
                webhook["url"] = AMTOOL_025_URL


def _amtool(bundle: Bundle, work: Path) -> ToolRun | None:
    # Any alertmanager config, parsed or not: amtool's verdict on a file we cannot parse matters most.
    config = next((c for c in bundle.configs if c.program == "alertmanager"), None)
    if config is None:
        return None
    amtool = _tool("amtool")
    if amtool is None:
        return ToolRun("amtool", "not run", "amtool is not installed (Debian: prometheus-alertmanager)")
    path = work / "alertmanager.yml"
    if isinstance(config.data, dict):
        data = copy.deepcopy(config.data)  # rewritten below for amtool's copy only
        templates = work / "templates"
        templates.mkdir()
        globs = []
        for pattern in as_list(data.get("templates")):
            for mounted in bundle.config_glob(config, str(pattern)):
                (templates / Path(mounted.path).name).write_text(mounted.text() or "", encoding="utf-8")
            globs.append(str(templates / Path(str(pattern)).name))
        if globs:
            data["templates"] = globs
        without_url_files(data)
        path.write_text(yamlio.dump(data), encoding="utf-8")
    else:
        path.write_text(config.file.text() or "", encoding="utf-8")
    result = _run(amtool, "check-config", str(path))
    if result.returncode != 0:
        return ToolRun("amtool", "failed", f"amtool check-config: {_tail(result)}")
    return ToolRun("amtool", "passed")


def _blackbox(bundle: Bundle, work: Path) -> ToolRun | None:
    config = next((c for c in bundle.configs if c.program == "blackbox-exporter"), None)
    if config is None:
        return None
    binary = next((found for name in BLACKBOX_EXPORTER if (found := _tool(name))), None)
    if binary is None:
        return ToolRun("blackbox-exporter", "not run",
                       "blackbox_exporter is not installed (Debian: prometheus-blackbox-exporter)")
    path = work / "blackbox.yml"
    path.write_text(config.file.text() or "", encoding="utf-8")
    result = _run(binary, "--config.check", f"--config.file={path}")
    if result.returncode != 0:
        return ToolRun("blackbox-exporter", "failed", f"blackbox_exporter --config.check: {_tail(result)}")
    return ToolRun("blackbox-exporter", "passed")


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    return " | ".join(line.strip() for line in lines[-6:] if line.strip())
