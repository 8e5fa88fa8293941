"""Prometheus 3.13: the model refuses what 3.x removed or renamed, and names what to use instead."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leanvibe_stack.models.prometheus import ScrapeJob, flag_problem

STATIC = {"static_configs": [{"targets": ["localhost:9090"]}]}


@pytest.mark.parametrize(("arg", "says"), [
    ("--storage.tsdb.retention=30d", "prometheus.retention_time"),
    ("--storage.tsdb.retention.time=30d", "prometheus.retention_time"),
    ("--storage.tsdb.retention.size=10GB", "prometheus.retention_size"),
    ("--alertmanager.timeout=10s", "removed in Prometheus 3.0"),
    ("--storage.tsdb.allow-overlapping-blocks", "removed in Prometheus 3.0"),
    ("--enable-feature=promql-negative-offset", "always on"),
    ("--enable-feature=exemplar-storage,agent", "--agent flag"),
    ("--enable-feature=native-histograms", "scrape_native_histograms"),
    ("--enable-feature=no-such-feature", "no such feature flag"),
    ("--query.lookback_delta=5m", "not a flag of Prometheus 3.13"),
    ("query.timeout=2m", "not a long flag"),
])
def test_removed_or_unknown_flags_are_refused_with_what_to_use(arg: str, says: str) -> None:
    problem = flag_problem(arg)
    assert problem is not None and says in problem


@pytest.mark.parametrize("arg", [
    "--storage.tsdb.wal-compression",  # hidden upstream, still a flag
    "--no-storage.tsdb.wal-compression",  # kingpin's negation of a boolean flag
    "--query.timeout=2m",
    "--enable-feature=promql-experimental-functions,exemplar-storage",
    "--no-auto-gomemlimit",
    "--log.level=debug",
])
def test_flags_of_prometheus_3_13_are_accepted(arg: str) -> None:
    assert flag_problem(arg) is None


def test_renamed_scrape_key_names_its_successor() -> None:
    with pytest.raises(ValidationError, match="always_scrape_classic_histograms"):
        ScrapeJob.model_validate({**STATIC, "scrape_classic_histograms": True})


def test_fallback_scrape_protocol_takes_only_the_protocols_prometheus_knows() -> None:
    job = ScrapeJob.model_validate({**STATIC, "fallback_scrape_protocol": "PrometheusText0.0.4"})
    assert job.model_dump(exclude_none=True)["fallback_scrape_protocol"] == "PrometheusText0.0.4"
    with pytest.raises(ValidationError, match="fallback_scrape_protocol"):
        ScrapeJob.model_validate({**STATIC, "fallback_scrape_protocol": "text/plain"})
