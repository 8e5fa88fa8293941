"""`profiles list` and `profiles show` (with `--provenance`), through the CLI and their helpers."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from leanvibe_stack.cli import app
from leanvibe_stack.commands.profiles import annotate, dump_yaml, shown_profile
from leanvibe_stack.profiles import available_profiles, load_profile
from tests.conftest import PROFILES, REPO

COMMENT = re.compile(r"\s+# (\S+)$")


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("LEANVIBE_PROFILE", raising=False)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def line_of(file: Path, *keys: str) -> int:
    """1-based line of the block-style key path `keys` in a profile file (each key one level deeper)."""
    lines = file.read_text(encoding="utf-8").splitlines()
    start = 0
    for depth, key in enumerate(keys):
        pattern = re.compile(rf"^{'  ' * depth}{re.escape(key)}:")
        start = next(i for i in range(start, len(lines)) if pattern.match(lines[i]))
    return start + 1


def comment_on(output: str, indent: int, key: str, after: str | None = None) -> str:
    """The provenance comment on the first line `<indent spaces>key: ...` (after the line starting `after`)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(after)) if after else 0
    line = next(line for line in lines[start:] if line.startswith(" " * indent + key + ":"))
    match = COMMENT.search(line)
    assert match, line
    return match.group(1)


def test_list_shows_every_profile_with_its_parent() -> None:
    result = invoke("profiles", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "EXTENDS", "ABSTRACT", "DESCRIPTION"]
    table = {row.split()[0]: row.split(maxsplit=3) for row in rows}
    assert sorted(table) == ["base", "development", "production", "staging"] == available_profiles(PROFILES)
    assert table["base"][1:3] == ["-", "yes"]  # abstract profiles are listed, marked
    for name in ("development", "production", "staging"):
        assert table[name][1:3] == ["base", "no"]
        description = yaml.safe_load((PROFILES / f"{name}.yaml").read_text())["description"]
        assert table[name][3] == description
    columns = {row.index(row.split()[1], len(row.split()[0])) for row in result.stdout.splitlines()}
    assert len(columns) == 1  # aligned


def test_list_as_json() -> None:
    result = invoke("profiles", "list", "--output", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["staging"]["extends"] == "base" and rows["staging"]["abstract"] is False
    assert rows["base"]["extends"] is None and rows["base"]["abstract"] is True


def test_list_reports_unreadable_files_after_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("extends: base\ndescription: fine\n")
    (tmp_path / "broken.yaml").write_text("prometheus: [unclosed\n")
    result = invoke("profiles", "list", "--profiles-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "good" in result.stdout and "broken" not in result.stdout
    assert "broken.yaml:" in result.stderr and "invalid YAML" in result.stderr


def test_list_of_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    result = invoke("profiles", "list", "--profiles-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_show_production_is_the_merged_profile() -> None:
    result = invoke("profiles", "show", "production")
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert shown["prometheus"]["replicas"] == 2
    assert shown["global"]["environment"] == "production"
    assert "extends" not in shown and "abstract" not in shown
    staging = yaml.safe_load(invoke("profiles", "show", "staging").stdout)
    assert staging["prometheus"]["replicas"] == 1
    assert "pagerduty-critical" not in staging["alertmanager"]["receivers"]  # deleted with null
    assert shown["grafana"]["dashboards"]["leanvibe-overview"]["file"] == "dashboards/leanvibe-overview.json"


@pytest.mark.parametrize("name", ["production", "staging", "development", "base"])
def test_shown_profile_loads_back_to_the_same_stack(name: str, tmp_path: Path) -> None:
    """The output is itself a complete profile: saved beside the others, it loads to the same Stack."""
    profiles = tmp_path / "profiles"
    shutil.copytree(PROFILES, profiles)
    # base names no environment (each environment's profile does): show it as one
    overrides = ["global.environment=qa"] if name == "base" else []
    (profiles / "shown.yaml").write_text(invoke("profiles", "show", name, *(f"--set={o}" for o in overrides)).stdout,
                                         encoding="utf-8")
    expected = load_profile(name, profiles, [*overrides, "abstract=false"] if name == "base" else None).stack
    assert load_profile("shown", profiles).stack == expected


def test_show_follows_the_profile_key_order() -> None:
    shown = shown_profile("staging", PROFILES).data
    base = yaml.safe_load((PROFILES / "base.yaml").read_text())
    assert list(shown) == [key for key in base if key != "abstract"]
    assert list(shown["prometheus"])[:3] == list(base["prometheus"])[:3] == ["image", "replicas", "retention_time"]
    assert list(shown["prometheus"]["scrape_jobs"]) == list(load_profile("staging", PROFILES).stack.prometheus
                                                            .scrape_jobs)
    # then what no file writes (derived from the environment, or the model's default), in model order
    assert list(shown["global"])[-6:] == ["app_namespace", "cluster", "shared_names", "external_url_base",
                                          "cluster_domain", "image_registry"]


def test_show_is_deterministic() -> None:
    assert invoke("profiles", "show", "staging").stdout == invoke("profiles", "show", "staging").stdout


def test_provenance_names_the_file_and_line_of_each_value() -> None:
    result = invoke("profiles", "show", "staging", "--provenance")
    assert result.exit_code == 0, result.output
    out = result.stdout
    staging, base = PROFILES / "staging.yaml", PROFILES / "base.yaml"
    assert comment_on(out, 2, "replicas", after="prometheus:") == \
        f"staging.yaml:{line_of(staging, 'prometheus', 'replicas')}"
    assert comment_on(out, 2, "evaluation_interval", after="prometheus:") == \
        f"base.yaml:{line_of(base, 'prometheus', 'evaluation_interval')}"
    assert comment_on(out, 2, "namespace", after="global:") == f"base.yaml:{line_of(base, 'global', 'namespace')}"
    assert comment_on(out, 2, "cluster_domain", after="global:") == "default"
    assert comment_on(out, 2, "cluster", after="global:") == "derived"  # from the environment: models/identity.py
    # The same data as without comments: the annotated output is still valid YAML.
    assert yaml.safe_load(out) == yaml.safe_load(invoke("profiles", "show", "staging").stdout)


def test_provenance_of_set_overrides() -> None:
    result = invoke("profiles", "show", "staging", "--provenance", "--set", "prometheus.replicas=3",
                    "--set", "prometheus.storage={size: 5Gi}")
    assert result.exit_code == 0, result.output
    assert comment_on(result.stdout, 2, "replicas", after="prometheus:") == "--set"
    assert comment_on(result.stdout, 4, "size", after="  storage:") == "--set"
    assert yaml.safe_load(result.stdout)["prometheus"]["replicas"] == 3


def test_every_value_line_is_annotated() -> None:
    out = invoke("profiles", "show", "production", "--provenance").stdout
    data = shown_profile("production", PROFILES)
    plain = dump_yaml(data.data).splitlines()
    annotated = out.splitlines()
    assert len(plain) == len(annotated)
    for before, after in zip(plain, annotated, strict=True):
        assert after.startswith(before)
        if after != before:
            assert COMMENT.search(after[len(before):])
    labels = {match.group(1) for line in annotated if (match := COMMENT.search(line))}
    assert {label.split(":")[0] for label in labels} == {"base.yaml", "production.yaml", "default", "derived"}


def test_no_defaults_leaves_out_what_no_file_sets() -> None:
    result = invoke("profiles", "show", "staging", "--no-defaults", "--provenance")
    assert result.exit_code == 0, result.output
    assert "# default" not in result.stdout
    shown = yaml.safe_load(result.stdout)
    assert "cluster_domain" not in shown["global"] and shown["global"]["environment"] == "staging"
    assert "cluster" not in shown["global"]  # derived from the environment: no file writes it


def test_show_an_abstract_profile() -> None:
    missing = invoke("profiles", "show", "base")
    assert missing.exit_code == 2 and "global.environment: Field required" in missing.stderr
    result = invoke("profiles", "show", "base", "--provenance", "--set", "global.environment=qa")
    assert result.exit_code == 0, result.output
    assert "abstract" not in yaml.safe_load(result.stdout)
    assert "staging.yaml" not in result.stdout


def test_show_a_profile_by_path(tmp_path: Path) -> None:
    child = tmp_path / "mine.yaml"
    child.write_text(f"extends: {PROFILES / 'staging.yaml'}\nprometheus:\n  replicas: 4\n")
    result = invoke("profiles", "show", str(child), "--provenance")
    assert result.exit_code == 0, result.output
    assert comment_on(result.stdout, 2, "replicas", after="prometheus:") == "mine.yaml:3"
    assert comment_on(result.stdout, 2, "retention_time", after="prometheus:") == \
        f"{PROFILES / 'staging.yaml'}:{line_of(PROFILES / 'staging.yaml', 'prometheus', 'retention_time')}"


def test_unknown_profile_is_bad_input() -> None:
    result = invoke("profiles", "show", "no-such-profile")
    assert result.exit_code == 2
    assert "no profile named 'no-such-profile'" in result.stderr and result.stdout == ""


def test_invalid_profile_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text((PROFILES / "base.yaml").read_text())
    (tmp_path / "typo.yaml").write_text("extends: base\nprometheus:\n  retention_tme: 30d\n")
    result = invoke("profiles", "show", "typo", "--profiles-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "typo.yaml:3" in result.stderr and "did you mean `retention_time`" in result.stderr


def test_bad_set_is_bad_input() -> None:
    result = invoke("profiles", "show", "staging", "--set", "prometheus.replicas=many")
    assert result.exit_code == 2 and "prometheus.replicas" in result.stderr


TRICKY: dict[str, Any] = {
    "block": "line one\nline two\n",
    "trailing space then newline": "a \nb",
    "leading space": " x\ny",
    "hash": "a # not a comment",
    "quoted": "yes",
    "empty list": [],
    "empty map": {},
    "nested": [["a", "b"], {"k": "multi\nline"}],
    "number-like": "1.29",
}


def test_annotate_keeps_tricky_yaml_valid() -> None:
    text = dump_yaml(TRICKY)
    annotated = annotate(text, lambda where: ".".join(str(part) for part in where))
    assert yaml.safe_load(annotated) == TRICKY
    assert "# block" in annotated and "# empty list" in annotated and "# nested.1.k" in annotated
    assert "# nested.0.1" in annotated
