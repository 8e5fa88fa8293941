"""yamlio.load builds values itself for speed: it must agree with PyYAML's SafeLoader on everything."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from leanvibe_stack import yamlio
from leanvibe_stack.manifest import Manifest


def _safe_load(text: str) -> tuple[str, Any]:
    try:
        return "value", yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        return "error", type(error).__name__


def _ours(text: str) -> tuple[str, Any]:
    try:
        return "value", yamlio.load(text)
    except yaml.YAMLError as error:
        return "error", type(error).__name__


EDGE_CASES = [
    "a: 1\nb: [1, 2.5, true, null, x, 0x1f, .inf, '1']\n",
    "when: 2020-01-01\nquoted: '2020-01-01'\n",  # timestamps are SafeLoader's: a date object
    "base: &b {x: 1, y: [1]}\nmerged:\n  <<: *b\n  z: 2\nagain: *b\n",  # merge keys and aliases
    "? [1, 2]\n: unhashable key\n",  # SafeLoader refuses it; so must we
    "1: integer key\n2.5: float key\nnull: null key\n",
    "tagged: !!str 1\nbinary: !!binary aGk=\n",
    "unknown: !custom x\n",
    "- &node [1]\n- *node\n",
    "dup: 1\ndup: 2\n",  # last one wins, as in SafeLoader
    "",
    "--- \n...\n",
    "key: [unclosed\n",
    "text: |\n  line one\n  line two\n",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_load_agrees_with_safe_loader(text: str) -> None:
    assert _ours(text) == _safe_load(text)


def test_aliases_are_shared_not_copied() -> None:
    # A billion-laughs document stays cheap: every alias is the same object, never a copy.
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    data = yamlio.load(bomb)
    assert data["i"][0] is data["h"]


def test_load_all_skips_empty_documents() -> None:
    assert yamlio.load_all("a: 1\n---\n---\nb: [2]\n") == [{"a": 1}, {"b": [2]}]


def test_every_rendered_object_and_config_parses_as_with_safe_loader(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        for manifest in manifests:
            text = yamlio.dump(manifest.obj)
            assert _ours(text) == _safe_load(text) == ("value", manifest.obj)
            for key, value in (manifest.obj.get("data") or {}).items():
                if key.endswith((".yml", ".yaml")):
                    assert _ours(value) == _safe_load(value), f"{manifest.kind}/{manifest.name} {key}"


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6) | st.integers(), inner,
                                                                  max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_values, st.sampled_from([{}, {"default_flow_style": True}, {"default_style": '"'}]))
def test_any_dumped_value_loads_back_as_with_safe_loader(value: Any, style: dict[str, Any]) -> None:
    text = yaml.safe_dump(value, allow_unicode=True, **style)
    assert _ours(text) == _safe_load(text)


RESOLVER_EDGES = ["", "~", "null", "Null", "true", "Yes", "off", "0x1F", "0o17", "1_000", "1e3", "+1", "-.5", ".inf",
                  ".NaN", "2020-01-01", "2020-01-01 10:00:00", "<<", "=", ":", "-", "1:30", "0b101", "text", "äö"]


def _fast_resolver_classes() -> list[type[Any]]:
    from leanvibe_stack import profiles

    return [yamlio.FastLoader, yamlio.FAST_DUMPER, yamlio.PURE_DUMPER, profiles._FastLoader]


def test_fast_resolver_classes_register_no_path_or_wildcard_resolvers() -> None:
    # FastResolver skips both kinds (PyYAML's SafeLoader registers neither); adding one must fail here.
    for cls in _fast_resolver_classes():
        assert not cls.yaml_path_resolvers, cls
        assert None not in cls.yaml_implicit_resolvers, cls
        assert issubclass(cls, yamlio.FastResolver)


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.one_of(st.sampled_from(RESOLVER_EDGES), st.text(max_size=12), st.from_regex(r"[-+.0-9a-fA-FxXoOeE_:]{1,8}")))
def test_fast_resolver_gives_pyyaml_tags(value: str) -> None:
    from leanvibe_stack import profiles

    pairs: list[tuple[Any, Any]] = [(yamlio.FastLoader(""), yaml.SafeLoader("")),
                                    (profiles._FastLoader(""), profiles._Loader(""))]
    for fast, reference in pairs:
        for implicit in ((True, False), (False, True), (True, True)):
            assert fast.resolve(yaml.ScalarNode, value, implicit) == reference.resolve(yaml.ScalarNode, value, implicit)
    for kind in (yaml.MappingNode, yaml.SequenceNode):
        assert pairs[0][0].resolve(kind, None, True) == pairs[0][1].resolve(kind, None, True)


# --- dump: the shortcut representation, and the data it remembers ---------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types throughout (1 == 1.0 == True does not count) and the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _rendered_texts(loaded: dict[str, Any]) -> list[tuple[str, Any]]:
    """(text, remembered data) of every config file the renderer dumps, for every shipped profile."""
    from leanvibe_stack.render import render_stack

    found = []
    for profile in loaded.values():
        with yamlio.remembering():
            render_stack(profile.stack)
            memo = yamlio._MEMO.get()
            assert memo
            found += list(memo.items())
    return found


def test_dump_writes_what_saferepresenter_writes_for_every_rendered_config(loaded: dict[str, Any]) -> None:
    # FAST_DUMPER builds the nodes of str, dict and list itself; SafeDumper's representer is the reference.
    for text, data in _rendered_texts(loaded):
        assert yaml.dump(data, Dumper=yamlio.REFERENCE_DUMPER, **yamlio.DUMP_OPTIONS) == text


def test_remembered_data_is_what_parsing_the_text_gives_for_every_rendered_config(loaded: dict[str, Any]) -> None:
    texts = _rendered_texts(loaded)
    assert len(texts) > 20
    for text, data in texts:
        assert _same(data, yamlio.load(text)), text[:200]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_values)
def test_any_value_dumps_as_saferepresenter_and_is_remembered_as_it_parses(value: Any) -> None:
    with yamlio.remembering():
        text = yamlio.dump(value)
        recalled = yamlio.recall(text)
    assert text == yaml.dump(value, Dumper=yamlio.REFERENCE_DUMPER, **yamlio.DUMP_OPTIONS)
    assert _same(recalled, yamlio.load(text))


def test_recall_gives_the_data_of_exactly_that_text_once_and_only_inside_remembering() -> None:
    data: dict[str, Any] = {"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "up == 0", "for": "5m"}]}]}
    outside = yamlio.dump(data)
    assert yamlio.recall(outside) is yamlio.MISSING  # nothing is remembered outside the block
    with yamlio.remembering():
        text = yamlio.dump(data)
        data["groups"][0]["rules"][0]["expr"] = "changed after the dump"
        assert yamlio.recall(text + " ") is yamlio.MISSING  # another text: never this text's data
        assert yamlio.recall(text.replace("5m", "6m")) is yamlio.MISSING
        recalled = yamlio.recall(text)
        assert recalled == yamlio.load(text)  # the data as written, not as changed since
        assert yamlio.recall(text) is yamlio.MISSING  # handed out once: the next reader parses its own copy
    with yamlio.remembering():
        pass
    assert yamlio.recall(text) is yamlio.MISSING  # the block's memory ends with it


def test_values_whose_parse_is_not_a_copy_are_not_remembered() -> None:
    import datetime

    with yamlio.remembering():
        text = yamlio.dump({"when": datetime.date(2026, 12, 5), "set": {1, 2}})
        assert yamlio.recall(text) is yamlio.MISSING


def test_checks_see_the_same_with_the_renderers_data_as_with_the_parsed_text(loaded: dict[str, Any]) -> None:
    from leanvibe_stack.profiles import load_profile
    from leanvibe_stack.render import render_stack
    from leanvibe_stack.validate import validate

    rule = "prometheus.rule_groups[leanvibe.enterprise.rules].rules.LeanVibeHighErrorRate"
    broken = load_profile("production", overrides=[f"{rule}.expr=rate(no_such_metric_total[1m]) > (",
                                                   "prometheus.rule_groups[leanvibe.enterprise.rules].rules.Orphan="
                                                   "{expr: up == 0, labels: {owner: nobody}}"])
    for profile in [*loaded.values(), broken]:
        version = profile.stack.global_.kubernetes_version
        with yamlio.remembering():
            manifests = render_stack(profile.stack)
            remembered = len(yamlio._MEMO.get() or {})
            recalled = validate(manifests, kube_version=version)
            left = len(yamlio._MEMO.get() or {})
        assert left < remembered  # the checks did take the renderer's data
        parsed = validate(render_stack(profile.stack), kube_version=version)
        assert recalled.findings == parsed.findings
    assert {f.check for f in recalled.findings} >= {"promql.parse", "routing.default-only"}  # it compares
