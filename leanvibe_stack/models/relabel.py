"""Prometheus-style relabeling of scrape jobs."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from leanvibe_stack import goregex
from leanvibe_stack.models.base import LabelName, StrictModel

_CAPTURE_REFERENCE = re.compile(r"\$\{?(\d+)\}?")
# Prometheus relabel target: a label name, possibly built from $1-style group references.
RelabelTarget = Annotated[str, StringConstraints(pattern=r"^(?:(?:[a-zA-Z_]|\$\w+)+\w*)+$")]
RelabelAction = Literal[
    "replace",
    "keep",
    "drop",
    "hashmod",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "lowercase",
    "uppercase",
    "keepequal",
    "dropequal",
]


class RelabelConfig(StrictModel):
    """One Prometheus-style `relabel_configs` rule applied to discovered targets."""

    source_labels: list[LabelName] | None = Field(None, description="Labels joined as the input.")
    separator: str | None = Field(None, description="Separator between joined source values (default ';').")
    regex: str | None = Field(None, description="RE2 regex matched, fully anchored, against the input.")
    target_label: RelabelTarget | None = Field(None, description="Label written by replace-like actions.")
    replacement: str | None = Field(None, description="Value written, with $1-style group references.")
    action: RelabelAction | None = Field(None, description="What the rule does (default replace).")
    modulus: int | None = Field(None, ge=1, description="Modulus of the hashmod action.")

    @model_validator(mode="after")
    def _action_needs(self) -> RelabelConfig:
        action = self.action or "replace"
        writes = {"replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"}
        if action in writes and self.target_label is None:
            raise ValueError(f"relabel action {action} needs target_label")
        if action == "hashmod" and self.modulus is None:
            raise ValueError("relabel action hashmod needs modulus")
        return self

    @model_validator(mode="after")
    def _replacement_uses_existing_groups(self) -> RelabelConfig:
        # A `$N` naming a group the regex lacks expands to "" and the step silently does nothing.
        if self.replacement is None:
            return self
        if "${" in self.replacement:
            raise ValueError("write capture references as `$1`, not `${1}`: no `${` placeholder may reach output")
        regex = self.regex if self.regex is not None else "(.*)"
        try:
            groups = goregex.compile(regex).groups
        except goregex.GoRegexError as exc:
            raise ValueError(f"regex {regex!r}: {exc}") from None
        for ref in _CAPTURE_REFERENCE.findall(self.replacement):
            if int(ref) > groups:
                raise ValueError(
                    f"replacement {self.replacement!r} uses ${ref} but regex {regex!r} has {groups} capture group(s)"
                )
        return self
