"""Errors of the mapping engine: a bad expression, and a mapping set that cannot apply."""

from __future__ import annotations

from dataclasses import dataclass


class ExpressionError(ValueError):
    """An expression does not parse; ``position`` is the character offset of the problem."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class MappingIssue:
    """One thing wrong with one mapping of a set (``index`` into ``mappings``).

    ``kind`` is one of ``unknown-source``, ``unknown-destination``, ``unknown-function``,
    ``type-mismatch``, ``syntax``, ``invalid``."""

    index: int
    kind: str
    message: str
    source: str = ""
    destination: str = ""


class MappingError(ValueError):
    """A mapping set was refused; ``issues`` names every offending entry."""

    def __init__(self, issues: list[MappingIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"mapping {i.index}: {i.message}" for i in issues))
