"""The other environments a profile is checked against: the identity of every profile beside it.

`validate`'s identity checks make sure no environment writes into another's buckets, tenants or namespaces,
so rendering one profile loads every other renderable profile of its directories to learn their names.
Loading a profile means parsing it whole: a neighbour with 10,000 rules costs ~0.6 s to say which bucket it
uses.  So each identity is kept, in memory and in the render cache's directory (`cachedir`), with what
loading it read and looked at (`sources`), and reused only while every one of those answers is the same
and the program is the same one (`cachedir.program`): a parent's edit, a new file earlier on the `extends`
search path or another version of the package loads it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from leanvibe_stack import cachedir, sources
from leanvibe_stack.errors import LeanvibeError
from leanvibe_stack.models.identity import Identity
from leanvibe_stack.profiles import LoadedProfile, available_profiles, default_profiles_dir, load_profile

Kept = tuple[Identity | None, list[sources.Observation]]  # None: the file does not load as a profile
FORMAT = 1  # bump when an entry changes shape: old entries are then never read

_kept: dict[Path, Kept] = {}


def other_identities(loaded: LoadedProfile, profiles_dir: Path | None) -> list[Identity]:
    """The identities of the renderable profiles beside `loaded` and in the profiles directory; a file that
    does not load as one (abstract, broken, not a profile) is skipped: rendering it reports why."""
    found = []
    for directory in dict.fromkeys(sources.resolve(d) for d in (loaded.path.parent,
                                                                 profiles_dir or default_profiles_dir())):
        for name in available_profiles(directory):
            path = directory / f"{name}.yaml"
            if path != sources.resolve(loaded.path):
                identity = _identity(path)
                if identity is not None:
                    found.append(identity)
    return found


def _identity(path: Path) -> Identity | None:
    for kept in (_kept.get(path), _stored(path)):
        if kept is not None and sources.unchanged(kept[1]):
            sources.note(kept[1])  # read now, as far as a kept render (rendercache) must know
            _kept[path] = kept
            return kept[0]
    from leanvibe_stack.models.identity import identity_of

    with sources.collect() as seen:
        try:
            identity: Identity | None = identity_of(load_profile(str(path)).stack)
        except LeanvibeError:
            identity = None
    _kept[path] = (identity, seen)
    _store(path, (identity, seen))
    return identity


def _entry(path: Path) -> Path | None:
    cache = cachedir.directory(cachedir.RENDER_VARIABLE, cachedir.RENDER_NAME)
    if cache is None:
        return None
    name = json.dumps([FORMAT, cachedir.program(), str(path.absolute())])
    return cache / f"identity-{hashlib.sha256(name.encode()).hexdigest()}.json"


def _stored(path: Path) -> Kept | None:
    try:
        entry = _entry(path)
        if entry is None:
            return None
        data: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
        observed = [(str(q), str(p), str(a)) for q, p, a in data["observed"]]
        found = data["identity"]
        identity = None if found is None else Identity(str(found["environment"]), frozenset(map(str, found["names"])),
                                                       frozenset(map(str, found["shared"])))
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: load the profile
        return None
    return identity, observed


def _store(path: Path, kept: Kept) -> None:
    identity, observed = kept
    found = None if identity is None else {"environment": identity.environment, "names": sorted(identity.names),
                                           "shared": sorted(identity.shared)}
    with contextlib.suppress(OSError):
        entry = _entry(path)
        if entry is not None:
            cachedir.write_atomically(entry, json.dumps({"observed": observed, "identity": found}))
