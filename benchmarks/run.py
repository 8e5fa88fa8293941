"""Performance benchmark of issue #7: render and validation times, peak memory and growth, against the targets.

Run from a checkout after `pip install -e '.[test]'`:

    .venv/bin/python benchmarks/run.py [--runs N] [--sizes 1000,3000,10000] [--only tools,suite] [--quick]

It prints one table (ms for times, MB for memory; median, min and max of N runs, time.perf_counter wall time)
and exits 0: it reports, it does not gate.  It exits 1 only when a measured command fails (then it prints that
command's stderr), 2 when the peer CLI is not installed.  Subprocess figures get one untimed warm-up run first,
so the OS file caches are warm; "cold" means a fresh interpreter.

Figures:
  1. cold render production  -- `leanvibe-stack render --profile production > /dev/null` from the repo (in-process
     validation on, as by default), twice: with its inputs unchanged since the last run (the render cache,
     rendercache.py, answers: what a re-run in CI or a second `render | kubectl apply` costs), after an edit of
     the profile (the render runs; the other profiles' identities come from the cache: environments.py), and
     with the cache off (the whole work, as after a change of template or version; every other figure runs with
     the cache off too); target <= 250 ms, and <= 0.3x the peer (figure 3) in "ratio to reference": the median of each
     run's ratio to the peer run made right after it (the four alternate).
  2. cold --help, cold --version -- `leanvibe-stack --help` / `--version`; target <= 120 ms each.
  3. peer: kubernetes-validate --strict -- the kubernetes-validate CLI on the same objects (production rendered
     once with --output-dir; the numbered object files, not kustomization.yaml), at the profile's Kubernetes
     version.  Schemas only: far less than our validation checks, which is what makes the ratio a fair bar.
  4. warm render+validate production (in-process) -- `api.render_profile` (load, render, in-process checks) in
     this process, after one untimed call; target <= 20 ms.
  5. per size S of --sizes: a synthetic profile (benchmarks/synthetic.py: production plus S alert rules, S/10
     scrape jobs, S/50 dashboards; each in its own copy of profiles/, beside the shipped profiles only) rendered
     cold like figure 1 with the render cache off: wall time (target <= 3000 ms at 10,000 rules)
     and the child's peak RSS from os.wait4 (target <= 400 MB at 10,000 rules); then the growth of the median
     time from the smallest to the largest size (target <= 12x for 10x the input, 1.2 x the input ratio
     otherwise).
  6. the real tools -- `validate --profile production --require-tools` cold with the verdict cache off
     (LEANVIBE_TOOL_CACHE=off: every tool runs, concurrently) beside the same tool commands run one after the
     other from a shell on the same files (`validate/tools.py` writes them; `promtool test rules` given every
     test file at once, as a user would): target <= 1.2x.  Then the same validate with a warm cache (an
     unchanged re-run) beside `validate --no-tools`, the in-process time it should come down to.  --quick:
     1 run each, and only the cheapest rule test (tracing_test.yml), to prove the rows work.
  7. unknown metrics -- `validate FILE --no-tools` on 1,000 alert rules whose metric names no catalogue knows
     (benchmarks/unknown_metrics.py writes them, each a near-miss of a catalogued name, so every one is looked up
     for a "did you mean"; that script also prints CPU time and the in-process figure); target <= 2 s.  --quick:
     100 rules.
  8. the test suite -- the README's test command (`python -m pytest -q -p no:cacheprovider`, pytest-xdist's
     workers as pyproject's addopts set them), once, no warm-up; target <= 480 s on the 2-core machine.
     --quick: tests/test_releases.py alone in one process (-n 0), to prove the row works.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PROFILE = "production"
DEFAULT_SIZES = (1000, 3000, 10000)
QUICK_SIZES = (20, 60, 200)  # 10x apart, like the default's extremes, so the growth row keeps its name
TARGET_SIZE = 10000  # the size the issue sets the synthetic targets for
RENDER_MS, CLI_MS, PEER_RATIO, WARM_MS = 250.0, 120.0, 0.3, 20.0
SYNTHETIC_MS, SYNTHETIC_MB, GROWTH_PER_INPUT = 3000.0, 400.0, 1.2
TOOLS_RATIO, SUITE_S = 1.2, 480.0
QUICK_SUITE = "tests/test_releases.py"
QUICK_RULE_TEST = "tracing_test.yml"
GROUPS = ("production", "warm", "synthetic", "tools", "unknown", "suite")  # --only: figures 1-3, 4, 5, 6, 7, 8
UNKNOWN_RULES, QUICK_UNKNOWN_RULES, UNKNOWN_MS = 1000, 100, 2000.0


# Children may write bytecode (the warm-up run does), as any installed CLI has: a PYTHONDONTWRITEBYTECODE
# inherited from a sandbox would otherwise make every "cold" run recompile the package from source.
# Nor do they inherit what an enclosing pytest(-xdist) run set for its own workers (test_benchmarks runs this).
# Every child does the whole work (the render cache off) except the one figure that measures the cache.
CHILD_ENV = {key: value for key, value in os.environ.items()
             if key != "PYTHONDONTWRITEBYTECODE" and not key.startswith("PYTEST_")} | {"LEANVIBE_RENDER_CACHE": "off"}


@dataclass(frozen=True)
class Child:
    """One finished subprocess: wall time, its own peak RSS, exit code and stderr."""

    ms: float
    mb: float
    returncode: int
    stderr: str


@dataclass
class Row:
    """One line of the table: samples in `unit`, or a failure."""

    figure: str
    unit: str
    target: str = "-"
    samples: list[float] = field(default_factory=list)
    ratio: str = ""
    failed: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


class CommandFailed(Exception):
    """A measured command exited non-zero."""

    def __init__(self, command: list[str], child: Child) -> None:
        self.returncode = child.returncode
        super().__init__(f"`{' '.join(command)}` exited {child.returncode}:\n{child.stderr.rstrip()}")


def console_script(name: str, module: str) -> list[str] | None:
    """The console script installed beside this interpreter, else `python -m module`; None if neither is."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", module] if importlib.util.find_spec(module) else None


def run_child(command: list[str]) -> Child:
    """Run a command from the repo, stdout to /dev/null: wall time and the peak RSS of that child alone (os.wait4)."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty child never blocks on a full pipe
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=CHILD_ENV, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
    kb = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss  # bytes on macOS, KB on Linux
    return Child(elapsed * 1000, kb / 1024, process.returncode, stderr)


def measure(command: list[str], runs: int, accept: tuple[int, ...] = (0,)) -> list[Child]:
    """One untimed warm-up, then `runs` measured runs; CommandFailed on an exit code not in `accept`."""
    return measure_together([command], runs, accept)[0]


def measure_together(commands: list[list[str]], runs: int, accept: tuple[int, ...] = (0,)) -> list[list[Child]]:
    """Like `measure`, the commands taking turns run by run, so a noisy neighbour slows them alike."""
    children: list[list[Child]] = [[] for _ in commands]
    for _ in range(runs + 1):
        for command, done in zip(commands, children, strict=True):
            child = run_child(command)
            if child.returncode not in accept:
                raise CommandFailed(command, child)
            done.append(child)
    return [done[1:] for done in children]


def machine(runs: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"machine: {cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}; "
            f"libyaml {'present' if yaml.__with_libyaml__ else 'absent'}; "
            f"{runs} runs per figure (subprocess figures after 1 untimed warm-up)")


def cell(row: Row, value: float) -> str:
    return f"{value:,.1f} {row.unit}" if row.unit != "x" else f"{value:.2f}x"


def table(rows: list[Row]) -> str:
    header = ("figure", "median", "min", "max", "target", "ratio to reference")
    lines = []
    for row in rows:
        if row.failed:
            lines.append((row.figure, row.failed, "", "", row.target, row.ratio))
        elif len(row.samples) == 1:
            lines.append((row.figure, cell(row, row.median), "", "", row.target, row.ratio))
        else:
            lines.append((row.figure, cell(row, row.median), cell(row, min(row.samples)),
                          cell(row, max(row.samples)), row.target, row.ratio))
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]

    def render(line: tuple[str, ...], ruler: bool = False) -> str:
        cells = [("-" * w if ruler else text.ljust(w) if i == 0 else text.rjust(w))
                 for i, (text, w) in enumerate(zip(line, widths, strict=True))]
        return "| " + " | ".join(cells) + " |"

    return "\n".join([render(header), render(header, ruler=True), *(render(line) for line in lines)])


@dataclass
class Bench:
    """The measurements of one run of this script; `failures` holds what a failed command printed."""

    runs: int
    ours: list[str]
    peer: list[str]
    failures: list[str] = field(default_factory=list)

    def failed(self, failure: CommandFailed, *rows: Row) -> None:
        """Keep what the failed command printed; its rows say FAILED instead of figures."""
        self.failures.append(str(failure))
        for row in rows:
            row.failed = f"FAILED (exit {failure.returncode})"

    def subprocess_row(self, figure: str, command: list[str], target: str) -> Row:
        row = Row(figure, "ms", target)
        try:
            row.samples = [child.ms for child in measure(command, self.runs)]
        except CommandFailed as failure:
            self.failed(failure, row)
        return row

    def production(self, tmp: Path, kube_version: str) -> list[Row]:
        """Figures 1-3: cold render (its inputs unchanged since the last run, so the render cache answers; and with
        the cache off: the whole work) beside the peer on the same rendered objects (runs alternate), --help,
        --version."""
        cached = Row(f"cold render {PROFILE}, unchanged inputs (render cache)", "ms", f"<= {RENDER_MS:g} ms")
        edited = Row(f"cold render {PROFILE}, its file edited (render cache on)", "ms", f"<= {RENDER_MS:g} ms")
        render = Row(f"cold render {PROFILE}, render cache off", "ms", f"<= {RENDER_MS:g} ms")
        peer = Row(f"peer: kubernetes-validate --strict (k8s {kube_version})", "ms", "-", ratio="reference")
        ours = [*self.ours, "render", "--profile", PROFILE]
        written = run_child([*ours, "--output-dir", str(tmp / "rendered")])
        files = sorted(str(p) for p in (tmp / "rendered").glob("*.yaml") if p.name != "kustomization.yaml")
        try:
            if written.returncode != 0:
                raise CommandFailed([*ours, "--output-dir", str(tmp / "rendered")], written)
            # The warm-up run of the first command fills the cache the measured runs answer from.  The second edits
            # the profile before each run (a comment appended: new bytes), as a user does between two renders:
            # the render runs, the unchanged neighbours' identities come from the cache.
            profiles = shutil.copytree(REPO / "profiles", tmp / "edited-profiles")
            edit = f"echo '# edited' >> {shlex.quote(str(profiles / f'{PROFILE}.yaml'))} && exec " + shlex.join(
                [*ours, "--profiles-dir", str(profiles)])
            cached_runs, edited_runs, ours_runs, peer_runs = measure_together(
                [["env", f"LEANVIBE_RENDER_CACHE={tmp / 'render-cache'}", *ours],
                 ["env", f"LEANVIBE_RENDER_CACHE={tmp / 'edited-cache'}", "sh", "-c", edit], ours,
                 [*self.peer, "--strict", "--quiet", "-k", kube_version, *files]], self.runs)
        except CommandFailed as failure:
            self.failed(failure, cached, edited, render, peer)
        else:
            peer.samples = [child.ms for child in peer_runs]
            for row, runs in ((cached, cached_runs), (edited, edited_runs), (render, ours_runs)):
                row.samples = [child.ms for child in runs]
                # Each run's ratio to the peer run beside it: the machine's mood cancels out.
                paired = statistics.median(o.ms / p.ms for o, p in zip(runs, peer_runs, strict=True))
                row.ratio = f"{paired:.2f} (<= {PEER_RATIO:g})"
        return [cached, edited, render,
                self.subprocess_row("cold --help", [*self.ours, "--help"], f"<= {CLI_MS:g} ms"),
                self.subprocess_row("cold --version", [*self.ours, "--version"], f"<= {CLI_MS:g} ms"),
                peer]

    def warm(self) -> Row:
        """Figure 4: the library call the CLI makes, in this process, after one untimed call."""
        from leanvibe_stack.api import render_profile
        from leanvibe_stack.errors import LeanvibeError

        row = Row(f"warm render+validate {PROFILE} (in-process)", "ms", f"<= {WARM_MS:g} ms")
        try:
            for run in range(self.runs + 1):
                start = time.perf_counter()
                render_profile(PROFILE, REPO / "profiles")
                if run:  # run 0 is the warm-up: imports, schemas, caches
                    row.samples.append((time.perf_counter() - start) * 1000)
        except LeanvibeError as error:
            self.failures.append(f"render_profile({PROFILE!r}) raised {error}")
            row.failed = "FAILED"
        return row

    def synthetic(self, tmp: Path, sizes: list[int]) -> list[Row]:
        """Figure 5: time and peak RSS per synthetic size, then the growth from the smallest to the largest."""
        from benchmarks.synthetic import copy_profiles, write_profile

        rows, medians = [], {}
        for size in sizes:
            # Each size in a directory of its own, as a repo holds one such profile: `validate` loads every
            # profile beside the rendered one (the identity checks), and the other sizes are not the user's.
            profiles = copy_profiles(tmp / f"profiles-{size}")
            name = write_profile(profiles, size).name
            at_target = size == TARGET_SIZE
            time_row = Row(f"render+validate synthetic {size} rules", "ms",
                           f"<= {SYNTHETIC_MS:g} ms" if at_target else "-")
            rss_row = Row(f"peak RSS synthetic {size} rules", "MB", f"<= {SYNTHETIC_MB:g} MB" if at_target else "-")
            command = [*self.ours, "render", "--profiles-dir", str(profiles), "--profile", name]
            try:
                children = measure(command, self.runs)
            except CommandFailed as failure:
                self.failed(failure, time_row, rss_row)
            else:
                time_row.samples = [child.ms for child in children]
                rss_row.samples = [child.mb for child in children]
                medians[size] = time_row.median
            rows += [time_row, rss_row]
        if len(sizes) > 1:
            small, large = sizes[0], sizes[-1]
            factor = large / small
            target = f"<= {GROWTH_PER_INPUT * factor:g}x" + ("" if factor == 10 else " (1.2 x input ratio)")
            growth = Row(f"growth {factor:g}x input", "x", target)
            if small in medians and large in medians:
                growth.samples = [medians[large] / medians[small]]
            else:
                growth.failed = "not measured"
            rows.append(growth)
        return rows


    def paired(self, ours: Row, peer: Row, commands: list[list[str]], runs: int, target: float) -> None:
        """Both rows from runs that take turns; `ours` gets the median of each run's ratio to the peer's."""
        try:
            ours_runs, peer_runs = measure_together(commands, runs)
        except CommandFailed as failure:
            self.failed(failure, ours, peer)
            return
        ours.samples = [child.ms for child in ours_runs]
        peer.samples = [child.ms for child in peer_runs]
        paired = statistics.median(o.ms / p.ms for o, p in zip(ours_runs, peer_runs, strict=True))
        ours.ratio = f"{paired:.2f}" + (f" (<= {target:g})" if target else "")

    def tools(self, tmp: Path, quick: bool) -> list[Row]:
        """Figure 6: validate with the real tools beside the tools alone, then an unchanged re-run (cache warm)."""
        from leanvibe_stack.api import render_profile, rule_tests
        from leanvibe_stack.validate import tools
        from leanvibe_stack.validate.bundle import Bundle

        runs = 1 if quick else self.runs
        ours = Row(f"validate {PROFILE} with the tools, cache off", "ms", f"<= {TOOLS_RATIO:g}x the tools alone")
        alone = Row("the same tool commands alone, one after the other", "ms", "-", ratio="reference")
        cached = Row(f"validate {PROFILE} with the tools, unchanged re-run", "ms", "~ --no-tools")
        bare = Row(f"validate {PROFILE} --no-tools", "ms", "-", ratio="reference")
        validate = [*self.ours, "validate", "--profile", PROFILE, "--require-tools"]
        work = tmp / "tools"
        work.mkdir()
        tests = rule_tests(REPO / "profiles")
        if quick:
            tests = [test for test in tests if test.name == QUICK_RULE_TEST]
            (tmp / "rule-tests").mkdir()
            shutil.copy(tests[0], tmp / "rule-tests")
            validate += ["--rule-tests", str(tmp / "rule-tests")]
        bundle = Bundle(render_profile(PROFILE, REPO / "profiles", validate=False).manifests)
        commands = tools.commands(bundle, work, tests)
        if not commands:
            for row in (ours, alone, cached, bare):
                row.failed = "no tool installed"
            return [ours, alone, cached, bare]
        self.paired(ours, alone, [["env", "LEANVIBE_TOOL_CACHE=off", *validate],
                                  ["sh", "-c", alone_script(work, commands)]], runs, TOOLS_RATIO)
        self.paired(cached, bare, [["env", f"LEANVIBE_TOOL_CACHE={tmp / 'tool-cache'}", *validate],
                                   [*self.ours, "validate", "--profile", PROFILE, "--no-tools"]], runs, 0)
        return [ours, alone, cached, bare]

    def unknown(self, tmp: Path, quick: bool) -> Row:
        """Figure 7: `validate FILE --no-tools` on rules whose metric names no catalogue knows (benchmarks/
        unknown_metrics.py writes them: each a near-miss of a catalogued name, so each gets a "did you mean")."""
        from benchmarks.unknown_metrics import manifests

        rules = QUICK_UNKNOWN_RULES if quick else UNKNOWN_RULES
        path = tmp / "unknown-metrics.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests(rules)}), encoding="utf-8")
        row = Row(f"validate FILE --no-tools, {rules:,} rules on unknown metrics", "ms",
                  f"<= {UNKNOWN_MS:g} ms" if rules == UNKNOWN_RULES else "-")
        command = [*self.ours, "validate", str(path), "--no-tools"]
        try:  # exit 1 is the verdict (every rule's metric is unknown), not a failure of the command
            row.samples = [child.ms for child in measure(command, self.runs, accept=(0, 1))]
        except CommandFailed as failure:
            self.failed(failure, row)
        return row

    def suite(self, quick: bool) -> Row:
        """Figure 8: the README's test command, once."""
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if quick:
            command += ["-n", "0", QUICK_SUITE]
        row = Row(f"test suite ({QUICK_SUITE}, quick)" if quick else "test suite (the README's command)", "s",
                  "-" if quick else f"<= {SUITE_S:g} s")
        child = run_child(command)
        if child.returncode != 0:
            self.failed(CommandFailed(command, child), row)
        else:
            row.samples = [child.ms / 1000]
        return row


def alone_script(work: Path, commands: list[list[str]]) -> str:
    """One shell line running the tool commands one after the other from `work`, as a user would: promtool's
    rule tests as one `promtool test rules` with every test file (validate runs one per file, concurrently)."""
    tests = [c for c in commands if c[1:3] == ["test", "rules"]]
    merged = [c for c in commands if c not in tests]
    if tests:
        merged.insert(1, [*tests[0][:3], *(c[3] for c in tests)])
    return f"cd {shlex.quote(str(work))} && " + " && ".join(shlex.join(c) + " >/dev/null" for c in merged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, help="measured runs per figure (default 7; 3 with --quick)")
    parser.add_argument("--sizes", help="comma-separated rule counts of the synthetic profiles "
                                        f"(default {','.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--only", help="comma-separated groups of figures to measure "
                                       f"(default all: {','.join(GROUPS)})")
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes {','.join(map(str, QUICK_SIZES))} and 3 runs (the smoke test)")
    args = parser.parse_args(argv)
    runs = max(1, args.runs or (3 if args.quick else 7))
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",")}) if args.sizes else \
            list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    except ValueError:
        parser.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes: rule counts must be positive")
    only = [group.strip() for group in args.only.split(",")] if args.only else list(GROUPS)
    if unknown := [group for group in only if group not in GROUPS]:
        parser.error(f"--only: unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")

    if str(REPO) not in sys.path:  # run as a script from a checkout: the package is the repo's
        sys.path.insert(0, str(REPO))
    from leanvibe_stack.profiles import load_profile

    ours = console_script("leanvibe-stack", "leanvibe_stack") or [sys.executable, "-m", "leanvibe_stack"]
    peer = console_script("kubernetes-validate", "kubernetes_validate")
    if peer is None:
        print("error: the kubernetes-validate CLI is not installed (pip install -e '.[test]')", file=sys.stderr)
        return 2
    kube_version = load_profile(PROFILE, REPO / "profiles").stack.global_.kubernetes_version

    bench = Bench(runs, ours, peer)
    with tempfile.TemporaryDirectory(prefix="leanvibe-bench-") as tmp:
        measured = {
            "production": lambda: bench.production(Path(tmp), kube_version),
            "warm": lambda: [bench.warm()],
            "synthetic": lambda: bench.synthetic(Path(tmp), sizes),
            "tools": lambda: bench.tools(Path(tmp), args.quick),
            "unknown": lambda: [bench.unknown(Path(tmp), args.quick)],
            "suite": lambda: [bench.suite(args.quick)],
        }
        rows = [row for group in only for row in measured[group]()]

    print(machine(runs))
    print(f"synthetic sizes: {', '.join(map(str, sizes))} alert rules (+ S/10 scrape jobs, S/50 dashboards, "
          f"on top of {PROFILE}'s own)")
    print()
    print(table(rows))
    for failure in bench.failures:
        print(f"\nerror: {failure}", file=sys.stderr)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
