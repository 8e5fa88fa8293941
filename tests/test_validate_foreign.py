"""Manifests this tool did not render (issue 16): third-party-shaped cases in tests/corpus/foreign/.

Each case is a manifest stream written for this test (shaped like what charts, kube-prometheus or the
Kubernetes examples ship, copied from none).  Its header says what it shows and what `validate` must answer:

    # expect: nothing                        -> exit 0, no finding at all (a false positive fixed)
    # expect: object.duplicate, ref.secret   -> exit 1, each id reported (a false negative fixed, or kept)
    # args: --checks third-party             -> optional, the extra arguments (default: --checks third-party)

Every case runs with `--no-tools --strict --kube-version 1.36`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

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
