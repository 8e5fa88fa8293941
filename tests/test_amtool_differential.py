"""Differential test: routing, matchers and config verdicts against the real amtool (issue 16).

Seeded random routing trees (nested routes, `continue`, inherited receivers, legacy `match`/`match_re`,
every matcher syntax, Go regexes chosen where Go and Python differ, a few configs Alertmanager refuses)
and random label-set arguments are judged by us and by `amtool check-config` / `amtool config routes
test`; every verdict must agree: the config accepted or refused, the receivers in order, the exit status
of `--verify.receivers`, a label argument accepted or refused.  A fixed corpus holds the cases issue 16
found.  amtool is required (a failure under CI=true, as everywhere in the suite).

The amtool here is Debian's 0.25; the stack deploys Alertmanager 0.34.  We follow 0.34, so inputs on
which the two versions differ by design are left out of the comparison (and pinned to 0.34 in
`test_where_034_differs_from_025_we_follow_034`):

* input only 0.34's UTF-8 matcher parser reads (quoted or non-classic label names such as `1abc` or
  `foo.bar`; an unquoted value with invalid UTF-8) — 0.25 has only the classic parser;
* group_by label names beyond `[a-zA-Z_][a-zA-Z0-9_]*` (0.34 takes any UTF-8 name);
* `(?<name>...)` (Go 1.22+, which 0.34 is built with) and Unicode 14/15 scripts such as `\\p{Kawi}` (newer
  Unicode tables than 0.25's Go has) are never generated;
* a label argument we refuse exits 2 (the CLI's usage-error code), amtool exits 1: compared as "refused".
"""

from __future__ import annotations

import copy
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from leanvibe_stack import yamlio
from leanvibe_stack.commands.routes import LabelError, amtool_receivers, parse_labels
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.models.matchers import MatcherError, classic_matcher, parse_matcher, parse_matchers
from leanvibe_stack.validate import routing
from leanvibe_stack.validate.bundle import Bundle
from tests.conftest import require_tool

SEED = 16
TREES = 120
LABEL_SETS_PER_TREE = 5
# validate's errors that mean "Alertmanager refuses this config" (the others are our own advice)
REFUSALS = {"routing.unknown-receiver", "routing.duplicate-receiver", "routing.no-root-receiver",
            "routing.root-matchers", "routing.root-continue", "routing.group-by", "routing.invalid-matcher",
            "rules.duration"}

NAMES = ["a", "b", "sev", "x:y"]
VALUES = ["", "x", "y", "xy", "x y", "é", "İ", "ı", "i", "K", "\u212a", "x\u00a0", "\u00a0", "a\nb", "30", "ſ",
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Ωμέγα", "٣", "x,y", 'q"t']
# Go regexes, many where Python's `re` and Go disagree (Unicode classes, $, case folding, syntax)
REGEXES = ["x|y", ".*", ".+", "\\S+", "\\s*", "\\w+", "\\W", "\\d+", "\\D+", "\\b.*", "(?i)i", "(?i)k",
           "(?i)x.*", "(?i)ſ", "[[:alpha:]]+", "[[:^alpha:]]+", "\\pL+", "\\p{Greek}+", "\\PL*", "x$", "a$",
           "(a+)+b", "(a|aa)+", "[^x]*", "\\x{e9}", "é?", "(?U)x+", "(?i-i)X", "\\101", "\\Qx y\\E", "[\\d,]+",
           "(?s)a.b", "a.b", "x{2}", "(?m)^x$", "\\A30\\z", "[[:space:]]", "\\v", "\\x{a0}", "."]
# refused by Go (and so by Alertmanager); C++ RE2 or Python's re accept some of them
BAD_REGEXES = ["a{1001}", "a++", "\\u0041", "[\\b]", "(?-)a", "\\C", "(?P<é>x)", "x(", "\\8", "(?=x)"]
RECEIVERS = ["r0", "r1", "r2", "r3"]


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


def matcher_text(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    op = rng.choice(["=", "!=", "=~", "!~"])
    value = regex(rng) if "~" in op else rng.choice(VALUES)
    if rng.random() < 0.2 and value and not any(c in value for c in ',"\\{}\n') and value.strip() == value:
        return f"{name}{rng.choice(['', ' '])}{op}{value}"  # unquoted (classic reads the rest of the entry)
    return f"{name}{op}{quoted(value)}"


def regex(rng: random.Random) -> str:
    return rng.choice(BAD_REGEXES if rng.random() < 0.02 else REGEXES)


def matchers_entry(rng: random.Random) -> str:
    """One `matchers:` line: one matcher, several, or several in braces."""
    parts = [matcher_text(rng) for _ in range(rng.choice([1, 1, 1, 2]))]
    if len(parts) > 1 and any(p.count('"') == 0 for p in parts):  # an unquoted value would swallow the comma
        parts = parts[:1]
    text = ", ".join(parts)
    return "{" + text + "}" if rng.random() < 0.2 else text


def route(rng: random.Random, depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    if rng.random() < 0.7:
        node["receiver"] = rng.choice(RECEIVERS)
    if rng.random() < 0.85:
        node["matchers"] = [matchers_entry(rng) for _ in range(rng.choice([1, 1, 2]))]
    if rng.random() < 0.1:
        node["match"] = {rng.choice(["a", "b"]): rng.choice(VALUES)}
    if rng.random() < 0.1:
        node["match_re"] = {rng.choice(["a", "b"]): regex(rng)}
    if rng.random() < 0.3:
        node["continue"] = True
    if rng.random() < 0.05:
        node["group_by"] = rng.choice([["...", "a"], ["a", "a"], [""], ["a", "b"], ["..."]])
    if depth < 3 and rng.random() < 0.5:
        node["routes"] = [route(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    return node


def config(rng: random.Random) -> dict[str, Any]:
    root: dict[str, Any] = {"receiver": rng.choice(RECEIVERS),
                            "routes": [route(rng, 1) for _ in range(rng.randint(1, 4))]}
    if rng.random() < 0.03:
        root["continue"] = True
    if rng.random() < 0.03:
        root["matchers"] = ['a="x"']
    if rng.random() < 0.05:
        root["group_by"] = rng.choice([["...", "a"], ["a", "a"], ["a"]])
    receivers = [{"name": r} for r in RECEIVERS]
    if rng.random() < 0.03:
        receivers.append({"name": "r0"})
    data: dict[str, Any] = {"route": root, "receivers": receivers}
    if rng.random() < 0.2:
        data["inhibit_rules"] = [{"source_matchers": [matchers_entry(rng)], "target_matchers": [matchers_entry(rng)],
                                  "equal": ["a"]}]
    return data


def label_argument(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    value = rng.choice(VALUES)
    form = rng.random()
    if form < 0.5:
        return f"{name}={quoted(value)}"
    if form < 0.8:
        return f"{name}={value}"  # unquoted: spaces and a trailing NBSP are kept, ASCII whitespace trimmed
    return rng.choice([f" {name} = {quoted(value)} ", f"{name}", f"{name}=~x", f"{name}!=x", "{a=x}", 'a="x',
                       f'{name}="x"y', f"{name}=x,{name}=y", f"{name}=\t{value}\t"])


# --------------------------------------------------------------------------------------------
# The two sides
# --------------------------------------------------------------------------------------------


def only_034_reads(argument: str) -> bool:
    """A label argument 0.34 accepts with its UTF-8 parser that 0.25's classic parser refuses (excluded)."""
    try:
        classic_matcher(argument)
        return False
    except MatcherError:
        try:
            parse_matcher(argument)
            return True
        except MatcherError:
            return False


def our_config_verdict(production: list[Manifest], data: dict[str, Any]) -> tuple[bool, list[str]]:
    copies = [copy.deepcopy(m) if m.kind == "ConfigMap" and m.name == "alertmanager-config" else m for m in production]
    [holder] = [m for m in copies if m.kind == "ConfigMap" and m.name == "alertmanager-config"]
    holder.obj["data"]["alertmanager.yml"] = yamlio.dump(data)
    refusals = sorted(f"{f.check} {f.path}" for f in routing.check(Bundle(copies))
                      if f.severity == "error" and f.check in REFUSALS)
    return not refusals, refusals


def amtool_check_configs(paths: list[Path]) -> dict[str, str]:
    """`amtool check-config` on every file at once: file → its verdict line (SUCCESS or FAILED: why)."""
    result = subprocess.run([require_tool("amtool"), "check-config", *map(str, paths)], capture_output=True,
                            text=True, timeout=120, check=False)
    verdicts = {}
    for block in result.stdout.split("Checking '")[1:]:
        name, rest = block.split("'", 1)
        verdicts[name] = rest.strip().splitlines()[0]
    return verdicts


def amtool_routes_test(path: Path, arguments: list[str], verify: str | None) -> tuple[str, int]:
    flags = [] if verify is None else [f"--verify.receivers={verify}"]
    result = subprocess.run([require_tool("amtool"), "config", "routes", "test", f"--config.file={path}", *flags,
                             "--", *arguments], capture_output=True, text=True, timeout=60, check=False)
    return result.stdout, result.returncode


def our_routes_test(tree: routing.RouteNode, arguments: list[str], verify: str | None) -> tuple[str, int] | None:
    """What `routes test` prints and its exit status; None when it refuses the labels (exit 2)."""
    try:
        labels = parse_labels(arguments)
    except LabelError:
        return None
    slug = ",".join(amtool_receivers(tree, labels))
    if verify and verify != slug:
        return f"{slug}\nWARNING: Expected receivers did not match resolved receivers.\n", 1
    return f"{slug}\n", 0


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


LabelCase = tuple[list[str], str | None]  # label arguments, --verify.receivers (None: not given)


def compare(production: list[Manifest], configs: list[dict[str, Any]], label_cases: list[list[LabelCase]],
            directory: Path) -> tuple[list[str], int]:
    """Every disagreement between us and amtool, and how many routing verdicts were compared."""
    paths = []
    for i, data in enumerate(configs):
        paths.append(directory / f"tree{i}.yml")
        paths[-1].write_text(yamlio.dump(data), encoding="utf-8")
    theirs = amtool_check_configs(paths)
    disagreements: list[str] = []
    jobs = []
    for path, data, cases in zip(paths, configs, label_cases, strict=True):
        accepted, refusals = our_config_verdict(production, data)
        amtool_verdict = theirs[str(path)]
        if accepted != amtool_verdict.startswith("SUCCESS"):
            disagreements.append(f"{path.name}: amtool {amtool_verdict!r}, ours {refusals or 'accepted'}")
        elif accepted:
            tree = routing.parse_route(data["route"])
            jobs += [(path, tree, arguments, verify) for arguments, verify in cases
                     if not any(only_034_reads(a) for a in arguments)]
    with ThreadPoolExecutor(max_workers=4) as pool:  # amtool calls are independent: run a few at once
        answers = list(pool.map(lambda job: amtool_routes_test(job[0], job[2], job[3]), jobs))
    for (path, tree, arguments, verify), (stdout, code) in zip(jobs, answers, strict=True):
        ours = our_routes_test(tree, arguments, verify)
        if ours is None:  # refused: we exit 2 (usage error), amtool 1 (kingpin.Fatalf)
            if code != 1 or stdout:
                disagreements.append(f"{path.name} {arguments}: we refuse, amtool exit {code} {stdout!r}")
        elif (stdout, code) != ours:
            disagreements.append(f"{path.name} {arguments} verify={verify!r}: amtool {(stdout, code)}, ours {ours}")
    return disagreements, len(jobs)


def test_random_trees_and_labels_agree_with_amtool(production: list[Manifest], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    configs = [config(rng) for _ in range(TREES)]
    label_cases = [[([label_argument(rng) for _ in range(rng.randint(0, 4))],
                     rng.choice([None, None, "", "r0", "r1,r1", "r2"])) for _ in range(LABEL_SETS_PER_TREE)]
                   for _ in configs]
    disagreements, compared = compare(production, configs, label_cases, tmp_path)
    assert disagreements == []
    assert compared > 250  # most trees are valid, so most label sets are routed by both


# --------------------------------------------------------------------------------------------
# The cases issue 16 found, fixed
# --------------------------------------------------------------------------------------------

# Each regex on its own child route (receiver r1) under a root with receiver r0: a label set routes to
# r1 exactly when the regex matches.
CORPUS_REGEXES: list[tuple[str, list[str]]] = [
    ("\\S+", ["a\u00a0b", "a b", "\u00a0"]),  # Go's \S is ASCII: a no-break space is not a space
    ("\\s+", ["\u00a0", "\u2003", " "]),
    ("\\w+", ["é", "x_1"]),
    ("\\W", ["é", "-"]),
    ("\\D+", ["٣", "3"]),
    ("\\b\\pL+\\b", ["été", "ete"]),
    ("a$", ["a\n", "a"]),  # $ is the end of the text, not before a final newline
    ("(?i)i", ["İ", "ı", "I"]),  # case folding: Unicode simple folds only
    ("(?i)k", ["\u212a", "K"]),
    ("(?i)s", ["ſ", "S"]),
    ("\\x{41}", ["A"]), ("\\pL+", ["Ωμέγα", "x1"]), ("\\p{Greek}+", ["Ωμέγα", "abc"]),
    ("[[:^alpha:]]+", ["123", "a1"]), ("\\101", ["A"]), ("(?U)a+", ["aaa"]), ("(?i-i)a", ["A", "a"]),
    ("(a+)+b", ["a" * 30, "a" * 30 + "b"]),  # linear time: Python's re never returns on 30 a's
]
CORPUS_REFUSED_REGEXES = ["a{1001}", "a++", "\\u0041", "[\\b]", "(?-)a", "\\C", "(?P<é>x)"]
CORPUS_MATCHER_ENTRIES = ['{v="x"}', 'v="x",w="y"', 'a:b="x"', "v=x y", "v = x y ", 'v=~"x|y" , w!="z",']
CORPUS_REFUSED_ROUTES: list[dict[str, Any]] = [
    {"receiver": "r0", "continue": True},
    {"receiver": "r0", "group_by": ["...", "alertname"]},
    {"receiver": "r0", "routes": [{"receiver": "r1", "group_by": ["a", "a"]}]},
    {"receiver": "r0", "routes": [{"receiver": "r1", "group_by": [""]}]},
    {"receiver": "r0", "matchers": ['v="x"']},
]


def one_route(entry: str) -> dict[str, Any]:
    """Root r0 with one child r1 whose matchers are this entry."""
    return {"route": {"receiver": "r0", "routes": [{"receiver": "r1", "matchers": [entry]}]},
            "receivers": [{"name": r} for r in RECEIVERS]}


def corpus() -> tuple[list[dict[str, Any]], list[list[LabelCase]]]:
    receivers = [{"name": r} for r in RECEIVERS]
    configs: list[dict[str, Any]] = []
    cases: list[list[LabelCase]] = []
    for pattern, values in CORPUS_REGEXES:
        configs.append(one_route(f"v=~{quoted(pattern)}"))
        cases.append([([f"v={quoted(value)}"], None) for value in values])
    for pattern in CORPUS_REFUSED_REGEXES:
        configs.append(one_route(f"v=~{quoted(pattern)}"))
        cases.append([])
    for entry in CORPUS_MATCHER_ENTRIES:
        configs.append(one_route(entry))
        cases.append([(["v=x"], None), (["v=x", "w=y"], None), (["a:b=x"], None), (["v=x y"], "r1"),
                      (["v=x y"], ""), (['v="x y"', "w=z"], "r0")])
    for root in CORPUS_REFUSED_ROUTES:
        configs.append({"route": root, "receivers": receivers})
        cases.append([])
    # label arguments: a trailing no-break space is kept (Go's \s is ASCII), ASCII whitespace is trimmed
    configs.append(one_route('v="x"'))
    cases.append([(["v=x\u00a0"], None), (["v=x\t"], None), (["v= x "], None), (["v=x"], ""), (["v=x"], "r0"),
                  (["v"], None), (["{v=x}"], None), (["v=~x"], None), (['v="x'], None)])
    return configs, cases


def test_the_cases_of_issue_16_agree_with_amtool(production: list[Manifest], tmp_path: Path) -> None:
    configs, cases = corpus()
    disagreements, compared = compare(production, configs, cases, tmp_path)
    assert disagreements == []
    assert compared == sum(len(c) for c in cases)  # every valid corpus config was routed


def test_a_pathological_regex_is_answered() -> None:
    """`(a+)+b` against 30 a's backtracks for minutes in Python's re; RE2 answers in microseconds (timed in
    benchmarks/regex.py)."""
    tree = routing.parse_route({"receiver": "r0", "routes": [{"receiver": "r1", "matchers": ['v=~"(a+)+b"']}]})
    assert amtool_receivers(tree, {"v": "a" * 30}) == ["r0"]
    assert amtool_receivers(tree, {"v": "a" * 30 + "b"}) == ["r1"]


@pytest.mark.parametrize(("text", "name"), [
    ('"service name"="db"', "service name"),  # a quoted label name
    ("service.name=db", "service.name"),
    ("1abc=db", "1abc"),
])
def test_where_034_differs_from_025_we_follow_034(text: str, name: str, tmp_path: Path) -> None:
    """Only 0.34's UTF-8 parser reads these: we accept them (0.34 is deployed), Debian's amtool 0.25 refuses."""
    assert [(m.name, m.value) for m in parse_matchers(text)] == [(name, "db")]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yamlio.dump(one_route(text)), encoding="utf-8")
    assert not amtool_check_configs([path])[str(path)].startswith("SUCCESS")


# --------------------------------------------------------------------------------------------
# Random regexes: syntax accepted or refused, and what they match
# --------------------------------------------------------------------------------------------

REGEX_ATOMS = ["a", "b", "x", "é", "İ", "ı", "K", "\u212a", "ſ", ".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b",
               "\\B", "\\pL", "\\PL", "\\p{Greek}", "\\p{Lu}", "\\pN", "[[:alpha:]]", "[[:^space:]]", "[a-c]", "[^a]",
               "[\\d\\s]", "\\x{e9}", "\\x41", "\\101", "\\Qa.b\\E", "^", "$", "\\A", "\\z", "\\n", "\\t", "\\v",
               "(?i)",
               "(?s)", "(?m)", "(?U)", "(?i-s)", "\\.", "\\\\", "-", " ", "\u00a0", "[\u00a0]", "\\x{a0}", "[[:word:]]",
               "\\C", "\\u0041", "[\\b]", "(?-)", "\\8", "\\e", "\\Z", "(?P<n>b)", "[z-a]", "{", "}", "]", "a{2}",
               "\\x{110000}", "(?P<é>a)", "(?=a)", "\\1"]
REGEX_QUANTIFIERS = ["", "", "", "*", "+", "?", "*?", "+?", "{2}", "{1,3}", "{0,}", "{1001}", "++", "{,2}", "{2}{2}"]
REGEX_VALUES = ["", "a", "b", "ab", "aa", "x", "é", "É", "İ", "ı", "i", "I", "k", "K", "\u212a", "ſ", "s", "S", "1",
                "٣", " ", "\u00a0", "\t", "a\n", "\n", "a.b", "A", "Ω", "ω", "a b", "\\", "{", "aaa", "ä", "\u2003"]


def random_regex(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.15 and depth < 3:
            inner = random_regex(rng, depth + 1)
            if rng.random() < 0.3:
                inner += "|" + random_regex(rng, depth + 1)
            atom = rng.choice(["(", "(?:", "(?i:", "(?P<g>"]) + inner + ")"
        else:
            atom = rng.choice(REGEX_ATOMS)
        parts.append(atom + rng.choice(REGEX_QUANTIFIERS))
    return "".join(parts)


def test_random_regexes_agree_with_amtool(tmp_path: Path) -> None:
    """Each regex is accepted or refused as Go does (one `check-config` over a file per regex), and every
    accepted one matches what Go matches: one config holds them all on `continue` routes, so a single
    `routes test` per value lists every regex that matches it."""
    from leanvibe_stack import goregex

    rng = random.Random(SEED)
    patterns = list(dict.fromkeys(random_regex(rng) for _ in range(500)))
    paths = []
    for i, pattern in enumerate(patterns):
        paths.append(tmp_path / f"regex{i}.yml")
        paths[-1].write_text(yamlio.dump(one_route(f"v=~{quoted(pattern)}")), encoding="utf-8")
    theirs = amtool_check_configs(paths)
    syntax = [(p, theirs[str(path)]) for p, path in zip(patterns, paths, strict=True)
              if goregex.is_valid(p) != theirs[str(path)].startswith("SUCCESS")]
    assert syntax == []
    valid = [p for p in patterns if goregex.is_valid(p)]
    assert len(valid) > 100
    routes = [{"receiver": f"r{i}", "continue": True, "matchers": [f"v=~{quoted(p)}"]} for i, p in enumerate(valid)]
    path = tmp_path / "all.yml"
    path.write_text(yamlio.dump({"route": {"receiver": "none", "routes": routes},
                                 "receivers": [{"name": "none"}] + [{"name": f"r{i}"} for i in range(len(valid))]}),
                    encoding="utf-8")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda v: amtool_routes_test(path, [f"v={quoted(v)}"], None)[0], REGEX_VALUES))
    matching = []
    for value, stdout in zip(REGEX_VALUES, answers, strict=True):
        go = set(stdout.strip().split(",")) - {"none"}
        ours = {f"r{i}" for i, p in enumerate(valid) if goregex.compile(p).fullmatch(value)}
        matching += [(valid[int(r[1:])], value, r in go) for r in sorted(go ^ ours)]
    assert matching == []  # (regex, value, whether Go matches)


NESTINGS = ["({})", "(?:{})*", "(?:a{})", "(?:{}|b)", "(?:{})", "a({})b", "(?i:{})", "(?:[ab]|{})", "({})+?",
            "(?:x{}|xy)", "(?:{})?", "(?:a|b|{})", "ab{}cd", "\\Qq\\E{}", "[a]{}", "(?:{}\\b)", "(?P<n>{})"]


def test_deeply_nested_regexes_agree_with_amtool(tmp_path: Path) -> None:
    """Go refuses a parsed tree over 1000 levels high; random nestings around that height, judged alike."""
    from leanvibe_stack import goregex

    def build(wrappers: list[str], levels: int) -> str:
        pattern = "a"
        for wrapper in wrappers[:levels]:
            pattern = wrapper.format(pattern)
        return pattern

    rng = random.Random(SEED)
    patterns = []
    for _ in range(12):
        wrappers = [rng.choice(NESTINGS) for _ in range(2400)]
        low, high = 1, 2400  # the fewest levels that reach height 1000 by our model, then one each side
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if goregex._height(build(wrappers, middle)) < 1000 else (low, middle)
        patterns += [build(wrappers, levels) for levels in (low - 1, low, low + 1)]
    paths = []
    for i, pattern in enumerate(patterns):
        paths.append(tmp_path / f"deep{i}.yml")
        paths[-1].write_text(yamlio.dump(one_route(f"v=~{quoted(pattern)}")), encoding="utf-8")
    theirs = amtool_check_configs(paths)
    verdicts = [(goregex.is_valid(p), theirs[str(path)].startswith("SUCCESS")) for p, path in zip(patterns, paths,
                                                                                                strict=True)]
    assert [i for i, (ours, go) in enumerate(verdicts) if ours != go] == []
    assert {ours for ours, _ in verdicts} == {True, False}  # both sides of the limit were tried
