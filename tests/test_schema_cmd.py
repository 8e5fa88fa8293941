"""`leanvibe-stack schema`: the committed editor schema is current, and it flags typos in profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]  # no stubs among the test extras
import pytest
from typer.testing import CliRunner, Result

from leanvibe_stack.cli import app
from leanvibe_stack.commands.schema import REFRESH, SCHEMA_PATH, profile_schema, schema_text
from leanvibe_stack.profiles import available_profiles, load_yaml_file
from tests.conftest import PROFILES, REPO

COMMITTED = REPO / SCHEMA_PATH
MODELINE = "# yaml-language-server: $schema=../schemas/profile.schema.json"


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def profile_data(text: str, tmp_path: Path) -> dict[str, Any]:
    """A profile's data as the loader (and an editor, YAML 1.2: dates stay text) reads it."""
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml_file(path)[0]


def test_committed_schema_is_current() -> None:
    assert COMMITTED.is_file(), f"{SCHEMA_PATH} is missing; create it with: {REFRESH}"
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), \
        f"{SCHEMA_PATH} is stale (the profile models changed); refresh with: {REFRESH}"


def test_schema_command_prints_the_committed_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    assert result.stdout == COMMITTED.read_text(encoding="utf-8")
    assert result.stdout.endswith("}\n") and '\n  "$defs": {' in result.stdout  # 2-space indent, sorted keys


def test_check_passes_on_the_committed_schema() -> None:
    result = invoke("schema", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and "up to date" in result.stderr


def test_check_reports_a_stale_schema_with_a_diff(tmp_path: Path) -> None:
    stale = tmp_path / "profile.schema.json"
    stale.write_text(schema_text().replace('"Retention Time"', '"Retention"'), encoding="utf-8")
    result = invoke("schema", "--check", "--output", str(stale))
    assert result.exit_code == 1
    changed = [line for line in result.stdout.splitlines() if line.startswith(("-", "+"))]
    assert len(changed) == 4 and '"title": "Retention"' in changed[2] and '"title": "Retention Time"' in changed[3]
    assert changed[2].startswith("-") and changed[3].startswith("+")
    assert REFRESH in result.stderr
    assert invoke("schema", "--check", "--output", str(tmp_path / "missing.json")).exit_code == 1


def test_output_writes_the_schema(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "profile.schema.json"
    result = invoke("schema", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == schema_text() and result.stdout == ""
    assert invoke("schema", "--check", "--output", str(target)).exit_code == 0


def test_schema_metadata() -> None:
    schema = profile_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False and "required" not in schema
    assert {"extends", "abstract", "description", "global", "prometheus"} <= set(schema["properties"])
    text = schema_text()
    refs = {ref.removeprefix("#/$defs/") for ref in _values(json.loads(text), "$ref")}
    assert refs == set(schema["$defs"])  # every reference resolves and no definition is unused


def _values(node: Any, key: str) -> list[Any]:
    if isinstance(node, dict):
        return [v for k, item in node.items() for v in ([item] if k == key else []) + _values(item, key)]
    if isinstance(node, list):
        return [v for item in node for v in _values(item, key)]
    return []


@pytest.mark.parametrize("name", available_profiles(PROFILES))
def test_every_profile_starts_with_the_modeline(name: str) -> None:
    first = (PROFILES / f"{name}.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == MODELINE
    assert (PROFILES / first.partition("$schema=")[2]).resolve() == COMMITTED.resolve()


@pytest.mark.parametrize("name", available_profiles(PROFILES))
def test_every_profile_validates_against_the_committed_schema(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    data, _ = load_yaml_file(PROFILES / f"{name}.yaml")
    assert errors(validator, data) == []


def test_a_typo_is_flagged(validator: jsonschema.Draft202012Validator, tmp_path: Path) -> None:
    text = (PROFILES / "staging.yaml").read_text(encoding="utf-8")
    assert "  retention_time: 15d\n" in text
    found = errors(validator, profile_data(text.replace("  retention_time: 15d\n", "  retention_tme: 15d\n"),
                                           tmp_path))
    assert len(found) == 1 and found[0].startswith("prometheus:") and "'retention_tme' was unexpected" in found[0]


@pytest.mark.parametrize("edit", [
    "descripton: typo at the top\n",
    "prometheus:\n  replicas: two\n",
    "prometheus:\n  scrape_jobs:\n    app:\n      metrics_pth: /metrics\n",
    "alertmanager:\n  receivers:\n    team:\n      slack_configs:\n      - title: no channel\n",
    "extends: 3\n",
])
def test_mistakes_are_flagged(edit: str, validator: jsonschema.Draft202012Validator, tmp_path: Path) -> None:
    assert errors(validator, profile_data(edit, tmp_path)) != []


@pytest.mark.parametrize("child", [
    "extends: base\nprometheus:\n  replicas: 3\n",  # a child sets only what differs
    "extends: base\nalertmanager:\n  receivers:\n    pagerduty-critical: null\n",  # null deletes
    "extends: base\nabstract: true\nglobal:\n  network_policy: {enabled: false}\n",
])
def test_partial_child_profiles_validate(child: str, validator: jsonschema.Draft202012Validator,
                                         tmp_path: Path) -> None:
    assert errors(validator, profile_data(child, tmp_path)) == []
