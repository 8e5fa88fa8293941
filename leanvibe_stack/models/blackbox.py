"""blackbox_exporter: synthetic monitoring, with its blackbox.yml modules and the probes Prometheus runs.

The modules mirror the blackbox_exporter v0.28 configuration reference (CONFIGURATION.md and
config/config.go at the v0.28.0 tag) for the four probers the stack uses: http, tcp, dns and icmp.
Upstream parses the file strictly (unknown keys are errors), and so do these models.  Settings
the stack does not use (grpc, unix, websocket probers; CEL body checks; OAuth) are left out on
purpose: a profile that needs one gets an error naming the key, not a silently dropped setting.

Probes are keyed by name; each becomes one scrape job, `probe-<name>`, that Prometheus runs
through the exporter (the target is the `target` parameter, the exporter is the address).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, TypeAdapter, ValidationError, field_validator, model_validator

from leanvibe_stack.models.base import (
    Duration,
    HttpUrl,
    LabelName,
    Port,
    ScrapeTarget,
    StrictModel,
    at,
)
from leanvibe_stack.models.workload import MAX_REPLICAS, NonRootWorkload

IpProtocol = Literal["ip4", "ip6"]
PROBE_JOB_PREFIX = "probe-"
# Labels every probe job sets itself: a profile label of the same name would be overwritten.
RESERVED_PROBE_LABELS = frozenset({"job", "instance", "module", "probe_severity"})


class TLSConfig(StrictModel):
    """TLS settings of a probe (prometheus/common's tls_config, the parts probes need)."""

    server_name: str | None = Field(None, description="Name to verify the certificate against (SNI).")
    insecure_skip_verify: bool = Field(
        False, description="Accept any certificate: the probe then says nothing about expiry or trust."
    )
    min_version: Literal["TLS12", "TLS13"] | None = Field(None, description="Oldest TLS version accepted.")


class HTTPSettings(StrictModel):
    """What an http probe sends and what it accepts as success."""

    valid_status_codes: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=list, description="Status codes that count as success; empty means any 2xx."
    )
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = Field("GET", description="HTTP method.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers (never credentials).")
    follow_redirects: bool = Field(True, description="Follow redirects; the final response decides.")
    fail_if_ssl: bool = Field(False, description="Fail when the site answers over TLS.")
    fail_if_not_ssl: bool = Field(False, description="Fail when the site does not answer over TLS.")
    fail_if_body_not_matches_regexp: list[str] = Field(
        default_factory=list, description="Regexes (RE2) the body must match, e.g. a health page's `ok`."
    )
    preferred_ip_protocol: IpProtocol = Field("ip4", description="Address family tried first.")
    ip_protocol_fallback: bool = Field(True, description="Try the other family when the first has no address.")
    tls_config: TLSConfig | None = Field(None, description="TLS settings.")


class TCPSettings(StrictModel):
    """A TCP connect probe, optionally over TLS."""

    tls: bool = Field(False, description="Connect with TLS (then the certificate metrics are exported too).")
    tls_config: TLSConfig | None = Field(None, description="TLS settings.")
    preferred_ip_protocol: IpProtocol = Field("ip4", description="Address family tried first.")
    ip_protocol_fallback: bool = Field(True, description="Try the other family when the first has no address.")


RCode = Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"]


def _no_error() -> list[RCode]:
    return ["NOERROR"]


class DNSSettings(StrictModel):
    """A DNS query sent to the target (a DNS server) and the answer it must give."""

    query_name: str = Field(description="Name to resolve, e.g. `leanvibe.ai`.", min_length=1)
    query_type: Literal["A", "AAAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"] = Field(
        "A", description="Record type asked for."
    )
    transport_protocol: Literal["udp", "tcp"] = Field("udp", description="Transport of the query.")
    valid_rcodes: list[RCode] = Field(default_factory=_no_error, description="Response codes that count as success.")
    recursion_desired: bool = Field(True, description="Ask the server to recurse.")
    preferred_ip_protocol: IpProtocol = Field("ip4", description="Address family tried first.")
    ip_protocol_fallback: bool = Field(True, description="Try the other family when the first has no address.")


class ICMPSettings(StrictModel):
    """An ICMP echo ("ping"), sent from an unprivileged socket: the pod allows its own group to ping."""

    preferred_ip_protocol: IpProtocol = Field("ip4", description="Address family tried first.")
    ip_protocol_fallback: bool = Field(True, description="Try the other family when the first has no address.")
    payload_size: int | None = Field(None, ge=0, le=65000, description="Bytes of payload per echo.")


class _Module(StrictModel):
    timeout: Duration = Field("5s", description="Longest a probe may take (below the job's scrape timeout).")


class HTTPModule(_Module):
    """An http(s) request to a URL."""

    prober: Literal["http"] = Field(description="`http`.")
    http: HTTPSettings = Field(default_factory=HTTPSettings, description="Request and success conditions.")


class TCPModule(_Module):
    """A TCP connection to host:port."""

    prober: Literal["tcp"] = Field(description="`tcp`.")
    tcp: TCPSettings = Field(default_factory=TCPSettings, description="Connection settings.")


class DNSModule(_Module):
    """A DNS query to a DNS server."""

    prober: Literal["dns"] = Field(description="`dns`.")
    dns: DNSSettings = Field(description="The query and the expected answer.")


class ICMPModule(_Module):
    """An ICMP echo to a host."""

    prober: Literal["icmp"] = Field(description="`icmp`.")
    icmp: ICMPSettings = Field(default_factory=ICMPSettings, description="Echo settings.")


Module = Annotated[HTTPModule | TCPModule | DNSModule | ICMPModule, Discriminator("prober")]


class ServiceTarget(StrictModel):
    """A Service in the cluster, named so its address follows the profile's namespaces and cluster domain."""

    service: str = Field(description="Service name.", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    namespace: str = Field(
        "application",
        description="Namespace of the Service; `application` means `global.app_namespace`.",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
    )
    port: Port = Field(description="Service port.")
    scheme: Literal["http", "https"] = Field("http", description="For http probes: the URL scheme.")
    path: str = Field("/", description="For http probes: the URL path.", pattern=r"^/\S*$")


class Probe(StrictModel):
    """A set of targets probed with one module: one Prometheus scrape job."""

    module: str = Field(description="Name of the module in `modules` used for these targets.")
    targets: list[str | ServiceTarget] = Field(
        min_length=1,
        description="What to probe: URLs for http modules, host:port for tcp, a DNS server (host[:port]) for "
        "dns, a host for icmp; or a Service (`{service, port}`), resolved in the cluster.",
    )
    interval: Duration | None = Field(None, description="Scrape (probe) interval; Prometheus' default if unset.")
    severity: Literal["critical", "warning"] = Field(
        "warning",
        description="Which alert its failures raise: `critical` (CriticalProbeFailed) pages the on-call engineer, "
        "so keep it for what customers reach; `warning` (ProbeFailed) does not.",
    )
    labels: dict[LabelName, str] = Field(
        default_factory=dict,
        description="Labels added to the probe's series and so to its alerts, e.g. `service` and `team` "
        "(routes use them).",
    )

    @field_validator("labels")
    @classmethod
    def _not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        taken = sorted(RESERVED_PROBE_LABELS & labels.keys())
        if taken:
            raise ValueError(f"{', '.join(taken)}: set by the probe job itself")
        return labels


def target_problem(prober: str, target: str | ServiceTarget) -> str | None:
    """Why a target cannot be probed with this prober, or None."""
    if isinstance(target, ServiceTarget):
        if prober == "icmp":
            return "an icmp probe needs a host, not a Service (a Service address does not answer pings)"
        return None
    if prober == "http":
        return _problem(_URL, target)
    problem = _problem(_HOST_PORT, target)
    if problem:
        return problem
    if prober == "tcp" and _port_of(target) is None:
        return f"{target!r}: a tcp probe needs host:port"
    if prober == "icmp" and _port_of(target) is not None:
        return f"{target!r}: an icmp probe takes a host without a port"
    return None


_URL: TypeAdapter[str] = TypeAdapter(HttpUrl)
_HOST_PORT: TypeAdapter[str] = TypeAdapter(ScrapeTarget)


def _problem(kind: TypeAdapter[str], value: str) -> str | None:
    try:
        kind.validate_python(value)
    except ValidationError as error:
        return str(error.errors()[0]["msg"]).removeprefix("Value error, ")
    return None


def _port_of(target: str) -> str | None:
    """The port of `host:port` or `[v6]:port`; None without one."""
    _, colon, port = target[target.rfind("]") + 1:].rpartition(":")
    return port if colon else None


class BlackboxExporter(NonRootWorkload):
    """blackbox_exporter Deployment: probes URLs, ports, DNS and hosts from inside the cluster."""

    replicas: int = Field(1, ge=1, le=MAX_REPLICAS, description="Pods; each scrape goes to one of them.")
    modules: dict[str, Module] = Field(description="Probe modules of blackbox.yml, keyed by name.", min_length=1)
    probes: dict[str, Probe] = Field(default_factory=dict, description="Targets to probe, keyed by name.")

    @field_validator("modules")
    @classmethod
    def _module_names(cls, modules: dict[str, Module]) -> dict[str, Module]:
        for name in modules:
            if not name or any(c.isspace() or c in "&?#/" for c in name):
                raise ValueError(f"module name {name!r} must be a plain word: it travels in the probe URL")
        return modules

    @model_validator(mode="after")
    def _probes_use_modules(self) -> BlackboxExporter:
        for name, probe in self.probes.items():
            module = self.modules.get(probe.module)
            if module is None:
                raise ValueError(at(("probes", name, "module"),
                                    f"no module {probe.module!r} in modules (defined: {', '.join(self.modules)})"))
            for i, target in enumerate(probe.targets):
                problem = target_problem(module.prober, target)
                if problem:
                    raise ValueError(at(("probes", name, "targets", i), problem))
        return self

    @property
    def pings(self) -> bool:
        """Whether any module sends ICMP echoes (the pod then lets its group open ping sockets)."""
        return any(module.prober == "icmp" for module in self.modules.values())


def probe_job_names(exporter: BlackboxExporter | None) -> dict[str, str]:
    """The scrape job of every probe, by probe name (none without the exporter)."""
    return {name: f"{PROBE_JOB_PREFIX}{name}" for name in exporter.probes} if exporter else {}
