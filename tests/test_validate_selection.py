"""`validate --checks/--skip/--external/--list-checks` (issue 16), the check registry, and the input loader."""

from __future__ import annotations

import difflib
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leanvibe_stack.cli import app
from leanvibe_stack.validate.inputs import load_manifests
from leanvibe_stack.validate.promql import CATALOGUES, catalogue
from leanvibe_stack.validate.selection import NOT_THIRD_PARTY, all_ids
from leanvibe_stack.validate.suggest import Index
from tests.conftest import REPO

RUNNER = CliRunner()
FOREIGN = REPO / "tests" / "corpus" / "foreign"
# Findings of several groups under the default checks: probe.port, service.target-port and security.pss.
MIXED = FOREIGN / "named-port-missing.yaml"

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: mailer, namespace: shop}
spec:
  selector: {matchLabels: {app: mailer}}
  template:
    metadata: {labels: {app: mailer}}
    spec:
      serviceAccountName: mailer
      containers:
      - name: mailer
        image: registry.example.com/shop/mailer:1.0.0
        envFrom:
        - secretRef: {name: smtp-credentials}
        - configMapRef: {name: mailer-settings}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: mailer-reads-settings, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: settings-reader}
subjects:
- {kind: ServiceAccount, name: mailer, namespace: shop}
"""
EXTERNAL_REFS = ("ref.secret", "ref.configmap", "ref.serviceaccount", "binding.role", "binding.subject")


def _run(*args: str) -> tuple[int, dict[str, Any], str]:
    result = RUNNER.invoke(app, ["validate", "--no-tools", "--kube-version", "1.36", "--output", "json", *args])
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return result.exit_code, json.loads(result.stdout), result.stderr


def _checks(report: dict[str, Any]) -> set[str]:
    return {finding["check"] for finding in report["findings"]}


# --- --checks / --skip ---------------------------------------------------------------------------------------------


def test_without_a_selection_every_group_reports() -> None:
    _, report, _ = _run(str(MIXED))
    assert {"probe.port", "service.target-port", "security.pss"} <= _checks(report)


@pytest.mark.parametrize(("args", "expected"), [
    (["--checks", "probe"], {"probe.port"}),
    (["--checks", "probe.port,service"], {"probe.port", "service.target-port"}),
    (["--checks", "probe", "--checks", "service.target-port"], {"probe.port", "service.target-port"}),
    (["--checks", "pss"], {"security.pss"}),
    (["--skip", "security"], {"probe.port", "service.target-port"}),
    (["--checks", "third-party"], {"probe.port", "service.target-port"}),
    (["--checks", "third-party", "--skip", "service"], {"probe.port"}),
])
def test_checks_and_skip_choose_ids_groups_and_sets(args: list[str], expected: set[str]) -> None:
    code, report, _ = _run(str(MIXED), *args)
    assert _checks(report) == expected
    assert code == 1 and report["summary"]["errors"] == len(report["findings"])


def test_a_skipped_error_does_not_fail_the_run() -> None:
    code, report, _ = _run(str(MIXED), "--skip", "probe,service,security")
    assert code == 0 and report["findings"] == []


def test_skipping_the_tools_does_not_run_them() -> None:
    result = RUNNER.invoke(app, ["validate", str(MIXED), "--kube-version", "1.36", "--output", "json",
                                 "--require-tools", "--skip", "tool", "--checks", "probe"])
    report = json.loads(result.stdout)
    assert report["tools"] == [] and _checks(report) == {"probe.port"}


def test_the_third_party_set_leaves_out_only_this_stacks_policies() -> None:
    assert set(NOT_THIRD_PARTY) <= set(all_ids())
    result = RUNNER.invoke(app, ["validate", "--list-checks"])
    assert result.exit_code == 0
    assert f"third-party\tset: {len(all_ids()) - len(NOT_THIRD_PARTY)} checks" in result.stdout


def test_list_checks_names_every_id_with_its_group() -> None:
    result = RUNNER.invoke(app, ["validate", "--list-checks"])
    lines = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert all(lines[check] == check.split(".")[0] for check in all_ids())


def test_every_check_id_is_in_the_readme_table_and_the_registry() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Check ids", 1)[1].split("\n### ", 1)[0]
    documented = {name for row in table.splitlines() if row.startswith("| `")
                  for name in re.findall(r"`([a-z0-9-]+\.[a-z0-9.-]+)`", row.split("|")[1])}
    diff_only = {"loki.schema-period-started"}  # reported by `diff`, which sees both sides
    assert documented - diff_only == set(all_ids())


# --- --external ----------------------------------------------------------------------------------------------------


def _app(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(APP, encoding="utf-8")
    return path


def test_objects_outside_the_manifests_are_reported_without_a_declaration(tmp_path: Path) -> None:
    code, report, _ = _run(str(_app(tmp_path)), "--checks", "ref,binding")
    assert code == 1 and _checks(report) == set(EXTERNAL_REFS)


def test_an_external_list_declares_what_the_cluster_has(tmp_path: Path) -> None:
    declared = tmp_path / "cluster.yaml"
    declared.write_text("# what the platform team creates\n- Secret/shop/smtp-credentials\n"
                        "- ConfigMap/shop/mailer-settings\n- ServiceAccount/shop/mailer\n"
                        "- ClusterRole/settings-reader\n", encoding="utf-8")
    code, report, _ = _run(str(_app(tmp_path)), "--checks", "ref,binding", "--external", str(declared))
    assert code == 0 and report["findings"] == []


def test_external_objects_can_be_kubectl_output(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"  # `kubectl get secrets,configmaps -n shop -o yaml`, abridged
    secrets.write_text("apiVersion: v1\nkind: List\nitems:\n"
                       "- {apiVersion: v1, kind: Secret, metadata: {name: smtp-credentials, namespace: shop}}\n"
                       "- {apiVersion: v1, kind: ConfigMap, metadata: {name: mailer-settings, namespace: shop}}\n",
                       encoding="utf-8")
    rbac = tmp_path / "rbac.yaml"
    rbac.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: mailer, namespace: shop}\n---\n"
                    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: settings-reader}\n",
                    encoding="utf-8")
    code, report, _ = _run(str(_app(tmp_path)), "--checks", "ref,binding", "--external", str(secrets),
                           "--external", str(rbac))
    assert code == 0 and report["findings"] == []


def test_an_external_object_counts_only_in_its_namespace(tmp_path: Path) -> None:
    declared = tmp_path / "cluster.yaml"
    declared.write_text("- Secret/billing/smtp-credentials\n", encoding="utf-8")
    _, report, _ = _run(str(_app(tmp_path)), "--checks", "ref.secret", "--external", str(declared))
    assert _checks(report) == {"ref.secret"}


# --- reading manifests as kubectl does ----------------------------------------------------------------------------


def test_scalars_resolve_as_go_yaml_resolves_them(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nvalues: [=, y, N, 1e3, 0o17, 017, "
                    "0x1F, 1_000, 12:30, 2024-01-01, ~, yes, off, 3.5, .inf]\n", encoding="utf-8")
    [manifest] = load_manifests([str(path)])
    assert manifest.obj["values"] == ["=", True, False, 1000.0, 15, 15, 31, 1000, "12:30", "2024-01-01", None,
                                      True, False, 3.5, float("inf")]


# --- "did you mean" ----------------------------------------------------------------------------------------------


def _near_misses(names: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    misses = []
    for i in range(count):
        name = rng.choice(names)
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = rng.randrange(len(name))
            edit = rng.choice("dis")
            name = name[:at] + name[at + 1:] if edit == "d" else \
                name[:at] + "x" + name[at:] if edit == "i" else name[:at] + "q" + name[at + 1:]
        misses.append(name + rng.choice(("", "_total", f"_{i}")))
    return misses


def test_the_index_suggests_what_difflib_suggests() -> None:
    names = sorted(set().union(*(catalogue(name) for name in CATALOGUES)))
    index = Index(names)
    for query in [*_near_misses(names, 60, seed=16), "go_thrads_total", "zzz", "up1"]:
        expected = difflib.get_close_matches(query, names, n=1, cutoff=0.6)
        assert index.closest(query) == (expected[0] if expected else None), query
    # A name that misspells nothing known: difflib may still find a name over its cutoff (with the Thanos
    # catalogue, `tenant_signups_total` -> `thanos_shipper_uploads_total`, shared `_s`, `ups`, `_total`); the
    # index may say nothing there, but never names a different metric.
    for query in ["tenant_signups_total", "checkout_latency_seconds_bucket", "revenue_usd"]:
        expected = difflib.get_close_matches(query, names, n=1, cutoff=0.6)
        assert index.closest(query) in (*expected, None), query


def test_an_external_service_resolves_a_url(tmp_path: Path) -> None:
    stack = tmp_path / "grafana.yaml"
    stack.write_text("""\
apiVersion: v1
kind: ConfigMap
metadata: {name: datasources, namespace: obs}
data:
  datasources.yaml: |
    apiVersion: 1
    datasources:
    - {name: Prometheus, type: prometheus, uid: prom, url: "http://prometheus.monitoring.svc:9090"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: obs}
spec:
  selector: {matchLabels: {app: grafana}}
  template:
    metadata: {labels: {app: grafana}}
    spec:
      containers:
      - name: grafana
        image: docker.io/grafana/grafana:12.4.10
        volumeMounts: [{name: datasources, mountPath: /etc/grafana/provisioning/datasources}]
      volumes: [{name: datasources, configMap: {name: datasources}}]
""", encoding="utf-8")
    _, report, _ = _run(str(stack), "--checks", "url")
    assert _checks(report) == {"url.unresolved"} and "--external" in report["findings"][0]["message"]
    declared = tmp_path / "cluster.yaml"
    declared.write_text("- Service/monitoring/prometheus\n", encoding="utf-8")
    code, report, _ = _run(str(stack), "--checks", "url", "--external", str(declared))
    assert code == 0 and report["findings"] == []
