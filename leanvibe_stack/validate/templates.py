"""Go templates: alert annotations/labels (Prometheus) and notifications (Alertmanager).

Both programs only find a bad template when it executes — at 3 a.m., as an empty page.  This
catches the mistakes a reading can: unbalanced `{{ }}` or blocks, functions the program does not
define (the seed's `default` is Helm's, not Alertmanager's), and `{{ template "x" }}` naming a
template nobody defines.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from leanvibe_stack.validate.bundle import Bundle, as_dict, as_list
from leanvibe_stack.validate.findings import Finding, ObjectRef, error

GO_BUILTINS = {"and", "or", "not", "len", "index", "print", "printf", "println", "eq", "ne", "lt", "le", "gt",
               "ge", "html", "js", "urlquery", "slice", "call"}
KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil",
            "true", "false"}
PROMETHEUS_FUNCTIONS = {"query", "first", "label", "value", "strvalue", "args", "safeHtml", "match", "reReplaceAll",
                        "graphLink", "tableLink", "sortByLabel", "title", "toUpper", "toLower", "humanize",
                        "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime",
                        "pathPrefix", "externalURL", "parseDuration", "stripPort", "stripDomain"}
ALERTMANAGER_FUNCTIONS = {"toUpper", "toLower", "title", "join", "match", "safeHtml", "reReplaceAll", "stringSlice"}
OPENERS = {"if", "range", "with", "define", "block"}

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'')
_WORD = re.compile(r"(?<![.$\w])([A-Za-z_]\w*)")
_TEMPLATE_CALL = re.compile(r'\{\{-?\s*template\s+"([^"]+)"')
_DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')


def problems(text: str, functions: set[str]) -> list[str]:
    """What is wrong with one template text; empty when it reads as valid."""
    if "{{" not in text and "}}" not in text:
        return []  # no action, nothing unbalanced: most label values (a quick exit for 10,000 rules' labels)
    found = []
    if text.count("{{") != text.count("}}"):
        found.append("unbalanced {{ and }}")
    depth = 0
    for action in _ACTION.findall(text):
        body = _STRING.sub('""', action).strip()
        if body.startswith("/*"):
            continue
        words = _WORD.findall(body)
        if words and words[0] in OPENERS:
            depth += 1
        elif words and words[0] == "end":
            depth -= 1
        unknown = sorted({w for w in words if w not in KEYWORDS | GO_BUILTINS | functions})
        if unknown:
            found.append(f"{', '.join(unknown)}: not a template function here "
                         f"(`{{{{{action.strip()[:40]}}}}}`)")
    if depth != 0:
        found.append("if/range/with/define blocks and {{ end }} do not balance")
    return found


def check(bundle: Bundle) -> list[Finding]:
    return [*_alert_rules(bundle), *_alertmanager(bundle)]


def _alert_rules(bundle: Bundle) -> Iterator[Finding]:
    # Rules repeat their annotation templates (10,000 rules: 74 distinct ones), so each is read once.
    problems_of = functools.cache(lambda text: problems(text, PROMETHEUS_FUNCTIONS))
    for rule in bundle.alert_rules:
        for section in ("labels", "annotations"):
            for key, value in as_dict(rule.rule.get(section)).items():
                for problem in problems_of(str(value)):
                    yield error("rules.template", rule.holder, f"{rule.path}.{section}.{key}",
                                f"alert {rule.name}: {problem}")


def _alertmanager(bundle: Bundle) -> Iterator[Finding]:
    config = bundle.config("alertmanager")
    if config is None:
        return
    defined: set[str] = set()
    for pattern in as_list(config.data.get("templates")):
        for mounted in bundle.config_glob(config, str(pattern)):
            text = mounted.text() or ""
            defined.update(_DEFINE.findall(text))
            holder = ObjectRef.of(mounted.source) if mounted.source else None
            for problem in problems(text, ALERTMANAGER_FUNCTIONS):
                yield error("alertmanager.template", holder, f"data.{mounted.key}", problem)
    for path, text in _strings(as_list(config.data.get("receivers")), "receivers"):
        where = f"{config.file.key}:{path}"
        for problem in problems(text, ALERTMANAGER_FUNCTIONS):
            yield error("alertmanager.template", config.holder, where, problem)
        for name in _TEMPLATE_CALL.findall(text):
            if name not in defined and ".default." not in name and not name.startswith("__"):
                yield error("alertmanager.template", config.holder, where,
                            f'template "{name}" is defined in no mounted template file')


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and "{{" in value:
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
