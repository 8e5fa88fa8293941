"""Nothing half-written: failed, interrupted or refused writes leave the previous tree byte-identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leanvibe_stack import output
from leanvibe_stack.errors import OutputError
from tests.conftest import REPO


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _render(profile: str, out: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "leanvibe_stack", "render", "--profile", profile,
                             "--output-dir", str(out)], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# The child slows every file write down and says when the first one happened, so the parent's
# SIGTERM lands in the middle of writing; the product code is unchanged.
_SLOW_RENDER = textwrap.dedent("""
    import pathlib, sys, time
    original = pathlib.Path.write_text
    def slow(self, *args, **kwargs):
        written = original(self, *args, **kwargs)
        print("wrote", flush=True)
        time.sleep(0.05)
        return written
    pathlib.Path.write_text = slow
    from leanvibe_stack.cli import main
    sys.argv = ["leanvibe-stack", "render", "--profile", "development", "--output-dir", sys.argv[1]]
    main()
""")


def test_sigterm_while_writing_leaves_the_previous_tree_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _render("production", out)
    before = _snapshot(out)
    child = subprocess.Popen([sys.executable, "-c", _SLOW_RENDER, str(out)], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "wrote"  # the new tree is being written now
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    assert _snapshot(out) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging directory left behind


def test_a_write_error_is_a_user_error_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory is expected\n")
    with pytest.raises(OutputError, match=f"cannot write {blocker}"):
        output.write_tree({"001-namespace-a.yaml": "new\n"}, blocker / "out")
    assert sorted(os.listdir(tmp_path)) == ["not-a-directory"]


def test_all_trees_are_swapped_or_none(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    output.write_trees({first: {"001-namespace-a.yaml": "a1\n"}, second: {"001-namespace-b.yaml": "b1\n"}})
    (second / "notes.txt").write_text("not ours\n")
    with pytest.raises(OutputError, match="did not write"):
        output.write_trees({first: {"001-namespace-a.yaml": "a2\n"}, second: {"001-namespace-b.yaml": "b2\n"}})
    assert (first / "001-namespace-a.yaml").read_text() == "a1\n"  # refused before anything was swapped
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
