"""Loading and merging profiles: resolution, extends, keyed merges, line-precise errors."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack.errors import ProfileError
from leanvibe_stack.profiles import load_profile, load_yaml_file, merge, resolve_profile
from tests.conftest import PROFILES


def _child(tmp_path: Path, text: str, name: str = "child.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {PROFILES / 'production.yaml'}\n{text}")
    return path


def test_merge_deep_merges_mappings_replaces_lists_and_null_deletes(tmp_path: Path) -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "keep": True, "gone": {"deep": 1}}
    override = {"a": {"y": [3]}, "gone": None, "new": "v"}
    merged, _ = merge(base, {}, override, {})
    assert merged == {"a": {"x": 1, "y": [3]}, "keep": True, "new": "v"}


def test_child_changes_one_keyed_entry_without_copying_the_rest(tmp_path: Path) -> None:
    path = _child(tmp_path, "prometheus:\n  scrape_jobs:\n    redis:\n      scrape_interval: 30s\n")
    stack = load_profile(str(path)).stack
    production = load_profile("production", PROFILES).stack
    assert stack.prometheus.scrape_jobs["redis"].scrape_interval == "30s"
    assert list(stack.prometheus.scrape_jobs) == list(production.prometheus.scrape_jobs)
    assert stack.prometheus.scrape_jobs["neo4j"] == production.prometheus.scrape_jobs["neo4j"]


def test_null_removes_an_inherited_entry(tmp_path: Path) -> None:
    path = _child(tmp_path, "prometheus:\n  scrape_jobs:\n    aws-resources: null\n")
    assert "aws-resources" not in load_profile(str(path)).stack.prometheus.scrape_jobs


def test_extends_by_name_resolves_beside_the_child(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text((PROFILES / "production.yaml").read_text().replace(
        "extends: base", f"extends: {PROFILES / 'base.yaml'}"))
    (tmp_path / "kid.yaml").write_text("extends: parent\ndescription: kid\n")
    assert load_profile("kid", tmp_path).stack.description == "kid"


def test_a_profile_anywhere_extends_a_shipped_profile_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./profiles here: the name resolves to the shipped profiles
    (tmp_path / "eu.yaml").write_text("extends: production\ndescription: EU cluster\n")
    loaded = load_profile(str(tmp_path / "eu.yaml"))
    assert loaded.stack.description == "EU cluster"
    assert loaded.stack.prometheus == load_profile("production", PROFILES).stack.prometheus


def test_extends_looks_beside_the_child_then_the_profiles_dir_then_the_shipped_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    team, clusters = tmp_path / "team", tmp_path / "clusters"
    team.mkdir()
    clusters.mkdir()
    (team / "team-base.yaml").write_text("extends: production\ndescription: from --profiles-dir\n")
    (clusters / "eu.yaml").write_text("extends: team-base\n")
    assert load_profile(str(clusters / "eu.yaml"), team).stack.description == "from --profiles-dir"
    (clusters / "team-base.yaml").write_text("extends: production\ndescription: beside the child\n")
    assert load_profile(str(clusters / "eu.yaml"), team).stack.description == "beside the child"


def test_a_missing_parent_lists_every_place_looked_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eu.yaml").write_text("extends: prodution\n")
    with pytest.raises(ProfileError) as raised:
        load_profile(str(tmp_path / "eu.yaml"), tmp_path / "elsewhere")
    message = str(raised.value)
    assert f"eu.yaml:1:1: extends: parent profile 'prodution' not found (looked at {tmp_path / 'prodution.yaml'}, " \
           f"{tmp_path / 'elsewhere' / 'prodution.yaml'}, {PROFILES / 'prodution.yaml'}); did you mean 'production'?" \
           in message


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b\n")
    (tmp_path / "b.yaml").write_text("extends: a\n")
    with pytest.raises(ProfileError, match="cycle"):
        load_profile("a", tmp_path)


def test_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    path = _child(tmp_path, "prometheus:\n  retention_tme: 30d\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    (problem,) = caught.value.problems
    assert problem.field == "prometheus.retention_tme"
    assert problem.location is not None and problem.location.line == 3 and problem.location.file == path
    assert "unknown setting" in str(problem)


def test_bad_value_names_its_line(tmp_path: Path) -> None:
    path = _child(tmp_path, "prometheus:\n  storage:\n    size: 8 GB\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    assert any(p.field == "prometheus.storage.size" and p.location and p.location.line == 4
               for p in caught.value.problems), caught.value.problems


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("description: a\ndescription: b\n")
    with pytest.raises(ProfileError, match="duplicate key 'description'"):
        load_yaml_file(path)


def test_relabel_replacement_naming_a_missing_group_is_rejected(tmp_path: Path) -> None:
    # The seed's metric_relabel_configs: `${1}` with a regex that has no capture group.
    path = _child(tmp_path, """prometheus:
  scrape_jobs:
    leanvibe-backend:
      metric_relabel_configs:
      - source_labels: [__name__]
        regex: http_request_duration_seconds_bucket
        target_label: __tmp_le
        replacement: $1
""")
    with pytest.raises(ProfileError, match=r"uses \$1 but regex .* has 0 capture group"):
        load_profile(str(path))


def test_abstract_profiles_are_not_rendered() -> None:
    with pytest.raises(ProfileError, match="abstract"):
        load_profile("base", PROFILES)


def test_name_resolves_against_cwd_profiles_then_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_profile("production").parent.name == "profiles"  # the shipped/repo profiles
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "production.yaml").write_text("description: local\n")
    assert resolve_profile("production") == tmp_path / "profiles" / "production.yaml"


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(ProfileError, match=r"available: development, production, staging\)"):
        resolve_profile("prod", PROFILES)


@pytest.mark.parametrize("name", sorted(p.stem for p in PROFILES.glob("*.yaml")))
def test_libyaml_and_pure_python_parsers_build_the_same_data_and_lines(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader parses with libyaml for speed; the pure parser is the reference for every value and line."""
    import yaml

    from leanvibe_stack import profiles

    assert yaml.__with_libyaml__, "PyYAML without libyaml: the fast path is not exercised"
    data, locations = load_yaml_file(PROFILES / f"{name}.yaml")
    fast = data, dict(locations)  # the lines are parsed on first use: here, before the parser changes
    monkeypatch.setattr(profiles, "_FastLoader", profiles._Loader)
    data, locations = load_yaml_file(PROFILES / f"{name}.yaml")
    assert fast == (data, dict(locations))


def test_a_yaml_error_reads_the_same_with_libyaml_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml's own messages differ; the pure parser's (with the offending line and a caret) are shown."""
    from leanvibe_stack import profiles

    path = tmp_path / "broken.yaml"
    path.write_text("global:\n  app_namespace: apps\n  labels: {team: platform\n  more: 1\n")
    messages = []
    for loader in (profiles._FastLoader, profiles._Loader):
        monkeypatch.setattr(profiles, "_FastLoader", loader)
        with pytest.raises(ProfileError) as caught:
            load_yaml_file(path)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "broken.yaml:4:7: invalid YAML: expected ',' or '}', but got ':'" in messages[0]
    assert messages[0].endswith("\n      more: 1\n          ^")


def _accepts(annotation: Any, value: str) -> bool:
    from pydantic import TypeAdapter, ValidationError

    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("target", "ok"), [
    ("localhost:9090", True), ("localhost", True), ("10.0.0.5:9100", True), ("[::1]:9100", True),
    ("node_1.internal:9100", True), ("a:65535", True), ("a:0", False), ("a:99999", False), ("a:²", False),
    ("http://a:9100", False), ("a:9100/metrics", False), ("", False), (" a:1", False), ("a:", False),
])
def test_scrape_targets_are_host_and_port(target: str, ok: bool) -> None:
    from leanvibe_stack.models.base import ScrapeTarget

    assert _accepts(ScrapeTarget, target) is ok


@pytest.mark.parametrize(("url", "ok"), [
    ("https://events.pagerduty.com/v2/enqueue", True), ("http://10.0.0.1:8080/hook", True), ("http://[::1]:80/", True),
    ("ftp://x/", False), ("https://", False), ("https://user:pw@x/", False), ("https://x:0/", False),
    ("https://x:65536/", False), ("https://x:８０/", False), ("https://x y/", False), ("https://x:/", True),
])
def test_http_urls(url: str, ok: bool) -> None:
    from leanvibe_stack.models.base import HttpUrl

    assert _accepts(HttpUrl, url) is ok



def test_a_dashboard_file_with_a_nul_is_reported_at_its_line(tmp_path: Path) -> None:
    # Found by the mutation property: resolving the path raised ValueError (exit 3) instead of a profile error.
    path = _child(tmp_path, 'grafana:\n  dashboards:\n    broken:\n      file: "a\\0b.json"\n')
    with pytest.raises(ProfileError, match=r"child.yaml:5:\d+: grafana.dashboards.broken.file: embedded null byte"):
        load_profile(str(path))


@pytest.mark.parametrize("setting", ['global.namespace="leanvibe-monitoring\\n"', 'prometheus.scrape_interval="15s\\n"',
                                     'prometheus.storage.size="150Gi\\n"'])
def test_a_trailing_newline_is_not_part_of_a_valid_value(setting: str) -> None:
    # Found by the mutation property: `$` matches before a final newline, so the value reached a template
    # and broke its YAML (exit 3).
    with pytest.raises(ProfileError):
        load_profile("production", PROFILES, [setting])


# --- lazy line tracking: files are parsed without locations, and again with them only when one is read ---

def test_an_error_deep_in_a_large_profile_names_its_line(tmp_path: Path) -> None:
    """The lines come from a second, line-tracked parse; it must point where the first one found the error."""
    rules = "".join(f"          Synthetic{i}:\n            expr: up == 0\n"
                    f"            for: {'5 minutes' if i == 1900 else '5m'}\n"
                    "            labels: {severity: warning, team: platform}\n" for i in range(2000))
    text = f"prometheus:\n  rule_groups:\n    synthetic.rules:\n      rules:\n{rules}"
    path = _child(tmp_path, text)
    expected = path.read_text().splitlines().index("            for: 5 minutes") + 1
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path), overrides=["prometheus.replicas=2"])
    [problem] = caught.value.problems
    assert problem.field == "prometheus.rule_groups.synthetic.rules.rules.Synthetic1900.for"
    assert problem.location is not None and (problem.location.file, problem.location.line) == (path, expected)
    assert "is not a duration" in problem.message


def test_locations_are_worked_out_once_and_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack import profiles

    parsed: list[Path] = []
    located = profiles._located

    def spy(text: str, path: Path) -> Any:
        parsed.append(path)
        return located(text, path)

    monkeypatch.setattr(profiles, "_located", spy)
    loaded = load_profile("production", PROFILES)
    assert parsed == []  # a profile without errors never pays for its lines
    expected = (PROFILES / "production.yaml").read_text().splitlines().index("prometheus:") + 1
    location = loaded.locations[("prometheus",)]
    assert (location.file, location.line) == (PROFILES / "production.yaml", expected)
    assert PROFILES / "production.yaml" in parsed
    count = len(parsed)
    assert loaded.locations.get(("prometheus", "replicas")) is not None
    assert len(parsed) == count  # worked out once
    assert pickle.loads(pickle.dumps(loaded)).locations == loaded.locations


_DOCUMENTS = {
    "plain": "a: x\nb: [1, 2.5, true, null, ~, '3']\nc: {d: {e: [f, {g: h}]}}\n",
    "alias": "a: &x [1, 2]\nb: *x\nc: &y {k: v}\nd: *y\n",
    "scalar alias": "a: &x 1\nb: *x\n",
    "merge key": "a: &x {k: v}\nb:\n  <<: *x\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "non-text key": "a: {1: x}\n",
    "null key": "a: {~: x}\n",
    "tagged mapping as text": "a: !!str {k: v}\n",
    "tagged mapping key": "? !!str {k: v}\n: 1\n",
    "binary": "a: !!binary aGVsbG8=\n",
    "timestamp": "a: !!timestamp 2026-12-05\nb: 2026-12-05\n",
    "bad int": "a: !!int x\n",
    "unknown tag": "a: !thing x\n",
    "tagged sequence": "a: !!set {x: null}\n",
    "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(5)),
    "alias of itself": "a: &a [x, *a]\n",
}


@pytest.mark.parametrize("name", sorted(_DOCUMENTS))
def test_the_fast_builder_builds_what_the_line_tracked_builder_builds(name: str) -> None:
    """`_FastBuilder` handles plain data and hands everything else to `_Builder`: same data, same errors."""
    import yaml

    from leanvibe_stack import profiles

    def outcome(build: Any) -> Any:
        try:
            return build(profiles._compose(_DOCUMENTS[name]))
        except (ProfileError, yaml.YAMLError) as error:  # load_yaml_file reports both with their line
            return f"{type(error).__name__}: {error}"

    path = Path("doc.yaml")
    fast = outcome(lambda node: profiles._build(node, path)[0])
    assert fast == outcome(lambda node: profiles._Builder(path).build(node, ()))
    assert fast is not None


@pytest.mark.parametrize("name", sorted(p.stem for p in PROFILES.glob("*.yaml")))
def test_shipped_profiles_build_the_same_without_lines(name: str) -> None:
    from leanvibe_stack import profiles

    node = profiles._compose((PROFILES / f"{name}.yaml").read_text())
    assert node is not None
    expected = profiles._Builder(PROFILES / f"{name}.yaml").build(node, ())
    try:
        assert profiles._FastBuilder().value(node, 0) == expected
    except profiles._Unusual:
        pytest.fail(f"{name}.yaml is plain data, yet the fast builder left it to the line-tracked one")
