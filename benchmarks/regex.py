"""Pathological regexes (issue 16): Go's RE2 semantics in linear time, side by side with amtool.

    .venv/bin/python benchmarks/regex.py [--runs N]

For each case, a route matcher `v=~"PATTERN"` and a label value: the median wall time of
`leanvibe_stack.goregex` compiling and matching it (in process, cache cleared each run), of
`amtool config routes test` on the same one-route config (a subprocess, so its figure includes process
start), and of Python's `re` in a child process stopped after 5 s (the engine this tool used before;
"timeout" is the point).  It reports, it does not gate; the target is "well under 1 s" for ours.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = [("(a+)+b", "a" * 30), ("(a|aa)+c", "a" * 40), ("(x+x+)+y", "x" * 30), ("(.*a){12}", "a" * 30)]
PYTHON_RE = "import re, sys; re.fullmatch(sys.argv[1], sys.argv[2])"


def median_ms(run: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from leanvibe_stack import goregex

    amtool = shutil.which("amtool")
    directory = Path(tempfile.mkdtemp())
    print(f"{'pattern':<12} {'value':<10} {'ours ms':>9} {'amtool ms':>10} {'python re':>10}")
    for pattern, value in CASES:
        def ours(pattern: str = pattern, value: str = value) -> None:
            goregex.compile.cache_clear()
            goregex.compile(pattern).fullmatch(value)

        ours_ms = median_ms(ours, args.runs)
        theirs = "-"
        if amtool:
            config = directory / "am.yml"
            matcher = f"v=~{json.dumps(pattern)}"
            config.write_text(json.dumps({"route": {"receiver": "r0", "routes": [{"receiver": "r1",
                                                                                 "matchers": [matcher]}]},
                                          "receivers": [{"name": "r0"}, {"name": "r1"}]}))
            command = [amtool, "config", "routes", "test", f"--config.file={config}", f"v={value}"]
            theirs = f"{median_ms(lambda c=command: subprocess.run(c, capture_output=True, check=True), args.runs):.1f}"
        try:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", PYTHON_RE, f"^(?:{pattern})$", value], timeout=5, check=True)
            python = f"{(time.perf_counter() - start) * 1000:.0f} ms"
        except subprocess.TimeoutExpired:
            python = "timeout"
        print(f"{pattern:<12} {value[:4] + '*' + str(len(value)):<10} {ours_ms:>9.2f} {theirs:>10} {python:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
