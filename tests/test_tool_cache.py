"""The real tools' verdict cache (validate/toolcache.py): a verdict is reused only for the same input to the
same tool version.  Fake tools log every run, so each test sees which tool really ran."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import toolcache, tools
from leanvibe_stack.validate.bundle import Bundle
from tests.conftest import REPO, find

RULE_TESTS = sorted((REPO / "profiles" / "rule-tests").glob("*_test.yml"))
PROGRAMS = ("promtool", "amtool", "blackbox_exporter")
FAKE = """#!/bin/sh
echo "$*" >> "{log}"
if [ "$1" = "--version" ]; then cat "{version}"; exit 0; fi
echo "checked $*"
exit "$(cat "{exit}")"
"""


class Fakes:
    """Fake promtool, amtool and blackbox_exporter: each appends its arguments to a log and exits with the code
    in `exit`; `--version` prints the text in `version`."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        directory.mkdir()
        self.log, self.version, self.exit = directory / "log", directory / "version", directory / "exit"
        self.log.touch()
        self.version.write_text("fake, version 1.0.0\n")
        self.exit.write_text("0")
        for name in PROGRAMS:
            script = directory / name
            script.write_text(FAKE.format(log=self.log, version=self.version, exit=self.exit))
            script.chmod(0o755)
        monkeypatch.setattr(tools, "_tool", lambda name: str(directory / name) if name in PROGRAMS else None)

    def runs(self) -> list[str]:
        """The checks run since the last call (version questions left out)."""
        lines = [line for line in self.log.read_text().splitlines() if line != "--version"]
        self.log.write_text("")
        return lines


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    monkeypatch.setenv(toolcache.ENV, str(tmp_path / "cache"))
    return Fakes(tmp_path / "bin", monkeypatch)


def _check(manifests: list[Manifest], rule_tests: list[Path] = RULE_TESTS) -> list[tools.ToolRun]:
    _, runs = tools.check(Bundle(manifests), rule_tests=rule_tests, require=True)
    return runs


def _with_rule_text(manifests: list[Manifest], key: str, old: str, new: str) -> list[Manifest]:
    """A copy of `manifests` where one rule file of the prometheus-rules ConfigMap says `new` instead of `old`."""
    rules = find(manifests, "ConfigMap", "prometheus-rules")
    assert old in rules["data"][key]
    changed = {**rules, "data": {**rules["data"], key: rules["data"][key].replace(old, new)}}
    return [Manifest(obj=changed, component=m.component, source=m.source) if m.obj is rules else m for m in manifests]


ALL_CHECKS = 3 + len(RULE_TESTS)  # check rules, amtool, blackbox_exporter, one promtool per test file


def test_an_unchanged_rerun_runs_no_tool(fakes: Fakes, production: list[Manifest]) -> None:
    first = _check(production)
    assert len(fakes.runs()) == ALL_CHECKS
    assert not any(run.cached for run in first)
    second = _check(production)
    assert fakes.runs() == []
    assert [(r.name, r.status, r.detail) for r in second] == [(r.name, r.status, r.detail) for r in first]
    assert all(run.cached for run in second)


def test_a_changed_rule_file_runs_again_what_reads_it(fakes: Fakes, production: list[Manifest]) -> None:
    _check(production)
    fakes.runs()
    changed = _with_rule_text(production, "leanvibe.node.rules.yml", "for: 30m", "for: 31m")
    runs = {run.name: run.cached for run in _check(changed)}
    ran = fakes.runs()
    assert runs == {"promtool-rules": False, "promtool-tests": False, "amtool": True, "blackbox-exporter": True}
    assert [line for line in ran if line.startswith("check rules")]
    # Only the tests whose rule_files name the node group (or rules.yml, which holds every group) run again.
    tested = sorted(line.split("/")[-1] for line in ran if line.startswith("test rules"))
    reading_node = sorted(t.name for t in RULE_TESTS if "leanvibe.node.rules.yml" in t.read_text()
                          or "[rules.yml]" in t.read_text())
    assert tested == reading_node and "node_test.yml" in tested


def test_a_changed_rule_test_runs_again_alone(fakes: Fakes, production: list[Manifest], tmp_path: Path) -> None:
    copies = tmp_path / "rule-tests"
    shutil.copytree(REPO / "profiles" / "rule-tests", copies)
    tests = sorted(copies.glob("*_test.yml"))
    _check(production, tests)
    fakes.runs()
    with (copies / "tracing_test.yml").open("a") as handle:
        handle.write("# a comment is a change too\n")
    _check(production, tests)
    assert fakes.runs() == ["test rules tests/tracing_test.yml"]


def test_a_changed_template_runs_amtool_again(fakes: Fakes, production: list[Manifest]) -> None:
    _check(production)
    fakes.runs()
    templates = find(production, "ConfigMap", "alertmanager-templates")
    key = next(iter(templates["data"]))
    changed_obj = {**templates, "data": {**templates["data"], key: templates["data"][key] + "\n"}}
    changed = [Manifest(obj=changed_obj, component=m.component, source=m.source) if m.obj is templates else m
               for m in production]
    _check(changed)
    assert [line.split()[0] for line in fakes.runs()] == ["check-config"]


def test_a_new_tool_version_runs_every_tool_again(fakes: Fakes, production: list[Manifest]) -> None:
    _check(production)
    fakes.runs()
    fakes.version.write_text("fake, version 1.0.1\n")
    assert not any(run.cached for run in _check(production))
    assert len(fakes.runs()) == ALL_CHECKS


def test_a_failed_verdict_is_kept_like_a_passed_one(fakes: Fakes, production: list[Manifest]) -> None:
    fakes.exit.write_text("1")
    first = _check(production)
    assert {run.status for run in first} == {"failed"}
    fakes.runs()
    fakes.exit.write_text("0")  # the same tool on the same input cannot change its mind
    second = _check(production)
    assert fakes.runs() == []
    assert [(r.status, r.detail) for r in second] == [(r.status, r.detail) for r in first]
    assert "promtool check rules: checked check rules rules/" in first[0].detail  # paths relative to the work dir


def test_a_run_that_timed_out_is_not_kept(fakes: Fakes, production: list[Manifest], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    slow = tmp_path / "bin" / "promtool"
    slow.write_text(slow.read_text().replace('echo "checked', 'sleep 5; echo "checked'))
    monkeypatch.setattr(tools, "TIMEOUT_SECONDS", 1)
    runs = {run.name: run for run in _check(production, RULE_TESTS[:1])}
    assert "did not finish within 1 s" in runs["promtool-rules"].detail
    fakes.runs()
    runs = {run.name: run for run in _check(production, RULE_TESTS[:1])}
    assert not runs["promtool-rules"].cached and not runs["promtool-tests"].cached and runs["amtool"].cached
    assert len([line for line in fakes.runs() if line.startswith(("check rules", "test rules"))]) == 2


def test_off_runs_every_tool_every_time(fakes: Fakes, production: list[Manifest],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(toolcache.ENV, "off")
    _check(production)
    _check(production)
    assert len(fakes.runs()) == 2 * ALL_CHECKS


def test_a_rule_test_reading_files_we_cannot_name_always_runs(fakes: Fakes, production: list[Manifest],
                                                              tmp_path: Path) -> None:
    globbed = tmp_path / "globbed_test.yml"
    globbed.write_text("rule_files: ['*.rules.yml']\nevaluation_interval: 1m\ntests: []\n")
    absolute = tmp_path / "absolute_test.yml"
    absolute.write_text("rule_files: ['/etc/prometheus/rules/x.yml']\ntests: []\n")
    for _ in range(2):
        _check(production, [globbed, absolute])
    assert sorted(line for line in fakes.runs() if line.startswith("test rules")) == [
        "test rules tests/absolute_test.yml", "test rules tests/absolute_test.yml",
        "test rules tests/globbed_test.yml", "test rules tests/globbed_test.yml"]


def test_a_damaged_entry_is_a_miss(fakes: Fakes, production: list[Manifest], tmp_path: Path) -> None:
    _check(production)
    fakes.runs()
    entries = sorted((tmp_path / "cache").glob("*.json"))
    assert len(entries) == ALL_CHECKS
    for entry in entries:
        entry.write_text(entry.read_text()[:10])
    assert not any(run.cached for run in _check(production))
    assert len(fakes.runs()) == ALL_CHECKS
    assert all(json.loads(entry.read_text())["returncode"] == 0 for entry in entries)  # stored anew


def test_the_key_covers_tool_version_arguments_and_every_file() -> None:
    base = toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": "groups: []\n"})
    assert base == toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": "groups: []\n"})
    assert len({
        base,
        toolcache.key("amtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": "groups: []\n"}),
        toolcache.key("promtool", "2.43.0", ["check", "rules", "a.yml"], {"a.yml": "groups: []\n"}),
        toolcache.key("promtool", "2.42.0", ["check", "rules", "b.yml"], {"a.yml": "groups: []\n"}),
        toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": "groups: [] \n"}),
        toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"b.yml": "groups: []\n"}),
        toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": None}),
        # The same bytes split differently between two files.
        toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": "groups: []\n", "b.yml": ""}),
        toolcache.key("promtool", "2.42.0", ["check", "rules", "a.yml"], {"a.yml": "groups: [", "b.yml": "]\n"}),
    }) == 9


def test_a_native_binary_is_asked_its_version_again_once_replaced(tmp_path: Path) -> None:
    echo = shutil.which("echo")
    assert echo is not None
    binary = tmp_path / "tool"
    shutil.copy(echo, binary)  # a native binary, not a `#!` script; `echo --version` answers
    cache = tmp_path / "cache"
    cache.mkdir()
    real = toolcache.version(str(binary), cache, 10)
    assert real and "echo" in real
    memo = next(cache.glob("version-*.txt"))
    memo.write_text("remembered")  # what the next run of the same file is told
    toolcache._versions.clear()
    assert toolcache.version(str(binary), cache, 10) == "remembered"
    binary.write_bytes(binary.read_bytes() + b"\0")  # another file now
    assert toolcache.version(str(binary), cache, 10) == real


def test_the_default_directory_is_private_to_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(toolcache.ENV, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    expected = tmp_path / f"leanvibe-tool-cache-{os.getuid()}"
    expected.mkdir(mode=0o777)
    expected.chmod(0o777)  # made by a permissive umask: tightened before use
    assert toolcache.directory() == expected
    assert stat.S_IMODE(expected.stat().st_mode) == 0o700
    expected.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    expected.symlink_to(elsewhere)  # planted: never followed
    assert toolcache.directory() is None
