"""Objects as the API server identifies them: two objects with one identity are one object, applied twice.

The API server keys an object by its API group, kind, namespace and name (the version is only how it is
written: `apps/v1` and `apps/v1beta2` Deployments are one resource).  `kubectl apply` of a stream that holds
one identity twice keeps whichever comes last, silently; `kubectl create` fails on the second.  An object with
only `generateName` gets a fresh name from the server, so it never collides.
"""

from __future__ import annotations

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

Identity = tuple[str, str, str, str]  # group, kind, namespace, name


def check(bundle: Bundle) -> list[Finding]:
    first: dict[Identity, Manifest] = {}
    findings = []
    for manifest in bundle.manifests:
        if not manifest.name:
            continue  # generateName, or no name at all (schema.invalid says so)
        key = (api_group(manifest), manifest.kind, manifest.namespace, manifest.name)
        seen = first.setdefault(key, manifest)
        if seen is not manifest:
            findings.append(error("object.duplicate", ObjectRef.of(manifest), "metadata.name",
                                  f"{_where(manifest)} defines the same object as {_where(seen)}: `kubectl apply` "
                                  "keeps only the last one; delete or rename one of them"))
    return findings


def api_group(manifest: Manifest) -> str:
    """`apps` for `apps/v1`, "" for the core group (`v1`)."""
    api_version = str(manifest.obj.get("apiVersion", ""))
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _where(manifest: Manifest) -> str:
    return f"{manifest.obj.get('apiVersion', '')} {ObjectRef.of(manifest)} ({manifest.source or 'input'})"
