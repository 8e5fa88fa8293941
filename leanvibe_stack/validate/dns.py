"""How cluster DNS reads a host name: which Service (and namespace) it names, or that it is outside the cluster.

One reading for every check that follows an address (crossref's `url.unresolved`, the `graph` command):

* `NAME`: Service NAME in the client's namespace;
* `NAME.NAMESPACE`: Service NAME in NAMESPACE, or `POD.SERVICE` when SERVICE is a Service of the client's
  namespace (StatefulSet pods behind a headless Service, `alertmanager-0.alertmanager-headless`).  Cluster
  DNS tries both first (a pod's search path appends `<ns>.svc.<domain>`, then `svc.<domain>`), so a
  two-label name is read as in-cluster: `example.com` is Service `example` in namespace `com`;
* `NAME.NAMESPACE.svc[.DOMAIN]` and `POD.NAME.NAMESPACE.svc[.DOMAIN]`, `svc` being exactly the third (or
  fourth) label; DOMAIN is the cluster domain, which the objects do not state: `cluster.local`, or one the
  caller knows;
* an SRV name (`_PORT._tcp.` before any of the above) names the same Service and a port name.

Anything else (`svc-payments.example.com`, `api.svc.example.com`, an IP address) is outside the cluster.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle

CLUSTER_DOMAIN = "cluster.local"  # the default; a profile's global.cluster_domain may name another


@dataclass(frozen=True)
class ServiceHost:
    """The in-cluster reading of a host name, before looking at the objects."""

    service: str
    namespace: str | None  # None: the client's own namespace
    domain: str | None  # what follows `.svc.` ("" when the name ends at `svc`); None: no `svc` label
    srv_port: str | None = None  # the port name of an SRV name (`_http._tcp....` -> "http")
    pod: str | None = None  # `POD.NAME.NAMESPACE.svc...`

    def in_domain(self, domains: Collection[str]) -> bool:
        """Whether the name ends where cluster DNS answers (a short name always does)."""
        return self.domain is None or self.domain == "" or self.domain in domains


def service_host(host: str) -> ServiceHost | None:
    """How cluster DNS could read `host` as a Service name; None when it cannot (an outside address)."""
    labels = host.removesuffix(".").split(".")
    srv_port = None
    if len(labels) > 2 and labels[0].startswith("_") and labels[1] in ("_tcp", "_udp"):
        srv_port, labels = labels[0][1:], labels[2:]
    if not all(labels):
        return None
    if len(labels) == 1:
        return ServiceHost(labels[0], None, None, srv_port)
    if len(labels) == 2:
        return ServiceHost(labels[0], labels[1], None, srv_port)
    at = labels.index("svc") if "svc" in labels else -1
    if at not in (2, 3):
        return None
    return ServiceHost(labels[at - 2], labels[at - 1], ".".join(labels[at + 1:]), srv_port,
                       labels[0] if at == 3 else None)


def service_of(bundle: Bundle, name: ServiceHost, client_namespace: str) -> tuple[str, str]:
    """(Service, namespace) the name asks for, from a pod in `client_namespace`."""
    if name.namespace is None:
        return name.service, client_namespace
    if name.domain is None and bundle.get("Service", client_namespace, name.namespace):
        return name.namespace, client_namespace  # POD.SERVICE short form
    return name.service, name.namespace


def resolve(bundle: Bundle, host: str, client_namespace: str,
            domains: Collection[str] = (CLUSTER_DOMAIN,)) -> tuple[ServiceHost, str, str, Manifest | None] | None:
    """(reading, Service, namespace, the rendered Service or None); None for an address outside the cluster."""
    name = service_host(host)
    if name is None or not name.in_domain(domains):
        return None
    service, namespace = service_of(bundle, name, client_namespace)
    return name, service, namespace, bundle.get("Service", namespace, service)
