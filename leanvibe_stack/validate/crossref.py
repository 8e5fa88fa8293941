"""Cross-references inside the rendered set: what one object names, another must provide.

Schema validation sees one object at a time; these checks see the stack: selectors and the pods
they select, ports and the containers that open them, volumes and the objects behind them,
config globs and the files mounted there, URLs and the Services they resolve to.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import (
    COLLECTOR_PROGRAMS,
    Bundle,
    ConfigFile,
    Pod,
    as_dict,
    as_list,
    config_flag,
    dicts,
    is_probe_job,
    loki_outputs,
    scrape_address,
)
from leanvibe_stack.validate.dns import CLUSTER_DOMAIN, resolve, service_host, service_of
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

# Declared on a workload: Secrets/ConfigMaps the operator creates outside the stack.
EXTERNAL_SECRETS = "leanvibe.ai/external-secrets"
SERVICE_ACCOUNT_DEFAULT = "default"  # every namespace has it (cluster.IN_EVERY_NAMESPACE)


def check(bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    for run in (_selectors, _services, _probes, _references, _config_mounts, _urls, _bindings, _dashboards):
        findings.extend(run(bundle))
    return findings


# --- selectors and Services ---------------------------------------------------------------------


def _selectors(bundle: Bundle) -> Iterator[Finding]:
    for pod in bundle.pods:
        if pod.owner.kind == "Pod":
            continue
        selector, path = _label_selector(pod.owner)
        missing = {k: v for k, v in selector.items() if pod.labels.get(k) != v}
        if missing:
            yield error("selector.mismatch", pod.ref, path,
                        f"selector {missing} does not match the pod template labels; the workload would "
                        "own no pods (Kubernetes rejects it)")


def _label_selector(owner: Manifest) -> tuple[dict[str, Any], str]:
    """A workload's equality selector and its path: a ReplicationController's `spec.selector` is the label map
    itself (core/v1), every other workload's is a LabelSelector with `matchLabels`."""
    selector = as_dict(as_dict(owner.obj.get("spec")).get("selector"))
    if owner.kind == "ReplicationController":
        return selector, "spec.selector"
    return as_dict(selector.get("matchLabels")), "spec.selector.matchLabels"


def _container_ports(pod: Pod) -> list[dict[str, Any]]:
    return [port for _, c in pod.containers() for port in c.get("ports") or []]


def _services(bundle: Bundle) -> Iterator[Finding]:
    for service in bundle.of_kind("Service"):
        spec = service.obj.get("spec") or {}
        if not spec.get("selector"):
            continue  # selector-less Services are backed by hand-made Endpoints
        ref = ObjectRef.of(service)
        pods = bundle.selected_pods(service)
        if not pods:
            yield error("service.no-pods", ref, "spec.selector",
                        f"selector {spec['selector']} matches no pod template in namespace {service.namespace}")
            continue
        for i, port in enumerate(spec.get("ports") or []):
            target = port.get("targetPort", port.get("port"))
            if not any(_opens(pod, target) for pod in pods):
                yield error("service.target-port", ref, f"spec.ports[{i}].targetPort",
                            f"targetPort {target!r} is not a container port of the selected pods")


def _opens(pod: Pod, target: Any) -> bool:
    """Whether a Service's targetPort reaches the pod.  A number always does: the endpoints carry it as it is,
    and traffic goes to the pod's IP at that port whether or not `ports` lists it (the list is informational).
    A name must be a declared port's name, or the Service gets no port on that pod."""
    if not isinstance(target, str):
        return True
    return any(p.get("name") == target for p in _container_ports(pod))


def _probes(bundle: Bundle) -> Iterator[Finding]:
    for pod in bundle.pods:
        for path, container in pod.containers():
            ports = dicts(container.get("ports"))
            names = {p.get("name") for p in ports if p.get("name")}
            for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = as_dict(container.get(probe_name))
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    port = as_dict(probe.get(handler)).get("port")
                    # A number is probed as it is, declared or not (the kubelet also reads a name of digits as
                    # the number); only a name must resolve to a declared port.
                    if not isinstance(port, str) or port in names or port.isdigit():
                        continue
                    yield error("probe.port", pod.ref, f"{path}.{probe_name}.{handler}.port",
                                f"probe port {port!r} is not a named port of container {container.get('name')!r} "
                                f"(named ports: {sorted(map(str, names))}); the probe would always fail")


# --- objects a pod refers to ----------------------------------------------------------------------


def _external(pod: Pod) -> set[str]:
    annotations = (pod.owner.obj.get("metadata") or {}).get("annotations") or {}
    return {name.strip() for name in str(annotations.get(EXTERNAL_SECRETS, "")).split(",") if name.strip()}


def _references(bundle: Bundle) -> Iterator[Finding]:
    for pod in bundle.pods:
        yield from _volume_refs(bundle, pod)
        yield from _env_refs(bundle, pod)
        account = pod.spec.get("serviceAccountName") or SERVICE_ACCOUNT_DEFAULT
        if not bundle.exists("ServiceAccount", pod.namespace, account):
            yield error("ref.serviceaccount", pod.ref, f"{pod.path}.serviceAccountName",
                        f"ServiceAccount {account!r} is not rendered in namespace {pod.namespace}")
        for path, container in pod.containers():
            yield from _key_refs(bundle, pod, path, container)


def _missing(bundle: Bundle, pod: Pod, kind: str, name: str) -> bool:
    if bundle.exists(kind, pod.namespace, name):
        return False
    return kind != "Secret" or name not in _external(pod)


def _ref_finding(kind: str, pod: Pod, path: str, name: str) -> Finding:
    check = {"ConfigMap": "ref.configmap", "Secret": "ref.secret"}[kind]
    annotation = f"the {EXTERNAL_SECRETS} annotation or " if kind == "Secret" else ""
    hint = f"; if it is created outside the stack, list it in {annotation}a --external file"
    return error(check, pod.ref, path, f"{kind} {name!r} is not rendered in namespace {pod.namespace}{hint}")


def _volume_refs(bundle: Bundle, pod: Pod) -> Iterator[Finding]:
    claims = {(t.get("metadata") or {}).get("name")
              for t in (pod.owner.obj.get("spec") or {}).get("volumeClaimTemplates") or []}
    for i, volume in enumerate(pod.spec.get("volumes") or []):
        path = f"{pod.path}.volumes[{i}]"
        config_map, secret = as_dict(volume.get("configMap")), as_dict(volume.get("secret"))
        if config_map and _missing(bundle, pod, "ConfigMap", config_map.get("name", "")):
            yield _ref_finding("ConfigMap", pod, f"{path}.configMap.name", config_map.get("name", ""))
        if secret and _missing(bundle, pod, "Secret", secret.get("secretName", "")):
            yield _ref_finding("Secret", pod, f"{path}.secret.secretName", secret.get("secretName", ""))
        for j, source in enumerate((volume.get("projected") or {}).get("sources") or []):
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                name = (source.get(key) or {}).get("name", "")
                if key in source and _missing(bundle, pod, kind, name):
                    yield _ref_finding(kind, pod, f"{path}.projected.sources[{j}].{key}.name", name)
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim and claim not in claims and not bundle.exists("PersistentVolumeClaim", pod.namespace, claim):
            yield error("ref.pvc", pod.ref, f"{path}.persistentVolumeClaim.claimName",
                        f"PersistentVolumeClaim {claim!r} is not rendered in namespace {pod.namespace}")


def _env_refs(bundle: Bundle, pod: Pod) -> Iterator[Finding]:
    for path, container in pod.containers():
        for i, source in enumerate(dicts(container.get("envFrom"))):
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                ref = as_dict(source.get(key))
                if ref and not ref.get("optional") and _missing(bundle, pod, kind, ref.get("name", "")):
                    yield _ref_finding(kind, pod, f"{path}.envFrom[{i}].{key}.name", ref.get("name", ""))
        for i, env in enumerate(dicts(container.get("env"))):
            value_from = as_dict(env.get("valueFrom"))
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                ref = as_dict(value_from.get(key))
                if ref and not ref.get("optional") and _missing(bundle, pod, kind, ref.get("name", "")):
                    yield _ref_finding(kind, pod, f"{path}.env[{i}].valueFrom.{key}.name", ref.get("name", ""))


def _key_refs(bundle: Bundle, pod: Pod, path: str, container: dict[str, Any]) -> Iterator[Finding]:
    mounted = bundle.mounted_files(pod, container)
    for mounted_file in mounted:
        source = mounted_file.source
        if source is not None and mounted_file.source_kind == "ConfigMap" and mounted_file.text() is None \
                and mounted_file.key not in (source.obj.get("binaryData") or {}):
            yield error("ref.configmap-key", pod.ref, path,
                        f"ConfigMap {mounted_file.source_name!r} has no key {mounted_file.key!r} "
                        f"(mounted at {mounted_file.path})")
    paths = {f.path for f in mounted}
    for i, mount in enumerate(container.get("volumeMounts") or []):
        sub = mount.get("subPath")
        if sub and mount.get("mountPath") not in paths and _backed_by_object(bundle, pod, mount.get("name")):
            yield error("ref.configmap-key", pod.ref, f"{path}.volumeMounts[{i}].subPath",
                        f"subPath {sub!r} names no key of the mounted volume {mount.get('name')!r}")


def _backed_by_object(bundle: Bundle, pod: Pod, volume_name: Any) -> bool:
    volume: dict[str, Any] = next((v for v in pod.spec.get("volumes") or [] if v.get("name") == volume_name), {})
    name = as_dict(volume.get("configMap")).get("name")
    return name is not None and bundle.get("ConfigMap", pod.namespace, str(name)) is not None


# --- config files and the paths they read -------------------------------------------------------


def _config_mounts(bundle: Bundle) -> Iterator[Finding]:
    for pod in bundle.pods:
        for path, container in pod.containers():
            flag = config_flag(container)
            if flag and not any(f.path == flag for f in bundle.mounted_files(pod, container)):
                yield error("mount.config-file", pod.ref, f"{path}.args",
                            f"config file {flag} is not a mounted ConfigMap/Secret key of container "
                            f"{container.get('name')!r}")
    for config in bundle.configs:
        if not isinstance(config.data, dict):
            yield error("config.invalid", config.holder, f"data.{config.file.key}",
                        f"{config.file.path} is not a YAML mapping, so {config.program} would refuse to start "
                        "(an unquoted `{{ }}` or `: ` in a value is the usual cause)")
    prometheus = bundle.config("prometheus")
    if prometheus:
        yield from _globs(bundle, prometheus, "rule_files", "mount.rule-files", "rule files")
    alertmanager = bundle.config("alertmanager")
    if alertmanager:
        yield from _globs(bundle, alertmanager, "templates", "mount.templates", "notification templates")


def _globs(bundle: Bundle, config: ConfigFile, key: str, check: str, what: str) -> Iterator[Finding]:
    mounted_dirs = sorted({posixpath.dirname(f.path) for f in bundle.mounted_files(config.pod, config.container)})
    for i, pattern in enumerate(as_list(config.data.get(key))):
        if not bundle.config_glob(config, str(pattern)):
            yield error(check, config.holder, f"{config.file.key}:{key}[{i}]",
                        f"{pattern!r} matches no file mounted in {config.pod.ref}; {what} would silently not "
                        f"load (mounted directories: {', '.join(mounted_dirs)})")


# --- URLs inside configs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int | None
    where: str


PEER_FLAGS = ("--cluster.peer",)  # host:port flags whose host must be a rendered Service (or its pods)


def _urls(bundle: Bundle) -> Iterator[Finding]:
    # (endpoint, client namespace, object to report, path), then checked against one set of cluster domains.
    found: list[tuple[_Endpoint, str, ObjectRef | None, str]] = []
    for pod in bundle.pods:
        for path, container in pod.containers():
            for i, arg in enumerate(as_list(container.get("args"))):
                name, _, value = str(arg).partition("=")
                endpoint = _from_target(value, name) if name in PEER_FLAGS else None
                if endpoint:
                    found.append((endpoint, pod.namespace, pod.ref, f"{path}.args[{i}]"))
    for config in bundle.configs:
        if not isinstance(config.data, dict):
            continue
        for endpoint in _endpoints(config):
            found.append((endpoint, config.pod.namespace, config.holder, f"{config.file.key}:{endpoint.where}"))
    for mounted, data in bundle.grafana_datasources:
        holder = ObjectRef.of(mounted.source) if mounted.source else None
        namespace = mounted.source.namespace if mounted.source else ""
        for i, datasource in enumerate(dicts(as_dict(data).get("datasources"))):
            url = _from_url(str(datasource.get("url", "")), f"datasources[{i}].url")
            if url:
                found.append((url, namespace, holder, f"{mounted.key}:datasources[{i}].url"))
    domains = _cluster_domains(bundle, [(endpoint.host, namespace) for endpoint, namespace, _, _ in found])
    for endpoint, namespace, holder, where in found:
        problem = _resolve(bundle, endpoint, namespace, domains)
        if problem:
            yield error("url.unresolved", holder, where, problem)


def _cluster_domains(bundle: Bundle, hosts: list[tuple[str, str]]) -> set[str]:
    """`cluster.local`, and any domain after `NAME.NAMESPACE.svc.` in a name of a rendered Service.

    The objects do not state the cluster domain (a profile's `global.cluster_domain`); the names that do
    resolve tell it, so a misspelt Service under a custom domain is still checked.
    """
    domains = {CLUSTER_DOMAIN}
    for host, namespace in hosts:
        name = service_host(host)
        if name is None or not name.domain:
            continue
        service, service_namespace = service_of(bundle, name, namespace)
        if bundle.get("Service", service_namespace, service):
            domains.add(name.domain)
    return domains


def _from_url(url: str, where: str) -> _Endpoint | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return _Endpoint(parts.hostname, port, where)


def _from_target(target: str, where: str) -> _Endpoint | None:
    host, _, port = target.rpartition(":")
    return _Endpoint(host, int(port), where) if host and port.isascii() and port.isdigit() else None


def _endpoints(config: ConfigFile) -> Iterator[_Endpoint]:
    data = config.data
    if config.program == "prometheus":
        for i, am in enumerate(dicts(as_dict(data.get("alerting")).get("alertmanagers"))):
            where = f"alerting.alertmanagers[{i}]"
            for j, static in enumerate(dicts(am.get("static_configs"))):
                for k, target in enumerate(as_list(static.get("targets"))):
                    endpoint = _from_target(str(target), f"{where}.static_configs[{j}].targets[{k}]")
                    if endpoint:
                        yield endpoint
            for j, dns in enumerate(dicts(am.get("dns_sd_configs"))):
                for k, name in enumerate(as_list(dns.get("names"))):
                    yield _Endpoint(str(name), dns.get("port"), f"{where}.dns_sd_configs[{j}].names[{k}]")
        for i, job in enumerate(dicts(data.get("scrape_configs"))):
            if is_probe_job(job):  # the targets are parameters (what blackbox_exporter probes): check the exporter
                endpoint = _from_target(str(scrape_address(job)), f"scrape_configs[{i}].relabel_configs")
                if endpoint:
                    yield endpoint
                continue
            for j, static in enumerate(dicts(job.get("static_configs"))):
                for k, target in enumerate(as_list(static.get("targets"))):
                    endpoint = _from_target(str(target), f"scrape_configs[{i}].static_configs[{j}].targets[{k}]")
                    if endpoint and endpoint.host != "localhost":
                        yield endpoint
    elif config.program == "fluent-bit":
        for where, output in loki_outputs(data):
            port = output.get("port")
            yield _Endpoint(str(output.get("host", "")), port if isinstance(port, int) else None, f"{where}.host")
    elif config.program in COLLECTOR_PROGRAMS:
        yield from _exporter_endpoints(data)
    elif config.program == "loki":
        ruler = as_dict(data.get("ruler"))
        for i, url in enumerate(str(ruler.get("alertmanager_url", "")).split(",")):
            endpoint = _from_url(url.strip(), f"ruler.alertmanager_url[{i}]")
            if endpoint:
                yield endpoint


def _exporter_endpoints(data: dict[str, Any]) -> Iterator[_Endpoint]:
    """Where a collector's network exporters send: `host:port` or a URL (otlp_grpc accepts both)."""
    for name, exporter in as_dict(data.get("exporters")).items():
        endpoint = str(as_dict(exporter).get("endpoint", ""))
        where = f"exporters.{name}.endpoint"
        if endpoint and "://" in endpoint:
            found = _from_url(endpoint, where)
        else:
            found = _from_target(endpoint, where)
        if found:
            yield found


def _resolve(bundle: Bundle, endpoint: _Endpoint, client_namespace: str, domains: set[str]) -> str | None:
    """None when the host is outside the cluster, or a rendered Service (or one of its pods) with that port."""
    resolved = resolve(bundle, endpoint.host, client_namespace, domains)
    if resolved is None:
        return None  # an address outside the cluster: not ours to resolve
    name, service, namespace, found = resolved
    if found is None and bundle.cluster.has("Service", namespace, service):
        return None  # declared with --external: it exists, its ports are not known here
    if found is None:
        return (f"{endpoint.host} names Service {service!r} in namespace {namespace!r}, which is not rendered "
                "(if it exists in the cluster, list it in a --external file)")
    ports = (found.obj.get("spec") or {}).get("ports") or []
    if name.srv_port is not None:
        if not any(p.get("name") == name.srv_port for p in ports):
            return f"SRV record _{name.srv_port}._tcp needs a port named {name.srv_port!r} on Service {service!r}"
        return None
    if endpoint.port is not None and not any(p.get("port") == endpoint.port for p in ports):
        return (f"{endpoint.host}:{endpoint.port}: Service {service!r} has no port {endpoint.port} "
                f"(ports: {sorted(p.get('port') for p in ports)})")
    return None


# --- RBAC -------------------------------------------------------------------------------------------------


def _bindings(bundle: Bundle) -> Iterator[Finding]:
    for binding in bundle.of_kind("ClusterRoleBinding", "RoleBinding"):
        ref = ObjectRef.of(binding)
        role = binding.obj.get("roleRef") or {}
        role_ns = "" if role.get("kind") == "ClusterRole" else binding.namespace
        if not bundle.exists(str(role.get("kind")), role_ns, str(role.get("name"))):
            yield error("binding.role", ref, "roleRef", f"{role.get('kind')} {role.get('name')!r} is not rendered "
                        "(nor one Kubernetes creates; list it in a --external file if it exists in the cluster)")
        for i, subject in enumerate(binding.obj.get("subjects") or []):
            if subject.get("kind") != "ServiceAccount":
                continue
            namespace = subject.get("namespace") or binding.namespace
            if not bundle.exists("ServiceAccount", namespace, str(subject.get("name"))):
                yield error("binding.subject", ref, f"subjects[{i}]",
                            f"ServiceAccount {subject.get('name')!r} is not rendered in namespace {namespace!r}")


# --- dashboards -----------------------------------------------------------------------------------------


def _dashboards(bundle: Bundle) -> Iterator[Finding]:
    for config_map, key, model in bundle.dashboards:
        problem = None
        if not isinstance(model, dict):
            problem = "is not a JSON object (Grafana skips the file)"
        elif "dashboard" in model and "panels" not in model:
            problem = 'is wrapped in {"dashboard": ...}: file provisioning needs the bare dashboard model'
        elif not model.get("title") or not model.get("uid"):
            problem = "needs a `title` and a stable `uid` (links and alerts point at the uid)"
        if problem:
            yield error("dashboard.invalid", ObjectRef.of(config_map), f"data.{key}", f"{key} {problem}")
