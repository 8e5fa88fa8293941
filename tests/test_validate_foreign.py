"""Manifests this tool did not render (issue 16): third-party-shaped cases in tests/corpus/foreign/.

Each case is a manifest stream written for this test (shaped like what charts, kube-prometheus or the
Kubernetes examples ship, copied from none).  Its header says what it shows and what `validate` must answer:

    # expect: nothing                        -> exit 0, no finding at all (a false positive fixed)
    # expect: object.duplicate, ref.secret   -> exit 1, each id reported (a false negative fixed, or kept)
    # args: --checks third-party             -> optional, the extra arguments (default: --checks third-party)

Every case runs with `--no-tools --strict --kube-version 1.36`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.inputs import load_manifests
from tests.conftest import REPO

FOREIGN = REPO / "tests" / "corpus" / "foreign"
CASES = sorted(FOREIGN.glob("*.yaml"))
DEFAULT_ARGS = ["--checks", "third-party"]
HEADER = re.compile(r"^# (expect|args): (.*)$", re.MULTILINE)
RUNNER = CliRunner()


def _header(path: Path) -> tuple[list[str], list[str]]:
    fields = {key: value.strip() for key, value in HEADER.findall(path.read_text(encoding="utf-8"))}
    assert "expect" in fields, f"{path.name}: no `# expect:` line"
    expect = [] if fields["expect"] == "nothing" else [c.strip() for c in fields["expect"].split(",")]
    args = fields["args"].split() if "args" in fields else DEFAULT_ARGS
    return expect, args


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_a_foreign_manifest_gets_the_answer_its_header_states(case: Path) -> None:
    from leanvibe_stack.cli import app

    expect, args = _header(case)
    result = RUNNER.invoke(app, ["validate", str(case), "--no-tools", "--strict", "--kube-version", "1.36",
                                 "--output", "json", *args])
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.stdout}{result.stderr}"
    findings = json.loads(result.stdout)["findings"]
    reported = {f["check"] for f in findings}
    if not expect:
        assert result.exit_code == 0 and not findings, json.dumps(findings, indent=1)
    else:
        assert result.exit_code == 1
        assert set(expect) <= reported, f"expected {expect}, got:\n{json.dumps(findings, indent=1)}"


def test_the_corpus_has_both_kinds_of_case() -> None:
    answers = [_header(path)[0] for path in CASES]
    assert len(CASES) >= 10
    assert any(not expect for expect in answers) and any(expect for expect in answers)


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _replace(root: Any, path: tuple[str | int, ...], value: Any) -> None:
    node = root
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_an_object_of_the_wrong_shape_is_a_finding_never_a_crash(case: Path) -> None:
    """Every value of every object of the case replaced by a string, a null or a list holding a null: the
    schemas report it (the API server would refuse the object) and the other checks go on without it."""
    from leanvibe_stack.validate import validate

    objects = load_manifests([str(case)])
    for index, manifest in enumerate(objects):
        for path in _paths(manifest.obj):
            for value in ("x", None, [None]):
                broken = copy.deepcopy(manifest.obj)
                _replace(broken, path, value)
                others = [*objects[:index], Manifest(obj=broken, component="", source=str(case)), *objects[index + 1:]]
                validate(others, kube_version="1.36")  # raises on a crash
