"""`leanvibe-stack diff` and its engine: objects matched by identity, embedded config files diffed on their own,
checksum notes, the alerting summary, text/markdown/json/--stat output, git revisions, and `render --check`."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from leanvibe_stack import output, yamlio
from leanvibe_stack.cli import app
from leanvibe_stack.diff import compare
from leanvibe_stack.diff.comparison import EMBEDDED, label, unified
from leanvibe_stack.diff.sides import load_side
from leanvibe_stack.errors import InputError
from leanvibe_stack.manifest import Manifest
from tests.conftest import PROFILES, REPO

RULES = "ConfigMap/leanvibe-monitoring/prometheus-rules"
RULES_KEY = "leanvibe.enterprise.rules.yml"
PROMETHEUS = "StatefulSet/leanvibe-monitoring/prometheus"
GRAFANA = "Deployment/leanvibe-monitoring/grafana"
GRAFANA_DATASOURCES = "ConfigMap/leanvibe-monitoring/grafana-datasources"
THRESHOLD = ("> 0.05", "> 0.1")  # LeanVibeHighErrorRate's threshold, before and after
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("LEANVIBE_PROFILE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["diff", *args], input=stdin)


# --- helpers: edited copies of a rendered profile, written as trees ------------------------------------------


def edited(manifests: list[Manifest]) -> list[Manifest]:
    """A deep copy, so tests can change objects freely."""
    return [Manifest(copy.deepcopy(m.obj), m.component, m.source) for m in manifests]


def find(manifests: list[Manifest], wanted: str) -> Manifest:
    matches = [m for m in manifests if label(m.key) == wanted]
    assert len(matches) == 1, wanted
    return matches[0]


def write(manifests: list[Manifest], target: Path) -> str:
    output.write_tree(output.tree(manifests), target)
    return str(target)


def raise_threshold(manifests: list[Manifest]) -> list[Manifest]:
    """Change one alert threshold in the rules ConfigMap, as a render would (Prometheus's sidecar reloads it)."""
    changed = edited(manifests)
    data = find(changed, RULES).obj["data"]
    assert data[RULES_KEY].count(THRESHOLD[0]) >= 1
    data[RULES_KEY] = data[RULES_KEY].replace(THRESHOLD[0], THRESHOLD[1], 1)
    return changed


def apply_patch(old: str, diff: str) -> str:
    """Apply a unified diff (as `patch` would, checking every context and removed line) to `old`."""
    lines, body = old.splitlines(keepends=True), diff.splitlines(keepends=True)[2:]
    result: list[str] = []
    position = i = 0
    while i < len(body):
        hunk = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", body[i])
        assert hunk, body[i]
        start = int(hunk[1]) - (0 if hunk[2] == "0" else 1)
        result += lines[position:start]
        position, i = start, i + 1
        while i < len(body) and not body[i].startswith("@@"):
            tag, text = body[i][0], body[i][1:]
            if i + 1 < len(body) and body[i + 1].startswith("\\"):
                text, i = text.rstrip("\n"), i + 1
            if tag in " -":
                assert lines[position] == text, (lines[position], text)
                position += 1
            if tag in " +":
                result.append(text)
            i += 1
    return "".join(result + lines[position:])


def stripped(obj: dict[str, Any]) -> dict[str, Any]:
    """What the object-level diff shows: embedded files as placeholders, no checksum annotation."""
    obj = copy.deepcopy(obj)
    if obj.get("kind") == "ConfigMap":
        obj["data"] = {k: EMBEDDED if isinstance(v, str) and "\n" in v else v
                       for k, v in (obj.get("data") or {}).items()}
    template = (obj.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    annotations.pop("checksum/config", None)
    if "metadata" in template and not annotations:
        template["metadata"].pop("annotations", None)
    return obj


# --- the command ---------------------------------------------------------------------------------------------


def test_the_same_profile_on_both_sides_is_identical() -> None:
    result = invoke("production", "production")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_identical_trees_exit_0_in_every_format(production: list[Manifest], tmp_path: Path) -> None:
    first, second = write(production, tmp_path / "a"), write(production, tmp_path / "b")
    assert invoke(first, second).exit_code == 0
    result = invoke(first, second, "--output", "json")
    assert json.loads(result.stdout)["identical"] is True
    assert "No differences" in invoke(first, second, "--output", "markdown").stdout


def test_production_against_staging_lists_every_differing_object_with_a_correct_diff(
    rendered: dict[str, list[Manifest]],
) -> None:
    result = invoke("production", "staging", "--no-color")
    assert result.exit_code == 1, result.output
    before = {m.key: m for m in rendered["production"]}
    after = {m.key: m for m in rendered["staging"]}
    differing = {key for key in before.keys() & after.keys() if before[key].obj != after[key].obj}
    assert differing
    lines = result.stdout.splitlines()
    for key in sorted(after.keys() - before.keys()):
        assert f"added: {label(key)}" in lines
    for key in sorted(before.keys() - after.keys()):
        assert f"removed: {label(key)}" in lines
    for key in differing:
        name = label(key)
        assert any(line.startswith((f"--- {name}\t", f"--- {name} data[", f"{name}: checksum/config"))
                   for line in lines), name

    comparison = compare(rendered["production"], rendered["staging"], ("production", "staging"))
    assert {c.manifest.key for c in comparison.changed} == differing
    for change in comparison.changed:
        old, new = before[change.manifest.key].obj, after[change.manifest.key].obj
        for diff in change.diffs:
            assert diff.text in result.stdout
            assert not any(line.startswith(("+", "-")) and "checksum/config:" in line
                           for line in diff.text.splitlines())
            if diff.data_key is None:
                patched = apply_patch(yamlio.dump(stripped(old)), diff.text)
                assert yamlio.load(patched) == stripped(new), diff.title
            else:
                # A key only one side has (production's Thanos rule file) patches from or to nothing.
                assert apply_patch(old["data"].get(diff.data_key, ""), diff.text) == new["data"].get(diff.data_key, "")
    assert "receivers changed: LeanVibeHighErrorRate: pagerduty-critical" in result.stdout  # staging pages no one
    assert lines[-1].startswith("production -> staging: ")


def test_added_removed_and_changed_objects(production: list[Manifest], tmp_path: Path) -> None:
    changed = edited(production)
    removed = find(changed, "Service/leanvibe-monitoring/grafana")
    changed.remove(removed)
    extra = copy.deepcopy(find(changed, "ServiceAccount/leanvibe-monitoring/grafana").obj)
    extra["metadata"]["name"] = "reporter"
    changed.append(Manifest(extra, "grafana", "test"))
    find(changed, "Deployment/leanvibe-monitoring/grafana").obj["spec"]["replicas"] = 7

    result = invoke(write(production, tmp_path / "old"), write(changed, tmp_path / "new"), "--no-color")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "added: ServiceAccount/leanvibe-monitoring/reporter" in lines
    assert "removed: Service/leanvibe-monitoring/grafana" in lines
    assert f"--- Deployment/leanvibe-monitoring/grafana\t{tmp_path / 'old'}" in lines
    assert f"+++ Deployment/leanvibe-monitoring/grafana\t{tmp_path / 'new'}" in lines
    assert "+  replicas: 7" in lines and "-  replicas: 1" in lines
    assert sum(1 for line in lines if line.startswith("--- ")) == 1
    assert lines[-1].endswith(": 1 added, 1 removed, 1 changed; alert rules: 0 added, 0 removed, 0 changed; "
                              "0 alert(s) with other receivers")


def test_an_embedded_rule_file_is_diffed_as_its_own_text_with_a_reload_note(
    production: list[Manifest], tmp_path: Path
) -> None:
    old, new = write(production, tmp_path / "old"), write(raise_threshold(production), tmp_path / "new")
    result = invoke(old, new, "--no-color")
    assert result.exit_code == 1, result.output
    rules = find(production, RULES).obj["data"][RULES_KEY].splitlines()
    line = next(i for i, text in enumerate(rules, start=1) if THRESHOLD[0] in text)
    changed_line = rules[line - 1]
    assert result.stdout.splitlines()[:11] == [
        f"--- {RULES} data[{RULES_KEY}]\t{old}",
        f"+++ {RULES} data[{RULES_KEY}]\t{new}",
        f"@@ -{line - 3},7 +{line - 3},7 @@",  # the rule file's own line numbers
        *(f" {text}" for text in rules[line - 4:line - 1]),
        f"-{changed_line}",
        f"+{changed_line.replace(*THRESHOLD)}",
        *(f" {text}" for text in rules[line:line + 3]),
    ]
    assert f"  {PROMETHEUS}: reloads (sidecar) (prometheus-rules changed)" in result.stdout.splitlines()
    assert "checksum/config" not in result.stdout
    assert f"--- {RULES}\t" not in result.stdout and f"--- {PROMETHEUS}" not in result.stdout
    assert "  rule changed: LeanVibeHighErrorRate (expr)" in result.stdout.splitlines()


def test_markdown_is_a_pr_comment(production: list[Manifest], tmp_path: Path) -> None:
    old, new = write(production, tmp_path / "old"), write(raise_threshold(production), tmp_path / "new")
    result = invoke(old, new, "--output", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    assert "| Objects | 0 | 0 | 1 |" in text and "| Alert rules | 0 | 0 | 1 |" in text
    assert "| `LeanVibeHighErrorRate` | changed: expr |" in text
    assert f"- `{PROMETHEUS}: reloads (sidecar) (prometheus-rules changed)`" in text
    assert "Pods rolled by config changes" not in text
    assert text.count("<details>") == 1 and f"<details><summary>{RULES}</summary>" in text
    block = text.split("```diff\n", 1)[1].split("\n```", 1)[0]
    assert block.splitlines()[0] == f"--- {RULES} data[{RULES_KEY}]\t{old}"
    assert "\x1b[" not in text


def test_json_is_stable_and_complete(production: list[Manifest], tmp_path: Path) -> None:
    changed = raise_threshold(production)
    changed.remove(find(changed, "Service/leanvibe-monitoring/grafana"))
    result = invoke(write(production, tmp_path / "old"), write(changed, tmp_path / "new"), "--output", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert result.stdout == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert data["summary"] == {"added": 0, "removed": 1, "changed": 1, "immutable": 0}
    assert data["removed"] == [{"apiVersion": "v1", "kind": "Service", "namespace": "leanvibe-monitoring",
                                "name": "grafana"}]
    rules = next(c for c in data["changed"] if c["name"] == "prometheus-rules")
    assert [d["title"] for d in rules["diffs"]] == [f"{RULES} data[{RULES_KEY}]"]
    assert rules["diffs"][0]["data_key"] == RULES_KEY and "+" in rules["diffs"][0]["diff"]
    assert rules["checksum"] is None and data["checksum_notes"] == []
    assert data["pods"] == [{"owner": PROMETHEUS, "action": "reloads (sidecar)", "causes": ["prometheus-rules"],
                             "note": f"{PROMETHEUS}: reloads (sidecar) (prometheus-rules changed)"}]
    assert data["alerting"]["rules"] == [{"alert": "LeanVibeHighErrorRate", "change": "changed",
                                          "fields": ["expr"], "receivers": None}]


def test_stat_prints_counts_only(production: list[Manifest], tmp_path: Path) -> None:
    old, new = write(production, tmp_path / "old"), write(raise_threshold(production), tmp_path / "new")
    result = invoke(old, new, "--stat")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:1] == [f" {RULES} | +1 -1"]
    assert "@@" not in result.stdout
    assert "diff" not in json.loads(invoke(old, new, "--stat", "--output", "json").stdout)["changed"][0]["diffs"][0]


def test_colour_only_on_request_and_otherwise_byte_identical(production: list[Manifest], tmp_path: Path) -> None:
    old, new = write(production, tmp_path / "old"), write(raise_threshold(production), tmp_path / "new")
    plain, default, coloured = invoke(old, new, "--no-color"), invoke(old, new), invoke(old, new, "--color")
    assert "\x1b[" not in plain.stdout and default.stdout == plain.stdout  # not a terminal: no colour
    assert "\x1b[32m" in coloured.stdout and ANSI.sub("", coloured.stdout) == plain.stdout


def test_stdin_is_a_side(production: list[Manifest], tmp_path: Path) -> None:
    result = invoke("-", write(production, tmp_path / "tree"), stdin=output.stream(production))
    assert result.exit_code == 0, result.output


# --- git revisions -------------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false",
                    *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repo holding the profiles, committed, then one alert threshold raised in the working tree."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    shutil.copytree(PROFILES, root / "profiles")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "profiles")
    base = root / "profiles" / "base.yaml"
    text = base.read_text(encoding="utf-8")
    needle = f"            {THRESHOLD[0]}\n"
    assert needle in text, "LeanVibeHighErrorRate's threshold moved; update THRESHOLD"
    base.write_text(text.replace(needle, f"            {THRESHOLD[1]}\n", 1), encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def test_a_git_revision_against_the_working_tree_shows_only_that_rules_change(repo: Path) -> None:
    profile = str(repo / "profiles" / "production.yaml")
    result = invoke("git:HEAD", profile, "--profile", "production", "--no-color")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    headers = [line for line in lines if line.startswith(("--- ", "+++ "))]
    assert headers == [f"--- {RULES} data[{RULES_KEY}]\tgit:HEAD", f"+++ {RULES} data[{RULES_KEY}]\t{profile}"]
    changes = [line for line in lines if line.startswith(("-", "+")) and line not in headers]
    assert len(changes) == 2
    assert changes[0].startswith("-") and changes[0].strip().endswith(THRESHOLD[0])
    assert changes[1] == "+" + changes[0][1:].replace(*THRESHOLD)

    mounting = [m for m in load_side(profile)
                if any((source.get("configMap") or {}).get("name") == "prometheus-rules"
                       for v in ((m.obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("volumes", [])
                       for source in [v, *(v.get("projected") or {}).get("sources", [])])]
    assert [label(m.key) for m in mounting] == [PROMETHEUS]
    assert [line for line in lines if "checksum/config" in line] == []
    assert f"  {PROMETHEUS}: reloads (sidecar) (prometheus-rules changed)" in lines
    assert "  rule changed: LeanVibeHighErrorRate (expr)" in lines
    assert lines[-1] == (f"git:HEAD -> {profile}: 0 added, 0 removed, 1 changed; alert rules: 0 added, 0 removed, "
                         "1 changed; 0 alert(s) with other receivers")
    # The working tree was not touched.
    assert THRESHOLD[1] in (repo / "profiles" / "base.yaml").read_text(encoding="utf-8")


def test_a_git_revision_against_itself_and_by_name(repo: Path) -> None:
    git(repo, "commit", "-q", "-am", "raise the threshold")
    assert invoke("git:HEAD", "production", "--profile", "production").exit_code == 0
    result = invoke("git:HEAD~1", "git:HEAD", "--profile", "production", "--output", "json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["alerting"]["rules"][0]["alert"] == "LeanVibeHighErrorRate"


# --- bad arguments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    ((), "give two sides"),
    (("production",), "give two sides"),
    (("-", "-"), "only one side"),
    (("git:HEAD", "production"), "needs --profile"),
    (("production", "staging", "--profile", "production"), "git:REV"),
    (("production", "no-such-profile"), "no-such-profile"),
    (("production", "missing/dir/"), "missing/dir/: no such file or directory"),
    (("production", "out"), "appears twice"),
])
def test_bad_arguments_exit_2(args: tuple[str, ...], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""


def test_bad_git_revisions_exit_2(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for args, message in [
        (("git:no-such-rev", "production"), "unknown revision 'no-such-rev'"),
        (("git:HEAD", "production", "--profile", "no-such"), "no profile 'no-such' in profiles/ at HEAD"),
        (("git:HEAD", "production", "--profile", "profiles/production.yaml"), "a profile name"),
    ]:
        result = invoke(*args, *(() if "--profile" in args else ("--profile", "production")))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, result.stderr
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = invoke("git:HEAD", str(PROFILES / "production.yaml"), "--profile", "production")
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr


# --- the engine ----------------------------------------------------------------------------------------------


def test_unified_marks_a_missing_final_newline_and_is_empty_when_equal() -> None:
    assert unified("a\n", "a\n", "t", ("x", "y")) == ""
    text = unified("a\nb", "a\nc\n", "t", ("x", "y"))
    assert text.splitlines() == ["--- t\tx", "+++ t\ty", "@@ -1,2 +1,2 @@", " a", "-b",
                                 "\\ No newline at end of file", "+c"]
    assert apply_patch("a\nb", text) == "a\nc\n"


def test_checksum_notes_name_configs_mounted_through_projected_volumes(production: list[Manifest]) -> None:
    changed = edited(production)
    dashboard = find(changed, "ConfigMap/leanvibe-monitoring/grafana-dashboard-leanvibe-overview")
    key = next(iter(dashboard.obj["data"]))
    dashboard.obj["data"][key] = dashboard.obj["data"][key].replace('"title"', '"title" ', 1)
    grafana = find(changed, "Deployment/leanvibe-monitoring/grafana")
    grafana.obj["spec"]["template"]["metadata"]["annotations"]["checksum/config"] = "changed"
    comparison = compare(production, changed)
    assert [str(n) for n in comparison.notes] == [
        "Deployment/leanvibe-monitoring/grafana: checksum/config changed (grafana-dashboard-leanvibe-overview changed)"]
    [diff] = next(c for c in comparison.changed if c.manifest.kind == "ConfigMap").diffs
    assert diff.data_key == key and diff.counts == (1, 1)


def test_a_label_only_change_of_a_configmap_is_not_a_cause(production: list[Manifest]) -> None:
    changed = edited(production)
    find(changed, GRAFANA_DATASOURCES).obj["metadata"]["labels"]["extra"] = "x"
    find(changed, GRAFANA).obj["spec"]["template"]["metadata"]["annotations"]["checksum/config"] = "changed"
    assert [str(n) for n in compare(production, changed).notes] == [
        f"{GRAFANA}: checksum/config changed (no mounted config in this comparison changed)"]


def test_alerting_summary_reports_rules_and_receivers(production: list[Manifest]) -> None:
    changed = edited(production)
    rules_map = find(changed, RULES).obj["data"]
    rules = yamlio.load(rules_map[RULES_KEY])
    group = rules["groups"][0]["rules"]
    first, second = group[0], group[1]
    first["for"], first["labels"]["severity"] = "10m", "warning"
    added = {**copy.deepcopy(second), "alert": "BrandNewAlert"}
    group.remove(second)
    group.append(added)
    rules_map[RULES_KEY] = yamlio.dump(rules)
    alerting = compare(production, changed).alerting
    by_name = {r.alert: r for r in alerting.rules}
    assert by_name[first["alert"]].fields == ("for", "labels")
    assert by_name[second["alert"]].change == "removed" and by_name["BrandNewAlert"].change == "added"
    assert by_name["BrandNewAlert"].receivers == by_name[second["alert"]].receivers
    assert [r.alert for r in alerting.reroutes] == [first["alert"]]  # a warning no longer pages
    assert alerting.reroutes[0].old != alerting.reroutes[0].new


def test_a_route_change_reroutes_alerts_without_any_rule_change(production: list[Manifest]) -> None:
    changed = edited(production)
    config_map = find(changed, "ConfigMap/leanvibe-monitoring/alertmanager-config").obj["data"]
    config = yamlio.load(config_map["alertmanager.yml"])
    config["route"]["routes"] = []
    config_map["alertmanager.yml"] = yamlio.dump(config)
    alerting = compare(production, changed).alerting
    assert alerting.rules == () and alerting.reroutes
    assert all(r.new == (config["route"]["receiver"],) for r in alerting.reroutes)


def test_duplicate_objects_on_one_side_are_an_input_error(production: list[Manifest]) -> None:
    with pytest.raises(InputError, match="appears twice"):
        compare([*production, production[0]], production)


# --- render --check uses the engine ------------------------------------------------------------------------


def test_render_check_prints_the_per_object_diff(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", "--all", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    tree = out / "production"
    rules_file = next(tree.glob("*-configmap-prometheus-rules.yaml"))
    rules_file.write_text(rules_file.read_text().replace(THRESHOLD[0], THRESHOLD[1], 1))
    result = CliRunner().invoke(app, ["render", "--all", "--output-dir", str(out), "--check"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"--- {RULES} data[{RULES_KEY}]\t{tree} (committed)" in lines
    assert f"+++ {RULES} data[{RULES_KEY}]\t{tree} (rendered)" in lines
    assert "  rule changed: LeanVibeHighErrorRate (expr)" in lines
    assert not any(line.startswith(f"--- {rules_file}") for line in lines)  # no file-level diff of it


def test_a_profile_broken_at_a_revision_is_reported_at_rev_path(repo: Path) -> None:
    base = repo / "profiles" / "base.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace("  retention_time:", "  retention_tme:", 1))
    git(repo, "commit", "-q", "-am", "a typo")
    result = invoke("git:HEAD", "git:HEAD~1", "--profile", "production")
    assert result.exit_code == 2, result.output
    assert "error: HEAD:profiles/base.yaml:" in result.stderr and "retention_tme" in result.stderr
    assert "leanvibe-diff-" not in result.stderr  # no temporary paths


# --- how a side is read --------------------------------------------------------------------------------------


def test_an_existing_directory_wins_over_a_profile_of_the_same_name(
    rendered: dict[str, list[Manifest]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(rendered["staging"], tmp_path / "production")  # ./production holds staging's objects
    result = invoke("production", str(PROFILES / "staging.yaml"))
    assert result.exit_code == 0, result.output


def test_a_file_of_manifests_is_read_as_manifests_and_a_profile_file_is_rendered(
    production: list[Manifest], tmp_path: Path
) -> None:
    stream = tmp_path / "production.yaml"
    stream.write_text(output.stream(production), encoding="utf-8")
    result = invoke(str(stream), str(PROFILES / "production.yaml"))
    assert result.exit_code == 0, result.output
