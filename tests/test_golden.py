"""The committed out/ tree is the golden reference for every profile."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from leanvibe_stack import api
from tests.conftest import PROFILES, REPO


def _trees(out: Path) -> dict[Path, dict[str, str]]:
    return {target: api.tree(r.manifests) for target, r in api.render_all(PROFILES, out, validate=False).items()}

REFRESH = "leanvibe-stack render --all --output-dir out   # then review `git diff out/` before committing"


def test_committed_out_matches_a_fresh_render() -> None:
    targets = _trees(REPO / "out")
    assert sorted(t.name for t in targets) == ["development", "production", "staging"]
    problems = []
    for target, files in targets.items():
        on_disk = {p.name for p in target.glob("*")} if target.is_dir() else set()
        for name in sorted(set(files) - on_disk):
            problems.append(f"missing from {target}: {name}")
        for name in sorted(on_disk - set(files)):
            problems.append(f"extra file in {target}: {name}")
        for name in sorted(set(files) & on_disk):
            committed = (target / name).read_text(encoding="utf-8")
            if committed != files[name]:
                problems.append("".join(difflib.unified_diff(
                    committed.splitlines(keepends=True), files[name].splitlines(keepends=True),
                    f"{target / name} (committed)", f"{target / name} (rendered)")))
    if problems:
        pytest.fail("out/ is stale:\n" + "\n".join(problems) + f"\nrefresh with: {REFRESH}")


def test_check_reports_drift_and_exit_code(tmp_path: Path) -> None:
    targets = _trees(tmp_path)
    api.write_trees(targets)
    assert api.check_trees(targets) == []
    stale = tmp_path / "production" / "001-namespace-leanvibe-monitoring.yaml"
    stale.write_text(stale.read_text() + "# edited by hand\n")
    (tmp_path / "staging" / "999-extra.yaml").write_text("kind: Extra\n")
    diffs = api.check_trees(targets)
    assert len(diffs) == 2
    assert "-# edited by hand" in diffs[0] or "-# edited by hand" in diffs[1]
