"""Rule-heavy input nobody here wrote: N alert rules whose metric names no catalogue knows (issue 16, item 5).

Run from the repo root:  .venv/bin/python benchmarks/unknown_metrics.py [--rules 1000] [--runs 3]

Writes one manifest file (a Prometheus Deployment, its prometheus.yml, whose jobs make every metric catalogue
apply, and a rule file of N alerts, each on a metric name of its own that is a near-miss of a catalogued one,
so every name is looked up for a "did you mean"), then
times `leanvibe-stack validate FILE --no-tools` in a fresh interpreter (wall time, median/min/max of the runs,
after one untimed warm-up, and the child's CPU time, which a busy machine does not inflate) and the in-process
validation of the same objects.  Target: under 2 s for 1,000
rules.  It reports; it does not gate (exit 1 only when validate itself fails: exit 2 or more).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 2.0
# Near-misses of catalogued names (a letter dropped, a suffix changed), varied by a number.
STEMS = ("node_cpu_second_total", "http_request_duration_second_bucket", "container_memory_working_set",
         "kube_pod_status_phases", "process_resident_memory", "go_goroutine_count", "up_time_seconds")


def rule(i: int) -> dict[str, Any]:
    metric = f"{STEMS[i % len(STEMS)]}_{i}"
    return {"alert": f"Synthetic{i}", "expr": f"sum(rate({metric}[5m])) > 1", "for": "5m",
            "labels": {"severity": "warning"}, "annotations": {"summary": f"synthetic rule {i}"}}


def manifests(rules: int) -> list[dict[str, Any]]:
    namespace = "bench"
    # Jobs named after the exporters kube-prometheus scrapes, so every metric catalogue applies (the index is
    # the full one, as on the rule sets of that kind).
    jobs = [{"job_name": name, "kubernetes_sd_configs": [{"role": "endpoints"}]}
            for name in ("node-exporter", "kube-state-metrics", "cadvisor", "kubelet", "apiserver")]
    config = {"global": {"scrape_interval": "30s"}, "rule_files": ["/etc/prometheus/rules/*.yml"],
              "scrape_configs": jobs}
    rule_file = {"groups": [{"name": "synthetic", "rules": [rule(i) for i in range(rules)]}]}
    labels = {"app": "prometheus"}
    container = {
        "name": "prometheus", "image": "quay.io/prometheus/prometheus:v3.13.0",
        "args": ["--config.file=/etc/prometheus/prometheus.yml"],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/prometheus/prometheus.yml", "subPath": "prometheus.yml"},
                         {"name": "rules", "mountPath": "/etc/prometheus/rules"}],
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "prometheus", "namespace": namespace},
         "data": {"prometheus.yml": json.dumps(config)}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rules", "namespace": namespace},
         "data": {"synthetic.yml": json.dumps(rule_file)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "prometheus", "namespace": namespace},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "containers": [container],
             "volumes": [{"name": "config", "configMap": {"name": "prometheus"}},
                         {"name": "rules", "configMap": {"name": "rules"}}]}}}},
    ]


def run_cli(path: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time (user + system: what a busy machine does not inflate) and the result."""
    command = [sys.executable, "-m", "leanvibe_stack", "validate", str(path), "--no-tools", "--output", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests(args.rules)}))
        _, _, warm = run_cli(path)
        if warm.returncode not in (0, 1):
            print(warm.stderr, file=sys.stderr)
            return 1
        report = json.loads(warm.stdout)
        unknown = [f for f in report["findings"] if f["check"] == "metrics.unknown"]
        suggested = [f for f in unknown if "did you mean" in f["message"]]
        runs = [run_cli(path) for _ in range(args.runs)]
        samples, cpu = [run[0] for run in runs], [run[1] for run in runs]

        from leanvibe_stack.api import default_kube_version
        from leanvibe_stack.validate import validate
        from leanvibe_stack.validate.inputs import load_manifests

        objects = load_manifests([str(path)])
        validate(objects, kube_version=default_kube_version())  # schemas loaded, as in a warm process
        start = time.perf_counter()
        validate(objects, kube_version=default_kube_version())
        in_process = time.perf_counter() - start
    median = statistics.median(samples)
    print(f"rules: {args.rules}; metrics.unknown findings: {len(unknown)}, with a suggestion: {len(suggested)}")
    print(f"validate FILE --no-tools (fresh interpreter): median {median:.2f} s, min {min(samples):.2f} s, "
          f"max {max(samples):.2f} s over {args.runs} runs; target < {TARGET_S:.0f} s: "
          f"{'ok' if median < TARGET_S else 'MISSED'}; CPU time median {statistics.median(cpu):.2f} s")
    print(f"in-process validation of the same objects (warm): {in_process:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
