"""A run's staged data: batches written as they arrive, durable, resumable, bounded in memory.

Each run stages into its own small Delta table at ``{staging_root}/{run_id}``. Batches are
buffered until ``part_rows`` rows or ``part_bytes`` bytes, then appended in one Delta commit
whose metadata carries the source position reached (``state``), the next sequence number and
the row count. A worker killed mid-run loses at most the unflushed buffer: another worker
reopens the same staged run, reads :attr:`StagedRun.resume_state` and continues reading the
source from there. Re-read records are harmless: every staged row gets a run-wide sequence
number (``_hw_seq``) and the commit keeps only the last version of each primary key.

Using Delta for staging gives atomic appends on local disks and object stores alike, with the
same storage options as the lake.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from headwater.errors import DestinationError, RetriableSyncError
from headwater.lake.files import TableFileWriter, table_filesystem
from headwater.lake.schema import normalize_batch, normalize_schema, plan_evolution
from headwater.lake.storage import delete_tree

if TYPE_CHECKING:
    import pyarrow.dataset as pds

__all__ = ["SEQ_COLUMN", "StagedRun"]

log = logging.getLogger(__name__)

#: Run-wide order of staged rows; the highest wins when a primary key repeats.
SEQ_COLUMN = "_hw_seq"

_META_RUN = "headwater.runId"
_META_SEQ = "headwater.seqEnd"
_META_ROWS = "headwater.rows"
_META_STATE = "headwater.state"

#: Parquet row groups of staged files; small groups keep reads during the commit lean.
STAGING_ROW_GROUP = 16_384
STAGING_COMPRESSION = "lz4"


class StagedRun:
    """The staged data of one run. Create it with :meth:`headwater.lake.Lake.stage`.

    ``write`` buffers a batch (with the source ``state`` reached after it); ``flush`` makes the
    buffer durable. Neither is thread-safe; one worker owns a run at a time (the engine's lease).
    """

    def __init__(
        self,
        uri: str,
        run_id: str,
        *,
        storage_options: Mapping[str, str] | None = None,
        part_rows: int = 25_000,
        part_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        if part_rows <= 0 or part_bytes <= 0:
            msg = "part_rows and part_bytes must be positive"
            raise ValueError(msg)
        self.uri = uri
        self.run_id = run_id
        self._options = dict(storage_options or {})
        self._part_rows = part_rows
        self._part_bytes = part_bytes
        self._buffer: list[pa.RecordBatch] = []
        self._buffer_rows = 0
        self._buffer_bytes = 0
        self._pending_state: Mapping[str, Any] | None = None
        self._durable_state: Mapping[str, Any] | None = None
        self._durable_rows = 0
        self._next_seq = 0
        self._schema: pa.Schema | None = None
        self._table_schema: pa.Schema | None = None
        # The last incoming schema checked against the run's, and the casts it needs.
        self._checked: pa.Schema | None = None
        self._casts: dict[str, pa.DataType] = {}
        self._parts = 0
        self._load()

    # ------------------------------------------------------------------ state

    def _table(self) -> DeltaTable | None:
        if not DeltaTable.is_deltatable(self.uri, storage_options=self._options):
            return None
        return DeltaTable(self.uri, storage_options=self._options)

    def _load(self) -> None:
        try:
            table = self._table()
            if table is None:
                return
            info = table.history(1)[0]
        except OSError as exc:
            msg = f"lake storage unavailable opening staged run {self.run_id}: {exc}"
            raise RetriableSyncError(msg) from exc
        except Exception as exc:  # noqa: BLE001 - delta-rs raises several types for a bad log
            # A damaged staged log (a torn write, a bad disk): what it held is only a head
            # start. Drop it; the run reads again from its committed cursor.
            log.warning("discarding the unreadable staged data of run %s: %s", self.run_id, exc)
            delete_tree(self.uri, self._options)
            return
        self._next_seq = int(info.get(_META_SEQ, 0))
        self._durable_rows = int(info.get(_META_ROWS, 0))
        state = info.get(_META_STATE)
        self._durable_state = state if isinstance(state, dict) else None
        self._pending_state = self._durable_state
        stored = normalize_schema(pa.schema(table.schema().to_arrow()))
        self._table_schema = stored
        self._schema = pa.schema([f for f in stored if f.name != SEQ_COLUMN])
        self._parts = table.version() + 1

    @property
    def resume_state(self) -> Mapping[str, Any] | None:
        """The source position up to which staged data is durable (``None``: start over)."""
        return self._durable_state

    @property
    def latest_state(self) -> Mapping[str, Any] | None:
        """The position passed with the most recent ``write`` (durable or not)."""
        return self._pending_state

    @property
    def rows_staged(self) -> int:
        """Rows staged so far, durable and buffered (re-read rows count again)."""
        return self._durable_rows + self._buffer_rows

    @property
    def durable_rows(self) -> int:
        return self._durable_rows

    @property
    def schema(self) -> pa.Schema | None:
        """The union of the staged batches' (normalised) schemas, without ``_hw_seq``."""
        return self._schema

    @property
    def exists(self) -> bool:
        """True once anything has been made durable."""
        return self._parts > 0

    # ------------------------------------------------------------------ writing

    def write(self, batch: pa.RecordBatch, state: Mapping[str, Any] | None = None) -> None:
        """Buffer ``batch``; ``state`` is the source position reached after it.

        Raises:
            DestinationError: a column's type conflicts with earlier batches of the run.
        """
        batch = normalize_batch(batch)
        if self._schema is None:
            self._schema = batch.schema
        elif self._checked is None or not batch.schema.equals(self._checked):
            plan = plan_evolution(self._schema, batch.schema)
            if plan.added:
                self._schema = pa.schema([*self._schema, *plan.added])
            self._casts = plan.casts
            self._checked = batch.schema
        if self._casts:
            batch = _cast_columns(batch, self._casts)
        if state is not None:
            self._pending_state = dict(state)
        if batch.num_rows:
            self._buffer.append(batch)
            self._buffer_rows += batch.num_rows
            self._buffer_bytes += batch.nbytes
        if self._buffer_rows >= self._part_rows or self._buffer_bytes >= self._part_bytes:
            self.flush()

    def flush(self) -> None:
        """Make everything written so far durable, with the latest state."""
        if not self._buffer and self._pending_state == self._durable_state:
            return
        if self._schema is None:
            # Nothing has ever been written; a state alone is not worth a commit (resuming
            # from the start re-reads only empty pages).
            return
        rows = self._durable_rows + self._buffer_rows
        seq_end = self._next_seq + self._buffer_rows
        metadata: dict[str, Any] = {_META_RUN: self.run_id, _META_SEQ: seq_end, _META_ROWS: rows}
        if self._pending_state is not None:
            metadata[_META_STATE] = dict(self._pending_state)
        commit = CommitProperties(custom_metadata=metadata)
        wanted = pa.schema([*self._schema, pa.field(SEQ_COLUMN, pa.int64(), nullable=True)])
        stored = self._table_schema
        try:
            if stored is not None and set(wanted.names) <= set(stored.names):
                actions = self._write_parts(stored)
                DeltaTable(self.uri, storage_options=self._options).create_write_transaction(
                    list[AddAction | RemoveAction](actions),
                    mode="append",
                    schema=stored,
                    commit_properties=commit,
                )
            elif stored is None:
                actions = self._write_parts(wanted)
                create_table_with_add_actions(
                    self.uri,
                    DeltaSchema.from_arrow(wanted),
                    actions,
                    mode="error",
                    storage_options=self._options or None,
                    commit_properties=commit,
                )
                self._table_schema = wanted
            else:
                # The run brought new columns: delta-rs's writer evolves the staged table.
                write_deltalake(
                    self.uri,
                    pa.Table.from_batches(self._numbered(wanted), schema=wanted),
                    mode="append",
                    schema_mode="merge",
                    storage_options=self._options or None,
                    writer_properties=WriterProperties(max_row_group_size=STAGING_ROW_GROUP),
                    commit_properties=commit,
                )
                table = DeltaTable(self.uri, storage_options=self._options)
                self._table_schema = normalize_schema(pa.schema(table.schema().to_arrow()))
        except DestinationError:
            raise
        except OSError as exc:  # delta-rs reports object-store failures as OSError
            msg = f"lake storage unavailable while staging run {self.run_id}: {exc}"
            raise RetriableSyncError(msg) from exc
        except Exception as exc:  # delta-rs raises several unrelated types for refusals
            msg = f"could not stage data of run {self.run_id}: {exc}"
            raise DestinationError(msg) from exc
        seq = seq_end
        self._next_seq = seq
        self._durable_rows = rows
        self._durable_state = self._pending_state
        self._buffer.clear()
        self._buffer_rows = 0
        self._buffer_bytes = 0
        self._parts += 1
        log.debug("staged part %d of run %s (%d rows total)", self._parts, self.run_id, rows)

    def _numbered(self, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The buffered batches with their sequence numbers, shaped as ``schema``."""
        seq = self._next_seq
        for batch in self._buffer:
            seqs = pa.array(range(seq, seq + batch.num_rows), pa.int64())
            seq += batch.num_rows
            numbered = batch.append_column(pa.field(SEQ_COLUMN, pa.int64()), seqs)
            yield _conform(numbered, schema)

    def _write_parts(self, schema: pa.Schema) -> list[AddAction]:
        with TableFileWriter(
            self.uri,
            schema,
            storage_options=self._options,
            target_size=64 * 1024 * 1024,
            row_group_rows=STAGING_ROW_GROUP,
            # Staged files live minutes: favour encoding speed over size.
            compression=STAGING_COMPRESSION,
        ) as files:
            for batch in self._numbered(schema):
                files.write(batch)
            return files.close()

    # ------------------------------------------------------------------ reading

    def dataset(self) -> pds.Dataset | None:
        """The durable staged rows (with ``_hw_seq``), or ``None`` when nothing is staged."""
        table = self._table()
        if table is None:
            return None
        return table.to_pyarrow_dataset()

    def stored_schema(self) -> pa.Schema | None:
        """The staged table's schema (with ``_hw_seq``), or ``None`` when nothing is staged."""
        table = self._table()
        if table is None:
            return None
        return normalize_schema(pa.schema(table.schema().to_arrow()))

    def read_batches(
        self, schema: pa.Schema, *, batch_size: int = 16_384
    ) -> Iterator[pa.RecordBatch]:
        """The durable staged rows, file by file, shaped as ``schema`` (a subset of columns).

        Reads the Parquet files directly rather than through ``pyarrow.dataset``, which would
        import pandas into the worker (~45 MB of RSS) for no benefit here.
        """
        # Resolved now, not lazily: delta-rs may consume the batches from inside its own
        # runtime, where opening a table again is not allowed.
        table = self._table()
        if table is None:
            return iter(())
        fs = table_filesystem(self.uri, self._options)
        paths = [
            unquote(str(p))
            for p in pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
        ]
        return _read_files(fs, paths, schema, batch_size)

    def discard(self) -> None:
        """Delete the staged data (after the commit, or to abandon the run)."""
        self._buffer.clear()
        self._buffer_rows = 0
        self._buffer_bytes = 0
        delete_tree(self.uri, self._options)
        self._parts = 0
        self._durable_rows = 0
        self._next_seq = 0
        self._durable_state = None
        self._pending_state = None
        self._schema = None


def _read_files(
    fs: Any, paths: list[str], schema: pa.Schema, batch_size: int
) -> Iterator[pa.RecordBatch]:
    for path in paths:
        parquet = pq.ParquetFile(fs.open_input_file(path))
        present = set(parquet.schema_arrow.names)
        columns = [f.name for f in schema if f.name in present]
        for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
            yield _conform(batch, schema)


def _cast_columns(batch: pa.RecordBatch, casts: Mapping[str, pa.DataType]) -> pa.RecordBatch:
    arrays = [
        batch.column(i).cast(casts[f.name]) if f.name in casts else batch.column(i)
        for i, f in enumerate(batch.schema)
    ]
    schema = pa.schema(
        [pa.field(f.name, casts.get(f.name, f.type), nullable=True) for f in batch.schema]
    )
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns, in order; missing ones are null."""
    columns = []
    for f in schema:
        idx = batch.schema.get_field_index(f.name)
        if idx < 0:
            columns.append(pa.nulls(batch.num_rows, f.type))
        else:
            col = batch.column(idx)
            columns.append(col if col.type.equals(f.type) else col.cast(f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)
