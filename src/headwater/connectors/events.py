"""What a connector's ``read`` yields: data batches, checkpoints and progress reports.

The engine consumes these in order. A :class:`CheckpointEvent` always follows the batches it
covers, so the engine can commit the batches to the lake and then persist the checkpoint's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["BatchEvent", "CheckpointEvent", "KnownRows", "ProgressEvent", "ReadEvent"]

#: What the destination holds for a table: called with column names, it yields record batches
#: of those columns (those the dataset has) for every live row. Connectors compare it with the
#: source to find changes the source's own cursor does not reveal.
KnownRows = Callable[[Sequence[str]], Iterator[pa.RecordBatch]]


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
    #: when deleted records were last checked (after this read), and the cadence in words
    deletes_checked_ms: int | None = None
    deletes: str = ""
    #: when association lists were last compared with the dataset, the cadence in words, the
    #: requests that comparison cost in this read and the records it found changed
    associations_checked_ms: int | None = None
    associations: str = ""
    association_requests: int = 0
    association_changes: int = 0
    #: merged-away records reported deleted
    merged: int = 0
    #: search hits of the lookback overlap that the dataset already held at the same
    #: modification time: neither their associations read nor written again
    unchanged: int = 0
    #: this read listed every live record of the table: anything else in the dataset is gone
    complete: bool = False


ReadEvent = BatchEvent | CheckpointEvent | ProgressEvent
