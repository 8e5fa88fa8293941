"""`leanvibe-stack schema`: the JSON Schema editors use to complete and check profile files.

The schema is generated from the pydantic models, then adapted to what a profile *file* is: one
layer of a merge, not the merged result.

- Any mapping reached through mapping keys only (the top level, `prometheus`, `alertmanager.receivers.<name>`,
  ...) may be partial, since a child profile writes only what differs from its parent: such objects have no
  `required` (nor `minProperties`), and every value in them may be `null` (which deletes the inherited key).
- Anything inside a list is complete, since a list replaces its parent's wholesale: objects in lists keep
  pydantic's `required`, so a list item missing a field is still flagged.
- Unknown keys stay forbidden everywhere (`additionalProperties: false`): a typo is always flagged.
- The top level also allows `extends:` and `abstract:`, which the loader reads and the models never see.

Cross-field rules (e.g. routes naming existing receivers) and the fields a merged profile needs are checked
by the loader: `leanvibe-stack profiles show NAME` reports them with file:line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

SCHEMA_PATH = Path("schemas") / "profile.schema.json"
REFRESH = f"leanvibe-stack schema --output {SCHEMA_PATH.as_posix()}"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated", "$comment")
_REF_PREFIX = "#/$defs/"
_PARTIAL = ".partial"
_NULL = {"type": "null"}
_TOP_LEVEL_EXTRAS: dict[str, Any] = {
    "extends": {
        "type": "string",
        "minLength": 1,
        "title": "Extends",
        "description": "Parent profile: a name resolved beside this file, or a relative path to a .yaml file. "
        "This file is deep-merged over it: mappings merge key by key, lists and scalars replace, "
        "`null` deletes.",
    },
    "abstract": {
        "type": "boolean",
        "default": False,
        "title": "Abstract",
        "description": "A parent for other profiles only: never rendered itself (not inherited).",
    },
}


def profile_schema() -> dict[str, Any]:
    """The JSON Schema of one profile file (Draft 2020-12), as committed in schemas/profile.schema.json."""
    from leanvibe_stack.models.stack import Stack

    generated = Stack.model_json_schema(by_alias=True)
    builder = _EditorSchema(generated.pop("$defs", {}))
    root = builder.partial(generated)
    root["properties"] = {**_TOP_LEVEL_EXTRAS, **root["properties"]}
    root.update({
        "$schema": DRAFT,
        "$comment": f"Generated from the profile models by `leanvibe-stack schema`; do not edit. Refresh: {REFRESH}",
        "title": "leanvibe-stack profile",
        "description": "One profile file. A profile that `extends:` another sets only what differs, so no "
        "key is required here and any value may be `null`, which removes the inherited one; "
        "`leanvibe-stack profiles show NAME` validates the merged result.",
    })
    root["$defs"] = builder.defs
    return root


def schema_text() -> str:
    """The schema as committed: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(profile_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _EditorSchema:
    """Rewrites pydantic's schema for partial profile files; `defs` collects every definition still referenced."""

    def __init__(self, source: dict[str, Any]) -> None:
        self.source = source
        self.defs: dict[str, Any] = {}

    def partial(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A schema reached through mapping keys only: no required keys, `null` values delete."""
        result: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "$ref":
                result[key] = self._partial_ref(value)
            elif key in ("required", "minProperties", "discriminator"):
                continue  # a child sets any subset; `discriminator` points at complete definitions
            elif key in ("properties", "patternProperties"):
                result[key] = {name: self._member(member) for name, member in value.items()}
            elif key == "additionalProperties" and isinstance(value, dict):
                result[key] = self._member(value)
            elif key in ("anyOf", "oneOf", "allOf"):
                # Without `required` two members of a oneOf may both match a partial mapping.
                result["anyOf" if key == "oneOf" else key] = [self.partial(member) for member in value]
            else:
                result[key] = self.complete(value) if key in ("items", "prefixItems") else value
        return result

    def complete(self, schema: Any) -> Any:
        """A schema inside a list: kept as generated, its definitions copied unchanged."""
        if isinstance(schema, dict):
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                self._complete_def(ref.removeprefix(_REF_PREFIX))
            for value in schema.values():
                self.complete(value)
        elif isinstance(schema, list):
            for value in schema:
                self.complete(value)
        return schema

    def _complete_def(self, name: str) -> None:
        if name not in self.defs:
            self.defs[name] = self.source[name]
            self.complete(self.source[name])

    def _partial_ref(self, ref: str) -> str:
        name = ref.removeprefix(_REF_PREFIX)
        key = name + _PARTIAL
        if key not in self.defs:
            self.defs[key] = {}  # placeholder: recursive models refer back to themselves
            self.defs[key] = _nullable(self.partial(self.source[name]))
        return _REF_PREFIX + key

    def _member(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The value of a mapping key: partial, and `null` allowed (it deletes the inherited key)."""
        return _nullable(self.partial(schema))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also accepts `null`, changed in place where possible so errors stay specific.

    `type: X` becomes `type: [X, "null"]` (every partial definition is nullable that way, so references to
    them need no change); only a schema without a type gets an `anyOf` with a null member.
    """
    kind, ref = schema.get("type"), schema.get("$ref", "")
    if ref.endswith(_PARTIAL) or not schema.keys() - set(_ANNOTATIONS):
        return schema  # a nullable partial definition, or a schema accepting anything
    if isinstance(kind, str) or (isinstance(kind, list) and "null" not in kind):
        result = {**schema, "type": [*([kind] if isinstance(kind, str) else kind), "null"]}
        if "enum" in result and None not in result["enum"]:
            result["enum"] = [*result["enum"], None]
        if "const" in result:
            result["enum"] = [result.pop("const"), None]
        return result
    if kind is not None or any(member.get("type") == "null" for member in schema.get("anyOf", [])):
        return schema  # already accepts null
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], _NULL]}
    outer = {key: schema[key] for key in _ANNOTATIONS if key in schema}
    outer["anyOf"] = [{key: value for key, value in schema.items() if key not in _ANNOTATIONS}, _NULL]
    return outer


def check_schema(path: Path, expected: str) -> list[str]:
    """A unified diff (empty when `path` holds exactly `expected`)."""
    import difflib

    if not path.is_file():
        return [f"{path} does not exist\n"]
    committed = path.read_text(encoding="utf-8")
    if committed == expected:
        return []
    return list(difflib.unified_diff(committed.splitlines(keepends=True), expected.splitlines(keepends=True),
                                     f"{path} (committed)", f"{path} (generated)"))


def write_schema(path: Path, text: str) -> None:
    """Write `text` to `path` (directories created), replacing the file only once it is complete."""
    from leanvibe_stack.errors import OutputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error


def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=f"Write the schema to this file (e.g. {SCHEMA_PATH}) instead of "
                     "stdout; with --check, the file to compare."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help=f"Write nothing; exit 1 with a diff if the committed schema "
                     f"(--output, default {SCHEMA_PATH}) is stale."),
    ] = False,
) -> None:
    """Print the JSON Schema of a profile file, for editor completion and checks.

    Profiles point at it on their first line: `# yaml-language-server: $schema=../schemas/profile.schema.json`.

    No key is required (a child sets only what differs), `null` deletes an inherited value, unknown keys are errors.
    """
    import sys

    text = schema_text()
    if check:
        target = output or SCHEMA_PATH
        diff = check_schema(target, text)
        if diff:
            sys.stdout.write("".join(diff))
            typer.echo(f"{target} is stale; refresh with `{REFRESH}` and review the diff", err=True)
            raise typer.Exit(1)
        typer.echo(f"up to date: {target}", err=True)
    elif output is not None:
        write_schema(output, text)
        typer.echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)


def register(app: typer.Typer) -> None:
    """Add `schema` to the CLI."""
    app.command()(schema)
