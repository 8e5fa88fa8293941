"""Ingresses: the Service and port each path sends to, HTTPS for every host, and the host the program links to.

A UI behind an Ingress writes its own absolute links (Prometheus and Alertmanager from `--web.external-url`,
Grafana from `GF_SERVER_ROOT_URL`): alert notifications, "view in Prometheus" buttons and Grafana's redirects
all use that URL, so when its host is not the Ingress's, every such link leads elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle, as_dict, dicts
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning

CHECKS = ("ingress.backend", "ingress.external-url", "ingress.no-tls")

# Where each UI program reads the URL it is served at.
EXTERNAL_URL_FLAG = "--web.external-url="
EXTERNAL_URL_ENV = "GF_SERVER_ROOT_URL"


def check(bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    for ingress in bundle.of_kind("Ingress"):
        findings.extend(_backends(bundle, ingress))
        findings.extend(_https(ingress))
    return findings


def _paths(ingress: Manifest) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(JSON path, host, backend) of the default backend and of every rule path."""
    spec = as_dict(ingress.obj.get("spec"))
    if "defaultBackend" in spec:
        yield "spec.defaultBackend", None, as_dict(spec["defaultBackend"])
    for i, rule in enumerate(dicts(spec.get("rules"))):
        for j, path in enumerate(dicts(as_dict(rule.get("http")).get("paths"))):
            yield f"spec.rules[{i}].http.paths[{j}].backend", rule.get("host"), as_dict(path.get("backend"))


def _backends(bundle: Bundle, ingress: Manifest) -> Iterator[Finding]:
    ref = ObjectRef.of(ingress)
    for path, host, backend in _paths(ingress):
        service_ref = as_dict(backend.get("service"))
        if not service_ref:
            continue  # a `resource` backend (e.g. a storage bucket) is the controller's business
        name, port = service_ref.get("name"), as_dict(service_ref.get("port"))
        service = bundle.get("Service", ingress.namespace, str(name))
        if service is None:
            yield error("ingress.backend", ref, f"{path}.service.name",
                        f"no Service {name!r} in namespace {ingress.namespace}: the controller answers 503")
            continue
        ports = dicts(as_dict(service.obj.get("spec")).get("ports"))
        wanted = ("name", port["name"]) if "name" in port else ("port", port.get("number"))
        if not any(p.get(wanted[0]) == wanted[1] for p in ports):
            offered = sorted(str(p.get("name") or p.get("port")) for p in ports)
            yield error("ingress.backend", ref, f"{path}.service.port",
                        f"Service {name!r} has no port {wanted[1]!r} (ports: {', '.join(offered)})")
            continue
        if host:
            yield from _external_url(bundle, ref, path, str(host), service)


def _external_url(bundle: Bundle, ref: ObjectRef, path: str, host: str, service: Manifest) -> Iterator[Finding]:
    for pod in bundle.selected_pods(service):
        for _, container in pod.containers():
            urls = [str(arg).removeprefix(EXTERNAL_URL_FLAG) for arg in container.get("args") or []
                    if str(arg).startswith(EXTERNAL_URL_FLAG)]
            urls += [str(env.get("value")) for env in dicts(container.get("env"))
                     if env.get("name") == EXTERNAL_URL_ENV and "value" in env]
            for url in urls:
                if urlsplit(url).hostname != host:
                    yield warning("ingress.external-url", ref, path,
                                  f"served at {host}, but {container.get('name')} links to {url} (its external "
                                  "URL): links in notifications and redirects lead elsewhere")


def _https(ingress: Manifest) -> Iterator[Finding]:
    spec = as_dict(ingress.obj.get("spec"))
    covered = {str(h) for tls in dicts(spec.get("tls")) if tls.get("secretName") for h in tls.get("hosts") or []}
    for i, rule in enumerate(dicts(spec.get("rules"))):
        host = rule.get("host")
        if host and host not in covered:
            yield warning("ingress.no-tls", ObjectRef.of(ingress), f"spec.rules[{i}].host",
                          f"{host} has no certificate in spec.tls: the UI (and its login) is served over plain "
                          "HTTP")
