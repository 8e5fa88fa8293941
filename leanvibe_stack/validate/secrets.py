"""The Secrets a rendered stack needs but does not contain: every key a pod reads, and how it reads it.

Derived from the objects alone, like every check: `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`,
and Secret volumes (projected ones included).  A volume that mounts a whole Secret does not say which
keys it needs; the configs the container loads do: every string in them that names a file under the
mount path (`slack_api_url_file: /etc/alertmanager/secrets/alertmanager-notifiers/slack-webhook-url`)
is a key, reported with the config field that reads it.  Secrets the render itself contains are not
listed (the stack never renders one).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from leanvibe_stack.validate.bundle import Bundle, ConfigFile, Pod, as_dict, dicts, strings
from leanvibe_stack.validate.findings import json_path


@dataclass(frozen=True, order=True)
class SecretUse:
    """One key of one Secret that a workload reads (`key` None: every key, or keys nobody names)."""

    namespace: str
    secret: str
    key: str | None
    workload: str  # Kind/name
    use: str  # how the pod reads it: "env GF_SECURITY_ADMIN_PASSWORD", "file /etc/... (alertmanager.yml: ...)"


def secret_uses(bundle: Bundle) -> list[SecretUse]:
    """Every Secret key the rendered pods read from a Secret the render does not contain, sorted."""
    found = {use for pod in bundle.pods for use in _pod_uses(bundle, pod)}
    found.update(_ingress_uses(bundle))
    return sorted(use for use in found if bundle.get("Secret", use.namespace, use.secret) is None)


def _pod_uses(bundle: Bundle, pod: Pod) -> Iterator[SecretUse]:
    workload = f"{pod.owner.kind}/{pod.owner.name}"
    volumes = {str(v.get("name")): v for v in dicts(pod.spec.get("volumes"))}
    for _, container in pod.containers():
        for env in dicts(container.get("env")):
            ref = as_dict(as_dict(env.get("valueFrom")).get("secretKeyRef"))
            if ref:
                yield SecretUse(pod.namespace, str(ref.get("name")), str(ref.get("key")), workload,
                                f"env {env.get('name')}")
        for source in dicts(container.get("envFrom")):
            ref = as_dict(source.get("secretRef"))
            if ref:
                yield SecretUse(pod.namespace, str(ref.get("name")), None, workload, "every key as env (envFrom)")
        configs = [c for c in bundle.configs if c.pod == pod and c.container is container]
        for mount in dicts(container.get("volumeMounts")):
            for name, items in _secret_sources(volumes.get(str(mount.get("name")), {})):
                yield from _mounted(pod.namespace, name, items, str(mount.get("mountPath", "")), workload, configs)


# The keys of a kubernetes.io/tls Secret, which an Ingress controller reads for its HTTPS certificate.
TLS_KEYS = ("tls.crt", "tls.key")


def _ingress_uses(bundle: Bundle) -> Iterator[SecretUse]:
    for ingress in bundle.of_kind("Ingress"):
        for i, tls in enumerate(dicts(as_dict(ingress.obj.get("spec")).get("tls"))):
            if tls.get("secretName"):
                for key in TLS_KEYS:
                    yield SecretUse(ingress.namespace, str(tls["secretName"]), key, f"Ingress/{ingress.name}",
                                    f"HTTPS certificate of the ingress controller (spec.tls[{i}])")


def _secret_sources(volume: dict[str, Any]) -> Iterator[tuple[str, list[tuple[str, str]] | None]]:
    """(Secret name, [(key, path)] or None for every key) of each Secret a volume mounts."""
    sources = [volume.get("secret")] if "secret" in volume else \
        [source.get("secret") for source in dicts(as_dict(volume.get("projected")).get("sources"))]
    for source in (as_dict(s) for s in sources if s):
        items = dicts(source.get("items"))
        name = source.get("secretName") or source.get("name")
        yield str(name), [(str(i.get("key")), str(i.get("path"))) for i in items] if items else None


def _mounted(namespace: str, secret: str, items: list[tuple[str, str]] | None, mount_path: str, workload: str,
             configs: list[ConfigFile]) -> Iterator[SecretUse]:
    if items is not None:
        for key, path in items:
            file = posixpath.join(mount_path, path)
            yield SecretUse(namespace, secret, key, workload, f"file {file}{_readers(file, configs)}")
        return
    named = sorted({text for config in configs for _, text in strings(config.data)
                    if text.startswith(f"{mount_path.rstrip('/')}/")})
    for file in named:
        key = file[len(mount_path.rstrip("/")) + 1:].split("/", 1)[0]
        yield SecretUse(namespace, secret, key, workload, f"file {file}{_readers(file, configs)}")
    if not named:
        yield SecretUse(namespace, secret, None, workload, f"every key as a file under {mount_path}")


def _readers(file: str, configs: list[ConfigFile]) -> str:
    fields = [f"{config.file.key}: {json_path(path)}" for config in configs for path, text in strings(config.data)
              if text == file]
    return f" ({'; '.join(fields)})" if fields else ""


def create_commands(uses: list[SecretUse]) -> list[str]:
    """One `kubectl create secret generic ... --dry-run=client -o yaml` per Secret, each key read from a file
    (values never pass through the shell's history); a Secret whose keys nobody names gets a placeholder;
    a certificate and its key (an Ingress's) make a `kubernetes.io/tls` Secret."""
    secrets: dict[tuple[str, str], list[str]] = {}
    for use in uses:
        keys = secrets.setdefault((use.namespace, use.secret), [])
        key = use.key or "KEY"
        if key not in keys:
            keys.append(key)
    return [f"kubectl -n {namespace} create secret tls {name} --cert=./{name}/tls.crt --key=./{name}/tls.key"
            " --dry-run=client -o yaml" if sorted(keys) == list(TLS_KEYS) else
            f"kubectl -n {namespace} create secret generic {name} "
            + " ".join(f"--from-file={key}=./{name}/{key}" for key in sorted(keys))
            + " --dry-run=client -o yaml"
            for (namespace, name), keys in sorted(secrets.items())]
