"""The errors alscare raises, translated to messages only at the edges (CLI, web).

Hierarchy::

    AlscareError
    ├── RecordError(ValueError)      a patient record is invalid; carries one Problem per fault
    ├── KnowledgeError(ValueError)   the knowledge base is invalid; names file, item id and field
    ├── NotFoundError(LookupError)   an id (patient, section, user) does not exist
    └── ConfigError                  settings are missing or inconsistent

Each also inherits the matching builtin, so callers may catch either. The engine never raises
for clinical uncertainty: a missing value is ``null`` plus an entry in ``missing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "AlscareError",
    "ConfigError",
    "KnowledgeError",
    "NotFoundError",
    "Problem",
    "RecordError",
]


class AlscareError(Exception):
    """Base class of every error alscare raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One fault in an input document: where (a JSON pointer) and why."""

    pointer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.reason}"


class RecordError(AlscareError, ValueError):
    """Raised when a patient record (or a part of one) does not validate."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(set(problems)))
        super().__init__("; ".join(str(problem) for problem in self.problems))


class KnowledgeError(AlscareError, ValueError):
    """Raised when the knowledge base fails validation at load time."""

    def __init__(self, file: str, item_id: str | None, field: str, reason: str) -> None:
        self.file = file
        self.item_id = item_id
        self.field = field
        self.reason = reason
        where = f"{file}: {item_id}" if item_id else file
        super().__init__(f"{where}: {field}: {reason}")


class NotFoundError(AlscareError, LookupError):
    """Raised when a requested id does not exist."""


class ConfigError(AlscareError):
    """Raised when settings are missing or inconsistent."""
