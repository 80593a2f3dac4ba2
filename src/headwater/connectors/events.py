"""What a connector's ``read`` yields: data batches, checkpoints and progress reports.

The engine consumes these in order. A :class:`CheckpointEvent` always follows the batches it
covers, so the engine can commit the batches to the lake and then persist the checkpoint's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["BatchEvent", "CheckpointEvent", "ProgressEvent", "ReadEvent"]


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Records of one page, typed by the table's Arrow schema.

    ``deleted`` is true for batches of the archived pass; their ``Is_Deleted`` column is true too.
    """

    table: str
    batch: pa.RecordBatch
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class CheckpointEvent:
    """JSON-serialisable state to pass back as ``state=`` to resume after the preceding batches."""

    table: str
    state: dict[str, Any]
    final: bool = False


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where a read stands and why it reads the way it does."""

    table: str
    strategy: str
    reason: str
    phase: str
    records: int
    pages: int
    requests: int
    expected_total: int | None = None


ReadEvent = BatchEvent | CheckpointEvent | ProgressEvent
