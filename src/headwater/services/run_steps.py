"""The types between a run's plan and its transformations: a step (:class:`Transformation`), what
it makes of a batch (:class:`Applied`, with the :class:`FailedRecord` s that failed alone) and the
flow's :class:`ErrorPolicy`. Re-exported by :mod:`headwater.services.run_plans`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

__all__ = ["DELETED_COLUMN", "Applied", "ErrorPolicy", "FailedRecord", "Transformation"]

#: The boolean column a source sets on archived (deleted) records.
DELETED_COLUMN = "Is_Deleted"


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """One source record a transformation could not apply to: the raw row and its errors
    (``{"code", "message", "columnName", "destination"}`` each)."""

    raw: Mapping[str, Any]
    errors: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Applied:
    """What a step made of a batch: the records that go on, and those that failed alone."""

    batch: pa.RecordBatch
    failed: tuple[FailedRecord, ...] = ()


class Transformation(Protocol):
    """One step between reading a batch and staging it (the Data Prep mapping plugs in here).

    ``output_schema`` must describe what ``apply`` returns for a batch of ``schema``, so empty
    checkpoint batches and the write options can be derived before the first batch arrives, and
    ``output_key`` names the columns the source's key (in a batch of ``schema``) becomes. ``apply`` gets the constants the
    source supplies (``SourceConnector.constants``) and returns a batch, or an :class:`Applied` when
    some records failed.
    """

    @property
    def name(self) -> str: ...

    def output_schema(self, schema: pa.Schema) -> pa.Schema: ...

    def output_key(self, schema: pa.Schema, key: tuple[str, ...]) -> tuple[str, ...]: ...

    def apply(
        self, batch: pa.RecordBatch, constants: Mapping[str, str]
    ) -> pa.RecordBatch | Applied: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorPolicy:
    """The flow's ``options``: keep failed records for download (``errorDiagnosticsEnabled``),
    and the share of records that may fail before the run fails (``partialIngestionPercent``;
    ``None``: any failed record fails the run, as without partial ingestion in Adobe)."""

    diagnostics: bool = False
    partial_percent: float | None = None

    def allows(self, failed: int, total: int) -> bool:
        if failed == 0:
            return True
        if self.partial_percent is None or total <= 0:
            return False
        return failed * 100 <= self.partial_percent * total
