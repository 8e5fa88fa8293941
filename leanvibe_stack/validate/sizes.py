"""Object sizes the cluster refuses: a ConfigMap over 1 MiB, an object too big for client-side `kubectl apply`.

* The API server validates a ConfigMap by summing the byte length of every `data` value and every
  (base64-decoded) `binaryData` value; over 1,048,576 bytes (`MaxSecretSize`, 1 MiB) it refuses the
  object, whatever the client.  Keys and metadata do not count.
* Client-side `kubectl apply` (the README's `kubectl apply -f`) stores the whole object, as compact JSON,
  in the `kubectl.kubernetes.io/last-applied-configuration` annotation, and an object's annotations
  may hold 262,144 bytes in total (keys and values): a bigger object is refused with
  "metadata.annotations: Too long: must have at most 262144 bytes".  `kubectl apply --server-side`
  and `kubectl create`/`replace` store no such annotation.

`applied_size` measures the annotations as kubectl would write them: Go's encoding/json escapes
`<`, `>` and `&` (PromQL comparisons, HTML in dashboards) as six bytes each, which is why a rule file's
JSON is larger than its YAML.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from leanvibe_stack.manifest import Manifest, json_size
from leanvibe_stack.validate.bundle import Bundle, as_dict
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, warning

CONFIGMAP_DATA_LIMIT = 1024 * 1024  # bytes of data + binaryData the API server accepts
ANNOTATIONS_LIMIT = 256 * 1024  # bytes of all annotations of one object (keys + values)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def check(bundle: Bundle) -> list[Finding]:
    findings: list[Finding] = []
    for manifest in bundle.manifests:
        findings.extend(_check(manifest))
    return findings


def _check(manifest: Manifest) -> Iterator[Finding]:
    ref = ObjectRef.of(manifest)
    if manifest.kind == "ConfigMap":
        size = configmap_data_size(manifest.obj)
        if size > CONFIGMAP_DATA_LIMIT:
            yield error("configmap.too-large", ref, "data",
                        f"data and binaryData hold {size:,} bytes; the API server refuses a ConfigMap over "
                        f"{CONFIGMAP_DATA_LIMIT:,} bytes (1 MiB), whatever the client: split it into several "
                        "ConfigMaps (a projected volume mounts them into one directory)")
            return  # refused outright: how kubectl would apply it no longer matters
    size = applied_size(manifest.obj)
    if size > ANNOTATIONS_LIMIT:
        yield warning("object.too-large-for-client-apply", ref, "metadata.annotations",
                      f"client-side `kubectl apply` would store the object in the {LAST_APPLIED} annotation, "
                      f"making its annotations {size:,} bytes (at most {ANNOTATIONS_LIMIT:,} are allowed): it "
                      "fails with \"metadata.annotations: Too long\"; `kubectl apply --server-side` or "
                      "`kubectl create` apply it")


def configmap_data_size(obj: dict[str, Any]) -> int:
    """Bytes the API server counts against a ConfigMap's 1 MiB: every data value, every decoded binaryData value."""
    size = 0
    for value in as_dict(obj.get("data")).values():
        size += len(str(value).encode("utf-8", "surrogatepass"))
    for value in as_dict(obj.get("binaryData")).values():
        size += _decoded_length(str(value))
    return size


def _decoded_length(text: str) -> int:
    try:
        return len(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):  # not base64: the schema check reports it; estimate the size
        return len(text) * 3 // 4


def applied_size(obj: dict[str, Any]) -> int:
    """Bytes of the object's annotations once client-side `kubectl apply` added last-applied-configuration.

    kubectl serializes the object with its annotations (an empty map when it has none) minus any previous
    last-applied-configuration, as compact JSON with a trailing newline, and adds that as the annotation.
    """
    metadata = as_dict(obj.get("metadata"))
    annotations = {str(k): str(v) for k, v in as_dict(metadata.get("annotations")).items() if k != LAST_APPLIED}
    applied = {**obj, "metadata": {**metadata, "annotations": annotations}}
    others = sum(len(k.encode("utf-8", "surrogatepass")) + len(v.encode("utf-8", "surrogatepass"))
                 for k, v in annotations.items())
    return others + len(LAST_APPLIED) + json_size(applied) + 1
