"""The command line: `render` to stdout and to directories, `--check`, errors and exit codes, determinism."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from leanvibe_stack import __version__, output
from leanvibe_stack.commands import render as render_command
from leanvibe_stack.manifest import Manifest
from tests.conftest import PROFILES, REPO, invoke, warned_profile

RENDERED = ["development", "production", "staging"]


pytestmark = pytest.mark.usefixtures("repo_cwd")


def run_cli(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    """The real console entry (errors mapped to exit codes), importing this checkout's package."""
    environ = {key: value for key, value in os.environ.items() if key != "LEANVIBE_PROFILE"}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "leanvibe_stack", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory (relative path -> bytes), hidden ones included."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def typo_profile(tmp_path: Path) -> Path:
    path = tmp_path / "typo.yaml"
    path.write_text(f"extends: {PROFILES / 'production.yaml'}\nprometheus:\n  retention_tme: 30d\n")
    return path


# --- render to stdout ----------------------------------------------------------------------------------------


def test_render_prints_a_stream_of_the_same_objects_as_rendering_in_process(production: list[Manifest]) -> None:
    result = invoke("render", "--profile", "production")
    assert result.exit_code == 0, result.output
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
    assert documents == [m.obj for m in output.install_order(production)]
    assert result.stdout == output.stream(production)
    assert result.stderr == ""  # the shipped profiles render without a warning


def test_warnings_go_to_stderr_never_into_the_stream(tmp_path: Path) -> None:
    result = invoke("render", "--profile", str(warned_profile(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "routing.unreachable-route" in result.stderr and "routing." not in result.stdout


def test_render_reads_the_profile_from_the_environment(production: list[Manifest]) -> None:
    result = invoke("render", env={"LEANVIBE_PROFILE": "production"})
    assert result.exit_code == 0, result.output
    assert result.stdout == output.stream(production)


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]
    assert result.stdout.strip() == f"leanvibe-stack {__version__}"


@pytest.mark.parametrize("args", [["--version"], ["--version", "--help"], ["profiles", "list", "--output", "json"]])
def test_the_console_entry_point_prints_what_the_cli_prints(args: list[str]) -> None:
    # The launcher answers a lone --version without loading typer: its output must be the CLI's.
    script = Path(sys.executable).parent / "leanvibe-stack"  # installed by `pip install` beside the interpreter
    launched = subprocess.run([str(script), *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    in_process = invoke(*args)
    assert (launched.returncode, launched.stdout) == (in_process.exit_code, in_process.stdout)


# --- render to directories and --check -----------------------------------------------------------------------


def test_render_output_dir_writes_numbered_files_and_a_kustomization(
    production: list[Manifest], tmp_path: Path
) -> None:
    target = tmp_path / "prod"
    result = invoke("render", "--profile", "production", "--output-dir", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # human output goes to stderr
    written = {p.name: p.read_text(encoding="utf-8") for p in target.iterdir()}
    assert written == output.tree(production)
    numbered = sorted(name for name in written if name != "kustomization.yaml")
    assert len(numbered) == len(production)
    assert [name[:4] for name in numbered] == [f"{i:03d}-" for i in range(1, len(numbered) + 1)]
    assert yaml.safe_load(written["kustomization.yaml"])["resources"] == numbered


def test_render_all_then_check_passes_and_reports_an_edited_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("render", "--all", "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == RENDERED  # abstract base.yaml is not rendered
    for name in RENDERED:
        assert (out / name / "kustomization.yaml").is_file()

    result = invoke("render", "--all", "--output-dir", str(out), "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""

    edited = out / "staging" / "001-namespace-leanvibe-monitoring.yaml"
    edited.write_text(edited.read_text() + "# edited by hand\n")
    before = snapshot(out)
    result = invoke("render", "--all", "--output-dir", str(out), "--check")
    assert result.exit_code == 1
    assert f"{edited} (committed)" in result.stdout
    assert "-# edited by hand" in result.stdout.splitlines()
    assert snapshot(out) == before, "--check must write nothing"


def test_rendering_again_replaces_the_files_of_the_previous_render(rendered: dict[str, list[Manifest]],
                                                                  tmp_path: Path) -> None:
    target = tmp_path / "stack"
    assert invoke("render", "--profile", "production", "--output-dir", str(target)).exit_code == 0
    assert invoke("render", "--profile", "development", "--output-dir", str(target)).exit_code == 0
    assert {p.name: p.read_text() for p in target.iterdir()} == output.tree(rendered["development"])


def test_render_into_a_directory_never_deletes_files_it_did_not_write(tmp_path: Path) -> None:
    # Replacing the target wholesale would delete everything else in it (`-o .` would wipe the
    # working directory): a directory holding foreign files is refused instead.
    target = tmp_path / "work"
    (target / "src").mkdir(parents=True)
    (target / "notes.txt").write_text("precious\n")
    (target / "src" / "main.py").write_text("print()\n")
    result = invoke("render", "--profile", "production", "--output-dir", str(target))
    assert result.exit_code in (0, 2), result.output
    assert (target / "notes.txt").is_file(), "render deleted a file it did not write"
    assert (target / "src" / "main.py").read_text() == "print()\n"


def test_check_of_a_directory_holding_subdirectories_reports_drift_without_a_traceback(tmp_path: Path) -> None:
    # Checking one profile against the `render --all` root (one subdirectory per profile) is drift,
    # reported as such, not an IsADirectoryError.
    out = tmp_path / "out"
    assert invoke("render", "--all", "--output-dir", str(out)).exit_code == 0
    result = run_cli("render", "--profile", "production", "--output-dir", str(out), "--check")
    assert "Traceback" not in result.stderr, result.stderr[-400:]
    assert result.returncode == 1
    assert "production" in result.stdout


def test_check_reports_the_output_of_a_profile_that_no_longer_exists(tmp_path: Path) -> None:
    # The rendered tree of a renamed or deleted profile would stay in out/ (still appliable with
    # `kubectl apply -k`): `render --all --check` reports it.
    out = tmp_path / "out"
    assert invoke("render", "--all", "--output-dir", str(out)).exit_code == 0
    shutil.copytree(out / "staging", out / "qa")  # out/qa/ of a profile `qa` that was since removed
    result = invoke("render", "--all", "--output-dir", str(out), "--check")
    assert result.exit_code == 1, result.output
    assert "qa" in result.stdout + result.stderr


def test_render_without_profile_or_all_is_a_usage_error() -> None:
    result = invoke("render")
    assert result.exit_code == 2
    assert "--profile" in result.stderr and "--all" in result.stderr
    assert result.stdout == ""


# --- input errors through the real entry point ---------------------------------------------------------------


def test_unknown_profile_exits_2_listing_the_available_ones() -> None:
    result = run_cli("render", "--profile", "prodution")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "'prodution'" in result.stderr
    for name in RENDERED:
        assert name in result.stderr.split("available:", 1)[1]
    assert result.stdout == ""


def test_a_typo_key_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    path = typo_profile(tmp_path)
    result = run_cli("render", "--profile", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}:3" in result.stderr
    assert "prometheus.retention_tme" in result.stderr
    assert result.stdout == ""


def test_a_failing_render_leaves_the_output_dir_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "sentinel.txt").write_text("keep me\n")
    before_parent = sorted(p.name for p in tmp_path.iterdir())
    before = snapshot(target)

    result = run_cli("render", "--profile", str(typo_profile(tmp_path)), "--output-dir", str(target))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [*before_parent, "typo.yaml"]


def test_a_render_failing_after_loading_leaves_the_output_dir_untouched(tmp_path: Path) -> None:
    # Loads fine, fails while rendering: the dashboard file does not exist.
    profile = tmp_path / "no-dashboard.yaml"
    profile.write_text(f"extends: {PROFILES / 'production.yaml'}\n"
                       "grafana:\n  dashboards:\n    leanvibe-overview:\n      file: missing.json\n")
    target = tmp_path / "out"
    target.mkdir()
    (target / "sentinel.txt").write_text("keep me\n")
    before_parent = sorted(p.name for p in tmp_path.iterdir())
    before = snapshot(target)

    result = run_cli("render", "--profile", str(profile), "--output-dir", str(target))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "grafana.dashboards.leanvibe-overview.file" in result.stderr
    assert "missing.json" in result.stderr
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == before_parent


# --- determinism and working directory -----------------------------------------------------------------------


def test_render_is_byte_identical_across_hash_seeds() -> None:
    first = run_cli("render", "--profile", "production", PYTHONHASHSEED="1")
    second = run_cli("render", "--profile", "production", PYTHONHASHSEED="2")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith("---\n# Source: templates/")
    assert first.stdout.encode() == second.stdout.encode()


def test_render_works_from_an_unrelated_directory(production: list[Manifest], tmp_path: Path) -> None:
    assert not (tmp_path / "profiles").exists()
    result = run_cli("render", "--profile", "production", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == output.stream(production)


def test_only_outputs_the_chosen_components_and_their_namespaces() -> None:
    result = invoke("render", "--profile", "production", "--only", "prometheus,grafana")
    assert result.exit_code == 0, result.output
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    names = {o["metadata"].get("labels", {}).get("app.kubernetes.io/name") for o in objects if o["kind"] != "Namespace"}
    assert names == {"prometheus", "grafana"}
    assert sum(o["kind"] == "Namespace" for o in objects) == 2


def test_only_with_an_unknown_component_lists_the_known_ones() -> None:
    result = invoke("render", "--profile", "production", "--only", "prom")
    assert result.exit_code == 2
    known = "alertmanager, blackbox-exporter, fluent-bit, grafana"
    assert f"unknown component(s) prom; choose from {known}" in result.stderr


def test_only_namespace_gives_the_namespaces_alone() -> None:
    result = invoke("render", "--profile", "production", "--only", "namespace")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("kind: Namespace") == 2 and result.stdout.count("kind: ") == 2


def test_render_all_reports_progress_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = invoke("render", "--all", "--output-dir", str(tmp_path / "a"))
    assert "rendering" not in quiet.stderr
    monkeypatch.setattr(render_command, "_progress_enabled", lambda: True)
    shown = invoke("render", "--all", "--output-dir", str(tmp_path / "b"))
    assert shown.exit_code == 0
    assert [line for line in shown.stderr.splitlines() if line.startswith("rendering")] == [
        "rendering development ...", "rendering production ...", "rendering staging ..."]


@pytest.mark.parametrize(("args", "not_loaded"), [
    (["--version"], ["typer", "pydantic", "yaml", "jinja2"]),
    (["--help"], ["rich", "pydantic", "yaml", "jinja2", "leanvibe_stack.models.stack", "leanvibe_stack.rendercache"]),
    (["profiles", "list"], ["rich", "jinja2", "jsonschema_rs", "leanvibe_stack.models.stack",
                            "leanvibe_stack.rendercache"]),
])
def test_light_commands_import_only_what_they_use(args: list[str], not_loaded: list[str]) -> None:
    # Start-up is most of a light command's time (issue 7): these modules cost 30-160 ms each.
    probe = ("import sys\nfrom leanvibe_stack.launcher import main\n"
             f"sys.argv = ['leanvibe-stack', *{args!r}]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print(sorted(m for m in {not_loaded!r} if m in sys.modules), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr


def test_a_reader_that_goes_away_ends_the_render_quietly() -> None:
    # `render | true`: the reader is gone before the stream is written; like any Unix filter: no error.
    process = subprocess.Popen([sys.executable, "-m", "leanvibe_stack", "render", "--profile", "production"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.close()  # long before the render's first write (imports alone take 100s of ms)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 141, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr
