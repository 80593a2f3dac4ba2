"""Plain value types the lake takes and returns (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "CommitResult",
    "DatasetRef",
    "DeleteMode",
    "TableRef",
    "WriteMode",
    "WriteOptions",
]


class WriteMode(StrEnum):
    """How a run's records land in the dataset's table."""

    #: Current-state table: MERGE on the primary key (update matched, insert new).
    MERGE = "merge"
    #: Every version is appended, with ``_valid_from`` and ``_run_id`` columns.
    HISTORY = "history"


class DeleteMode(StrEnum):
    """What a MERGE does with a record whose deleted flag is true."""

    #: Remove the row from the table (the flag column is not stored).
    DELETE = "delete"
    #: Keep the row and store the flag column, so ``WHERE NOT <flag>`` gives live records.
    FLAG = "flag"


#: Columns the lake adds to history tables.
VALID_FROM_COLUMN = "_valid_from"
RUN_ID_COLUMN = "_run_id"


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """A dataset's write settings, chosen by the dataset (the engine passes them through).

    ``primary_key`` names the column(s) that identify a record (such as ``("Id",)``).
    ``deleted_column`` names the boolean column that is true for archived records; when it is
    ``None`` (or the column is absent from a batch) no record is treated as deleted.
    ``valid_from_column`` (history mode) names a timestamp column of the source whose value
    becomes ``_valid_from``; without it ``_valid_from`` is the commit time.
    """

    primary_key: tuple[str, ...]
    mode: WriteMode = WriteMode.MERGE
    deleted_column: str | None = None
    on_delete: DeleteMode = DeleteMode.DELETE
    valid_from_column: str | None = None

    def __post_init__(self) -> None:
        if not self.primary_key:
            msg = "a dataset needs at least one primary-key column"
            raise ValueError(msg)
        if self.deleted_column is not None and self.deleted_column in self.primary_key:
            msg = "the deleted flag cannot be part of the primary key"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class TableRef:
    """Where a dataset's table lives: ``{root}/{org}/{sandbox}/{dataset_id}``."""

    org: str
    sandbox: str
    dataset_id: str


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset as the query layer sees it: addressable by ``id`` and by ``name``."""

    id: str
    name: str
    org: str
    sandbox: str

    @property
    def table(self) -> TableRef:
        return TableRef(self.org, self.sandbox, self.id)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What one run's commit did to a dataset's table (fills the run's metrics).

    ``rows_rejected`` counts staged rows without a primary key (they cannot be merged).
    ``rows_reconciled`` counts rows a reconciling commit removed or flagged because the run (a
    complete read of the source) did not contain their key.
    ``already_applied`` is true when the run had been committed before (a retried commit);
    the counts are then those recorded by the original commit.
    """

    run_id: str
    dataset_id: str
    mode: WriteMode
    already_applied: bool
    table_version: int | None
    rows_staged: int = 0
    duplicates_dropped: int = 0
    rows_rejected: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    #: of ``rows_deleted`` (or flagged), rows a complete read no longer saw in the source
    rows_reconciled: int = 0
    rows_written: int = 0
    files_added: int = 0
    bytes_written: int = 0
    created_table: bool = False
    added_columns: tuple[str, ...] = ()
    state: Mapping[str, Any] | None = field(default=None)

    def metrics(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict (recorded in the Delta commit, too)."""
        return {
            "rowsStaged": self.rows_staged,
            "duplicatesDropped": self.duplicates_dropped,
            "rowsRejected": self.rows_rejected,
            "rowsInserted": self.rows_inserted,
            "rowsUpdated": self.rows_updated,
            "rowsDeleted": self.rows_deleted,
            "rowsReconciled": self.rows_reconciled,
            "rowsWritten": self.rows_written,
            "filesAdded": self.files_added,
            "bytesWritten": self.bytes_written,
            "createdTable": self.created_table,
            "addedColumns": list(self.added_columns),
        }
