"""configmap.too-large and object.too-large-for-client-apply: the limits exactly, and the size as kubectl writes it."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack import output
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.sizes import (
    ANNOTATIONS_LIMIT,
    CONFIGMAP_DATA_LIMIT,
    LAST_APPLIED,
    applied_size,
    check,
    configmap_data_size,
)


def _config_map(data: dict[str, str] | None = None, binary: dict[str, str] | None = None,
                annotations: dict[str, str] | None = None) -> Manifest:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "big", "namespace": "apps"}}
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    if data is not None:
        obj["data"] = data
    if binary is not None:
        obj["binaryData"] = binary
    return Manifest(obj, "test", "test")


def _checks(*manifests: Manifest) -> list[str]:
    return [finding.check for finding in check(Bundle(list(manifests)))]


def test_the_api_server_limit_counts_value_bytes() -> None:
    exactly = "é" * (CONFIGMAP_DATA_LIMIT // 4) + "x" * (CONFIGMAP_DATA_LIMIT // 2)  # 2 bytes per é
    assert configmap_data_size(_config_map({"a": exactly}).obj) == CONFIGMAP_DATA_LIMIT
    assert "configmap.too-large" not in _checks(_config_map({"a": exactly}))
    over = _config_map({"a": exactly, "b": "x"})
    assert _checks(over) == ["configmap.too-large"]  # and no client-apply warning: the server refuses it anyway
    (finding,) = check(Bundle([over]))
    assert (finding.severity, finding.path) == ("error", "data")
    assert "1,048,577 bytes" in finding.message


def test_binary_data_counts_decoded() -> None:
    encoded = base64.b64encode(b"\0" * (CONFIGMAP_DATA_LIMIT * 3 // 4)).decode()
    assert len(encoded) == CONFIGMAP_DATA_LIMIT
    assert configmap_data_size(_config_map(binary={"blob": encoded}).obj) == CONFIGMAP_DATA_LIMIT * 3 // 4
    assert "configmap.too-large" not in _checks(_config_map(binary={"blob": encoded}))
    rest = "x" * (CONFIGMAP_DATA_LIMIT // 4 + 1)
    assert "configmap.too-large" in _checks(_config_map({"a": rest}, {"blob": encoded}))


def _padded_to(size: int, annotations: dict[str, str] | None = None) -> Manifest:
    """A ConfigMap whose annotations reach exactly `size` bytes once kubectl adds last-applied-configuration."""
    empty = applied_size(_config_map({"a": ""}, annotations=annotations).obj)
    return _config_map({"a": "x" * (size - empty)}, annotations=annotations)


@pytest.mark.parametrize("annotations", [None, {"owner": "team-a", LAST_APPLIED: '{"old": "value"}'}])
def test_client_side_apply_limit_is_all_annotations_with_the_object_as_json(annotations: dict[str, str] | None) -> None:
    assert applied_size(_padded_to(ANNOTATIONS_LIMIT, annotations).obj) == ANNOTATIONS_LIMIT
    assert _checks(_padded_to(ANNOTATIONS_LIMIT, annotations)) == []
    over = _padded_to(ANNOTATIONS_LIMIT + 1, annotations)
    (finding,) = check(Bundle([over]))
    assert (finding.check, finding.severity, finding.path) == \
        ("object.too-large-for-client-apply", "warning", "metadata.annotations")
    assert "262,145 bytes" in finding.message and "--server-side" in finding.message


def test_go_json_escapes_count() -> None:
    plain, escaped = _config_map({"a": "x" * 10}), _config_map({"a": "<>&\u2028\u2029" + "x" * 5})
    assert applied_size(escaped.obj) - applied_size(plain.obj) == 3 * 5 + 2 * 5  # \u003c (6 bytes) for 1 byte, ...
    assert applied_size(_config_map({"a": "\n"}).obj) - applied_size(_config_map({"a": ""}).obj) == 2


def test_any_object_too_big_for_client_side_apply_is_reported() -> None:
    deployment = Manifest({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"},
                           "spec": {"template": {"spec": {"containers": [
                               {"name": "web", "image": "web:1", "env": [{"name": "BIG", "value": "x" * 300_000}]}]}}}},
                          "test", "test")
    assert _checks(deployment) == ["object.too-large-for-client-apply"]


def test_the_production_render_is_far_from_both_limits(production: list[Manifest]) -> None:
    assert _checks(*production) == []
    # The largest, prometheus-rules (35 KB with production's Thanos rules), would be sharded long before the limit.
    assert max(applied_size(m.obj) for m in production) < ANNOTATIONS_LIMIT // 6


# --- the size kubectl itself writes --------------------------------------------------------------------------------


def _plural(kind: str) -> str:
    lower = kind.lower()
    return f"{lower[:-1]}ies" if lower.endswith("y") else f"{lower}es" if lower.endswith("s") else f"{lower}s"


@pytest.fixture
def discovery(production: list[Manifest]) -> Iterator[str]:
    """A stand-in API server that only answers discovery (all `kubectl create --dry-run=client` asks)."""
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    kinds: dict[str, set[str]] = {}
    for manifest in production:
        kinds.setdefault(str(manifest.obj["apiVersion"]), set()).add(manifest.kind)

    def resources(group_version: str) -> dict[str, Any]:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": [
            {"name": _plural(kind), "singularName": kind.lower(), "namespaced": kind not in cluster_scoped,
             "kind": kind, "verbs": ["create", "get", "list"]} for kind in sorted(kinds[group_version])]}

    groups = sorted({gv.split("/")[0] for gv in kinds if "/" in gv})
    answers: dict[str, Any] = {
        "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": group, "versions": [{"groupVersion": f"{group}/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": f"{group}/v1", "version": "v1"}} for group in groups]},
        "/api/v1": resources("v1"),
        **{f"/apis/{gv}": resources(gv) for gv in kinds if "/" in gv},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            answer = answers.get(self.path.split("?")[0])
            body = json.dumps(answer).encode()
            self.send_response(200 if answer is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_applied_size_is_what_kubectl_writes(production: list[Manifest], discovery: str, tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    hostile = _config_map({"a": "a\u2028b<&>é😀\x01\t\"\\"}, annotations={"note": "<é>"})
    manifests = [*production, hostile]
    stream = tmp_path / "stack.yaml"
    stream.write_text(output.stream(manifests), encoding="utf-8")
    result = subprocess.run(
        [kubectl, "create", "--dry-run=client", "--save-config", "--validate=false", "-o", "json", "-f", str(stream),
         "--server", discovery, "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120, check=False, env={"KUBECONFIG": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr
    decoder, text, written = json.JSONDecoder(), result.stdout.strip(), []
    while text:  # one JSON document per object, one after the other
        obj, end = decoder.raw_decode(text)
        written.append(obj)
        text = text[end:].lstrip()
    assert len(written) == len(manifests)
    ours = {(m.kind, m.namespace, m.name): applied_size(m.obj) for m in manifests}
    for obj in written:
        metadata = obj["metadata"]
        theirs = sum(len(k.encode()) + len(v.encode()) for k, v in metadata["annotations"].items())
        assert ours[(obj["kind"], metadata.get("namespace", ""), metadata["name"])] == theirs, metadata["name"]
