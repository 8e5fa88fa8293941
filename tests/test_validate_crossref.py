"""url.unresolved reads host names as cluster DNS does: external hosts are not Services (validate.dns)."""

from __future__ import annotations

import copy

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import crossref
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.dns import ServiceHost, service_host

NAMESPACE = "leanvibe-monitoring"


def _with_target(production: list[Manifest], target: str) -> list[Manifest]:
    """Production with one more static scrape job, whose single target is `target`."""
    manifests = copy.deepcopy(production)
    config_map = next(m for m in manifests if m.kind == "ConfigMap" and m.name == "prometheus-config")
    config = yamlio.load(config_map.obj["data"]["prometheus.yml"])
    config["scrape_configs"].append({"job_name": "extra", "static_configs": [{"targets": [target]}]})
    config_map.obj["data"]["prometheus.yml"] = yamlio.dump(config)
    return manifests


def _unresolved(manifests: list[Manifest]) -> list[str]:
    return [f.message for f in crossref.check(Bundle(manifests)) if f.check == "url.unresolved"]


def test_production_resolves_every_url(production: list[Manifest]) -> None:
    assert _unresolved(production) == []


@pytest.mark.parametrize("target", [
    "svc-payments.example.com:9100",  # `.svc` inside a label: not the `svc` label (read as Service example/com)
    "payments.svc.example.com:9100",  # `svc` is the second label: no Service name has that shape
    "metrics.payments.internal.example.com:9100",
    "10.0.12.7:9100",
    "kube-state-metrics.leanvibe-monitoring.svc.example.com:8080",  # a domain no rendered name uses
])
def test_an_external_host_is_not_read_as_a_service(production: list[Manifest], target: str) -> None:
    assert _unresolved(_with_target(production, target)) == []


@pytest.mark.parametrize(("target", "message"), [
    ("payments.leanvibe-production.svc:9100", "Service 'payments' in namespace 'leanvibe-production'"),
    ("payments.leanvibe-production.svc.cluster.local:9100", "Service 'payments' in namespace 'leanvibe-production'"),
    ("payments.leanvibe-production.svc.cluster.local.:9100", "Service 'payments' in namespace 'leanvibe-production'"),
    ("payments.leanvibe-production:9100", "Service 'payments' in namespace 'leanvibe-production'"),
    ("payments:9100", f"Service 'payments' in namespace '{NAMESPACE}'"),
    ("prometheus-1.prometheus-headless.leanvibe-monitoring.svc:9091", "has no port 9091"),
    ("kube-state-metrics.leanvibe-monitoring.svc:9100", "has no port 9100"),
])
def test_a_cluster_name_must_name_a_rendered_service_and_port(production: list[Manifest], target: str,
                                                              message: str) -> None:
    problems = _unresolved(_with_target(production, target))
    assert len(problems) == 1 and message in problems[0], problems


@pytest.mark.parametrize("target", [
    "kube-state-metrics.leanvibe-monitoring.svc:8080",
    "kube-state-metrics.leanvibe-monitoring.svc.cluster.local:8080",
    "prometheus-0.prometheus-headless:9090",  # POD.SERVICE from the client's namespace
    "prometheus-0.prometheus-headless.leanvibe-monitoring.svc.cluster.local:9090",
])
def test_a_rendered_service_resolves(production: list[Manifest], target: str) -> None:
    assert _unresolved(_with_target(production, target)) == []


def test_a_custom_cluster_domain_is_learned_from_the_names_that_resolve(production: list[Manifest]) -> None:
    # A profile with global.cluster_domain: k8s.example renders every FQDN under it; a rendered Service's name
    # tells the domain, so a wrong Service under that domain is still reported.
    manifests = _with_target(production, "kube-state-metrics.leanvibe-monitoring.svc.k8s.example:8080")
    assert _unresolved(manifests) == []
    manifests = _with_target(manifests, "payments.leanvibe-production.svc.k8s.example:9100")
    problems = _unresolved(manifests)
    assert len(problems) == 1 and "Service 'payments' in namespace 'leanvibe-production'" in problems[0], problems


def test_service_host_readings() -> None:
    assert service_host("web") == ServiceHost("web", None, None)
    assert service_host("web.apps") == ServiceHost("web", "apps", None)
    assert service_host("web.apps.svc") == ServiceHost("web", "apps", "")
    assert service_host("web.apps.svc.cluster.local") == ServiceHost("web", "apps", "cluster.local")
    assert service_host("web-0.web.apps.svc.cluster.local") == ServiceHost("web", "apps", "cluster.local",
                                                                           pod="web-0")
    assert service_host("_http._tcp.web.apps.svc") == ServiceHost("web", "apps", "", srv_port="http")
    for external in ("svc-payments.example.com", "api.svc.example.com", "a.b.c.d.svc.cluster.local",
                     "events.pagerduty.com", "", "web..apps"):
        assert service_host(external) is None, external
