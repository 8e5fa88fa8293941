"""Cross-environment leaks: a rendered value that names another environment's identity.

One environment's render must never point at another's data: a Loki bucket, a tenant, a cluster, an
application namespace, a UI domain.  The names of the other environments come from the other
renderable profiles (`identities`, given by the caller that knows the profiles); without them, a
render that is not production's must still not name `production` or `prod` (as a whole word: not
`product`).  Names a profile shares on purpose (`global.shared_names`) are allowed.  Every string of
every object is searched, embedded config files included (reported with their line).

Check id: `identity.leak`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from leanvibe_stack.models.identity import Identity
from leanvibe_stack.validate.bundle import Bundle, strings
from leanvibe_stack.validate.findings import Finding, ObjectRef, error, json_path

PRODUCTION = "production"
PRODUCTION_WORDS = ("production", "prod")


Locate = Callable[[str], str | None]  # a name -> where the profile wrote it (`file:line`), if it did


def check(bundle: Bundle, own: Identity | None, others: Sequence[Identity] = (),
          locate: Locate | None = None) -> list[Finding]:
    environment = own.environment if own else _environment(bundle)
    if environment is None:
        return []
    needles = _needles(environment, own, others)
    if not needles:
        return []
    pattern = _pattern(needles)
    findings = []
    for manifest in bundle.manifests:
        ref = ObjectRef.of(manifest)
        for path, text in strings(manifest.obj):
            if not any(name in text for name in needles):
                continue  # a match needs one of the names as a substring: finding none is ~8x cheaper than the regex
            for line, match in _matches(pattern, text):
                where = json_path(path) + (f":{line}" if line else "")
                written = locate(match) if locate else None
                findings.append(error("identity.leak", ref, where,
                                      f"{match!r} names {needles[match]}, not {environment!r}: this environment would "
                                      "use the other's data; derive it from `global` (drop the inherited value) or, "
                                      "if shared on purpose, list it in global.shared_names"
                                      + (f" (profile: {written})" if written else "")))
    return findings


def _needles(environment: str, own: Identity | None, others: Sequence[Identity]) -> dict[str, str]:
    """Name -> whose it is, for every name of another environment this render must not contain."""
    mine = own.names | {environment} if own else {environment}
    needles: dict[str, str] = {}
    for other in others:
        if other.environment == environment:
            continue
        for name in other.names | {other.environment}:
            needles.setdefault(name, f"environment {other.environment!r}")
    if environment != PRODUCTION:
        for word in PRODUCTION_WORDS:
            needles.setdefault(word, "the production environment")
    if not needles:
        return {}
    shared = own.shared if own else frozenset()
    pattern = _pattern(needles)
    # A name inside one of our own (production's `leanvibe.ai` in staging's `staging.leanvibe.ai`) is ours,
    # unless that name of ours is another environment's or holds a production word (then it is the leak).
    ours = [name for name in mine if not pattern.fullmatch(name)
            and not any(match.group(1) in PRODUCTION_WORDS for match in pattern.finditer(name))]
    return {name: whose for name, whose in needles.items()
            if name not in shared and not any(name in own_name for own_name in ours)}


def _pattern(names: dict[str, str]) -> re.Pattern[str]:
    """Any of the names as a whole word: not inside a longer run of letters and digits."""
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    return re.compile(f"(?<![A-Za-z0-9])({alternatives})(?![A-Za-z0-9])")


def _environment(bundle: Bundle) -> str | None:
    """The environment of a render from files: Prometheus' `environment` external label."""
    config = bundle.config("prometheus")
    labels = (config.data.get("global") or {}).get("external_labels") if config else None
    value = labels.get("environment") if isinstance(labels, dict) else None
    return str(value) if value is not None else None


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, str]]:
    """(line within a multi-line value, or 0; the name) of every match."""
    multi_line = "\n" in text
    for match in pattern.finditer(text):
        yield (text.count("\n", 0, match.start()) + 1 if multi_line else 0), match.group(1)
