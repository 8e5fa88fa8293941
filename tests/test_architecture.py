"""The plan of the house holds: stages import only downwards, and no import circle exists anywhere.

The stages are read from the package docstring (so the documented order is the enforced one); the
imports are parsed from the source by grimp (every `import` statement, inside functions and
`TYPE_CHECKING` blocks too), not observed by running them.
"""

from __future__ import annotations

import graphlib
import re
import textwrap
from pathlib import Path

import grimp
import pytest

import leanvibe_stack

PACKAGE = "leanvibe_stack"
_STAGE_LINE = re.compile(r"^    (\S+(?: \S+)*?)(?: {2,}.*)?$")


def stages(docstring: str) -> list[set[str]]:
    """The stage lines of a package docstring: each line's leading module names, bottom stage first."""
    return [set(match.group(1).split()) for line in docstring.splitlines() if (match := _STAGE_LINE.match(line))]


def stage_of(module: str, package: str, order: list[set[str]]) -> int | None:
    """The index of the stage a module belongs to (by its top-level name under the package)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return next((i for i, names in enumerate(order) if top in names), None)


def violations(package: str, order: list[set[str]]) -> list[str]:
    """Every import from a lower stage to a higher one, and every module no stage names."""
    graph = grimp.build_graph(package, cache_dir=None)
    found = []
    for module in sorted(graph.modules):
        stage = stage_of(module, package, order)
        if stage is None:
            found.append(f"{module}: in no stage of the {package} docstring")
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            target = stage_of(imported, package, order)
            if target is not None and target > stage:
                lines = [d["line_number"] for d in graph.get_import_details(importer=module, imported=imported)]
                found.append(f"{module} (line {', '.join(map(str, lines))}) imports {imported}, a higher stage")
    return found


def circle(package: str) -> list[str]:
    """One import circle among the package's modules (empty when there is none)."""
    graph = grimp.build_graph(package, cache_dir=None)
    sorter = graphlib.TopologicalSorter({m: graph.find_modules_directly_imported_by(m) for m in graph.modules})
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def test_the_docstring_lists_the_stages() -> None:
    order = stages(leanvibe_stack.__doc__ or "")
    assert order[0] >= {"__init__", "errors", "manifest"}
    assert [names for names in order if names & {"models", "render", "validate", "diff", "commands"}] == [
        {"models"}, {"render"}, {"validate"}, {"diff", "graph"}, {"commands"}]


def test_no_module_imports_from_a_higher_stage() -> None:
    assert violations(PACKAGE, stages(leanvibe_stack.__doc__ or "")) == []


def test_no_import_circle() -> None:
    assert circle(PACKAGE) == []


def test_nothing_imports_the_cli_but_the_launcher() -> None:
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    assert graph.find_modules_that_directly_import(f"{PACKAGE}.cli") == {f"{PACKAGE}.launcher"}


def test_every_command_module_is_registered() -> None:
    from leanvibe_stack.commands import MODULES

    commands = Path(leanvibe_stack.__file__).parent / "commands"
    shared = {"__init__", "options"}
    assert sorted(MODULES) == sorted(p.stem for p in commands.glob("*.py") if p.stem not in shared)


# --- the checks themselves fail on a broken package ------------------------------------------------------


@pytest.fixture
def broken_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small package whose lowest stage imports its highest one (lazily) and whose modules form a circle."""
    root = tmp_path / "broken_pkg"
    (root / "low").mkdir(parents=True)
    files = {
        "__init__.py": '"""Stages:\n\n    __init__   shared\n    low        first\n    high       last\n"""\n',
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from broken_pkg.high import g\n    return g\n",
        "low/b.py": "from broken_pkg.low import c\n",
        "low/c.py": "from broken_pkg.low import b\n",
        "high.py": "def g():\n    return 1\n",
    }
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "broken_pkg"


def test_the_checks_find_an_upward_import_and_a_circle(broken_package: str) -> None:
    order = stages('"""\n    __init__   shared\n    low        first\n    high       last\n"""')
    assert violations(broken_package, order) == [f"{broken_package}.low.a (line 2) imports {broken_package}.high, "
                                                 "a higher stage"]
    assert sorted(set(circle(broken_package))) == [f"{broken_package}.low.b", f"{broken_package}.low.c"]


def test_a_module_in_no_stage_is_reported(broken_package: str) -> None:
    order = stages('"""\n    __init__\n    low\n"""')
    assert f"{broken_package}.high: in no stage of the {broken_package} docstring" in violations(broken_package, order)
