"""Shared fixtures: rendered profiles (rendered once per session) and the real tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import LoadedProfile, load_profile
from leanvibe_stack.render import render_stack

# The release catalogue's verdicts depend on the day: every test (and every CLI it starts) checks as of
# this one, so a run next year gives the same results.
os.environ.setdefault("LEANVIBE_TODAY", "2026-12-05")
# Tests of rendering test the render, never a replay of an earlier one: the render cache (rendercache.py) is
# off for every test and CLI it starts, except in tests/test_render_cache.py, which turns it on in its own dir.
os.environ["LEANVIBE_RENDER_CACHE"] = "off"

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "profiles"
RENDERED_PROFILES = ("production", "staging", "development")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` first (stable otherwise): pytest-xdist deals its first batch round-robin, so the long
    ones start at once on every worker instead of one of them starting last and running alone."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session", autouse=True)
def tool_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real tools' verdict cache (validate/toolcache.py) for this session only: every verdict is a real tool
    run once per session, and repeated validations of the same files (every profile renders the same rules)
    reuse it.  Under pytest-xdist the workers share it (entries are written atomically)."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "tool-cache"
    path.mkdir(exist_ok=True)
    os.environ["LEANVIBE_TOOL_CACHE"] = str(path)  # CLI subprocesses inherit it
    return path


@pytest.fixture(scope="session")
def loaded() -> dict[str, LoadedProfile]:
    return {name: load_profile(name, PROFILES) for name in RENDERED_PROFILES}


@pytest.fixture(scope="session")
def rendered(loaded: dict[str, LoadedProfile]) -> dict[str, list[Manifest]]:
    return {name: render_stack(profile.stack) for name, profile in loaded.items()}


@pytest.fixture(scope="session")
def production(rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    return rendered["production"]


def find(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    matches = [m.obj for m in manifests if m.kind == kind and m.name == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def require_tool(name: str) -> str:
    """The tool's path; skipped locally when missing, but a failure in CI (CI=true)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed; CI must install it (.ci/run)")
        pytest.skip(f"{name} not installed (apt-get install prometheus prometheus-alertmanager "
                    "prometheus-blackbox-exporter)")
    return path


@pytest.fixture
def repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repo (the documented workflow) with no profile preset in the environment."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("LEANVIBE_PROFILE", raising=False)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in-process, as typer's CliRunner runs it (stderr kept apart)."""
    from leanvibe_stack.cli import app

    return CliRunner().invoke(app, list(args), env=env)


# The shipped profiles render without warnings; tests about how warnings are shown use this one.
UNREACHED_ROUTE = (
    "alertmanager:\n  route:\n    routes:\n      nothing-reaches-this:\n"  # lines 2-5
    "        matchers: ['category=\"never-set\"']\n        receiver: platform-team\n"  # lines 6-7
)


def warned_profile(directory: Path) -> Path:
    """Production plus a route no alert reaches: exactly one warning, `routing.unreachable-route`."""
    path = directory / "warned.yaml"
    path.write_text(f"extends: {PROFILES / 'production.yaml'}\n{UNREACHED_ROUTE}", encoding="utf-8")
    return path
