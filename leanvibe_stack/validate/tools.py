"""The real tools, when installed: promtool on the rules, amtool on the Alertmanager config,
blackbox_exporter's own `--config.check` on blackbox.yml.

A tool that is not on PATH is reported as "not run" (a warning, an error with --require-tools),
never as passed.  Files are written exactly as the pods would see them, into a temporary
directory; only the config's own template glob is pointed there.

The tools run concurrently (each in its own process; promtool once per rule-test file, since
`promtool test rules` takes its files one after the other), from that directory with relative
paths, and their verdicts are kept in `toolcache` by the sha256 of what each was given and the
tool's version: an unchanged re-run runs no tool.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leanvibe_stack import yamlio
from leanvibe_stack.validate import toolcache
from leanvibe_stack.validate.bundle import Bundle, as_dict, as_list, dicts
from leanvibe_stack.validate.findings import Finding, error, warning

TIMEOUT_SECONDS = 300
# blackbox_exporter is installed as `blackbox_exporter` from upstream's archives and under its package name
# by Debian (prometheus-blackbox-exporter).
BLACKBOX_EXPORTER = ("blackbox_exporter", "prometheus-blackbox-exporter")
# A `rule_files` entry promtool resolves to exactly one file beside the test (no glob, no directory): only
# then do we know every file a rule test reads, and so may cache its verdict.
_PLAIN_FILE_NAME = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class ToolRun:
    """The outcome of one tool check: passed, failed or not run."""

    name: str
    status: str  # "passed" | "failed" | "not run"
    detail: str = ""
    cached: bool = False  # the verdict came from the cache (shown in the summary, not in the report)


@dataclass(frozen=True)
class Job:
    """One tool process, run from the work directory.  `reads`: every file it reads there (its verdict's cache
    key), or None when we cannot name them all (then it always runs)."""

    label: str  # how findings name it: "promtool check rules"
    program: str
    args: tuple[str, ...]
    reads: tuple[str, ...] | None


@dataclass
class Planned:
    """A check and the tool processes it needs; it passes when all of them do."""

    name: str
    jobs: list[Job]
    passed_detail: str = ""
    verdicts: list[tuple[toolcache.Verdict, bool]] = field(default_factory=list)  # (verdict, from the cache)

    def outcome(self) -> ToolRun:
        failed = [f"{job.label}: {_tail(verdict)}" for job, (verdict, _) in zip(self.jobs, self.verdicts, strict=True)
                  if verdict.returncode != 0]
        cached = all(hit for _, hit in self.verdicts)
        if failed:
            return ToolRun(self.name, "failed", "; ".join(failed), cached)
        return ToolRun(self.name, "passed", self.passed_detail, cached)


class WorkDir:
    """The temporary directory the tools run in: the files written, and their text kept for the cache keys."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, str] = {}

    def write(self, name: str, text: str) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="surrogateescape")  # a copied file keeps its bytes
        self.files[name] = text
        return name


def check(bundle: Bundle, *, rule_tests: list[Path], require: bool) -> tuple[list[Finding], list[ToolRun]]:
    findings: list[Finding] = []
    runs: list[ToolRun] = []
    with tempfile.TemporaryDirectory(prefix="leanvibe-validate-") as tmp:
        work = WorkDir(Path(tmp))
        planned = _plan(bundle, work, rule_tests)
        _run_all([p for p in planned if isinstance(p, Planned)], work)
        for plan in planned:
            run = plan.outcome() if isinstance(plan, Planned) else plan
            runs.append(run)
            if run.status == "failed":
                findings.append(error(f"tool.{run.name}", None, "", run.detail))
            elif run.status == "not run":
                report = error if require else warning
                findings.append(report("tool.not-run", None, "", f"{run.name}: {run.detail}"))
    return findings, runs


def commands(bundle: Bundle, directory: Path, rule_tests: list[Path]) -> list[list[str]]:
    """The tool commands `check` runs, with the files they read written into `directory` (run them from there):
    for benchmarks/run.py, which times the tools alone on the same files."""
    plans = _plan(bundle, WorkDir(directory), rule_tests)
    return [[job.program, *job.args] for plan in plans if isinstance(plan, Planned) for job in plan.jobs]


def _plan(bundle: Bundle, work: WorkDir, rule_tests: list[Path]) -> list[Planned | ToolRun]:
    planned = [_promtool_rules(bundle, work), _promtool_tests(bundle, work, rule_tests), _amtool(bundle, work),
               _blackbox(bundle, work)]
    return [plan for plan in planned if plan is not None]


def _run_all(plans: list[Planned], work: WorkDir) -> None:
    """Every job of every check, concurrently; a verdict from the cache where one is kept."""
    jobs = [job for plan in plans for job in plan.jobs]
    cache = toolcache.directory()
    timeout = min(TIMEOUT_SECONDS, 30)
    with ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1))) as pool:
        programs = sorted({job.program for job in jobs if job.reads is not None}) if cache is not None else []
        versions = dict(zip(programs, pool.map(lambda p: toolcache.version(p, cache, timeout), programs),
                            strict=True))
        verdicts = list(pool.map(lambda job: _verdict(job, work, cache, versions.get(job.program)), jobs))
    done = iter(verdicts)
    for plan in plans:
        plan.verdicts = [next(done) for _ in plan.jobs]


def _verdict(job: Job, work: WorkDir, cache: Path | None, version: str | None) -> tuple[toolcache.Verdict, bool]:
    entry = None
    if cache is not None and version is not None and job.reads is not None:
        entry = toolcache.key(Path(job.program).name, version, list(job.args),
                              {name: work.files.get(name) for name in job.reads})
        if (kept := toolcache.load(cache, entry)) is not None:
            return kept, True
    verdict = _run(work.root, job.program, *job.args)
    # Negative: it timed out, did not start, or a signal ended it (the OOM killer, say): not a verdict on the input.
    if entry is not None and cache is not None and verdict.returncode >= 0:
        toolcache.store(cache, entry, verdict)
    return verdict, False


def _tool(name: str) -> str | None:
    return shutil.which(name)


def _run(cwd: Path, *args: str) -> toolcache.Verdict:
    """The tool's result; one that hangs or cannot start fails (exit -1) with the reason as its output."""
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
                              stdin=subprocess.DEVNULL)
        return toolcache.Verdict(done.returncode, done.stdout, done.stderr)
    except subprocess.TimeoutExpired:
        reason = f"did not finish within {TIMEOUT_SECONDS} s"
    except OSError as error:
        reason = f"could not run {args[0]}: {error.strerror or error}"
    return toolcache.Verdict(-1, "", reason)


def _write_rules(bundle: Bundle, work: WorkDir, directory: str) -> list[str]:
    return [work.write(f"{directory}/{Path(mounted.path).name}", text)
            for mounted, _ in bundle.rule_files if (text := mounted.text()) is not None]


def _promtool_rules(bundle: Bundle, work: WorkDir) -> Planned | ToolRun | None:
    rules = _write_rules(bundle, work, "rules")
    if not rules:
        return None
    promtool = _tool("promtool")
    if promtool is None:
        return ToolRun("promtool-rules", "not run", "promtool is not installed (Debian: prometheus)")
    return Planned("promtool-rules", [Job("promtool check rules", promtool, ("check", "rules", *rules), tuple(rules))])


def _promtool_tests(bundle: Bundle, work: WorkDir, rule_tests: list[Path]) -> Planned | ToolRun | None:
    if not rule_tests or not any(mounted.text() is not None for mounted, _ in bundle.rule_files):
        return None
    promtool = _tool("promtool")
    if promtool is None:
        return ToolRun("promtool-tests", "not run", "promtool is not installed (Debian: prometheus)")
    _write_rules(bundle, work, "tests")
    # Each test file names the rule files it needs by their ConfigMap key (promtool evaluates every rule of
    # the named files at every step, so a test names only its group); `rules.yml` holds every group, for
    # tests that name that.
    combined = {"groups": [g for _, data in bundle.rule_files if isinstance(data, dict)
                           for g in as_list(data.get("groups"))]}
    work.write("tests/rules.yml", yamlio.dump(combined))
    rendered = {str(rule.get("alert")) for group in dicts(combined["groups"]) for rule in dicts(group.get("rules"))}
    jobs, skipped = [], []
    for test in rule_tests:
        text = test.read_text(encoding="utf-8", errors="surrogateescape")
        if not _tests_rendered_alerts(text, rendered):
            skipped.append(test.name)
            continue
        name = work.write(f"tests/{test.name}", text)
        # promtool reads a test's rule_files relative to the test's directory, i.e. tests/.
        reads = _test_reads(text)
        jobs.append(Job(f"promtool test rules {test.name}", promtool, ("test", "rules", name),
                        None if reads is None else (name, *(f"tests/{r}" for r in reads))))
    if not jobs:
        return None  # nothing here tests this render's alerts
    left_out = f"; left out, their alerts are not rendered: {', '.join(skipped)}" if skipped else ""
    return Planned("promtool-tests", jobs, f"{len(jobs)} test file(s){left_out}")


def _tests_rendered_alerts(text: str, rendered: set[str]) -> bool:
    """Whether a unit-test file tests any alert this render has: the tests of an optional component
    (`thanos_test.yml`) apply only to the profiles that turn it on.  A file that tests none of its alerts is
    left out (and said); one that tests some runs whole, so a missing alert among them still fails it."""
    try:
        data = yamlio.load(text)
    except (yamlio.YAMLError, ValueError, RecursionError):
        return True  # promtool reports what it cannot read
    names = {str(case.get("alertname")) for t in dicts(as_dict(data).get("tests"))
             for case in dicts(t.get("alert_rule_test"))}
    return not names or bool(names & rendered)


def _test_reads(text: str) -> list[str] | None:
    """The files beside it a rule-test file makes promtool read, or None when we cannot tell (a glob, a path)."""
    try:
        data = yamlio.load(text)
    except (yamlio.YAMLError, ValueError, RecursionError):
        return None  # our parser is not promtool's: what it would read is unknown
    files = data.get("rule_files") if isinstance(data, dict) else None
    if files is None:
        return []
    if not isinstance(files, list) or not all(isinstance(f, str) and _PLAIN_FILE_NAME.match(f) for f in files):
        return None
    return files


# Debian's amtool is 0.25; webhook `url_file` came in Alertmanager 0.26. Its copy of the config reads the URL
# inline instead, so amtool judges everything else; the file's path is checked by validate's mount checks.
AMTOOL_025_URL = "https://url-file.invalid/"


def without_url_files(data: dict[str, Any]) -> None:
    for receiver in dicts(data.get("receivers")):
        for webhook in dicts(receiver.get("webhook_configs")):
            if "url_file" in webhook:
                del webhook["url_file"]
                webhook["url"] = AMTOOL_025_URL


def _amtool(bundle: Bundle, work: WorkDir) -> Planned | ToolRun | None:
    # Any alertmanager config, parsed or not: amtool's verdict on a file we cannot parse matters most.
    config = next((c for c in bundle.configs if c.program == "alertmanager"), None)
    if config is None:
        return None
    amtool = _tool("amtool")
    if amtool is None:
        return ToolRun("amtool", "not run", "amtool is not installed (Debian: prometheus-alertmanager)")
    if not isinstance(config.data, dict):
        # Written as it is: a glob in it may point anywhere, so its verdict is not cached.
        name = work.write("alertmanager.yml", config.file.text() or "")
        return Planned("amtool", [Job("amtool check-config", amtool, ("check-config", name), None)])
    data = copy.deepcopy(config.data)  # rewritten below for amtool's copy only
    globs, templates = [], []
    for pattern in as_list(data.get("templates")):
        for mounted in bundle.config_glob(config, str(pattern)):
            templates.append(work.write(f"templates/{Path(mounted.path).name}", mounted.text() or ""))
        globs.append(f"templates/{Path(str(pattern)).name}")  # relative: Alertmanager reads it from the config's dir
    if globs:
        data["templates"] = globs
    without_url_files(data)
    name = work.write("alertmanager.yml", yamlio.dump(data))
    return Planned("amtool", [Job("amtool check-config", amtool, ("check-config", name), (name, *templates))])


def _blackbox(bundle: Bundle, work: WorkDir) -> Planned | ToolRun | None:
    config = next((c for c in bundle.configs if c.program == "blackbox-exporter"), None)
    if config is None:
        return None
    binary = next((found for name in BLACKBOX_EXPORTER if (found := _tool(name))), None)
    if binary is None:
        return ToolRun("blackbox-exporter", "not run",
                       "blackbox_exporter is not installed (Debian: prometheus-blackbox-exporter)")
    name = work.write("blackbox.yml", config.file.text() or "")
    return Planned("blackbox-exporter", [Job("blackbox_exporter --config.check", binary,
                                             ("--config.check", f"--config.file={name}"), (name,))])


def _tail(verdict: toolcache.Verdict) -> str:
    lines = (verdict.stdout + verdict.stderr).strip().splitlines()
    return " | ".join(line.strip() for line in lines[-6:] if line.strip())
