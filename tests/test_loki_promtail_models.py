"""Loki and Promtail config models: the production fragment passes, every seed bug is refused."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from leanvibe_stack.models import loki
from leanvibe_stack.models.loki import LokiConfig, render_loki_config

# Same content as the production profile's loki config fragment.
FRAGMENT = Path(__file__).parent / "assets" / "loki_promtail.yaml"

Data = dict[str, Any]
Mutation = Callable[[Data], None]


def _fragment() -> Data:
    data: Data = yaml.safe_load(FRAGMENT.read_text(encoding="utf-8"))
    return data


def _loki_data() -> Data:
    return copy.deepcopy(_fragment()["loki_config"])


def _loki() -> LokiConfig:
    return LokiConfig.model_validate(_loki_data())


def _render_loki(join: list[str]) -> dict[str, Any]:
    return render_loki_config(
        _loki(),
        memberlist_join=join,
        alertmanager_url="http://alertmanager:9093",
        alertmanager_discovery=False,
    )


# --- (a) the fragment validates and renders --------------------------------------------------


def test_fragment_validates() -> None:
    config = _loki()
    assert [period.store for period in config.schema_config.configs] == ["boltdb-shipper", "tsdb"]


def test_loki_renders_upstream_keys_in_block_order() -> None:
    rendered = _render_loki([])
    assert list(rendered) == [
        "auth_enabled",
        "server",
        "common",
        "query_scheduler",
        "frontend",
        "query_range",
        "ingester",
        "schema_config",
        "storage_config",
        "compactor",
        "limits_config",
        "ruler",
        "analytics",
    ]
    period = rendered["schema_config"]["configs"][0]
    assert period["from"] == "2023-01-01" and period["schema"] == "v11"
    assert rendered["query_range"]["results_cache"]["cache"] == {
        "embedded_cache": {"enabled": True, "max_size_mb": 100, "ttl": "1h"}
    }
    assert "${" not in yaml.safe_dump(rendered)


def test_rendered_files_are_plain_yaml() -> None:
    loki_text = yaml.safe_dump(_render_loki(["loki-memberlist:7946"]), sort_keys=False)
    assert "!!python" not in loki_text
    assert "${" not in loki_text


def test_every_field_is_documented() -> None:
    for module in (loki,):
        for name, model in inspect.getmembers(module, inspect.isclass):
            if issubclass(model, BaseModel) and model.__module__ == module.__name__:
                undocumented = [f for f, info in model.model_fields.items() if not info.description]
                assert not undocumented, f"{name}: {undocumented}"


# --- (b) every seed bug is refused -----------------------------------------------------------


def _set(path: str, value: Any) -> Mutation:
    """Mutation setting a dotted path (creating mappings on the way)."""

    def mutate(data: Data) -> None:
        *parents, leaf = path.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: Data) -> None:
        *parents, leaf = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        del node[leaf]

    return mutate


def _swap_periods(data: Data) -> None:
    data["schema_config"]["configs"].reverse()


def _unquoted_date(data: Data) -> None:
    data["schema_config"]["configs"][0]["from"] = yaml.safe_load("2023-01-01")  # a datetime.date


LOKI_BUGS: dict[str, tuple[Mutation, str]] = {
    "results_cache.cache.filesystem": (
        _set("query_range.results_cache.cache.filesystem", {"directory": "/loki/query-cache"}),
        "'filesystem' is not accepted",
    ),
    "max_transfer_retries": (
        _set("ingester.max_transfer_retries", 0),
        "'max_transfer_retries' is not accepted",
    ),
    "lifecycler.address": (_set("ingester.lifecycler", {"address": "127.0.0.1"}), "'lifecycler'"),
    "boltdb_shipper.shared_store": (
        _set("storage_config.boltdb_shipper.shared_store", "s3"),
        "'shared_store' is not accepted",
    ),
    "compactor.shared_store": (_set("compactor.shared_store", "s3"), "'shared_store' is not accepted"),
    "enforce_metric_name": (
        _set("limits_config.enforce_metric_name", False),
        "'enforce_metric_name' is not accepted",
    ),
    "sse_encryption": (_set("storage_config.aws.sse_encryption", True), "'sse_encryption' is not accepted"),
    "access_key_id": (
        _set("storage_config.aws.access_key_id", "${AWS_ACCESS_KEY_ID}"),
        "'access_key_id' is not accepted",
    ),
    "secret_access_key": (
        _set("storage_config.aws.secret_access_key", "${AWS_SECRET_ACCESS_KEY}"),
        "'secret_access_key' is not accepted",
    ),
    "table_manager": (
        _set("table_manager", {"retention_deletes_enabled": True, "retention_period": "30d"}),
        "'table_manager' is not accepted",
    ),
    "chunk_store_config": (
        _set("chunk_store_config", {"max_look_back_period": "0s"}),
        "'chunk_store_config' is not accepted",
    ),
    "common.storage": (_set("common.storage", {"filesystem": {}}), "'storage' is not accepted"),
    "common.ring": (_set("common.ring", {"kvstore": {"store": "inmemory"}}), "'ring' is not accepted"),
    "ruler.alertmanager_url": (
        _set("ruler.alertmanager_url", "http://alertmanager:9093"),
        "'alertmanager_url' is not accepted",
    ),
    "ruler rule_path == storage dir": (_set("ruler.rule_path", "/loki/rules"), "rule_path must differ"),
    "unquoted date": (_unquoted_date, "Input should be a valid string"),
    "unsorted periods": (_swap_periods, "sorted by 'from'"),
    "tsdb without tsdb_shipper": (
        _delete("storage_config.tsdb_shipper"),
        "needs storage_config.tsdb_shipper",
    ),
    "s3 period without aws": (_delete("storage_config.aws"), "object_store s3 is not in storage_config"),
    "day-unit Go duration": (_set("ingester.chunk_idle_period", "1d"), "not a Go duration"),
    "placeholder": (_set("storage_config.aws.endpoint", "${S3_ENDPOINT}"), "placeholder"),
}


@pytest.mark.parametrize("bug", list(LOKI_BUGS))
def test_loki_seed_bug_is_refused(bug: str) -> None:
    mutate, message = LOKI_BUGS[bug]
    data = _loki_data()
    mutate(data)
    with pytest.raises(ValidationError) as caught:
        LokiConfig.model_validate(data)
    assert message in str(caught.value)


def test_refusal_points_at_the_offending_block() -> None:
    data = _loki_data()
    _set("storage_config.boltdb_shipper.shared_store", "s3")(data)
    with pytest.raises(ValidationError) as caught:
        LokiConfig.model_validate(data)
    assert caught.value.errors()[0]["loc"] == ("storage_config", "boltdb_shipper")


# --- (c) the ring: memberlist only with join members ----------------------------------------


def test_single_replica_uses_inmemory_ring_without_memberlist() -> None:
    rendered = _render_loki([])
    assert rendered["common"]["ring"] == {"kvstore": {"store": "inmemory"}}
    assert "memberlist" not in rendered


def test_join_members_switch_the_ring_to_memberlist() -> None:
    join = ["loki-memberlist.leanvibe-monitoring.svc.cluster.local:7946"]
    rendered = _render_loki(join)
    assert rendered["common"]["ring"] == {"kvstore": {"store": "memberlist"}}
    assert rendered["memberlist"] == {"join_members": join}
    assert list(rendered).index("memberlist") == list(rendered).index("common") + 1


def test_replication_without_memberlist_is_refused() -> None:
    data = _loki_data()
    data["common"]["replication_factor"] = 2
    with pytest.raises(ValueError, match="memberlist"):
        render_loki_config(
            LokiConfig.model_validate(data),
            memberlist_join=[],
            alertmanager_url="http://alertmanager:9093",
            alertmanager_discovery=False,
        )


def test_ruler_gets_the_derived_alertmanager() -> None:
    url = "http://_http._tcp.alertmanager-headless.leanvibe-monitoring.svc.cluster.local"
    rendered = render_loki_config(
        _loki(), memberlist_join=[], alertmanager_url=url, alertmanager_discovery=True
    )
    assert rendered["ruler"]["alertmanager_url"] == url
    assert rendered["ruler"]["enable_alertmanager_discovery"] is True


def test_placeholder_alertmanager_url_is_refused() -> None:
    with pytest.raises(ValueError, match="alertmanager_url"):
        render_loki_config(
            _loki(), memberlist_join=[], alertmanager_url="${ALERTMANAGER_URL}", alertmanager_discovery=False
        )
