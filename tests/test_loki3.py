"""Loki 3 (issue 13): the 3.7 config model, the structured-metadata rule, and the schema cut-over checks."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from leanvibe_stack import yamlio
from leanvibe_stack.diff import compare
from leanvibe_stack.diff.stored_data import CHECK, refusals
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.loki import LokiConfig
from leanvibe_stack.profiles import load_profile
from leanvibe_stack.render import render_stack
from leanvibe_stack.validate import loki as loki_check
from leanvibe_stack.validate.bundle import Bundle
from tests.conftest import PROFILES, find, invoke

CHECK_DAY = datetime.date(2026, 12, 5)
Data = dict[str, Any]


def production_loki() -> Data:
    """The production profile's loki.config, as the model receives it."""
    return load_profile("production", PROFILES).stack.loki.config.model_dump(by_alias=True, exclude_none=True)


def put(data: Data, path: str, value: Any) -> Data:
    changed = copy.deepcopy(data)
    *parents, leaf = path.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return changed


def loki_yaml(manifests: list[Manifest]) -> Data:
    data: Data = yamlio.load(find(manifests, "ConfigMap", "loki-config")["data"]["loki.yaml"])
    return data


# --- the pin and the periods the profiles ship ---------------------------------------------------------------


def test_production_runs_loki_3_7_from_docker_hub(production: list[Manifest]) -> None:
    container = find(production, "StatefulSet", "loki")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/grafana/loki:3.7.6"
    assert container["args"] == ["-config.file=/etc/loki/config/loki.yaml", "-target=all"]


def test_stored_periods_stay_and_new_data_goes_to_tsdb_v13_from_a_future_midnight(production: list[Manifest]) -> None:
    old, new = loki_yaml(production)["schema_config"]["configs"]
    # The seed's period, byte for byte what Loki 2.9 wrote with.
    assert old == {"from": "2023-01-01", "store": "boltdb-shipper", "object_store": "s3", "schema": "v11",
                   "index": {"prefix": "index_", "period": "24h"}}
    assert (new["store"], new["schema"], new["index"]["period"]) == ("tsdb", "v13", "24h")
    assert new["index"]["prefix"] != old["index"]["prefix"]
    assert datetime.date.fromisoformat(new["from"]) > CHECK_DAY


def test_structured_metadata_waits_for_the_tsdb_period(production: list[Manifest]) -> None:
    assert loki_yaml(production)["limits_config"]["allow_structured_metadata"] is False


@pytest.mark.parametrize("profile", ["production", "staging", "development"])
def test_shipped_profiles_raise_no_loki_finding_on_the_check_day(profile: str, rendered: dict[str, list[Manifest]]
                                                                  ) -> None:
    assert loki_check.check(Bundle(rendered[profile]), CHECK_DAY) == []


# --- the model follows the 3.7 reference ----------------------------------------------------------------------


@pytest.mark.parametrize("path, value, message", [
    ("storage_config.boltdb_shipper.shared_store", "s3", "'shared_store' is not accepted: removed in Loki 3.0"),
    ("storage_config.tsdb_shipper.shared_store_key_prefix", "index/", "set index.path_prefix"),
    ("storage_config.tsdb_shipper.use_boltdb_shipper_as_backup", False, "'use_boltdb_shipper_as_backup'"),
    ("compactor.shared_store", "s3", "removed in Loki 3.0"),
    ("compactor.deletion_mode", "filter-and-delete", "limits_config.deletion_mode"),
    ("limits_config.enforce_metric_name", False, "'enforce_metric_name' is not accepted: removed in Loki 3.0"),
    ("storage_config.aws.sse_encryption", True, "removed in Loki 3.0; use sse: {type: SSE-S3}"),
    ("ingester.max_transfer_retries", 0, "replays its WAL"),
    ("query_range.split_queries_by_interval", "1h", "limits_config.split_queries_by_interval"),
    ("chunk_store_config", {"max_look_back_period": "0s"}, "limits_config.max_query_lookback"),
    ("ruler.enable_alertmanager_v2", False, "Alertmanager API v1"),
])
def test_settings_loki_3_removed_are_refused_with_what_replaces_them(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LokiConfig.model_validate(put(production_loki(), path, value))
    assert message in str(caught.value)


def test_settings_the_3_7_reference_still_has_are_accepted() -> None:
    data = put(production_loki(), "frontend.max_outstanding_per_tenant", 2048)  # still in 3.7, default 2048
    data = put(data, "ruler.enable_alertmanager_v2", True)
    assert LokiConfig.model_validate(data).frontend is not None


def test_retention_needs_a_delete_request_store() -> None:
    data = copy.deepcopy(production_loki())
    del data["compactor"]["delete_request_store"]
    with pytest.raises(ValidationError, match="retention_enabled: true needs delete_request_store"):
        LokiConfig.model_validate(data)


def test_structured_metadata_needs_a_tsdb_v13_period_to_come() -> None:
    only_boltdb = copy.deepcopy(production_loki())
    only_boltdb["schema_config"]["configs"].pop()
    with pytest.raises(ValidationError, match=r"newest schema period \(from 2023-01-01\) is boltdb-shipper/v11"):
        LokiConfig.model_validate(put(only_boltdb, "limits_config.allow_structured_metadata", True))
    del only_boltdb["limits_config"]["allow_structured_metadata"]  # Loki 3's default is true
    with pytest.raises(ValidationError, match="refuses to start"):
        LokiConfig.model_validate(only_boltdb)
    # Turned off, Loki 3 starts on the old period alone (validate still warns: loki.schema-not-v13).
    LokiConfig.model_validate(put(only_boltdb, "limits_config.allow_structured_metadata", False))


# --- validate: the period active on the check date ------------------------------------------------------------


def render(overrides: list[str], profile: str = "production") -> list[Manifest]:
    return render_stack(load_profile(profile, PROFILES, overrides).stack)


def test_loki_3_refuses_to_start_while_the_active_period_is_older_than_v13() -> None:
    manifests = render(["loki.config.limits_config.allow_structured_metadata=true"])
    [finding] = loki_check.check(Bundle(manifests), CHECK_DAY)
    assert (finding.check, finding.severity) == ("loki.structured-metadata-schema", "error")
    assert finding.path == "loki.yaml:schema_config.configs[0]"
    assert "active on 2026-12-05 (from 2023-01-01) is boltdb-shipper/v11" in finding.message
    # The day the tsdb/v13 period starts, it is the active one and Loki 3 starts.
    tsdb_from = datetime.date.fromisoformat(loki_yaml(manifests)["schema_config"]["configs"][1]["from"])
    assert loki_check.check(Bundle(manifests), tsdb_from) == []
    assert loki_check.check(Bundle(manifests), tsdb_from - datetime.timedelta(days=1)) != []


def test_loki_2_images_are_not_held_to_the_loki_3_rule() -> None:
    manifests = render(["loki.config.limits_config.allow_structured_metadata=true", "loki.image.tag=2.9.17"])
    assert loki_check.check(Bundle(manifests), CHECK_DAY) == []


def test_a_newest_period_other_than_tsdb_v13_is_a_warning(tmp_path: Path) -> None:
    profile = tmp_path / "no-tsdb.yaml"
    profile.write_text(f"extends: {PROFILES / 'production.yaml'}\n" + """\
loki:
  config:
    schema_config:
      configs:
      - {from: "2023-01-01", store: boltdb-shipper, object_store: s3, schema: v11, index: {prefix: index_, period: 24h}}
""")
    [finding] = loki_check.check(Bundle(render([], str(profile))), CHECK_DAY)
    assert (finding.check, finding.severity) == ("loki.schema-not-v13", "warning")
    assert "newest schema period (from 2023-01-01) is boltdb-shipper/v11" in finding.message


def test_validate_cli_fails_on_the_structured_metadata_rule() -> None:
    result = invoke("validate", "--profile", "production", "--no-tools",
                    "--set", "loki.config.limits_config.allow_structured_metadata=true")
    assert result.exit_code == 1 and "loki.structured-metadata-schema" in result.stdout


# --- diff: a period that has started is never rewritten -------------------------------------------------------


def configmap(configs: list[Data]) -> Manifest:
    text = yamlio.dump({"schema_config": {"configs": configs}})
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "loki-config", "namespace": "ns"},
           "data": {"loki.yaml": text}}
    return Manifest(obj, "test", "loki")


def period(start: str, store: str = "tsdb", schema: str = "v13") -> Data:
    return {"from": start, "store": store, "object_store": "s3", "schema": schema,
            "index": {"prefix": "index_", "period": "24h"}}


SEED = period("2023-01-01", "boltdb-shipper", "v11")


@pytest.mark.parametrize("before, after, refused", [
    ([SEED], [SEED, period("2027-01-12")], []),  # a future period: safe
    ([SEED, period("2027-01-01")], [SEED, period("2027-01-12")], []),  # moved while still in the future
    ([SEED], [period("2023-01-01", "boltdb-shipper", "v12")], ["configs[0] (from 2023-01-01)"]),  # changed
    ([SEED, period("2026-12-01")], [SEED], ["configs[1] (from 2026-12-01)"]),  # a started period removed
    ([SEED], [SEED, period("2026-12-05")], ["configs[1] (from 2026-12-05)"]),  # starts on the check day
    ([SEED, period("2026-12-01")], [SEED, period("2027-01-12")], ["configs[1] (from 2026-12-01)"]),  # moved late
])
def test_a_started_period_may_not_change(before: list[Data], after: list[Data], refused: list[str]) -> None:
    found = refusals(configmap(before), configmap(after), CHECK_DAY)
    assert [r.field.removeprefix("data[loki.yaml] schema_config.") for r in found] == refused
    assert all(r.check == CHECK for r in found)


def test_the_shipped_cut_over_is_not_refused(production: list[Manifest], tmp_path: Path) -> None:
    earlier = tmp_path / "early.yaml"
    earlier.write_text(f"extends: {PROFILES / 'production.yaml'}\n" + """\
loki:
  config:
    schema_config:
      configs:
      - {from: "2023-01-01", store: boltdb-shipper, object_store: s3, schema: v11, index: {prefix: index_, period: 24h}}
      - {from: "2026-12-01", store: tsdb, object_store: s3, schema: v13, index: {prefix: tsdb_index_, period: 24h}}
""")
    assert compare(production, production, today=CHECK_DAY).refused == []
    comparison = compare(production, render([], str(earlier)), today=CHECK_DAY)
    [change] = comparison.refused
    assert [r.check for r in change.refusals] == [CHECK]
    result = invoke("diff", "production", str(earlier), "--fail-on-immutable")
    assert result.exit_code == 1 and f"REFUSED ({CHECK}): ConfigMap/leanvibe-monitoring/loki-config" in result.stdout
