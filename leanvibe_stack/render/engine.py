"""The Jinja environment: one object per template, strict about undefined values."""

from __future__ import annotations

import json
import pickle
import re
import secrets
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from leanvibe_stack import yamlio
from leanvibe_stack.errors import TemplateError
from leanvibe_stack.manifest import Manifest

PACKAGE_TEMPLATES = Path(__file__).parent.parent / "templates"
REPO_TEMPLATES = Path(__file__).parent.parent.parent / "templates"


def templates_dir() -> Path:
    """Templates inside the installed package, or the repo's when running from a checkout."""
    return PACKAGE_TEMPLATES if PACKAGE_TEMPLATES.is_dir() else REPO_TEMPLATES


# Characters YAML forbids raw or reads as line breaks (JSON leaves them unescaped).
_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _to_json(value: Any) -> str:
    # JSON is valid YAML flow syntax: values land in templates without any hand indentation.
    # Characters YAML forbids raw are escaped; the emitter writes them back as they were.
    stash = _VERBATIM.get()
    if stash is not None:
        value = _stand_ins(value, stash)
    text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Long strings (the embedded config files: 9 MB of them for a 10,000-rule profile) skip the trip through the
# template as JSON and back through the YAML parser, a sixth of such a render: the `json` filter writes a
# stand-in for each, and the parsed object gets the very string back in its place.  A stand-in carries a
# random token drawn per process, so no value a profile writes is ever taken for one; a stand-in that lands
# anywhere but as a whole value (a template that edits the filter's text) renders the template again without.
VERBATIM_MIN = 4096
_NONCE = f"{secrets.randbelow(10**20):020d}"  # digits: any text a template makes of a stand-in still shows them
_TOKEN = f"\x00leanvibe-verbatim-{_NONCE}-"
_VERBATIM: ContextVar[list[str] | None] = ContextVar("leanvibe_verbatim", default=None)
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Misplaced(Exception):
    """A stand-in inside a longer string: the template did more than place the filter's value."""


def _stand_ins(value: Any, stash: list[str]) -> Any:
    kind = type(value)
    if kind is str:
        if len(value) < VERBATIM_MIN or (not value.isascii() and _SURROGATE.search(value)):
            return value  # short, or a lone surrogate: the YAML parser refuses it as before (TemplateError)
        stash.append(value)
        return f"{_TOKEN}{len(stash) - 1}"
    if kind is dict:
        return {key: _stand_ins(item, stash) for key, item in value.items()}
    if kind is list:
        return [_stand_ins(item, stash) for item in value]
    return value


def _put_back(value: Any, stash: list[str]) -> Any:
    kind = type(value)
    if kind is str:
        if value.startswith(_TOKEN) and value[len(_TOKEN):].isdigit():
            return stash[int(value[len(_TOKEN):])]
        if _NONCE in value:
            raise _Misplaced
        return value
    if kind is dict:
        return {key: _put_back(item, stash) for key, item in value.items()}
    if kind is list:
        return [_put_back(item, stash) for item in value]
    return value


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs (a cold render compiled all of them: ~70 ms).

    Jinja's own cache: a private per-user directory under the temp dir, entries checked against
    the template source's checksum and the Python version.  A cache that cannot be written is
    skipped, never an error: rendering does not depend on it.
    """

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):  # damaged: compile from source
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _BytecodeCache()
    except (OSError, RuntimeError):  # no safe temp directory (RuntimeError is Jinja's word for that)
        return None


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["json"] = _to_json
    return env


def render_object(template: str, component: str, **context: Any) -> Manifest:
    """Render one template into one Kubernetes object."""
    stash: list[str] = []
    try:
        obj = _put_back(_render(template, context, stash), stash)
    except _Misplaced:
        obj = _render(template, context, None)
    if not isinstance(obj, dict) or "kind" not in obj:
        raise TemplateError(f"templates/{template} did not render one Kubernetes object")
    return Manifest(obj=obj, component=component, source=f"templates/{template}")


def _render(template: str, context: dict[str, Any], stash: list[str] | None) -> Any:
    """The template's object as parsed; with a stash, long strings the `json` filter met stand in it."""
    reset = _VERBATIM.set(stash)
    try:
        text = environment().get_template(template).render(**context)
    except jinja2.TemplateError as error:
        line = getattr(error, "lineno", None)
        raise TemplateError(f"templates/{template}:{line or '?'}: {error}") from error
    finally:
        _VERBATIM.reset(reset)
    try:
        return yamlio.load(text)
    except yamlio.YAMLError as error:
        raise TemplateError(f"templates/{template} rendered invalid YAML: {error}") from error
