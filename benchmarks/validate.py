"""Validation speed: our in-process checks beside `kubernetes_validate.validate` on the same objects.

Run from the repo root:  .venv/bin/python benchmarks/validate.py [--runs N] [--profile NAME]

Renders the profile once, then times (median/min/max of N runs, time.perf_counter):
  a) `schema.check` on the whole bundle, schemas loaded and validators compiled (warm cache);
  b) the same from a cold cache (definitions read, validators compiled: the first call of a process);
  c) `kubernetes_validate.validate(obj, version, strict=True)` on every object, as its CLI does;
  d) the whole in-process validation (schemas, cross-references, routing, PromQL, security,
     templates; not promtool/amtool), schemas loaded: the figure issue #3 §8 sets at <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BUDGET_MS = 50.0  # issue #3 §8: the whole in-process validation of the production render


def timed(action: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> list[float]:
    """Seconds per run; `before` runs untimed ahead of each run."""
    samples = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def row(label: str, samples: list[float], objects: int) -> str:
    ms = [s * 1000 for s in samples]
    median = statistics.median(ms)
    return (f"{label:<44} {median:>10.2f} {min(ms):>10.2f} {max(ms):>10.2f} "
            f"{median * 1000 / objects:>12.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="runs per measurement (at least 7)")
    parser.add_argument("--profile", default="production")
    args = parser.parse_args(argv)
    runs = max(7, args.runs)

    if str(REPO) not in sys.path:  # run as a script from a checkout: the package is the repo's
        sys.path.insert(0, str(REPO))
    from leanvibe_stack.profiles import load_profile
    from leanvibe_stack.render import render_stack
    from leanvibe_stack.validate import schema
    from leanvibe_stack.validate.bundle import Bundle

    loaded = load_profile(args.profile, REPO / "profiles")
    manifests = render_stack(loaded.stack)
    version = loaded.stack.global_.kubernetes_version
    bundle = Bundle(manifests)
    objects = len(manifests)
    kinds = len({(m.obj["apiVersion"], m.kind) for m in manifests})

    start = time.perf_counter()
    import jsonschema_rs  # noqa: F401  (once per process; not part of any run below)

    import_rs = time.perf_counter() - start
    start = time.perf_counter()
    import kubernetes_validate

    import_kv = time.perf_counter() - start

    findings = schema.check(bundle, version)  # warm-up: load and compile
    warm = timed(lambda: schema.check(bundle, version), runs)
    cold = timed(lambda: schema.check(bundle, version), runs, before=schema.clear_caches)

    peer_failures: list[str] = []

    def peer() -> None:
        peer_failures.clear()
        for manifest in manifests:
            try:
                kubernetes_validate.validate(manifest.obj, version, strict=True)
            except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
                peer_failures.append(f"{manifest.kind}/{manifest.name}: {exc}")

    reference = timed(peer, runs)

    from leanvibe_stack.validate import validate as validate_all

    validate_all(manifests, kube_version=version)  # warm-up
    whole = timed(lambda: validate_all(manifests, kube_version=version), runs)

    print(f"profile {loaded.name}: {objects} objects, {kinds} apiVersion/kinds, Kubernetes {version}, "
          f"{runs} runs each; Python {sys.version.split()[0]}")
    print(f"findings: schema.check {len(findings)}, kubernetes_validate {len(peer_failures)} failing objects")
    print()
    print(f"{'measurement':<44} {'median ms':>10} {'min ms':>10} {'max ms':>10} {'µs/object':>12}")
    print(row("a) schema.check, warm cache", warm, objects))
    print(row("b) schema.check, cold cache (compile incl.)", cold, objects))
    print(row("c) kubernetes_validate.validate(strict)", reference, objects))
    print(row("d) whole validation (all in-process checks)", whole, objects))
    print()
    a, b, c, d = (statistics.median(s) for s in (warm, cold, reference, whole))
    print(f"ratio c/a (peer / our schemas, warm): {c / a:,.0f}x")
    print(f"ratio c/b (peer / our schemas, cold): {c / b:,.1f}x")
    print(f"ratio c/d (peer schemas only / our whole validation): {c / d:,.1f}x")
    print(f"one-off imports: jsonschema_rs {import_rs * 1000:.1f} ms, kubernetes_validate {import_kv * 1000:.1f} ms")
    print()
    verdict = "within" if d * 1000 <= BUDGET_MS else "OVER"
    print(f"issue #3 §8 target: whole in-process validation <= {BUDGET_MS:.0f} ms once schemas are loaded: "
          f"{d * 1000:.1f} ms ({verdict} budget; schemas {a * 1000:.2f} ms of it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
