"""The corpus of deliberately broken inputs (issue 3): every case must be caught, with its check id.

Each `tests/corpus/*.yaml` case applies one realistic mistake to the production render and names the
check id `leanvibe-stack validate` must report (exit 1).  A case file holds:

    expect: service.no-pods        # the check id that must be reported
    severity: error                # or warning: then validate runs with --strict
    tools: false                   # true: --require-tools with promtool/amtool (the case's `rule_tests`);
                                   # absent: --require-tools with neither tool on PATH
    message: "..."                 # optional: a substring the finding's message must contain
    kube_version: "1.29"           # optional: the --kube-version to validate against (default 1.36)
    rule_tests: [alerts_test.yml]  # optional, tools: true only: which profiles/rule-tests files promtool runs
    edits:                         # applied in order to a deep copy of the production objects
    - object: Kind/namespace/name  # (Kind/name when cluster-scoped)
      set: [path, as, a, list]     # keys and list indexes; parents must exist, a new final key is allowed
      value: ...
    - object: Kind/namespace/name
      delete: [path]               # the key or index must exist
    - object: Kind/namespace/name
      append: [path, to, a, list]  # the list must exist
      value: ...
      repeat: 300                  # optional, append only: append that many copies (a big object, a small case)
    - object: ConfigMap/namespace/name
      config: key                  # set/delete/append inside the YAML (JSON for .json) under data.<key>
      set: [path]
      value: ...
    - object: ConfigMap/namespace/name
      config: key
      text: "..."                  # or replace the whole text
    - add: {apiVersion: v1, kind: ConfigMap, ...}
    - remove: Kind/namespace/name

An edit that names no object, no path, or changes nothing fails the case: a case that edits nothing would
pass for the wrong reason.  The reported finding must also be new: the unmutated production render must not
report that check id for the same object and path (`test_the_production_render_is_clean` is the baseline).

`tests/corpus/invalid/` holds raw files that are not input at all: `validate FILE` must exit 2 and name it.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leanvibe_stack import output, yamlio
from leanvibe_stack.cli import app
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.validate import ingress, rbac, routing, thanos, tracing
from tests.conftest import REPO, require_tool

CORPUS = REPO / "tests" / "corpus"
INVALID = CORPUS / "invalid"
CASE_FILES = sorted(CORPUS.glob("*.yaml"))
RULE_TESTS = REPO / "profiles" / "rule-tests"
KUBE_VERSION = "1.36"
MIN_CASES = 25
RUNNER = CliRunner()

# Every check id the corpus must exercise at least once: the documentation of its coverage.
SCHEMA_CHECKS = ("schema.invalid", "schema.unknown-kind", "schema.version-fallback", "schema.unsupported-version",
                 "quantity.malformed", "object.duplicate")
CROSSREF_CHECKS = ("selector.mismatch", "service.no-pods", "service.target-port", "probe.port", "ref.configmap",
                   "ref.secret", "ref.pvc", "ref.serviceaccount", "ref.configmap-key", "mount.config-file",
                   "mount.rule-files", "mount.templates", "url.unresolved", "binding.role", "binding.subject")
TEMPLATE_CHECKS = ("rules.template", "alertmanager.template")
PROMQL_CHECKS = ("promql.parse", "metrics.unknown", "logql.unknown-label")
CORRELATION_CHECKS = ("grafana.unknown-datasource-uid", "grafana.trace-logs-tag", "grafana.trace-metrics-query",
                      "grafana.exemplars-not-stored")
SECURITY_CHECKS = ("security.pss", "security.credential", "security.placeholder", "image.unpinned")
TOOL_CHECKS = ("tool.amtool", "tool.promtool-rules", "tool.promtool-tests", "tool.not-run")
SIZE_CHECKS = ("configmap.too-large", "object.too-large-for-client-apply")
TRACING_CHECKS = tracing.CHECKS
COVERED = (*SCHEMA_CHECKS, *CROSSREF_CHECKS, *routing.CHECKS, *TEMPLATE_CHECKS, *PROMQL_CHECKS, *SECURITY_CHECKS,
           *TOOL_CHECKS, *SIZE_CHECKS, *TRACING_CHECKS, *CORRELATION_CHECKS, *rbac.CHECKS,
           *ingress.CHECKS, *thanos.CHECKS)
# Where one kind of mistake has several real-world forms, each form is a case of its own.
AT_LEAST = {"url.unresolved": 4, "security.pss": 5, "security.credential": 2, "rbac.dangerous": 3}

# Raw invalid inputs: file (or directory) -> whether the message must carry the parser's line number.
INVALID_INPUTS = {
    "not-yaml.yaml": True,
    "tab-indented.yaml": True,
    # A .json file is parsed as JSON: YAML would read `{"kind": }` as {"kind": null}.
    "not-json.json": True,
    # Duplicate keys are refused, as kubectl does (last-wins would hide the first value).
    "duplicate-key.yaml": True,
    "scalar-document.yaml": False,
    "list-document.yaml": False,
    "not-utf8.yaml": False,
    "no-manifests": False,
    # An un-rendered Helm template: `{{ x }}` is a mapping as a key, which kubectl refuses (never a crash).
    "unrendered-template.yaml": True,
}

CASE_KEYS = {"expect", "severity", "tools", "message", "kube_version", "rule_tests", "edits"}
EDIT_KEYS = {"object", "config", "set", "value", "delete", "append", "repeat", "text", "add", "remove"}
Path_ = list[str | int]
FindingKey = tuple[str, str, str]  # check, object, path


# --- cases ---------------------------------------------------------------------------------------------------------


class CaseError(AssertionError):
    """The case file itself is wrong: an unknown key, or an edit that names nothing or changes nothing."""


@dataclass(frozen=True)
class Case:
    name: str
    expect: str
    severity: str
    tools: str  # "off" | "on" | "absent"
    message: str | None
    kube_version: str
    rule_tests: tuple[str, ...]
    edits: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls, path: Path) -> Case:
        data = yamlio.load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise CaseError(f"{path.name}: a case is a mapping")
        unknown = set(data) - CASE_KEYS
        if unknown:
            raise CaseError(f"{path.name}: unknown keys {sorted(unknown)}")
        tools = {False: "off", True: "on", "absent": "absent"}.get(data.get("tools", False))
        if tools is None:
            raise CaseError(f"{path.name}: tools must be false, true or absent")
        severity = data.get("severity")
        if severity not in ("error", "warning"):
            raise CaseError(f"{path.name}: severity must be error or warning")
        edits = data.get("edits") or []
        if not isinstance(edits, list) or not all(isinstance(e, dict) for e in edits):
            raise CaseError(f"{path.name}: edits must be a list of mappings")
        if not edits and "kube_version" not in data and tools != "absent":
            raise CaseError(f"{path.name}: a case without edits proves nothing")
        rule_tests = tuple(str(t) for t in data.get("rule_tests") or [])
        if rule_tests and tools != "on":
            raise CaseError(f"{path.name}: rule_tests only apply with tools: true")
        return cls(path.stem, str(data["expect"]), str(severity), tools,
                   str(data["message"]) if "message" in data else None,
                   str(data.get("kube_version", KUBE_VERSION)), rule_tests, tuple(edits))


def _ref(manifest: Manifest) -> str:
    return f"{manifest.kind}/{manifest.namespace}/{manifest.name}" if manifest.namespace \
        else f"{manifest.kind}/{manifest.name}"


def _find(manifests: list[Manifest], ref: str) -> Manifest:
    found = [m for m in manifests if _ref(m) == ref]
    if len(found) != 1:
        raise CaseError(f"{ref}: expected one such object in the production render, found {len(found)}")
    return found[0]


def _path(edit: dict[str, Any], key: str) -> Path_:
    path = edit[key]
    if not isinstance(path, list) or not path or not all(isinstance(p, str | int) for p in path):
        raise CaseError(f"{key}: a path is a non-empty list of keys and list indexes, got {path!r}")
    return path


def _step(node: Any, part: str | int, trail: Path_) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    raise CaseError(f"path {trail + [part]} does not exist")


def _parent(root: Any, path: Path_) -> Any:
    node = root
    for i, part in enumerate(path[:-1]):
        node = _step(node, part, path[:i])
    return node


def _edit_tree(root: Any, edit: dict[str, Any]) -> None:
    """One set/delete/append inside a parsed object or config file; fails when it names or changes nothing."""
    operations = [op for op in ("set", "delete", "append") if op in edit]
    if len(operations) != 1:
        raise CaseError(f"an edit needs exactly one of set, delete, append (or text): {edit}")
    op = operations[0]
    path = _path(edit, op)
    parent, last = _parent(root, path), path[-1]
    if op == "delete":
        _step(parent, last, path[:-1])
        del parent[last]
        return
    if "value" not in edit:
        raise CaseError(f"{op} needs a value: {edit}")
    value = copy.deepcopy(edit["value"])
    repeat = edit.get("repeat", 1)
    if "repeat" in edit and (op != "append" or not isinstance(repeat, int) or repeat < 2):
        raise CaseError(f"repeat: an append's number of copies, at least 2: {edit}")
    if op == "append":
        target = _step(parent, last, path[:-1])
        if not isinstance(target, list):
            raise CaseError(f"append: {path} is not a list")
        target.extend(copy.deepcopy(value) for _ in range(repeat))
    elif isinstance(parent, dict):
        if parent.get(last, object()) == value:
            raise CaseError(f"set: {path} already is {value!r}")
        parent[last] = value
    else:
        if _step(parent, last, path[:-1]) == value:
            raise CaseError(f"set: {path} already is {value!r}")
        parent[last] = value


def _edit_config(manifest: Manifest, edit: dict[str, Any]) -> None:
    key = edit["config"]
    data = manifest.obj.get("data") or {}
    if key not in data:
        raise CaseError(f"{_ref(manifest)} has no data key {key!r}")
    if "text" in edit:
        if data[key] == edit["text"]:
            raise CaseError(f"text: {_ref(manifest)} data.{key} already is that text")
        data[key] = str(edit["text"])
        return
    is_json = str(key).endswith(".json")
    parsed = json.loads(data[key]) if is_json else yamlio.load(data[key])
    _edit_tree(parsed, edit)
    data[key] = json.dumps(parsed, indent=2) + "\n" if is_json else yamlio.dump(parsed)


def apply_edits(production: list[Manifest], edits: tuple[dict[str, Any], ...], source: str) -> list[Manifest]:
    """A deep copy of `production` with the edits applied in order."""
    manifests = copy.deepcopy(production)
    for edit in edits:
        unknown = set(edit) - EDIT_KEYS
        if unknown:
            raise CaseError(f"unknown edit keys {sorted(unknown)}: {edit}")
        if "add" in edit:
            if not isinstance(edit["add"], dict):
                raise CaseError(f"add: an object is a mapping: {edit}")
            manifests.append(Manifest(obj=copy.deepcopy(edit["add"]), component="corpus", source=source))
        elif "remove" in edit:
            manifests.remove(_find(manifests, str(edit["remove"])))
        elif "object" in edit:
            manifest = _find(manifests, str(edit["object"]))
            if "config" in edit:
                _edit_config(manifest, edit)
            else:
                _edit_tree(manifest.obj, edit)
        else:
            raise CaseError(f"an edit needs object, add or remove: {edit}")
    return manifests


# --- running validate ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    report: dict[str, Any]
    stderr: str

    @property
    def findings(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.report["findings"]
        return found


def _key(finding: dict[str, Any]) -> FindingKey:
    obj = finding["object"]
    where = f"{obj['kind']}/{obj['namespace']}/{obj['name']}" if obj else ""
    return finding["check"], where, finding["path"]


def run_validate(path: Path, *args: str) -> Outcome:
    result = RUNNER.invoke(app, ["validate", str(path), "--output", "json", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate crashed: {result.exception!r}\n{result.stderr}") from result.exception
    if result.exit_code not in (0, 1):  # 2: the stream we wrote is bad input; 3 and up: an internal error
        raise AssertionError(f"validate exited {result.exit_code}:\n{result.stdout}{result.stderr}")
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"no JSON report (exit {result.exit_code}):\n{result.stdout}{result.stderr}") from error
    return Outcome(result.exit_code, report, result.stderr)


def _write(manifests: list[Manifest], path: Path) -> Path:
    path.write_text(output.stream(manifests), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def baseline(production: list[Manifest], tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    stream = _write(production, tmp_path_factory.mktemp("baseline") / "production.yaml")
    return run_validate(stream, "--kube-version", KUBE_VERSION, "--no-tools")


def test_the_production_render_is_clean(baseline: Outcome) -> None:
    assert baseline.exit_code == 0, baseline.report
    assert baseline.report["summary"]["errors"] == 0
    assert not [f for f in baseline.findings if f["severity"] == "error"]


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_the_broken_input_is_caught(case_file: Path, production: list[Manifest], baseline: Outcome,
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = Case.load(case_file)
    stream = _write(apply_edits(production, case.edits, f"tests/corpus/{case_file.name}"), tmp_path / "stack.yaml")
    args = ["--kube-version", case.kube_version, *(["--strict"] if case.severity == "warning" else [])]
    if case.tools == "off":
        args.append("--no-tools")
    else:
        tests = tmp_path / "rule-tests"
        tests.mkdir()
        if case.tools == "on":
            require_tool("promtool")
            require_tool("amtool")
            require_tool("prometheus-blackbox-exporter")
            for name in case.rule_tests:
                shutil.copyfile(RULE_TESTS / name, tests / name)
        else:  # a CI image without the tools: PATH has neither
            empty = tmp_path / "bin"
            empty.mkdir()
            monkeypatch.setenv("PATH", str(empty))
        args += ["--require-tools", "--rule-tests", str(tests)]

    outcome = run_validate(stream, *args)

    shown = json.dumps(outcome.findings, indent=1)
    assert outcome.exit_code == 1, f"{case.name}: expected exit 1, got {outcome.exit_code}\n{shown}"
    known = {_key(f) for f in baseline.findings}
    new = [f for f in outcome.findings if _key(f) not in known]
    hits = [f for f in new if f["check"] == case.expect]
    assert hits, f"{case.name}: no new {case.expect} finding; new findings:\n{json.dumps(new, indent=1)}"
    assert any(f["severity"] == case.severity for f in hits), f"{case.name}: {case.expect} is not a {case.severity}"
    if case.message is not None:
        assert any(case.message in f["message"] for f in hits), \
            f"{case.name}: no {case.expect} message contains {case.message!r}:\n{json.dumps(hits, indent=1)}"


def test_no_case_expects_what_the_production_render_already_reports(baseline: Outcome) -> None:
    # A check id the baseline already reports proves something only through a new object/path (asserted per case);
    # keep that list short and explicit.
    reported = {f["check"] for f in baseline.findings}
    expected = {Case.load(p).expect for p in CASE_FILES}
    assert reported & expected <= {"routing.unreachable-route"}, reported & expected


# --- coverage -------------------------------------------------------------------------------------------------------


def _cases() -> Iterator[Case]:
    return (Case.load(p) for p in CASE_FILES)


def test_the_corpus_covers_every_check() -> None:
    cases = list(_cases())
    assert len(cases) >= MIN_CASES
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.expect] = counts.get(case.expect, 0) + 1
    missing = [check for check in COVERED if check not in counts]
    assert not missing, f"no corpus case for {missing}"
    thin = {check: counts[check] for check, least in AT_LEAST.items() if counts[check] < least}
    assert not thin, f"fewer cases than the real-world forms of the mistake: {thin}"
    unlisted = sorted(set(counts) - set(COVERED))
    assert not unlisted, f"cases expect check ids the coverage list does not name: {unlisted}"


def test_every_case_says_what_it_breaks() -> None:
    for path in CASE_FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, f"{path.name}: start with a comment saying what breaks"


@pytest.mark.parametrize("op", ["missing object", "missing path", "no change", "bad index", "repeat on set"])
def test_an_edit_that_names_nothing_fails_loudly(op: str, production: list[Manifest]) -> None:
    edits: dict[str, dict[str, Any]] = {
        "missing object": {"object": "Service/leanvibe-monitoring/nope", "set": ["spec", "type"], "value": "x"},
        "missing path": {"object": "Service/leanvibe-monitoring/grafana", "set": ["spec", "nope", "x"], "value": 1},
        "no change": {"object": "Namespace/leanvibe-monitoring", "set": ["kind"], "value": "Namespace"},
        "bad index": {"object": "ConfigMap/leanvibe-monitoring/alertmanager-config", "config": "alertmanager.yml",
                      "delete": ["receivers", 99]},
        "repeat on set": {"object": "Service/leanvibe-monitoring/grafana", "set": ["spec", "type"], "value": "x",
                          "repeat": 3},
    }
    with pytest.raises(CaseError):
        apply_edits(production, (edits[op],), "test")


# --- inputs that are not manifests at all ---------------------------------------------------------------------------


def test_every_invalid_input_is_listed() -> None:
    assert {p.name for p in INVALID.iterdir()} == set(INVALID_INPUTS)


@pytest.mark.parametrize("name", sorted(INVALID_INPUTS))
def test_an_invalid_input_is_an_input_error(name: str) -> None:
    path = INVALID / name
    result = RUNNER.invoke(app, ["validate", str(path), "--no-tools", "--kube-version", KUBE_VERSION])
    assert result.exit_code == 2, f"{name}: exit {result.exit_code}\n{result.stdout}{result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert str(path) in result.stderr
    if INVALID_INPUTS[name]:
        assert re.search(re.escape(str(path)) + r":\d+", result.stderr), result.stderr
