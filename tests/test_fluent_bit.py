"""Fluent Bit (the log agent) and the LogQL selectors checked against the labels it sets."""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models import fluentbit
from leanvibe_stack.models.fluentbit import FluentBitConfig, render_fluent_bit_config
from leanvibe_stack.validate.bundle import Bundle
from leanvibe_stack.validate.logql import Stream, agent_streams, stream_selectors, unmatched
from tests.conftest import PROFILES

Data = dict[str, Any]


def _base() -> Data:
    data: Data = yaml.safe_load((PROFILES / "base.yaml").read_text(encoding="utf-8"))["fluent_bit"]["config"]
    return copy.deepcopy(data)


def _render(data: Data | None = None) -> Data:
    config = FluentBitConfig.model_validate(data if data is not None else _base())
    return render_fluent_bit_config(config, loki_host="loki.ns.svc.cluster.local", loki_port=3100, tenant_id="t")


def test_every_field_is_documented() -> None:
    for name, model in inspect.getmembers(fluentbit, inspect.isclass):
        if issubclass(model, BaseModel) and model.__module__ == fluentbit.__name__:
            undocumented = [f for f, info in model.model_fields.items() if not info.description]
            assert not undocumented, f"{name}: {undocumented}"


def test_plugins_render_as_lists_with_name_and_alias_first_and_loki_derived() -> None:
    rendered = _render()
    assert [p["alias"] for p in rendered["pipeline"]["inputs"]] == ["containers", "syslog", "journal"]
    for section in ("inputs", "filters", "outputs"):
        for plugin in rendered["pipeline"][section]:
            assert list(plugin)[:2] == ["name", "alias"]
    for output in rendered["pipeline"]["outputs"]:
        assert (output["host"], output["port"], output["uri"], output["tenant_id"]) == (
            "loki.ns.svc.cluster.local", 3100, "/loki/api/v1/push", "t")
    # CLIST properties are one comma-separated string: a YAML list would read as the key written twice.
    (pods,) = [o for o in rendered["pipeline"]["outputs"] if o["alias"] == "pods"]
    assert pods["labels"].startswith("namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name']")
    assert pods["remove_keys"] == "kubernetes, stream, _p, time"
    # Multi-valued properties stay lists (Fluent Bit's YAML reads a list as the property repeated).
    (applications,) = [f for f in rendered["pipeline"]["filters"] if f["alias"] == "applications"]
    assert isinstance(applications["rule"], list) and len(applications["rule"]) == 2


def test_parsers_render_as_a_list_named_by_their_key() -> None:
    assert [p["name"] for p in _render()["parsers"]] == ["leanvibe-json", "neo4j", "syslog", "redis"]


def _set(path: str, value: Any) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        *parents, last = path.split("/")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


def _drop_output(alias: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        del data["pipeline"]["outputs"][alias]
    return mutate


OUTPUT = "pipeline/outputs/pods"
REFUSED: dict[str, tuple[Callable[[Data], None], str]] = {
    "loki host written": (_set(f"{OUTPUT}/host", "loki"), "'host' is not accepted"),
    "tenant written": (_set(f"{OUTPUT}/tenant_id", "x"), "'tenant_id' is not accepted"),
    "every pod label a stream label": (_set(f"{OUTPUT}/auto_kubernetes_labels", True), "one stream per rollout"),
    "unbounded label": (_set(f"{OUTPUT}/labels", ["request_id=$request_id"]), "one value per request"),
    "label without a name": (_set(f"{OUTPUT}/labels", ["$kubernetes['pod_name']"]), "is not 'name=value'"),
    "credentials in the config": (_set(f"{OUTPUT}/http_passwd", "hunter2"), "never write one"),
    "no match": (_set(f"{OUTPUT}/match", None), "exactly one of match and match_regex"),
    "undeclared parser": (_set("pipeline/filters/backend-json/parser", "json"), "is not declared in parsers"),
    "unknown multiline parser": (_set("pipeline/filters/tracebacks/multiline.parser", ["pyhton"]), "not built in"),
    "records nobody ships": (_drop_output("redis"), "'app.redis' match no output"),
    "filesystem buffer without a path": (_set("service/storage.path", None),
                                         "storage.type filesystem needs service.storage.path"),
    "rewrite rule with a space in its regex": (
        _set("pipeline/filters/applications/rule", ["$log ^a b$ x false"]), "four parts"),
    "regex that does not compile": (_set("parsers/redis/regex", "^(?<pid>\\d+"), "does not compile"),
    "environment placeholder": (_set(f"{OUTPUT}/labels", ["node_name=${NODE_NAME}"]), "placeholder"),
    "http server off": (_set("service/http_server", False), "http_server"),
    "TLS to the API server unverified": (_set("pipeline/filters/kubernetes/tls.verify", False), "never turn off"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused(case: str) -> None:
    mutate, message = REFUSED[case]
    data = _base()
    mutate(data)
    with pytest.raises(ValidationError) as caught:
        FluentBitConfig.model_validate(data)
    assert message in str(caught.value)


def test_syslog_lines_give_their_host_name() -> None:
    config = FluentBitConfig.model_validate(_base())
    assert config.parsers["syslog"].fields() == {"hostname"}
    pattern = re.compile(re.sub(r"\(\?<(\w+)>", r"(?P<\1>", config.parsers["syslog"].regex or ""))
    for line in ("Dec  5 17:16:10 ip-10-0-1-2 systemd[1]: Started x.",
                 "2026-12-05T17:16:10.123456+00:00 ip-10-0-1-2 kernel: y"):
        match = pattern.search(line)
        assert match is not None and match.group("hostname") == "ip-10-0-1-2"


# --- LogQL stream selectors ---------------------------------------------------------------------------------


def test_selectors_come_from_the_parse_tree_not_from_braces_in_strings() -> None:
    expr = ('sum by (level) (count_over_time({a="x", b=~"{y}"} |= "{not a selector}" [5m]))'
            ' / on() sum(count_over_time({c="z"}[5m]))')
    assert stream_selectors(expr) == ['{a="x", b=~"{y}"}', '{c="z"}']
    assert stream_selectors('{a="x"} | line_format `{{.b}}`') == ['{a="x"}']
    assert stream_selectors('{a="x"} |= ') == []  # not LogQL: logql.parse reports it


STREAMS = [Stream("output pods", frozenset({"namespace", "pod", "container"})),
           Stream("output backend", frozenset({"namespace", "container", "level"})),
           Stream("output journal", frozenset({"job", "unit"}))]


@pytest.mark.parametrize("selector", [
    '{namespace="a", level="error"}',
    '{container="x"}',
    '{job="systemd-journal", unit=~"kubelet.*"}',
    '{namespace="a", trace_id=""}',  # matches streams without the label
    '{namespace="a", region!="eu"}',  # idem
    '{namespace="a", region=~".*"}',  # idem
])
def test_a_selector_some_stream_satisfies_passes(selector: str) -> None:
    assert unmatched(selector, STREAMS) is None


def test_a_label_no_stream_has_is_named() -> None:
    problem = unmatched('{namespace="a", app="x"}', STREAMS)
    assert problem is not None and "label(s) app" in problem


def test_labels_set_only_on_different_streams_are_reported() -> None:
    problem = unmatched('{pod="p", level="error"}', STREAMS)
    assert problem is not None and "no single stream carries together" in problem
    assert "output pods: ['pod']" in problem and "output backend: ['level']" in problem


def test_loki_3_gives_every_stream_a_service_name(production: list[Manifest]) -> None:
    streams = agent_streams(Bundle(production))
    assert streams and all("service_name" in stream.labels for stream in streams)
    without = [m for m in production if not (m.kind == "StatefulSet" and m.name == "loki")]
    assert all("service_name" not in stream.labels for stream in agent_streams(Bundle(without)))
