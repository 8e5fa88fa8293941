"""The corpus of bad inputs (issue 4): each one gets one precise message and the right exit code.

`tests/bad_inputs/cases.yaml` lists every case (its header documents the format).  Each case runs the
real entry point, `python -m leanvibe_stack ARGS`, in a subprocess whose working directory is a fresh
temporary directory (so no `./profiles` is found there) with PYTHONPATH set to this checkout, and asserts:
the exit code, every stderr fragment, no traceback, nothing on stdout for a failing render, and nothing
written: the temporary directory (which holds every `--output-dir`) is byte-identical after the run.

A case marked `xfail: true` (with a `bug:` line) expects what the product should do but does not yet:
the test xfails while any expectation fails, and fails once they all hold, so the mark gets removed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BAD_INPUTS = REPO / "tests" / "bad_inputs"
CASES_FILE = BAD_INPUTS / "cases.yaml"
PROFILES = REPO / "profiles"
TIMEOUT = 120
CASE_KEYS = {"name", "args", "exit", "stderr", "why", "setup", "bug", "xfail"}


def _load_cases() -> list[dict[str, Any]]:
    cases = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    assert isinstance(cases, list), f"{CASES_FILE} must be a list of cases"
    return cases


CASES = _load_cases()


@dataclass(frozen=True)
class Run:
    """One case's run: what the CLI printed and the working directory's content before and after."""

    tmp: Path
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, bytes | None]
    after: dict[str, bytes | None]


def _expand(text: str, tmp: Path) -> str:
    return text.replace("{dir}", str(BAD_INPUTS)).replace("{tmp}", str(tmp)).replace("{profiles}", str(PROFILES))


def _setup(case: dict[str, Any], tmp: Path) -> None:
    writes = (case.get("setup") or {}).get("write", [])
    for write in [writes] if isinstance(writes, dict) else writes:
        path = Path(_expand(write["path"], tmp))
        path.parent.mkdir(parents=True, exist_ok=True)
        content = _expand(write.get("text", ""), tmp) + write.get("repeat", "") * int(write.get("times", 0))
        path.write_bytes(content.encode(write.get("encoding", "utf-8")))


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` (hidden ones included) with its content; None for a directory."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


def _run(case: dict[str, Any], tmp: Path) -> Run:
    _setup(case, tmp)
    args = [_expand(str(arg), tmp) for arg in case["args"]]
    env = {k: v for k, v in os.environ.items() if k not in ("LEANVIBE_PROFILE", "LEANVIBE_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    before = _snapshot(tmp)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "leanvibe_stack", *args],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        return Run(tmp, args, -1, "", f"(timed out after {TIMEOUT} s)", before, _snapshot(tmp))
    return Run(tmp, args, done.returncode, done.stdout, done.stderr, before, _snapshot(tmp))


def _check(case: dict[str, Any], run: Run) -> list[str]:
    """Every way the run differs from what the case expects."""
    tmp, failures = run.tmp, []
    if run.returncode != case["exit"]:
        failures.append(f"exit code {run.returncode}, expected {case['exit']}")
    for fragment in case["stderr"]:
        if _expand(fragment, tmp) not in run.stderr:
            failures.append(f"stderr lacks {_expand(fragment, tmp)!r}")
    if "Traceback" in run.stderr:
        failures.append("stderr shows a traceback")
    if run.returncode != 0 and run.stdout and (run.args[0] == "render" or run.returncode == 2):
        failures.append(f"a failed run printed on stdout: {run.stdout[:200]!r}")
    if run.after != run.before:
        changed = sorted(p for p in set(run.before) | set(run.after)
                         if p not in run.before or p not in run.after or run.before[p] != run.after[p])
        failures.append(f"the run changed files in its working directory: {changed[:5]}")
    return failures


@pytest.mark.parametrize("case", CASES, ids=[str(case.get("name")) for case in CASES])
def test_bad_input(case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    # One subprocess per test: pytest-xdist's workers run the cases side by side.
    run = _run(case, tmp_path_factory.mktemp(case["name"]))
    failures = _check(case, run)
    report = "\n".join([*failures, f"args: {run.args}", f"stderr:\n{run.stderr}"])
    if case.get("xfail"):
        if failures:
            pytest.xfail(f"{case['bug']} ({'; '.join(failures)})")
        pytest.fail(f"case {case['name']} now passes: remove its `bug:` and `xfail:` from {CASES_FILE.name}")
    assert not failures, report


def test_the_corpus_is_complete() -> None:
    names = [str(case.get("name")) for case in CASES]
    assert len(CASES) >= 40, f"only {len(CASES)} cases; issue 4 asks for at least 40"
    assert len(set(names)) == len(names), f"duplicate case names: {sorted(n for n in names if names.count(n) > 1)}"
    for case in CASES:
        assert set(case) <= CASE_KEYS, f"{case.get('name')}: unknown keys {sorted(set(case) - CASE_KEYS)}"
        assert isinstance(case.get("name"), str) and case["name"], f"a case without a name: {case}"
        assert isinstance(case.get("args"), list) and case["args"], f"{case['name']}: args must be a non-empty list"
        assert isinstance(case.get("exit"), int), f"{case['name']}: exit must be an integer"
        assert isinstance(case.get("stderr"), list) and case["stderr"], f"{case['name']}: stderr fragments missing"
        assert case.get("why"), f"{case['name']}: say why the input is bad"
        assert bool(case.get("xfail")) == bool(case.get("bug")), f"{case['name']}: `xfail` and `bug` go together"
    mentioned = "\n".join(str(text) for case in CASES for text in [*case["args"], *case["stderr"]])
    profiles = sorted(p.name for p in BAD_INPUTS.glob("*.yaml") if p != CASES_FILE)
    unused = [name for name in profiles if name not in mentioned]
    assert not unused, f"profiles in {BAD_INPUTS.name}/ that no case uses: {unused}"
    missing = [
        arg for case in CASES for arg in case["args"]
        if str(arg).startswith("{dir}/") and "no-such" not in arg
        and not (BAD_INPUTS / str(arg).removeprefix("{dir}/")).exists()
    ]
    assert not missing, f"cases name files that do not exist: {missing}"
