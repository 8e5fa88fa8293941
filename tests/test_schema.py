"""Every rendered object passes strict Kubernetes schema validation for its profile's version."""

from __future__ import annotations

import kubernetes_validate
import pytest

from leanvibe_stack.manifest import Manifest
from leanvibe_stack.profiles import LoadedProfile
from tests.conftest import RENDERED_PROFILES


@pytest.mark.parametrize("profile", RENDERED_PROFILES)
def test_every_object_is_schema_valid(
    profile: str, rendered: dict[str, list[Manifest]], loaded: dict[str, LoadedProfile]
) -> None:
    version = loaded[profile].stack.global_.kubernetes_version
    errors = []
    for manifest in rendered[profile]:
        try:
            kubernetes_validate.validate(manifest.obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{manifest.kind}/{manifest.name}: {error.message} at {list(error.path)}")
    assert errors == []


def test_schema_validation_rejects_a_broken_object(production: list[Manifest]) -> None:
    broken = dict(next(m.obj for m in production if m.kind == "Service"))
    broken["spec"] = {**broken["spec"], "portz": []}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.29", strict=True)
