"""A run's staged rows as a commit writes them: repeated keys reduced to the last staged
version, rows without a key rejected, history columns added, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from headwater.errors import DestinationError
from headwater.lake.model import RUN_ID_COLUMN, VALID_FROM_COLUMN, WriteMode, WriteOptions
from headwater.lake.schema import normalize_batch, normalize_schema, normalize_type
from headwater.lake.staging import SEQ_COLUMN, StagedRun

__all__ = ["READ_BATCH_ROWS", "RunSource", "conform_batch", "normalize_array"]

#: rows per batch read back from staging and table files
READ_BATCH_ROWS = 16_384


class RunSource:
    """A run's staged rows as they will be written: reduced, cleaned, streamed."""

    def __init__(
        self,
        staged: StagedRun | None,
        schema: pa.Schema,
        *,
        run_id: str,
        options: WriteOptions | None,
        deleted_column: str | None,
        winners: pa.Array | None,
        key_columns: tuple[str, ...],
        rows_staged: int,
        rows_selected: int,
        duplicates: int,
        rejected: int,
        now: datetime,
    ) -> None:
        self._staged = staged
        self._read_schema = schema
        # Rows to keep: the winning sequence numbers (repeated keys), keys must be non-null.
        self._winners = winners
        self._key_columns = key_columns
        self._run_id = run_id
        self._options = options
        self._now = now
        self.deleted_column = deleted_column
        self.rows_staged = rows_staged
        self.rows_selected = rows_selected
        self.duplicates = duplicates
        self.rejected = rejected
        self.casts: dict[str, pa.DataType] = {}
        self.rows_out = 0
        #: The run's (single-column) primary keys after reduction, and those flagged deleted.
        self.keys: pa.Array | None = None
        self.deleted_keys: pa.Array | None = None
        self._history = options is not None and options.mode is WriteMode.HISTORY
        if self._history:
            base = [f for f in schema if f.name not in (VALID_FROM_COLUMN, RUN_ID_COLUMN)]
            self._read_schema = pa.schema(base)
            schema = pa.schema(
                [
                    *base,
                    pa.field(VALID_FROM_COLUMN, pa.timestamp("us", tz="UTC")),
                    pa.field(RUN_ID_COLUMN, pa.string()),
                ]
            )
        self.schema = normalize_schema(schema)

    @classmethod
    def empty(cls, schema: pa.Schema, run_id: str) -> RunSource:
        return cls(
            None,
            normalize_schema(schema),
            run_id=run_id,
            options=None,
            deleted_column=None,
            winners=None,
            key_columns=(),
            rows_staged=0,
            rows_selected=0,
            duplicates=0,
            rejected=0,
            now=datetime.now(UTC),
        )

    @classmethod
    def build(cls, staged: StagedRun, options: WriteOptions, now: datetime) -> RunSource | None:
        full = staged.stored_schema()
        if full is None:
            return None
        names = set(full.names)
        missing = [k for k in options.primary_key if k not in names]
        if missing:
            msg = f"primary-key column(s) {', '.join(missing)} missing from the staged data"
            raise DestinationError(msg)
        schema = pa.schema([f for f in full if f.name != SEQ_COLUMN])
        deleted = options.deleted_column if options.deleted_column in names else None
        if deleted is not None and not pa.types.is_boolean(full.field(deleted).type):
            msg = f"deleted-flag column {deleted!r} must be boolean, not {full.field(deleted).type}"
            raise DestinationError(msg)

        flag_columns = [deleted] if deleted is not None else []
        key_schema = pa.schema(
            [full.field(c) for c in (*options.primary_key, SEQ_COLUMN, *flag_columns)]
        )
        keys = pa.Table.from_batches(
            list(staged.read_batches(key_schema, batch_size=READ_BATCH_ROWS * 4)), key_schema
        )
        staged_rows = keys.num_rows
        valid = None
        for k in options.primary_key:
            cond = pc.is_valid(keys.column(k))
            valid = cond if valid is None else pc.and_(valid, cond)
        if valid is not None and pc.sum(pc.invert(valid)).as_py():
            keys = keys.filter(valid)
        rejected = staged_rows - keys.num_rows
        if len(options.primary_key) == 1:
            distinct = int(pc.count_distinct(keys.column(options.primary_key[0])).as_py())
        else:
            distinct = keys.group_by(list(options.primary_key)).aggregate([]).num_rows
        winners: pa.Array | None = None
        if distinct < keys.num_rows:
            grouped = keys.group_by(list(options.primary_key), use_threads=False).aggregate(
                [(SEQ_COLUMN, "max")]
            )
            winners = grouped.column(f"{SEQ_COLUMN}_max").combine_chunks()
            keys = keys.filter(pc.is_in(keys.column(SEQ_COLUMN), value_set=winners))
        source = cls(
            staged,
            schema,
            run_id=staged.run_id,
            options=options,
            deleted_column=deleted,
            winners=winners,
            key_columns=options.primary_key if rejected else (),
            rows_staged=staged_rows,
            rows_selected=distinct,
            duplicates=_duplicates(staged_rows, rejected, distinct),
            rejected=rejected,
            now=now,
        )
        if len(options.primary_key) == 1:
            pk = options.primary_key[0]
            source.keys = normalize_array(keys.column(pk).combine_chunks())
            if deleted is not None:
                flags = pc.fill_null(keys.column(deleted), False)
                source.deleted_keys = normalize_array(
                    keys.filter(flags).column(pk).combine_chunks()
                )
        return source

    def reader(self, drop_deleted: bool, *, for_delta_rs: bool = False) -> pa.RecordBatchReader:
        """The rows to write, as a stream of batches with :attr:`output_schema`.

        delta-rs pulls a reader from inside its own async runtime, where the lake's direct
        file reads (through delta-rs's object store) cannot run; ``for_delta_rs`` reads the
        staged files through a PyArrow dataset opened beforehand instead (that imports
        pyarrow.dataset, and pandas with it, which the common paths avoid).
        """
        out_schema = self.output_schema(drop_deleted=drop_deleted)
        # Open the staged files now, not lazily inside delta-rs's runtime.
        staged: Iterator[pa.RecordBatch] = iter(())
        if self._staged is not None:
            read_schema = pa.schema([*self._read_schema, pa.field(SEQ_COLUMN, pa.int64())])
            if for_delta_rs:
                dataset = self._staged.dataset()
                if dataset is not None:
                    import pyarrow.dataset as pads

                    staged = dataset.scanner(
                        columns=read_schema.names,
                        batch_size=READ_BATCH_ROWS,
                        batch_readahead=1,
                        fragment_readahead=1,
                        fragment_scan_options=pads.ParquetFragmentScanOptions(pre_buffer=False),
                    ).to_batches()
            else:
                staged = self._staged.read_batches(read_schema, batch_size=READ_BATCH_ROWS)
        return pa.RecordBatchReader.from_batches(
            out_schema, self._batches(staged, out_schema, drop_deleted)
        )

    def output_schema(self, *, drop_deleted: bool) -> pa.Schema:
        fields = []
        for f in self.schema:
            if drop_deleted and f.name == self.deleted_column:
                continue
            fields.append(pa.field(f.name, self.casts.get(f.name, f.type), nullable=True))
        return pa.schema(fields)

    def _batches(
        self, staged: Iterator[pa.RecordBatch], out_schema: pa.Schema, drop_deleted: bool
    ) -> Iterator[pa.RecordBatch]:
        now = pa.scalar(self._now, pa.timestamp("us", tz="UTC"))
        for read in staged:
            # Stored types first: delta-rs-written parts may read back as string views,
            # which pyarrow's filter kernels reject.
            staged_batch = normalize_batch(read)
            keep = None
            if self._winners is not None:
                keep = pc.is_in(staged_batch.column(SEQ_COLUMN), value_set=self._winners)
            for k in self._key_columns:
                cond = pc.is_valid(staged_batch.column(k))
                keep = cond if keep is None else pc.and_(keep, cond)
            kept_rows = staged_batch if keep is None else staged_batch.filter(keep)
            raw = kept_rows.drop_columns([SEQ_COLUMN])
            if raw.num_rows == 0:
                continue
            batch = normalize_batch(raw)
            if self.deleted_column is not None:
                idx = batch.schema.get_field_index(self.deleted_column)
                flags = pc.fill_null(batch.column(idx), False)
                if drop_deleted:
                    batch = batch.filter(pc.invert(flags))
                    if batch.num_rows == 0:
                        continue
                    idx = batch.schema.get_field_index(self.deleted_column)
                    flags = pc.fill_null(batch.column(idx), False)
                batch = batch.set_column(idx, batch.schema.field(idx), flags)
            if self._history:
                valid_from = self._valid_from(batch, now)
                batch = batch.append_column(VALID_FROM_COLUMN, valid_from)
                batch = batch.append_column(
                    RUN_ID_COLUMN, pa.array([self._run_id] * batch.num_rows, pa.string())
                )
            arrays = [
                _cast(batch.column(batch.schema.get_field_index(f.name)), f.type)
                for f in out_schema
            ]
            out = pa.RecordBatch.from_arrays(arrays, schema=out_schema)
            self.rows_out += out.num_rows
            yield out

    def _valid_from(self, batch: pa.RecordBatch, now: pa.Scalar) -> pa.Array:
        column = self._options.valid_from_column if self._options else None
        if column is None or batch.schema.get_field_index(column) < 0:
            return pa.array([now.as_py()] * batch.num_rows, pa.timestamp("us", tz="UTC"))
        values = batch.column(batch.schema.get_field_index(column))
        if not pa.types.is_timestamp(values.type):
            msg = f"valid-from column {column!r} must be a timestamp, not {values.type}"
            raise DestinationError(msg)
        values = values.cast(pa.timestamp("us", tz=values.type.tz)).cast(
            pa.timestamp("us", tz="UTC")
        )
        return pc.fill_null(values, now)


def _duplicates(staged: int, rejected: int, distinct: int) -> int:
    """Rows dropped because a later staged version of the same key exists."""
    return max(0, staged - rejected - distinct)


def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns and types (missing columns are null)."""
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    arrays = []
    for f in schema:
        idx = batch.schema.get_field_index(f.name)
        arrays.append(
            pa.nulls(batch.num_rows, f.type) if idx < 0 else _cast(batch.column(idx), f.type)
        )
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def normalize_array(array: pa.Array) -> pa.Array:
    """``array`` cast to the lake's type for it (keys compare with stored columns)."""
    return _cast(array, normalize_type(array.type))


def _cast(array: pa.Array, target: pa.DataType) -> pa.Array:
    return array if array.type.equals(target) else array.cast(target)
