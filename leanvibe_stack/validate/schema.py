"""Schema check: every object against the strict Kubernetes schemas, and every resource quantity parsed.

The schemas are the ones kubernetes-validate bundles (`kubernetes-json-schema/v<X.Y>.0-local-strict/`:
one small file per kind that `$ref`s a shared 1.4 MB `_definitions.json`).  Unlike
`kubernetes_validate.validate`, which re-reads both files and rebuilds a validator on every call and
stops at the first error, this module reads `_definitions.json` once per schema version, compiles
one `jsonschema-rs` validator per (schema version, apiVersion, kind), keeps both for the life of the
process, and reports every error of every object.

The strict schemas accept any string or number as a quantity, so quantities (`8 GB`, `1.5.0Gi`, `-1`)
are parsed with the Kubernetes grammar in the same pass (`quantities.py`).

Check ids: `schema.invalid`, `schema.unknown-kind`, `schema.version-fallback` (warning),
`schema.unsupported-version`, and `quantities.py`'s `quantity.malformed`.
"""

from __future__ import annotations

import base64
import datetime
import difflib
import functools
import importlib.util
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leanvibe_stack.validate import quantities
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.findings import Finding, ObjectRef, PathPart, error, json_path, shorten, show, warning
from leanvibe_stack.validate.quantities import QUANTITY_FORM

if TYPE_CHECKING:  # jsonschema_rs costs ~45 ms to import: only commands that validate pay for it
    import jsonschema_rs

SchemaVersion = tuple[int, int]

SCHEMA_PACKAGE = "kubernetes_validate"
DEFINITIONS_FILE = "_definitions.json"
DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"  # the `$id` refs resolve against

_SCHEMA_DIR = re.compile(r"^v(\d+)\.(\d+)\.0-local-strict$")
_KUBE_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:[.+-].*)?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_API_VERSION = re.compile(r"^(?:([a-z0-9]([a-z0-9.-]*[a-z0-9])?)/)?(v[a-z0-9]+)$")



# --- schema files, loaded and compiled once per process -------------------------------------------


@functools.cache
def schema_root() -> Path:
    """The bundled `kubernetes-json-schema` directory, found without importing kubernetes_validate."""
    spec = importlib.util.find_spec(SCHEMA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed: its bundled schemas are needed")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@functools.cache
def schema_versions() -> tuple[SchemaVersion, ...]:
    """Kubernetes minor versions with bundled strict schemas, oldest first."""
    found = [(int(m[1]), int(m[2])) for entry in schema_root().iterdir() if (m := _SCHEMA_DIR.match(entry.name))]
    return tuple(sorted(found))


def _directory(version: SchemaVersion) -> Path:
    return schema_root() / f"v{version[0]}.{version[1]}.0-local-strict"


@functools.cache
def definitions(version: SchemaVersion) -> dict[str, Any]:
    """`_definitions.json` of one schema version: read and parsed once."""
    data: dict[str, Any] = json.loads((_directory(version) / DEFINITIONS_FILE).read_bytes())
    return data


@functools.cache
def _registry(version: SchemaVersion) -> jsonschema_rs.Registry:
    import jsonschema_rs

    defs = definitions(version)
    return jsonschema_rs.Registry([(str(defs.get("$id", DEFINITIONS_URI)), defs)])


@functools.cache
def kind_schema(version: SchemaVersion, api_version: str, kind: str) -> dict[str, Any] | None:
    """The top-level schema of a built-in kind, or None when the version has no such apiVersion/kind.

    The file is named after the first DNS label of the group (`rbac.authorization.k8s.io/v1` ->
    `rbac-v1`), so its `x-kubernetes-group-version-kind` is checked too: `apps.example.com/v1`
    Deployment is not `apps/v1` Deployment, and `Container` is a type, not a kind.
    """
    match = _API_VERSION.match(api_version)
    if match is None or not _KIND.match(kind):
        return None
    group, group_version = match[1] or "", match[3]
    file = _directory(version) / f"{kind.lower()}-{_file_group(group, group_version)}.json"
    if not file.is_file():
        return None
    schema: dict[str, Any] = json.loads(file.read_bytes())
    gvks = schema.get("x-kubernetes-group-version-kind", [])
    known = {(g.get("group"), g.get("version"), g.get("kind")) for g in gvks}
    return schema if (group, group_version, kind) in known else None


@functools.cache
def validator(version: SchemaVersion, api_version: str, kind: str) -> jsonschema_rs.Validator | None:
    """One compiled validator per (schema version, apiVersion, kind); None for an unknown kind."""
    import jsonschema_rs

    schema = kind_schema(version, api_version, kind)
    if schema is None:
        return None
    return jsonschema_rs.validator_for(schema, registry=_registry(version), offline=True)


def clear_caches() -> None:
    """Forget every loaded schema and compiled validator (benchmarks measure a cold start with it)."""
    for cached in (schema_versions, definitions, _registry, kind_schema, validator, _kinds_named):
        cached.cache_clear()


def _file_group(group: str, group_version: str) -> str:
    return f"{group.split('.', 1)[0]}-{group_version}" if group else group_version


@functools.cache
def _kinds_named(version: SchemaVersion, lowered_kind: str) -> tuple[tuple[str, str], ...]:
    """(apiVersion, kind) of every built-in kind whose name is `lowered_kind` in any case: for hints."""
    found = set()
    for file in _directory(version).glob(f"{lowered_kind}-*.json"):
        schema = json.loads(file.read_bytes())
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if str(gvk.get("kind", "")).lower() == lowered_kind:
                group, group_version = gvk.get("group", ""), gvk.get("version", "")
                found.add((f"{group}/{group_version}" if group else group_version, str(gvk["kind"])))
    return tuple(sorted(found))


# --- the check ------------------------------------------------------------------------------------


def check(bundle: Bundle, kube_version: str) -> list[Finding]:
    """Schema and quantity findings for every object of the bundle, sorted."""
    version, notice = select_version(kube_version)
    findings = [notice] if notice else []
    for manifest in bundle.manifests:
        obj = manifest.obj
        ref = _ref(obj)
        if version is not None:
            findings.extend(_schema_findings(obj, ref, version, kube_version))
        findings.extend(quantities.findings(obj, ref))
    return sorted(set(findings), key=Finding.sort_key)


def select_version(kube_version: str) -> tuple[SchemaVersion | None, Finding | None]:
    """The newest bundled schema version not newer than `kube_version`, and a finding if it is not exact."""
    available = schema_versions()
    newest, oldest = available[-1], available[0]
    supported = f"bundled schemas cover Kubernetes {_show_version(oldest)} to {_show_version(newest)}"
    match = _KUBE_VERSION.match(kube_version.strip())
    if match is None:
        message = f'"{kube_version}" is not a Kubernetes version: give one such as "1.29" ({supported})'
        return None, error("schema.unsupported-version", None, "", message)
    wanted = (int(match[1]), int(match[2]))
    if wanted < oldest:
        message = (f"Kubernetes {_show_version(wanted)} is older than any bundled schema ({supported}): "
                   f"target {_show_version(oldest)} or newer")
        return None, error("schema.unsupported-version", None, "", message)
    if wanted > newest:
        message = (f"no schemas for Kubernetes {_show_version(wanted)}: validated against {_show_version(newest)}, "
                   "the newest bundled; upgrade kubernetes-validate for exact schemas")
        return newest, warning("schema.version-fallback", None, "", message)
    return max(v for v in available if v <= wanted), None


def _show_version(version: SchemaVersion) -> str:
    return f"{version[0]}.{version[1]}"


def _ref(obj: dict[str, Any]) -> ObjectRef:
    """The object's identity, even when kind or metadata is missing or malformed."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return ObjectRef(_text(obj.get("kind")), _text(meta.get("namespace")), _text(meta.get("name")))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _schema_findings(obj: dict[str, Any], ref: ObjectRef, version: SchemaVersion, kube_version: str) -> list[Finding]:
    findings = []
    for field, example in (("apiVersion", "apps/v1"), ("kind", "Deployment")):
        value = obj.get(field)
        if value in (None, ""):
            message = f"missing {field}: every object needs one (e.g. {example})"
            findings.append(error("schema.invalid", ref, field, message))
        elif not isinstance(value, str):
            message = f"{field} must be a string, not {_json_type(value)} {show(value)}"
            findings.append(error("schema.invalid", ref, field, message))
    meta = obj.get("metadata")
    # `generateName` is a name too: the API server appends a random suffix (`kubectl create` accepts it).
    if meta is None or (isinstance(meta, dict) and not meta.get("name") and not meta.get("generateName")):
        findings.append(error("schema.invalid", ref, "metadata.name",
                              "missing metadata.name (or generateName): give the object a name"))
    if any(f.path in ("apiVersion", "kind") for f in findings):
        return findings
    api_version, kind = obj["apiVersion"], obj["kind"]
    compiled = validator(version, api_version, kind)
    if compiled is None:
        return [*findings, _unknown_kind(ref, version, kube_version, api_version, kind)]
    try:
        errors = list(compiled.iter_errors(obj))
    except ValueError:  # YAML values JSON lacks (dates, binary, non-string keys): compare as kubectl sends them
        errors = list(compiled.iter_errors(_as_json(obj)))
    root = kind_schema(version, api_version, kind) or {}
    for err in errors:
        for parts, message in _describe(err, version, root, kind):
            findings.append(error("schema.invalid", ref, json_path(parts), message))
    return findings


def _unknown_kind(ref: ObjectRef, version: SchemaVersion, kube_version: str, api_version: str, kind: str) -> Finding:
    schemas = _show_version(version)
    wanted = kube_version.strip().removeprefix("v")
    against = f"Kubernetes {wanted}" if wanted == schemas else f"Kubernetes {wanted} (schemas {schemas})"
    message = f'{against} has no kind "{kind}" in apiVersion "{api_version}"'
    known = _kinds_named(version, kind.lower()) if _KIND.match(kind) else ()
    if known:
        hint = " or ".join(f"apiVersion: {a}, kind: {k}" for a, k in known)
        message += f": use {hint}"
    else:
        message += ": fix the apiVersion/kind (custom resources are not supported)"
    return error("schema.unknown-kind", ref, "kind", message)


# --- turning jsonschema-rs errors into findings that say what to change ---------------------------

_FRIENDLY_ONE_OF = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": f"a quantity: {QUANTITY_FORM}",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": (
        'an integer or a string (a port name, or a percentage such as "25%")'
    ),
}


def _describe(
    err: jsonschema_rs.ValidationError, version: SchemaVersion, root: dict[str, Any], kind: str
) -> list[tuple[list[PathPart], str]]:
    """(instance path, message) pairs for one error; one per field for `additionalProperties`."""
    name = err.kind.name
    path = list(err.instance_path)
    value = err.instance
    owner = _owner_name(err.schema_path, kind)
    where = f" in {owner}" if owner else ""
    if name == "additionalProperties":
        allowed = _owner_schema(err, version, root).get("properties", {})
        out = []
        for field in sorted(err.kind.as_dict().get("unexpected", [])):
            close = difflib.get_close_matches(field, list(allowed), n=1, cutoff=0.6)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            out.append(([*path, field], f'unknown field "{field}"{where}: remove it or fix its spelling{hint}'))
        return out
    if name == "required":
        field = str(err.kind.as_dict().get("property", ""))
        return [([*path, field], f'missing required field "{field}"{where}: add it')]
    if name == "type":
        return [(path, _type_message(value, [t for t in err.kind.as_dict().get("types", []) if t != "null"]))]
    if name == "enum":
        options = err.kind.as_dict().get("options", [])
        shown = ", ".join(show(o) for o in options[:10]) + (", ..." if len(options) > 10 else "")
        return [(path, f"{show(value)} is not allowed here: use one of {shown}")]
    if name == "oneOf" and value is None:
        return []  # null matches both branches of Quantity/IntOrString: Kubernetes reads it as unset
    if name == "oneOf":
        definition = str(err.schema_path[-2]) if len(err.schema_path) >= 2 else ""
        expected = _FRIENDLY_ONE_OF.get(definition) or " or ".join(_context_types(err)) or "a different value"
        return [(path, f"expected {expected}; got {_json_type(value)} {show(value)}")]
    return [(path, shorten(err.message, 200))]


def _type_message(value: Any, expected: list[str]) -> str:
    want = " or ".join(expected) or "null"
    got = f"{_json_type(value)} {show(value)}"
    if isinstance(value, str):
        stripped = value.strip()
        if "integer" in expected and re.fullmatch(r"[+-]?\d+", stripped):
            return f"expected an integer, got a string {show(value)}: remove the quotes ({stripped})"
        if "number" in expected and _is_number(stripped):
            return f"expected a number, got a string {show(value)}: remove the quotes ({stripped})"
        if "boolean" in expected and stripped.lower() in ("true", "false"):
            return f"expected a boolean, got a string {show(value)}: write {stripped.lower()} without quotes"
    if expected == ["string"] and isinstance(value, bool | int | float):
        return f'expected a string, got {got}: quote it ("{json.dumps(value)}")'
    return f"expected {want}, got {got}: change the value's type"


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _context_types(err: jsonschema_rs.ValidationError) -> list[str]:
    types: list[str] = []
    for branch in getattr(err.kind, "context", []):
        for sub in branch:
            for t in sub.kind.as_dict().get("types", []) if sub.kind.name == "type" else []:
                if t != "null" and t not in types:
                    types.append(str(t))
    return types


def _owner_name(schema_path: Sequence[PathPart], kind: str) -> str:
    """The Kubernetes type whose keyword failed: `Container` for `$defs/io.k8s.api.core.v1.Container/required`."""
    if len(schema_path) == 3 and schema_path[0] == "$defs":
        return str(schema_path[1]).rsplit(".", 1)[-1]
    return kind if len(schema_path) == 1 else ""


def _owner_schema(err: jsonschema_rs.ValidationError, version: SchemaVersion, root: dict[str, Any]) -> dict[str, Any]:
    """The schema object holding the failed keyword (to list the fields it allows)."""
    location = err.absolute_keyword_location
    in_definitions = location.startswith(DEFINITIONS_URI) if location else err.schema_path[:1] == ["$defs"]
    node: Any = definitions(version) if in_definitions else root
    for part in err.schema_path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}


def _as_json(value: Any) -> Any:
    """What kubectl would send for a YAML value: dates as strings, binary as base64, keys as strings."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _scalar_text(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _scalar_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


# --- small helpers --------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list | tuple) else "object"
