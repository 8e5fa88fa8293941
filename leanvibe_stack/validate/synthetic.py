"""Synthetic monitoring: every probe job asks blackbox_exporter for a module its blackbox.yml defines.

A probe job is a Prometheus job with `metrics_path: /probe`; its `params.module` names the module
(blackbox_exporter falls back to `http_2xx` when there is none).  An unknown module fails every scrape
of the job with HTTP 400, so `up` drops to 0 and no `probe_success` series exists: the probe's
alerts stay silent.  The modules are those of every rendered blackbox_exporter (a stack renders one).

Check id: `probe.unknown-module`.
"""

from __future__ import annotations

from collections.abc import Iterator

from leanvibe_stack.validate.bundle import Bundle, as_dict, as_list, dicts
from leanvibe_stack.validate.findings import Finding, error

PROBE_PATH = "/probe"
DEFAULT_MODULE = "http_2xx"  # what blackbox_exporter uses when the request names no module


def check(bundle: Bundle) -> list[Finding]:
    return list(_unknown_modules(bundle))


def _unknown_modules(bundle: Bundle) -> Iterator[Finding]:
    prometheus = bundle.config("prometheus")
    if prometheus is None:
        return
    exporters = [c for c in bundle.configs if c.program == "blackbox-exporter" and isinstance(c.data, dict)]
    modules = sorted({str(name) for c in exporters for name in as_dict(c.data.get("modules"))})
    defined = f"blackbox.yml defines {', '.join(modules)}" if exporters else "no blackbox_exporter is rendered"
    for i, job in enumerate(dicts(prometheus.data.get("scrape_configs"))):
        if job.get("metrics_path") != PROBE_PATH:
            continue
        asked = [str(m) for m in as_list(as_dict(job.get("params")).get("module"))] or [DEFAULT_MODULE]
        for module in asked:
            if module in modules:
                continue
            yield error("probe.unknown-module", prometheus.holder, f"{prometheus.file.key}:scrape_configs[{i}].params",
                        f"job {job.get('job_name')} asks blackbox_exporter for module {module!r}, but {defined}: "
                        "every scrape would fail with HTTP 400 and its probe alerts could never fire")
