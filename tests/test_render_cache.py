"""The render cache (rendercache.py) replays a render only while nothing it depends on changed.

Each test renders through the console entry point in-process (the launcher, as `leanvibe-stack` runs it),
in a copy of the profiles it may edit, and tells a replay from a render by counting calls of the CLI."""

from __future__ import annotations

import ast
import gc
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leanvibe_stack import cachedir, cli, launcher, rendercache
from tests.conftest import PROFILES, REPO, UNREACHED_ROUTE


@dataclass
class Run:
    stdout: str
    stderr: str
    code: int
    rendered: bool  # False: replayed from the cache


Runner = Callable[..., Run]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "render-cache"
    monkeypatch.setenv(rendercache.ENV, str(path))
    return path


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    """A copy of the shipped profiles, plus `warned` (production with one warning, so stderr is not empty)."""
    directory = tmp_path / "profiles"
    shutil.copytree(PROFILES, directory, ignore=shutil.ignore_patterns("rule-tests"))
    (directory / "warned.yaml").write_text(f"extends: production\n{UNREACHED_ROUTE}", encoding="utf-8")
    return directory


@pytest.fixture
def run(cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Runner]:
    calls: list[bool] = []
    real = cli.main

    def counted() -> None:
        calls.append(True)
        real()

    monkeypatch.setattr(cli, "main", counted)
    threshold = gc.get_threshold()

    def runner(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["leanvibe-stack", *args])
        calls.clear()
        code = 0
        try:
            launcher.main()
        except SystemExit as finished:
            code = int(finished.code or 0)
        out, err = capsys.readouterr()
        return Run(out, err, code, bool(calls))

    yield runner
    gc.set_threshold(*threshold)  # cli.main tunes the collector for its own process


def test_an_unchanged_render_is_replayed_byte_for_byte_warnings_included(run: Runner, profiles: Path) -> None:
    args = ("render", "--profiles-dir", str(profiles), "--profile", "warned")
    first, second = run(*args), run(*args)
    assert first.rendered and not second.rendered
    assert first.code == second.code == 0
    assert "routing.unreachable-route" in first.stderr
    assert (second.stdout, second.stderr) == (first.stdout, first.stderr)
    assert first.stdout.startswith("---\n# Source: ")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# Each edit leaves the output the same or changes it; either way the next render must really run.
EDITS: dict[str, Callable[[Path], object]] = {
    "the profile's parent": lambda d: _append(d / "base.yaml", "# a comment changes the file\n"),
    "the profile itself": lambda d: _append(d / "warned.yaml", "prometheus:\n  replicas: 3\n"),
    "a dashboard file": lambda d: _append(d / "dashboards" / "leanvibe-overview.json", "\n"),
    "a new environment beside it": lambda d: (d / "qa.yaml").write_text(
        "extends: staging\nglobal:\n  environment: qa\n", encoding="utf-8"),
    "another environment's file": lambda d: _append(d / "staging.yaml", "# edited\n"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_changed_input_renders_again(run: Runner, profiles: Path, edit: Callable[[Path], object]) -> None:
    args = ("render", "--profiles-dir", str(profiles), "--profile", "warned")
    assert run(*args).rendered
    edit(profiles)
    after = run(*args)
    assert after.rendered and after.code == 0
    assert not run(*args).rendered  # and the new answer is kept


def test_a_parent_that_appears_earlier_on_the_search_path_renders_again(run: Runner, profiles: Path,
                                                                       tmp_path: Path) -> None:
    # `extends: production` looks beside the child first, then in --profiles-dir: a file appearing beside
    # it changes which parent is meant, though no file read before has changed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "child.yaml").write_text("extends: production\n", encoding="utf-8")
    args = ("render", "--profiles-dir", str(profiles), "--profile", str(elsewhere / "child.yaml"))
    before = run(*args)
    assert before.rendered and not run(*args).rendered
    (elsewhere / "production.yaml").write_text("extends: staging\n", encoding="utf-8")
    after = run(*args)
    assert after.rendered and after.stdout != before.stdout


def test_a_profile_found_in_the_working_directory_first_renders_again(
        run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    shipped = run("render", "--profile", "development")
    assert shipped.rendered and not run("render", "--profile", "development").rendered
    shutil.copytree(PROFILES, work / "profiles", ignore=shutil.ignore_patterns("rule-tests"))
    _append(work / "profiles" / "development.yaml", "prometheus:\n  replicas: 2\n")
    local = run("render", "--profile", "development")
    assert local.rendered and local.stdout != shipped.stdout  # ./profiles wins over the shipped ones


def test_a_retargeted_symlink_renders_again(run: Runner, profiles: Path, tmp_path: Path) -> None:
    # The dashboard's path goes through a link: the same name, another file behind it.
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(profiles / "dashboards" / "leanvibe-overview.json", tmp_path / name / "board.json")
    _append(tmp_path / "b" / "board.json", " ")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    dashboard = f"grafana:\n  dashboards:\n    leanvibe-overview:\n      file: {tmp_path}/link/board.json\n"
    (profiles / "linked.yaml").write_text(f"extends: production\n{dashboard}", encoding="utf-8")
    args = ("render", "--profiles-dir", str(profiles), "--profile", "linked")
    assert run(*args).rendered and not run(*args).rendered
    (tmp_path / "link").unlink()
    (tmp_path / "link").symlink_to(tmp_path / "b")
    assert run(*args).rendered


@pytest.mark.parametrize("variable", ["LEANVIBE_TODAY", "LEANVIBE_PROFILE"])
def test_the_environment_is_part_of_the_question(run: Runner, profiles: Path, monkeypatch: pytest.MonkeyPatch,
                                                  variable: str) -> None:
    monkeypatch.setenv("LEANVIBE_PROFILE", "warned")
    args = ("render", "--profiles-dir", str(profiles))
    assert run(*args).rendered and not run(*args).rendered
    monkeypatch.setenv(variable, "2027-01-04" if variable == "LEANVIBE_TODAY" else "production")
    assert run(*args).rendered


def test_every_argument_is_part_of_the_question(run: Runner, profiles: Path) -> None:
    base = ("render", "--profiles-dir", str(profiles), "--profile", "production")
    assert run(*base).rendered
    for extra in (("--set", "prometheus.replicas=3"), ("--only", "prometheus"), ("--no-validate",),
                  ("--kube-version", "1.33")):
        assert run(*base, *extra).rendered, extra
        assert not run(*base, *extra).rendered, extra


def test_the_installed_program_is_part_of_the_question(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "package"
    (package / "render").mkdir(parents=True)
    (package / "render" / "engine.py").write_text("one\n", encoding="utf-8")
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(cachedir, "PACKAGE", package)
    monkeypatch.setattr(sys, "path", [str(site)])
    args = ["render", "--profile", "production"]

    def key() -> str:  # in a new process, as the program is worked out once per process
        cachedir.program.cache_clear()
        return rendercache.key(args)

    keys = [key()]
    (package / "render" / "engine.py").write_text("two\n", encoding="utf-8")  # our code or a template
    keys.append(key())
    (site / "pydantic-2.99.0.dist-info").mkdir()  # a dependency upgraded
    keys.append(key())
    (package / "render" / "__pycache__").mkdir()  # bytecode is not the program
    (package / "render" / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"\0")
    keys.append(key())
    cachedir.program.cache_clear()
    assert len(set(keys[:3])) == 3 and keys[3] == keys[2]


def test_a_failed_render_is_never_kept(run: Runner, profiles: Path, cache: Path) -> None:
    (profiles / "typo.yaml").write_text("extends: staging\nprometheus:\n  retention_tme: 30d\n", encoding="utf-8")
    args = ("render", "--profiles-dir", str(profiles), "--profile", "typo")
    first = run(*args)
    assert first.code == 2 and "retention_tme" in first.stderr
    assert not list(cache.glob("render-*.json"))
    assert run(*args).rendered


def test_a_damaged_entry_renders_again(run: Runner, profiles: Path, cache: Path) -> None:
    args = ("render", "--profiles-dir", str(profiles), "--profile", "development")
    expected = run(*args).stdout
    (entry,) = cache.glob("render-*.json")
    entry.write_text(json.dumps({"observed": [], "stdout": 1}), encoding="utf-8")
    again = run(*args)
    assert again.rendered and again.stdout == expected


def test_off_keeps_nothing(run: Runner, profiles: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(rendercache.ENV, "off")
    args = ("render", "--profiles-dir", str(profiles), "--profile", "development")
    assert run(*args).rendered and run(*args).rendered
    assert not cache.exists()


@pytest.mark.parametrize(("args", "kept"), [
    (["render", "--profile", "production"], True),
    (["render", "-p", "production", "--set=prometheus.replicas=2", "--no-validate"], True),
    (["render", "--profile=production", "--only", "grafana", "--kube-version", "1.34"], True),
    (["render"], True),  # the profile from LEANVIBE_PROFILE (part of the key)
    (["render", "--profile", "production", "--output-dir", "out"], False),  # writes files
    (["render", "--all"], False),
    (["render", "--all", "--check"], False),
    (["render", "--profile", "production", "--debug"], False),
    (["render", "--help"], False),
    (["render", "-pproduction"], False),  # a spelling the cache does not parse: the CLI decides
    (["render", "--profile"], False),
    (["render", "--no-validate=yes"], False),
    (["validate", "--profile", "production"], False),
    ([], False),
])
def test_only_a_plain_render_to_stdout_is_kept(args: list[str], kept: bool) -> None:
    assert rendercache.cacheable(args) is kept


def test_a_replay_imports_neither_typer_nor_pydantic(tmp_path: Path) -> None:
    # The point of the cache (issue 18): an unchanged render costs a Python start and a few file reads.
    probe = ("import sys\nfrom leanvibe_stack.launcher import main\n"
             "sys.argv = ['leanvibe-stack', 'render', '--profile', 'development']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('typer', 'pydantic', 'yaml', 'jinja2') if m in sys.modules), file=sys.stderr)\n")
    env = {**os.environ, rendercache.ENV: str(tmp_path / "cache")}
    first, second = (subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True,
                                    text=True, timeout=120) for _ in range(2))
    assert first.stderr.strip().splitlines()[-1] != "[]", first.stderr  # rendered: the CLI was loaded
    assert second.stderr.strip().splitlines()[-1] == "[]", second.stderr
    assert second.stdout == first.stdout and first.stdout.startswith("---\n# Source: ")


def test_a_reader_that_goes_away_ends_a_replay_quietly(tmp_path: Path) -> None:
    env = {**os.environ, rendercache.ENV: str(tmp_path / "cache")}
    command = [sys.executable, "-m", "leanvibe_stack", "render", "--profile", "development"]
    subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=120, check=True)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 141, stderr
    assert stderr == ""


FILE_SYSTEM_CALLS = {"open", "read_text", "read_bytes", "is_file", "is_dir", "exists", "resolve", "glob", "rglob",
                     "iterdir", "stat", "listdir", "walk", "scandir"}


def test_profiles_and_models_reach_the_disk_only_through_sources() -> None:
    # What loading a profile reads must be noted (sources.py), or a replay could miss a changed input.
    package = REPO / "leanvibe_stack"
    found = []
    for path in [package / "profiles.py", *sorted((package / "models").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                function = node.func
                name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
                receiver = function.value if isinstance(function, ast.Attribute) else None
                if name in FILE_SYSTEM_CALLS and not (isinstance(receiver, ast.Name) and receiver.id == "sources"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}")
    assert found == []


def test_a_render_notes_the_other_environments_even_when_their_identities_are_remembered(profiles: Path) -> None:
    # api keeps other profiles' identities in memory; a second render in the same process must still note
    # the files they came from, or its kept answer would survive an edit of them.
    from leanvibe_stack import api, sources

    for _ in range(2):
        sources.start()
        api.render_profile("development", profiles)
        assert ("sha256", str(profiles / "staging.yaml")) in {(q, p) for q, p, _ in sources.observed()}


def test_a_removed_working_directory_is_left_to_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.setenv(rendercache.ENV, str(tmp_path / "cache"))
    assert rendercache.entry_for(["render", "--profile", "production"]) is None


def test_storing_an_entry_removes_week_old_ones_and_all_but_the_newest(run: Runner, profiles: Path, cache: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendercache, "MAX_ENTRIES", 8)
    cache.mkdir()
    now = time.time()
    for i in range(6):  # the newest first: entry-0 was written a minute ago, entry-5 six minutes ago
        path = cache / f"entry-{i}.json"
        path.write_text("{}", encoding="utf-8")
        os.utime(path, (now - 60 * (i + 1), now - 60 * (i + 1)))
    stale = cache / "stale.json"
    stale.write_text("{}", encoding="utf-8")
    os.utime(stale, (now - 8 * 24 * 3600, now - 8 * 24 * 3600))
    run("render", "--profiles-dir", str(profiles), "--profile", "development")
    kept = sorted(path.name for path in cache.glob("*.json"))
    written = [name for name in kept if name.startswith(("render-", "identity-"))]  # by this run: the newest
    assert len(kept) == 8 and any(name.startswith("render-") for name in written)
    assert [name for name in kept if name not in written] == [f"entry-{i}.json" for i in range(8 - len(written))]


# --- other environments' identities, kept between runs (environments.py) ------------------------------------


def test_other_environments_are_loaded_once_while_their_files_and_the_program_stay_the_same(
        profiles: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from leanvibe_stack import environments
    from leanvibe_stack.profiles import LoadedProfile, load_profile

    loads: list[str] = []
    def counted(spec: str) -> LoadedProfile:
        loads.append(Path(spec).stem)
        return load_profile(spec)

    monkeypatch.setattr(environments, "load_profile", counted)
    development = load_profile("development", profiles)

    def new_process() -> list[str]:
        environments._kept.clear()
        loads.clear()
        names = sorted(i.environment for i in environments.other_identities(development, profiles))
        assert names == ["production", "production", "staging"]  # warned.yaml is production's too
        return sorted(loads)

    first = new_process()
    assert "staging" in first and "production" in first
    assert new_process() == []  # every identity from the cache
    _append(profiles / "base.yaml", "# edited\n")  # every profile's parent
    assert new_process() == first
    assert new_process() == []
    monkeypatch.setattr(cachedir, "program", lambda: "another version of the package")
    assert new_process() == first
    for entry in cache.glob("identity-*.json"):
        entry.write_text("{not json", encoding="utf-8")
    assert new_process() == first
    read: list[object] = []
    monkeypatch.setattr(environments, "_stored", lambda where: read.append(where))
    environments.other_identities(development, profiles)  # the same process again: from memory alone
    assert loads == first and read == []


def test_a_neighbour_whose_parent_is_found_in_the_working_directory_is_loaded_again_elsewhere(
        profiles: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `extends: parent` not found beside the file is looked up in ./profiles: from another working directory
    # it is another file, though every file looked at from the first one is unchanged.
    from leanvibe_stack import environments

    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "neighbour.yaml").write_text("extends: parent\n", encoding="utf-8")
    for where, parent in (("one", "staging"), ("two", "development")):
        (tmp_path / where / "profiles").mkdir(parents=True)
        (tmp_path / where / "profiles" / "parent.yaml").write_text(
            f"extends: {PROFILES / (parent + '.yaml')}\n", encoding="utf-8")
    found = []
    for where in ("one", "two", "one", "two"):
        monkeypatch.chdir(tmp_path / where)
        found.append(environments._identity(apps / "neighbour.yaml"))
        if where == "two":
            environments._kept.clear()  # the second round reads the disk entries
    assert [identity.environment if identity else None for identity in found] == \
        ["staging", "development", "staging", "development"]
