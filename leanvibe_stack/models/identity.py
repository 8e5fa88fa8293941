"""One identity per environment: the values that differ between environments derive from `global`.

A profile's `global.environment` (with `global.region`) is the single source of every value that
names an environment; a setting written in the profile still wins.  The conventions, applied to the
merged profile before it is validated (so `profiles show` prints them as defaults):

| value                                              | default                                 |
|----------------------------------------------------|-----------------------------------------|
| `global.cluster`                                   | `leanvibe-{environment}`                |
| `global.app_namespace`                             | `leanvibe-{environment}`                |
| `global.external_url_base`                         | `{environment}.{domain}`                |
| `loki.config.storage_config.aws.bucketnames`       | `leanvibe-loki-storage-{environment}`   |
| `loki.config.storage_config.aws.region`            | `global.region`                         |
| `fluent_bit.tenant_id`                             | `leanvibe-{environment}`                |
| `thanos.object_store.provider.config.bucket` (S3, GCS) | `leanvibe-thanos-{environment}`     |
| `thanos.object_store.provider.config.endpoint` (S3) | `s3.{region}.amazonaws.com`            |

A profile that changes `global.environment` inherits none of these from its parent (`forget`): the
parent wrote them for its own environment, so they are derived again unless the profile sets them
itself.  That is how `extends: production` with a new environment stays out of production's bucket.

Rendering derives the rest: EC2 discovery runs in `global.region` unless a job says otherwise and
keeps only instances whose `environment_tag` (default `Environment`) is the environment, dashboards
are tagged with it, and a dashboard's `namespace` variable defaults to the application namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leanvibe_stack.models.stack import Stack

PREFIX = "leanvibe"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# Values a parent wrote for its own environment (see `forget`).
IDENTITY_KEYS: tuple[tuple[str, ...], ...] = (
    ("global", "cluster"),
    ("global", "app_namespace"),
    ("global", "external_url_base"),
    ("loki", "config", "storage_config", "aws", "bucketnames"),
    ("loki", "config", "storage_config", "aws", "region"),
    ("fluent_bit", "tenant_id"),
    ("thanos", "object_store", "provider", "config", "bucket"),
    ("thanos", "object_store", "provider", "config", "endpoint"),
)


def with_identity_defaults(data: Any) -> Any:
    """The merged profile data with every unset environment-specific value derived from `global`."""
    if not isinstance(data, dict) or not isinstance(data.get("global"), dict):
        return data  # validation reports what is missing
    settings = data["global"]
    environment, region = settings.get("environment"), settings.get("region")
    if not isinstance(environment, str):
        return data  # validation reports the missing or mistyped environment
    if not DNS_LABEL.fullmatch(environment):  # said once, here, rather than for every name derived from it
        from leanvibe_stack.models.base import at  # (pydantic's import: not for `profiles show --help`)

        raise ValueError(at(("global", "environment"), f"{environment!r} is not a DNS label (lower-case letters, "
                                                       "digits and '-'): it names buckets, namespaces and URLs"))
    settings = {**settings}
    settings.setdefault("cluster", f"{PREFIX}-{environment}")
    settings.setdefault("app_namespace", f"{PREFIX}-{environment}")
    if isinstance(settings.get("domain"), str):
        settings.setdefault("external_url_base", f"{environment}.{settings['domain']}")
    derived = {**data, "global": settings}
    s3 = ("loki", "config", "storage_config", "aws")
    _default(derived, s3, "bucketnames", f"{PREFIX}-loki-storage-{environment}")
    _default(derived, s3, "region", region)
    _default(derived, ("fluent_bit",), "tenant_id", f"{PREFIX}-{environment}")
    _thanos_bucket(derived, environment, region)
    return derived


def _thanos_bucket(data: dict[str, Any], environment: str, region: Any) -> None:
    provider = _at(data, ("thanos", "object_store", "provider"))
    if provider is None or provider.get("type") not in ("S3", "GCS"):
        return  # Azure names a container in a storage account: written by the profile
    provider.setdefault("config", {})
    _default(data, ("thanos", "object_store", "provider", "config"), "bucket", f"{PREFIX}-thanos-{environment}")
    if provider.get("type") == "S3" and isinstance(region, str):
        _default(data, ("thanos", "object_store", "provider", "config"), "endpoint", f"s3.{region}.amazonaws.com")


def _at(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    """The mapping at `path`, copied along the way so the caller's data is never changed; None if absent."""
    node = data
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            return None
        node[key] = child = {**child}
        node = child
    return node


def _default(data: dict[str, Any], path: tuple[str, ...], key: str, value: Any) -> None:
    block = _at(data, path)
    if block is not None and value is not None:
        block.setdefault(key, value)


def changes_environment(parent: dict[str, Any], child: dict[str, Any]) -> bool:
    """Whether `child` (a profile layer or a --set value) gives the parent another `global.environment`."""
    new = child.get("global", {}).get("environment") if isinstance(child.get("global"), dict) else None
    old = parent.get("global", {}).get("environment") if isinstance(parent.get("global"), dict) else None
    return isinstance(new, str) and new != old


def forget(data: dict[str, Any]) -> tuple[dict[str, Any], set[tuple[str, ...]]]:
    """`data` without the values in IDENTITY_KEYS (copied, never changed in place), and the paths removed."""
    removed = set()
    result = dict(data)
    for path in IDENTITY_KEYS:
        parent = _at(result, path[:-1])
        if parent is not None and path[-1] in parent:
            del parent[path[-1]]
            removed.add(path)
    return result, removed


@dataclass(frozen=True)
class Identity:
    """The values that name one environment, as its render uses them (the leak check looks for them)."""

    environment: str
    names: frozenset[str]  # cluster, application namespace, UI domain, Loki and Thanos buckets, tenant
    shared: frozenset[str] = frozenset()  # other environments' names this one uses on purpose


def identity_of(stack: Stack) -> Identity:
    settings = stack.global_
    names = {settings.cluster, settings.app_namespace}
    if settings.external_url_base != settings.domain:  # the company's own domain names no environment
        names.add(settings.external_url_base)
    aws = stack.loki.config.storage_config.aws
    if aws is not None:
        names.update(bucket.strip() for bucket in aws.bucketnames.split(","))
    tenant = stack.fluent_bit.tenant_id
    if tenant:
        names.add(tenant)
    if stack.thanos is not None:
        names.add(stack.thanos.object_store.bucket)
    return Identity(settings.environment, frozenset(names), frozenset(settings.shared_names))
