"""Property-based fuzzing of `render` (issue 4): mutated profiles never crash it and never half-write.

Each example starts from the merged production profile (base.yaml + production.yaml, merged here the
way the product merges them), applies 1-5 random mutations at random paths (drop a key or item, swap
a value's type, random/unicode/control/template-looking text, huge or special numbers, deep nesting,
unknown keys, raw YAML fragments such as tags, aliases and nesting bombs), and sometimes damages the
file itself (truncated text, random bytes, spliced bytes, duplicated or dropped lines).  It renders
the file in-process into an output directory holding a previous render and checks:

* the exit code is 0, 1 or 2 (3 is the CLI's "this is a bug"), and no exception or traceback escaped;
* on failure the previous tree is byte-identical and nothing (no staging directory) is left beside it;
* on success the directory is one complete rendered tree: kustomization.yaml lists every other file.

A second property throws random `--set PATH=VALUE` arguments at the production profile.

CI runs 2,000 deterministic examples of the first property (four tests of 500, each with its own fixed
seed, so pytest-xdist's workers share them) and 300 of the second (`derandomize=True`);
set LEANVIBE_PROPERTY_EXAMPLES to fewer for a quick local run (the second scales with it).  Most
of an example's time is the product parsing the ~40 kB profile; a failure adds up to five minutes of
Hypothesis shrinking, and the same failure is found on every run until it is fixed.
"""

from __future__ import annotations

import os
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from leanvibe_stack.cli import app
from tests.conftest import PROFILES

EXAMPLES = int(os.environ.get("LEANVIBE_PROPERTY_EXAMPLES", "2000"))
SET_EXAMPLES = max(1, EXAMPLES * 3 // 20)  # 300 at the default
SHARDS = 4  # the tests below that run the first property's examples (EXAMPLES in all)
FUZZ_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    derandomize=True,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow "explain"
)
RUNNER = CliRunner()
ENV: dict[str, str | None] = {"LEANVIBE_DEBUG": None, "LEANVIBE_PROFILE": None}  # unset: no tracebacks on purpose
YamlPath = tuple[str | int, ...]
DELETE = object()  # what a change returns to remove the value at its path


# --- the valid starting point ----------------------------------------------------------------------


class _TextDates(yaml.SafeLoader):
    """Like the product's loader: dates stay text."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """The product's merge rules: mappings merge, null deletes, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@cache
def production() -> dict[str, Any]:
    """base.yaml with production.yaml merged over it, as one self-contained profile."""
    base = yaml.load((PROFILES / "base.yaml").read_text(encoding="utf-8"), Loader=_TextDates)
    child = yaml.load((PROFILES / "production.yaml").read_text(encoding="utf-8"), Loader=_TextDates)
    base.pop("abstract", None)
    child.pop("extends", None)
    data = _merge(base, child)
    for dashboard in data["grafana"]["dashboards"].values():  # the file is written elsewhere: absolute paths
        dashboard["file"] = str((PROFILES / dashboard["file"]).resolve())
    return data


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=1_000_000)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A previous render of production: every example renders over a copy of it."""
    out = tmp_path_factory.mktemp("template") / "out"
    result = RUNNER.invoke(app, ["render", "--profile", "production", "--profiles-dir", str(PROFILES),
                                 "--output-dir", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    return out


@dataclass(frozen=True)
class Workspace:
    """Where examples write their profile and render; `site/out` holds a copy of the template between examples.

    A failed render must leave it as it was, so it is only copied again after a render that changed it
    (or a failed check): most examples fail, and skipping the copy keeps them cheap.
    """

    template: Path
    before: dict[str, bytes] = field(repr=False)
    profile: Path
    site: Path

    @property
    def out(self) -> Path:
        return self.site / "out"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # Hypothesis prints the fixture in failure reports: not all of `before`

    def reset(self) -> None:
        shutil.rmtree(self.site, ignore_errors=True)
        self.site.mkdir()
        shutil.copytree(self.template, self.out)


@pytest.fixture
def workspace(template: Path, tmp_path: Path) -> Workspace:
    """Shared by all examples of one test (hence HealthCheck.function_scoped_fixture); reset as needed."""
    (tmp_path / "in").mkdir()
    space = Workspace(template, snapshot(template), tmp_path / "in" / "production.yaml", tmp_path / "site")
    space.reset()
    return space


# --- the checks every example must pass --------------------------------------------------------------


def render_into_previous(space: Workspace, args: list[str], profile: bytes | None = None) -> None:
    """Render over the previous tree and check the exit code, the output and the directory."""
    if profile is not None:
        space.profile.write_bytes(profile)  # named production.yaml: the file's stem names the profile
        args = ["--profile", str(space.profile), *args]
    intact = False
    try:
        result = RUNNER.invoke(app, ["render", *args, "--output-dir", str(space.out)], env=ENV)
        check(result, space.site, space.out, space.before)
        intact = result.exit_code != 0
    finally:
        if not intact:
            space.reset()


def check(result: Result, site: Path, out: Path, before: dict[str, bytes]) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        pytest.fail("an exception escaped the CLI:\n" + "".join(traceback.format_exception(*result.exc_info)))
    assert result.exit_code in {0, 1, 2}, f"exit code {result.exit_code} (a bug):\n{result.output}"
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, result.output
    assert sorted(os.listdir(site)) == ["out"], f"stray files beside the output: {sorted(os.listdir(site))}"
    if result.exit_code != 0:
        assert result.stderr.strip(), "a failure must say why"
        assert sorted(os.listdir(out)) == sorted(before), "a failed render changed the previous tree"
        assert snapshot(out) == before, "a failed render changed the previous tree"
        return
    files = sorted(os.listdir(out))
    assert "kustomization.yaml" in files, files
    kustomization = yaml.load((out / "kustomization.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert sorted(kustomization["resources"]) == [name for name in files if name != "kustomization.yaml"]
    for name in kustomization["resources"]:
        document = yaml.load((out / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        assert isinstance(document, dict) and document.get("kind") and document.get("apiVersion"), name


# --- strategies --------------------------------------------------------------------------------------

SPECIAL_TEXT = [
    "", " ", "\n", "\t", "\r\n", "\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\ufeff", "\u202e", "é", "日本",
    "😀", "${X}", "${", "$1", "$$", "{{", "}}", "{{ .Values.x }}", "{{ $labels.instance }}", "{{ end }}",
    "{% if x %}", "{#", "{{{{", "'", '"', "\\", "null", "~", "yes", "no", "on", "off", "true", "1e400", "0x1F",
    "0o17", ".nan", "-", "- a", ": ", "a: b", "#", "*", "&a", "!!python/object/apply:os.system ['true']", "---",
    "...", "%YAML 1.1", "[", "]", "{", "}", ",", "?", "|", ">", "@", "`", "=", "x" * 100_000, "é" * 20_000,
    "😀" * 5_000, "\n" * 2_000, "a\nb", "../../../etc/passwd", "/dev/null", "/", ".", "production", "base",
    "http://", "https://user:secret@example.com/hook", "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx",
    "5mins", "8 GB", "1.29", "99.99", "-1", "0", "1Gi", "100m", "1h", "0s", "-5m", "999999999999d", "*.log",
    "(", ")", ".*", "(?P<x>", "__name__", "le", "job", "\\1", "a" * 64, "a" * 254, "A_B", "a.b", "a/b",
    "a:\u00b2", "localhost:99999", "a:-1", "a:", ":80", "http://[::1", "http://a:99999/", "http://a:\u00b2/",
]
TEXT = st.one_of(
    st.text(max_size=30),  # any unicode but surrogates, control characters included
    st.text(st.characters(codec="ascii"), max_size=30),
    st.sampled_from(SPECIAL_TEXT),
)
NUMBERS = st.one_of(
    st.sampled_from([10**30, -(10**30), 10**100, 2**63, 2**63 - 1, 2**64, 2**31, -1, 0, 1, -0.0, 0.5, 1e308,
                     -1e308, 5e-324, float("nan"), float("inf"), float("-inf")]),
    st.integers(),
    st.floats(),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(
    SCALARS, lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=6,
)
OTHER_TYPE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.lists(SCALARS, max_size=3),
    st.dictionaries(TEXT, SCALARS, max_size=3), st.just([]), st.just({}),
)


def _bomb(levels: int) -> str:
    """Alias expansion: 10**levels nodes from a few hundred bytes ("billion laughs")."""
    anchors = ["&l0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return f"[{', '.join(anchors)}]"


# Written into the YAML text in place of a value: what a mutation of data cannot produce.
RAW_FRAGMENTS = st.one_of(
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: "{a: " * n + "1" + "}" * n),
    st.integers(1, 7).map(_bomb),
    st.sampled_from([
        "*nosuchalias", "&a [1, 2]", "[&a x, *a, *a]", "!!python/object/apply:os.system ['true']",
        "!!python/name:os.system", "!!binary aGVsbG8=", "!custom x", "!!int abc", "!!float x", "!!str 1",
        "!!map {a: 1}", "!!set {a, b}", "!!omap [a: 1]", "!!timestamp 2001-12-14", "!!null ''", "{a: 1, a: 2}",
        "{[1, 2]: x}", "{1: x}", "{null: x}", "{? a}", "{<<: {a: 1}}", "[{<<: *x}]", "2001-12-14",
        "2001-12-14T21:59:43.10-05:00", "0o17", "0x_1F", "1_000", "0b101", "190:20:30", ".NaN", "-.inf", "=",
        "'unterminated", '"\\xZZ"', '"\\uD800"', "[a, b", "{a: b", "a: b: c", "@reserved", "`reserved", "%",
        "! x", "!<tag:yaml.org,2002:str> x", "&x", "[*x]", "? x", ": x", "[a]: b",
    ]),
)


def draw_path(data: st.DataObject, root: Any) -> YamlPath:
    """A path to an existing value: a random walk down from the root that stops at a random depth."""
    path: list[str | int] = []
    node: Any = root
    while isinstance(node, dict | list) and node and data.draw(st.integers(0, 4), label="descend") != 4:
        keys: list[str | int] = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = keys[data.draw(st.integers(0, len(keys) - 1), label="child")]
        path.append(key)
        node = get(node, (key,))
    return tuple(path)


def get(root: Any, path: YamlPath) -> Any:
    for key in path:
        root = root[key]
    return root


def updated(root: Any, path: YamlPath, change: Callable[[Any], Any]) -> Any:
    """A copy of `root` with the value at `path` changed; only the containers along the path are copied."""
    if not path:
        new = change(root)
        return {} if new is DELETE else new
    head, rest = path[0], path[1:]
    copy: Any = dict(root) if isinstance(root, dict) else list(root)
    value = updated(root[head], rest, change) if rest else change(root[head])
    if value is DELETE:
        del copy[head]
    else:
        copy[head] = value
    return copy


def nested(depth: int, shape: str, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        as_list = shape == "list" or (shape == "mixed" and level % 2 == 0)
        value = [value] if as_list else {"k": value}
    return value


def unknown_key(data: st.DataObject, mapping: dict[str, Any]) -> str:
    near = data.draw(st.booleans(), label="near an existing key")
    if mapping and near:
        known = data.draw(st.sampled_from(sorted(mapping)), label="existing key")
        variants = [known + "s", known[:-1], known.upper(), known.replace("_", "-"), f" {known}", f"{known} ",
                    known.replace("_", "")]
        candidate = data.draw(st.sampled_from(variants), label="misspelling")
    else:
        candidate = data.draw(TEXT | st.sampled_from(["extends", "abstract", "<<", "description", "null"]),
                              label="new key")
    return candidate if candidate not in mapping else candidate + "_x"


def same_type(data: st.DataObject, value: Any) -> Any:
    """A different value of the same type: often still a valid profile, so rendering and validation run."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return data.draw(st.integers(-2, 100) | st.integers() | st.sampled_from([10**30, -1, 0, 65535, 65536]))
    if isinstance(value, float):
        return data.draw(st.floats())
    if isinstance(value, str):
        variants = [value + "x", value[:-1], value.upper(), value * 2, f" {value}", value.replace("_", "-"),
                    value.replace("{{", "{{{{"), value.replace("$", "$$"), value.replace("(", ""), value + "\n"]
        return data.draw(st.sampled_from(variants) | TEXT, label="text")
    if isinstance(value, list):
        return data.draw(st.sampled_from([value[::-1], [*value, *value[:1]], value[1:], []]), label="items")
    if isinstance(value, dict):
        return dict(reversed(value.items()))
    return ""


MUTATIONS = ["delete", "other type", "same type", "same type", "text", "number", "deep", "unknown key", "raw"]


def mutate(data: st.DataObject, root: Any, raws: dict[str, str]) -> Any:
    """One random mutation at one random path; raw YAML fragments are recorded in `raws` by placeholder."""
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    path = draw_path(data, root)
    if kind == "delete":
        return updated(root, path, lambda _: DELETE)
    if kind == "other type":
        value = data.draw(OTHER_TYPE, label="value")
    elif kind == "same type":
        value = same_type(data, get(root, path))
    elif kind == "text":
        value = data.draw(TEXT, label="text")
    elif kind == "number":
        value = data.draw(NUMBERS, label="number")
    elif kind == "deep":
        depth = data.draw(st.integers(1, 60), label="depth")
        shape = data.draw(st.sampled_from(["dict", "list", "mixed"]), label="shape")
        value = nested(depth, shape, data.draw(SCALARS, label="leaf"))
    elif kind == "unknown key":
        target = get(root, path)
        if isinstance(target, dict):
            key = unknown_key(data, target)
            return updated(root, path, lambda m: {**m, key: data.draw(VALUES, label="value")})
        if isinstance(target, list):
            return updated(root, path, lambda items: [*items, data.draw(VALUES, label="item")])
        value = {unknown_key(data, {}): target}
    else:
        placeholder = f"__leanvibe_raw_{len(raws)}__"
        raws[placeholder] = data.draw(RAW_FRAGMENTS, label="raw YAML")
        value = placeholder
    return updated(root, path, lambda _: value)


def profile_text(data: st.DataObject) -> bytes:
    """The mutated profile as a file, sometimes damaged as text or bytes."""
    root: Any = production()
    raws: dict[str, str] = {}
    for _ in range(data.draw(st.integers(1, 5), label="mutations")):
        root = mutate(data, root, raws)
    text = dump(root)
    for placeholder, fragment in raws.items():
        text = text.replace(placeholder, fragment)
    damage = data.draw(st.integers(0, 19), label="file damage")
    if damage == 16:  # truncated
        return text[: data.draw(st.integers(0, len(text)), label="cut")].encode()
    if damage == 17:  # not a profile at all
        return data.draw(st.binary(max_size=200), label="bytes")
    raw = text.encode()
    if damage == 18:  # bytes spliced in (often not UTF-8)
        at = data.draw(st.integers(0, len(raw)), label="at")
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=8), label="spliced") + raw[at:]
    if damage == 19:  # a line duplicated (duplicate keys), dropped, or indented differently
        lines = text.splitlines(keepends=True)
        at = data.draw(st.integers(0, len(lines) - 1), label="line")
        edit = data.draw(st.sampled_from(["duplicate", "drop", "indent", "dedent", "tab"]), label="line edit")
        line = lines[at]
        replacement = {"duplicate": [line, line], "drop": [], "indent": [" " + line], "dedent": [line[1:]],
                       "tab": ["\t" + line]}[edit]
        return "".join(lines[:at] + replacement + lines[at + 1:]).encode()
    return raw


# --- the properties ----------------------------------------------------------------------------------


def test_the_unmutated_starting_point_renders_like_production(workspace: Workspace) -> None:
    """The fuzzer's starting point is valid: without mutations it renders exactly production's tree."""
    workspace.profile.write_text(dump(production()), encoding="utf-8")
    result = RUNNER.invoke(app, ["render", "--profile", str(workspace.profile), "--output-dir", str(workspace.out)],
                           env=ENV)
    assert result.exit_code == 0, result.output
    assert snapshot(workspace.out) == workspace.before


def _mutated_profiles(shard: int) -> Callable[[Workspace], None]:
    """One shard of the first property: its own fixed seed, an equal share of the examples."""

    examples = max(1, EXAMPLES // SHARDS + (shard < EXAMPLES % SHARDS))  # the shards' add up to EXAMPLES

    @seed(shard)
    @settings(FUZZ_SETTINGS, derandomize=False, database=None, max_examples=examples)
    @given(data=st.data())
    def test(workspace: Workspace, data: st.DataObject) -> None:
        render_into_previous(workspace, [], profile=profile_text(data))

    return test


# The first property's examples in SHARDS tests, so pytest-xdist's workers share them (one test of EXAMPLES
# examples was the suite's longest by far, ~5 minutes); each shard is deterministic by its seed, as derandomize was.
test_mutated_profiles_exit_cleanly_and_never_half_write_0 = pytest.mark.long(_mutated_profiles(0))
test_mutated_profiles_exit_cleanly_and_never_half_write_1 = pytest.mark.long(_mutated_profiles(1))
test_mutated_profiles_exit_cleanly_and_never_half_write_2 = pytest.mark.long(_mutated_profiles(2))
test_mutated_profiles_exit_cleanly_and_never_half_write_3 = pytest.mark.long(_mutated_profiles(3))


def _set_segment(data: st.DataObject) -> str:
    return data.draw(st.one_of(
        st.sampled_from(["global", "prometheus", "replicas", "retention_time", "rule_groups", "scrape_jobs",
                         "alertmanager", "grafana", "dashboards", "loki", "promtail", "namespace", "image", "tag"]),
        TEXT,
        TEXT.map(lambda s: f"[{s}]"),
        TEXT.map(lambda s: f'"{s}"'),
        st.sampled_from(["[leanvibe.enterprise.rules]", "[", "]", "[]", '""', '"', ".", "..", "=", "[a.b]c"]),
    ), label="segment")


def _set_path(data: st.DataObject) -> str:
    if data.draw(st.booleans(), label="existing path"):
        path = draw_path(data, production())
        return ".".join(f"[{key}]" if "." in str(key) else str(key) for key in path)
    segments = [_set_segment(data) for _ in range(data.draw(st.integers(0, 6), label="segments"))]
    separators = [data.draw(st.sampled_from([".", ".", ".", "", ".."]), label="separator") for _ in segments]
    return "".join(s + sep for s, sep in zip(segments, separators, strict=True)).removesuffix(".")


def set_argument(data: st.DataObject) -> str:
    path = _set_path(data)
    value = data.draw(st.one_of(SCALARS.map(dump), TEXT, RAW_FRAGMENTS, VALUES.map(dump)), label="value")
    shapes = [f"{path}={value}", f"{path}={value}", f"{path}={value}", path, f"={value}", f"{path}=={value}",
              f"{path}={value}={value}", f"{value}={path}"]
    if data.draw(st.integers(0, 9), label="shape") == 9:
        return data.draw(TEXT, label="argument")
    return data.draw(st.sampled_from(shapes), label="shape")


@pytest.mark.long
@settings(FUZZ_SETTINGS, max_examples=SET_EXAMPLES)
@given(data=st.data())
def test_random_set_arguments_exit_cleanly_and_never_half_write(workspace: Workspace, data: st.DataObject) -> None:
    arguments = [set_argument(data) for _ in range(data.draw(st.integers(1, 3), label="--set count"))]
    args = ["--profile", "production", "--profiles-dir", str(PROFILES)]
    render_into_previous(workspace, [*args, *(a for argument in arguments for a in ("--set", argument))])
