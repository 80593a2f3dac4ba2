"""Streaming Parquet files for a Delta table, written with pyarrow and committed as add actions.

delta-rs's own writer holds more memory than a plain pyarrow ``ParquetWriter`` for the same
stream (``bench/lake.py``), so creates and appends write the files here and commit them with
``create_table_with_add_actions`` / ``DeltaTable.create_write_transaction`` — still one Delta
transaction, carrying the run's app transaction and metadata.

Files roll at ``target_size`` bytes; rows are grouped ``row_group_rows`` at a time. Only
``numRecords`` is recorded as file statistics: readers then never skip our files on min/max,
which is always correct.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

from headwater.lake.storage import is_local_uri, local_path

__all__ = ["TableFileWriter", "table_filesystem"]


def table_filesystem(table_uri: str, storage_options: Mapping[str, str] | None = None) -> Any:
    """A pyarrow filesystem rooted at ``table_uri`` (paths are relative to the table)."""
    if is_local_uri(table_uri):
        from pyarrow.fs import LocalFileSystem, SubTreeFileSystem

        root = local_path(table_uri)
        root.mkdir(parents=True, exist_ok=True)
        return SubTreeFileSystem(str(root), LocalFileSystem())
    from deltalake.fs import DeltaStorageHandler
    from pyarrow.fs import PyFileSystem

    return PyFileSystem(DeltaStorageHandler(table_uri, dict(storage_options or {})))


class TableFileWriter:
    """Write batches of one schema into new Parquet files under a table URI."""

    def __init__(
        self,
        table_uri: str,
        schema: pa.Schema,
        *,
        storage_options: Mapping[str, str] | None = None,
        target_size: int = 8 * 1024 * 1024,
        row_group_rows: int = 16_384,
        compression: str = "snappy",
    ) -> None:
        self._uri = table_uri
        self._compression = compression
        self.schema = schema
        self._target = target_size
        self._group = row_group_rows
        self._options = dict(storage_options or {})
        self._fs: Any = None
        self._stream: Any = None
        self._writer: pq.ParquetWriter | None = None
        self._path = ""
        self._rows_in_file = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.actions: list[AddAction] = []
        self.rows = 0

    def _filesystem(self) -> Any:
        if self._fs is None:
            self._fs = table_filesystem(self._uri, self._options)
        return self._fs

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        if self._pending_rows >= self._group:
            self._write_group()

    def _write_group(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        self._pending = []
        self._pending_rows = 0
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(table, row_group_size=max(self._group, table.num_rows))
        self._rows_in_file += table.num_rows
        self.rows += table.num_rows
        if self._stream.tell() >= self._target:
            self._close_file()

    def _open(self) -> None:
        self._path = f"part-00000-{uuid.uuid4()}-c000.{self._compression}.parquet"
        self._stream = self._filesystem().open_output_stream(self._path)
        self._writer = pq.ParquetWriter(self._stream, self.schema, compression=self._compression)
        self._rows_in_file = 0

    def _close_file(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        size = int(self._stream.tell())
        self._stream.close()
        self.actions.append(
            AddAction(
                path=self._path,
                size=size,
                partition_values={},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=json.dumps({"numRecords": self._rows_in_file}),
            )
        )
        self._writer = None
        self._stream = None

    def close(self) -> list[AddAction]:
        """Finish the last file; the add actions of every file written."""
        self._write_group()
        self._close_file()
        return self.actions

    def abort(self) -> None:
        """Stop writing (files already written stay unreferenced until a vacuum)."""
        if self._writer is not None:
            self._writer.close()
            self._stream.close()
            self._writer = None

    def __enter__(self) -> TableFileWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
