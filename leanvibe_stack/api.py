"""Library entry points the CLI (and tests) call: load, render, validate, write or check."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leanvibe_stack import output, yamlio
from leanvibe_stack.errors import InputError, LeanvibeError
from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import (
    LoadedProfile,
    default_profiles_dir,
    load_profile,
    renderable_profiles,
)

if TYPE_CHECKING:
    from leanvibe_stack.validate import Report
    from leanvibe_stack.validate.findings import Finding

Tree = dict[str, str]
RULE_TESTS_DIR = "rule-tests"


class ValidationFailed(LeanvibeError):
    """Rendered objects have validation errors (exit 1, like kubeconform)."""

    exit_code = 1

    def __init__(self, name: str, report: Report) -> None:
        self.report = report
        super().__init__(f"{name}: {len(report.errors)} validation error(s); nothing was written")


@dataclass(frozen=True)
class Rendered:
    """A rendered profile and, unless skipped, the report of its in-process validation."""

    name: str
    manifests: list[Manifest]
    report: Report | None


def render_profile(spec: str, profiles_dir: Path | None = None, *, validate: bool = True,
                   kube_version: str | None = None, overrides: list[str] | None = None) -> Rendered:
    """Load a profile by name or path, render every object, and validate them (in-process checks).

    Raises ValidationFailed when validation finds errors, so nothing invalid is ever written.
    """
    from leanvibe_stack.render import render_stack  # the models, imported only by what renders (not validate PATH)

    loaded = load_profile(spec, profiles_dir, overrides)
    if not validate:
        return Rendered(loaded.name, render_stack(loaded.stack), None)
    with yamlio.remembering():  # the checks get the config files' data from the renderer, not by parsing them again
        manifests = render_stack(loaded.stack)
        report = _check(loaded, manifests, profiles_dir, kube_version=kube_version)
    if report.failed():
        raise ValidationFailed(loaded.name, report)
    return Rendered(loaded.name, manifests, report)


def render_all(profiles_dir: Path | None, out: Path, *, validate: bool = True,
               overrides: list[str] | None = None,
               progress: Callable[[str], None] | None = None) -> dict[Path, Rendered]:
    """Every renderable profile (not `abstract`), keyed by its tree under out/<profile>/."""
    directory = profiles_dir or default_profiles_dir()
    rendered = {}
    for name in renderable_profiles(directory):
        if progress:
            progress(name)
        rendered[out / name] = render_profile(name, directory, validate=validate, overrides=overrides)
    return rendered


ALWAYS_INCLUDED = "namespace"


def only(rendered: Rendered, components: list[str]) -> Rendered:
    """The rendered profile reduced to some components (their namespaces always stay; `namespace` alone gives
    only the namespaces, what must exist before the Secrets the stack reads)."""
    known = sorted({m.component for m in rendered.manifests})
    wanted = {c.strip() for c in components if c.strip()}
    unknown = sorted(wanted - set(known))
    if unknown or not wanted:
        raise InputError(f"--only: unknown component(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(known)}")
    kept = [m for m in rendered.manifests if m.component in wanted | {ALWAYS_INCLUDED}]
    return Rendered(rendered.name, kept, rendered.report)


def stream(manifests: list[Manifest]) -> str:
    return output.stream(manifests)


def tree(manifests: list[Manifest]) -> Tree:
    return output.tree(manifests)


def write_trees(targets: dict[Path, Tree], root: Path | None = None) -> list[Path]:
    """Write every tree, all or nothing; with `root` (render --all), remove trees of profiles that are gone."""
    orphans = output.orphan_trees(root, targets) if root else []
    output.write_trees(targets, remove=orphans)
    return orphans


def check_trees(targets: dict[Path, Tree], root: Path | None = None) -> list[str]:
    """One report per tree that differs from the disk (`diff`'s per-object diff, then file problems; see
    diff.tree_drift); with `root`, a line per tree of a profile that is gone too.  Empty when all are current."""
    from leanvibe_stack.diff import tree_drift

    diffs = [report for target, files in targets.items() if (report := tree_drift(files, target))]
    orphans = output.orphan_trees(root, targets) if root else []
    return diffs + [f"{orphan}: rendered tree of no current profile; delete it\n" for orphan in orphans]


def rule_tests(profiles_dir: Path | None) -> list[Path]:
    """promtool unit tests kept beside the profiles (`<profiles>/rule-tests/*_test.yml`)."""
    directory = (profiles_dir or default_profiles_dir()) / RULE_TESTS_DIR
    return sorted(directory.glob("*_test.yml"))


def default_kube_version() -> str:
    """For manifests from files: the newest Kubernetes version the bundled schemas describe."""
    from kubernetes_validate.utils import latest_version

    return str(latest_version())


def validate_profile(spec: str, profiles_dir: Path | None, *, kube_version: str | None, run_tools: bool,
                     require_tools: bool, tests: list[Path], overrides: list[str] | None = None,
                     **choices: Any) -> Report:
    """Render a profile and validate it; `choices` are validate()'s `selection` and `cluster`."""
    from leanvibe_stack.render import render_stack

    loaded = load_profile(spec, profiles_dir, overrides)
    with yamlio.remembering():  # as in render_profile
        return _check(loaded, render_stack(loaded.stack), profiles_dir, kube_version=kube_version,
                      run_tools=run_tools, require_tools=require_tools, rule_tests=tests, **choices)


def _check(loaded: LoadedProfile, manifests: list[Manifest], profiles_dir: Path | None, *, kube_version: str | None,
           **tools: Any) -> Report:
    """Validate a profile's objects knowing the profile: its identity, the others', where it wrote each value."""
    from leanvibe_stack.validate import validate as run_checks

    report = run_checks(manifests, kube_version=kube_version or loaded.stack.global_.kubernetes_version,
                        **tools, **profile_context(loaded, profiles_dir))
    return point_at_profile(report, loaded)


def validate_paths(paths: list[str], *, kube_version: str | None, run_tools: bool, require_tools: bool,
                   tests: list[Path], **choices: Any) -> Report:
    """Validate manifests from files; `choices` are validate()'s `selection` and `cluster`."""
    from leanvibe_stack.validate import validate as run_checks
    from leanvibe_stack.validate.inputs import load_manifests

    return run_checks(load_manifests(paths), kube_version=kube_version or default_kube_version(),
                      run_tools=run_tools, require_tools=require_tools, rule_tests=tests, **choices)


def profile_context(loaded: LoadedProfile, profiles_dir: Path | None) -> dict[str, Any]:
    """What the checks know of a rendered profile beyond its objects: its identity, the other environments'
    (every renderable profile beside it and in the profiles directory), and where it wrote a value."""
    from leanvibe_stack.environments import other_identities
    from leanvibe_stack.models.identity import identity_of

    return {"identity": identity_of(loaded.stack), "other_identities": other_identities(loaded, profiles_dir),
            "locate": functools.partial(_where_written, loaded)}


def _where_written(loaded: LoadedProfile, name: str) -> str | None:
    """`file:line` of the profile value that contains `name` as a whole word, if a file wrote one."""
    from leanvibe_stack.validate.bundle import strings

    word = re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])")
    for path, text in strings(loaded.stack.model_dump(mode="json", by_alias=True)):
        location = loaded.locations.get(path)
        if word.search(text) and location is not None:
            return str(location)
    return None


# --- findings that point at the profile line ------------------------------------------------------------

_RULE_PATH = re.compile(r"^(?P<group>.+)\.yml:groups\[0\]\.rules\[(?P<index>\d+)\](?P<rest>.*)$")
_IMAGE_PATH = re.compile(r"^spec\.template\.spec\.(init)?[cC]ontainers\[\d+\]\.image$")
_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")
# alertmanager.yml lists that the profile keys by name (the rendered list keeps the profile's order).
_KEYED_LISTS = {"receivers": ("alertmanager", "receivers"), "inhibit_rules": ("alertmanager", "inhibit_rules")}


def point_at_profile(report: Report, loaded: LoadedProfile) -> Report:
    """The report with each finding about a value the profile wrote (a rule, a route, a receiver, an inhibit
    rule) ending in where the profile wrote it, so one fix loop is enough."""
    import dataclasses

    findings = []
    for finding in report.findings:
        location = _profile_location(finding, loaded)
        if location is not None and str(location) not in finding.message:
            finding = dataclasses.replace(finding, message=f"{finding.message} (profile: {location})")
        findings.append(finding)
    return dataclasses.replace(report, findings=findings)


def _profile_location(finding: Finding, loaded: LoadedProfile) -> Any:
    """The location of the deepest profile key a finding's rendered path comes from, or None."""
    profile_path = _image_path(finding, loaded.stack) or _profile_path(finding.path, loaded.stack)
    while profile_path:
        location = loaded.locations.get(profile_path)
        if location is not None:  # a file:line, or the --set argument that wrote it
            return location
        profile_path = profile_path[:-1]
    return None


def _image_path(finding: Finding, stack: Any) -> tuple[str | int, ...]:
    """A workload's image comes from its component's `image` (the Stack field named like the workload)."""
    if not _IMAGE_PATH.match(finding.path) or finding.object is None:
        return ()
    component = finding.object.name.replace("-", "_")
    return (component, "image", "tag") if component in type(stack).model_fields else ()


def _profile_path(path: str, stack: Any) -> tuple[str | int, ...]:
    """The profile path of a rendered rule-file or alertmanager.yml path ('' when it is not one)."""
    rule = _RULE_PATH.match(path)
    if rule:
        group = stack.prometheus.rule_groups.get(rule["group"])
        alerts = list(group.rules) if group else []
        index = int(rule["index"])
        if index >= len(alerts):
            return ()
        return ("prometheus", "rule_groups", rule["group"], "rules", alerts[index], *_parts(rule["rest"]))
    if not path.startswith("alertmanager.yml:"):
        return ()
    parts = _parts(path.removeprefix("alertmanager.yml:"))
    if parts[:1] == ("route",):
        return ("alertmanager", *_route_path(stack.alertmanager.route, parts))
    if parts and parts[0] in _KEYED_LISTS and len(parts) > 1 and isinstance(parts[1], int):
        keys = list(getattr(stack.alertmanager, str(parts[0])))
        return (*_KEYED_LISTS[str(parts[0])], keys[parts[1]], *parts[2:]) if parts[1] < len(keys) else ()
    return ("alertmanager", *parts)


def _route_path(route: Any, parts: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """`route.routes[2].routes[0].matchers[1]` -> the profile's keys (`route`, `routes`, <name>, ...)."""
    out: list[str | int] = [parts[0]]
    node, i = route, 1
    while i + 1 < len(parts) and parts[i] == "routes":
        index, keys = parts[i + 1], list(node.routes or {})
        if not isinstance(index, int) or index >= len(keys):
            break
        out += ["routes", keys[index]]
        node, i = node.routes[keys[index]], i + 2
    return (*out, *parts[i:])


def _parts(text: str) -> tuple[str | int, ...]:
    return tuple(int(index) if index else name for name, index in _PATH_PART.findall(text))
