"""The other environments a profile is checked against: the identity of every profile beside it.

`validate`'s identity checks make sure no environment writes into another's buckets, tenants or namespaces,
so rendering one profile loads every other renderable profile of its directories to learn their names.
Loading a profile means parsing it whole: a neighbour with 10,000 rules costs ~0.6 s to say which bucket it
uses.  So each identity is kept, in memory and in the render cache's directory (`cachedir`), with what
loading it read and looked at (`sources`), and reused only while every one of those answers is the same
and the program and working directory are the same ones (`cachedir.program`; `extends` may look in
./profiles): a parent's edit, a new file earlier on the `extends` search path or another version of the
package loads it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from leanvibe_stack import cachedir, sources
from leanvibe_stack.errors import LeanvibeError
from leanvibe_stack.models.identity import Identity
from leanvibe_stack.profiles import LoadedProfile, available_profiles, default_profiles_dir, load_profile

Kept = tuple[Identity | None, list[sources.Observation]]  # None: the file does not load as a profile
FORMAT = 1  # bump when an entry changes shape: old entries are then never read

# Per working directory and profile path: a name in `extends` may resolve in ./profiles, which is another
# directory (and another parent) from elsewhere, though every file looked at from here is unchanged.
_kept: dict[tuple[str, Path], Kept] = {}


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
    where = (os.getcwd(), path)
    kept = _kept.get(where) or _stored(where)  # memory first, then disk
    if kept is not None and sources.unchanged(kept[1]):
        sources.note(kept[1])  # read now, as far as a kept render (rendercache) must know
        _kept[where] = kept
        return kept[0]
    from leanvibe_stack.models.identity import identity_of

    with sources.collect() as seen:
        try:
            identity: Identity | None = identity_of(load_profile(str(path)).stack)
        except LeanvibeError:
            identity = None
    _kept[where] = (identity, seen)
    _store(where, (identity, seen))
    return identity


def _entry(where: tuple[str, Path]) -> Path | None:
    cache = cachedir.directory(cachedir.RENDER_VARIABLE, cachedir.RENDER_NAME)
    if cache is None:
        return None
    cwd, path = where
    name = json.dumps([FORMAT, cachedir.program(), cwd, str(path.absolute())])
    return cache / f"identity-{hashlib.sha256(name.encode()).hexdigest()}.json"


def _stored(where: tuple[str, Path]) -> Kept | None:
    try:
        entry = _entry(where)
        if entry is None:
            return None
        data: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
        observed = sources.from_json(data["observed"])
        found = data["identity"]
        identity = None if found is None else Identity(str(found["environment"]), frozenset(map(str, found["names"])),
                                                       frozenset(map(str, found["shared"])))
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: load the profile
        return None
    return identity, observed


def _store(where: tuple[str, Path], kept: Kept) -> None:
    identity, observed = kept
    found = None if identity is None else {"environment": identity.environment, "names": sorted(identity.names),
                                           "shared": sorted(identity.shared)}
    with contextlib.suppress(OSError):
        entry = _entry(where)
        if entry is not None:
            cachedir.write_atomically(entry, json.dumps({"observed": observed, "identity": found}))
