"""One error hierarchy.  User errors print as a message (exit 2); anything else is a bug."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class LeanvibeError(Exception):
    """Base of every error the CLI reports to the user without a traceback."""

    exit_code = 2

    def lines(self) -> list[str]:
        """The message, one problem per line (each printed as `error: <line>`)."""
        return [str(self)]


@dataclass(frozen=True)
class Location:
    """Where in a profile file a value came from."""

    file: Path | str  # a str names something that is not a file, e.g. a `--set` argument
    line: int
    column: int = 0

    def __str__(self) -> str:
        if not self.line:  # not a file position: e.g. a `--set` argument
            return str(self.file)
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, with the field's dotted path and where it was written."""

    message: str
    field: str = ""
    location: Location | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ProfileError(LeanvibeError):
    """A profile (or --set value) cannot be loaded or does not validate."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class TemplateError(LeanvibeError):
    """A template failed to render; this is a defect in templates/, reported with file:line."""

    exit_code = 3


class InputError(LeanvibeError):
    """Manifests given to `validate` cannot be read or parsed."""


class OutputError(LeanvibeError):
    """Rendered output could not be written."""


class UsageError(LeanvibeError):
    """A command line that cannot run as given: missing or conflicting options (exit 2, like click's)."""
