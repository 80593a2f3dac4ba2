"""The Delta Lake destination: one table per dataset, one transaction per run.

A run stages its batches (:class:`~headwater.lake.staging.StagedRun`), then :meth:`Lake.commit`
applies the whole run to the dataset's table in one Delta commit:

* ``merge`` mode: MERGE on the primary key; matched rows are updated, new rows inserted, and
  rows whose deleted flag is true are deleted or kept with the flag (``DeleteMode``);
* ``history`` mode: every staged version is appended with ``_valid_from`` and ``_run_id``.

Repeated primary keys inside a run keep only their last staged version. The commit carries an
app transaction ``(headwater-run-<run id>, 1)`` and the run and flow ids in its metadata, so a
retried commit of an applied run does nothing and answers ``already_applied``. Concurrent
commits of the same run are refused by Delta's conflict check; the loser then sees the winner's
transaction and reports ``already_applied`` too.

The table is created from the staged schema on the first commit and evolves additively
(:mod:`headwater.lake.schema`). Writes stream: the staged data is read in small batches and
only the primary-key and sequence columns are held in memory to reduce duplicates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import (
    CommitProperties,
    DeltaTable,
    Transaction,
    WriterProperties,
    write_deltalake,
)
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from headwater.errors import DestinationError, RetriableSyncError
from headwater.lake.commit_log import META_RUN, added_files, find_commit, stage_metrics
from headwater.lake.files import TableFileWriter, table_filesystem
from headwater.lake.merge import (
    META_STAGE,
    TABLE_ROW_GROUP,
    TARGET_FILE_SIZE,
    rewrite_merge,
    unseen_rows,
)
from headwater.lake.model import (
    CommitResult,
    DeleteMode,
    TableRef,
    WriteMode,
    WriteOptions,
)
from headwater.lake.schema import (
    SchemaPlan,
    plan_evolution,
)
from headwater.lake.source import READ_BATCH_ROWS, RunSource, conform_batch
from headwater.lake.staging import StagedRun
from headwater.lake.storage import (
    delete_tree,
    is_local_uri,
    join_uri,
    list_children,
    local_path,
)

if TYPE_CHECKING:
    import pyarrow.dataset as pds

__all__ = ["Lake", "run_app_id"]

log = logging.getLogger(__name__)

_META_RUN = META_RUN
_META_FLOW = "headwater.flowId"
_META_DATASET = "headwater.datasetId"
_META_STATE = "headwater.state"
_META_STAGE = META_STAGE
#: How often a commit is retried after losing a race to another writer.
COMMIT_ATTEMPTS = 5


def run_app_id(run_id: str) -> str:
    """The Delta app-transaction id that marks ``run_id`` as applied to a table."""
    return f"headwater-run-{run_id}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Lake:
    """Delta tables under ``root_uri`` (a local path or ``s3://bucket/prefix``).

    ``storage_options`` are delta-rs object-store options (see
    :func:`headwater.lake.storage.storage_options_from_env`). Staged runs live under
    ``staging_uri``: by default a sibling directory ``<root>.staging`` for a local lake, and
    ``<root>/_staging`` in an object store, so any worker can resume any run.

    MERGE runs as a streaming copy-on-write (:meth:`_rewrite_merge`) when the key is one
    column and the schema does not grow; otherwise, or with ``rewrite_merge=False``, it runs as
    delta-rs's ``MERGE``. Both give the same table.
    """

    def __init__(
        self,
        root_uri: str,
        storage_options: Mapping[str, str] | None = None,
        *,
        staging_uri: str | None = None,
        rewrite_merge: bool = True,
    ) -> None:
        if not root_uri:
            msg = "the lake needs a root URI"
            raise ValueError(msg)
        if is_local_uri(root_uri):
            root = local_path(root_uri).expanduser().resolve()
            self.root_uri = str(root)
            default_staging = str(root.with_name(root.name + ".staging"))
        else:
            self.root_uri = root_uri.rstrip("/")
            default_staging = join_uri(self.root_uri, "_staging")
        self.storage_options: dict[str, str] = dict(storage_options or {})
        self.staging_uri = staging_uri or default_staging
        self.rewrite_merge = rewrite_merge

    def __repr__(self) -> str:
        return f"Lake({self.root_uri!r})"

    # ------------------------------------------------------------------ tables

    def table_uri(self, org: str, sandbox: str, dataset_id: str) -> str:
        """``{root}/{org}/{sandbox}/{dataset_id}``."""
        return join_uri(self.root_uri, org, sandbox, dataset_id)

    def _uri(self, table: TableRef) -> str:
        return self.table_uri(table.org, table.sandbox, table.dataset_id)

    def _options(self) -> dict[str, str] | None:
        return self.storage_options or None

    def open_table(self, table: TableRef) -> DeltaTable | None:
        """The dataset's Delta table, or ``None`` before its first commit."""
        uri = self._uri(table)
        try:
            return DeltaTable(uri, storage_options=self._options())
        except TableNotFoundError:
            return None
        except OSError as exc:
            msg = f"lake storage unavailable reading {table.dataset_id}: {exc}"
            raise RetriableSyncError(msg) from exc

    def table_exists(self, table: TableRef) -> bool:
        return DeltaTable.is_deltatable(self._uri(table), storage_options=self._options())

    def schema(self, table: TableRef) -> pa.Schema | None:
        """The table's Arrow schema, or ``None`` before its first commit."""
        dt = self.open_table(table)
        return None if dt is None else pa.schema(dt.schema().to_arrow())

    def dataset(self, table: TableRef) -> pds.Dataset | None:  # imports pyarrow.dataset
        """The table's current rows as a PyArrow dataset (lazy; works for object stores)."""
        dt = self.open_table(table)
        return None if dt is None else dt.to_pyarrow_dataset()

    def scan(self, table: TableRef, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """The table's rows, as batches of those of ``columns`` it has, file by file (nothing
        when the table does not exist yet). Memory holds one batch."""
        dt = self.open_table(table)
        if dt is None:
            return
        names = set(pa.schema(dt.schema().to_arrow()).names)
        wanted = [c for c in columns if c in names]
        if not wanted:
            return
        fs = table_filesystem(dt.table_uri, self.storage_options)
        paths = pa.table(dt.get_add_actions(flatten=True)).column("path").to_pylist()
        for path in paths:
            parquet = pq.ParquetFile(fs.open_input_file(unquote(str(path))))
            yield from parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=wanted)

    def maintain(
        self, table: TableRef, *, retention_hours: int = 168, compact: bool = True
    ) -> dict[str, int]:
        """Compact small files, then delete files no version newer than the retention needs.

        Also deletes files no version references (written by a failed or lost commit attempt).
        ``retention_hours`` below Delta's default of 168 is honoured: the caller asked for it,
        and readers of older versions than that lose them. Run it from a scheduled job, not
        concurrently with a commit to the same table.
        """
        dt = self.open_table(table)
        if dt is None:
            return {"filesCompacted": 0, "filesAdded": 0, "filesVacuumed": 0}
        added = removed = 0
        if compact:
            metrics = dt.optimize.compact(
                target_size=TARGET_FILE_SIZE,
                writer_properties=WriterProperties(max_row_group_size=TABLE_ROW_GROUP),
            )
            added = int(metrics.get("numFilesAdded", 0))
            removed = int(metrics.get("numFilesRemoved", 0))
            dt = DeltaTable(self._uri(table), storage_options=self._options())
        vacuumed = dt.vacuum(
            retention_hours=retention_hours,
            dry_run=False,
            enforce_retention_duration=retention_hours >= 168,
            full=True,
        )
        return {"filesCompacted": removed, "filesAdded": added, "filesVacuumed": len(vacuumed)}

    def drop_table(self, table: TableRef) -> None:
        """Delete the dataset's table and all its files."""
        delete_tree(self._uri(table), self.storage_options)

    # ------------------------------------------------------------------ staging

    def stage(
        self,
        run_id: str,
        *,
        part_rows: int = 25_000,
        part_bytes: int = 32 * 1024 * 1024,
    ) -> StagedRun:
        """Open (or resume) the staged data of ``run_id``."""
        return StagedRun(
            join_uri(self.staging_uri, run_id),
            run_id,
            storage_options=self.storage_options,
            part_rows=part_rows,
            part_bytes=part_bytes,
        )

    def staged_runs(self) -> list[str]:
        """Run ids with staged data (to resume them, or clean up abandoned ones)."""
        return list_children(self.staging_uri, self.storage_options)

    # ------------------------------------------------------------------ commit

    def commit(
        self,
        run: StagedRun | str,
        table: TableRef,
        options: WriteOptions,
        *,
        flow_id: str,
        state: Mapping[str, Any] | None = None,
        committed_at: datetime | None = None,
        discard_staging: bool = True,
        reconcile: bool = False,
    ) -> CommitResult:
        """Apply a run's staged data to the dataset's table in one Delta transaction.

        With ``reconcile`` (the run read every record of the source, live and deleted), rows
        whose key the run did not contain are gone from the source (purged, GDPR-deleted,
        merged away): a merge dataset removes them, or flags them deleted in flag mode, in the
        same transaction. A run that staged nothing never reconciles (it would empty the
        table on a read that returned nothing); history datasets are not reconciled.

        ``state`` (the source cursor after the run) is recorded in the commit, so
        :meth:`applied_commit` can return it if the caller crashed before saving it. Save the
        cursor only after this returns.

        Raises:
            DestinationError: the data does not fit the table (type change, missing key column)
                or the lake refused the write.
            RetriableSyncError: the commit kept losing races with other writers, or storage was
                unreachable.
        """
        staged = run if isinstance(run, StagedRun) else self.stage(run)
        staged.flush()
        now = committed_at or datetime.now(UTC)
        app_id = run_app_id(staged.run_id)
        last_error: Exception | None = None
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            dt: DeltaTable | None = None
            try:
                dt = self.open_table(table)
                if dt is not None and dt.transaction_version(app_id) is not None:
                    result = self._recorded(dt, staged.run_id, table, options)
                else:
                    result = self._apply(
                        dt, staged, table, options, flow_id, state, now, reconcile=reconcile
                    )
            except CommitFailedError as exc:
                last_error = exc
                log.info("commit of run %s lost a race (attempt %d)", staged.run_id, attempt)
                time.sleep(min(1.0, 0.05 * 2**attempt))
                continue
            except DeltaError as exc:
                if dt is None and self.table_exists(table):
                    # Another worker created the table first; re-plan against it.
                    last_error = exc
                    continue
                msg = f"the lake refused run {staged.run_id} for {table.dataset_id}: {exc}"
                raise DestinationError(msg) from exc
            except OSError as exc:
                msg = f"lake storage unavailable while committing run {staged.run_id}: {exc}"
                raise RetriableSyncError(msg) from exc
            if discard_staging:
                try:
                    staged.discard()
                except OSError:
                    # The run is committed; leftover staging only costs space.
                    log.warning("could not delete the staged data of run %s", staged.run_id)
            return result
        msg = f"commit of run {staged.run_id} kept conflicting with other writers: {last_error}"
        raise RetriableSyncError(msg)

    def applied_commit(self, table: TableRef, run_id: str) -> CommitResult | None:
        """The recorded commit of ``run_id``, or ``None`` if the run was not applied."""
        dt = self.open_table(table)
        if dt is None or dt.transaction_version(run_app_id(run_id)) is None:
            return None
        return self._recorded(dt, run_id, table, None)

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _can_rewrite(
        dt: DeltaTable, source: RunSource, options: WriteOptions, plan: SchemaPlan
    ) -> bool:
        """Whether the streaming copy-on-write MERGE applies (else delta-rs's MERGE runs)."""
        protocol = dt.protocol()
        return (
            options.mode is WriteMode.MERGE
            and source.keys is not None
            and not plan.added
            and protocol.min_reader_version == 1
            and not protocol.reader_features
            and not dt.metadata().partition_columns
        )

    def _write_files(
        self, uri: str, reader: pa.RecordBatchReader, schema: pa.Schema
    ) -> list[AddAction]:
        """Stream ``reader`` into new table files shaped as ``schema``; their add actions."""
        with TableFileWriter(
            uri,
            schema,
            storage_options=self.storage_options,
            target_size=TARGET_FILE_SIZE,
            row_group_rows=TABLE_ROW_GROUP,
        ) as files:
            for batch in reader:
                files.write(conform_batch(batch, schema))
            return files.close()

    def _recorded(
        self, dt: DeltaTable, run_id: str, table: TableRef, options: WriteOptions | None
    ) -> CommitResult:
        info = find_commit(dt, run_id)
        if info is None:
            return CommitResult(
                run_id=run_id,
                dataset_id=table.dataset_id,
                mode=options.mode if options else WriteMode.MERGE,
                already_applied=True,
                table_version=None,
            )
        stage = info.get(_META_STAGE) or {}
        metrics = info.get("operationMetrics") or {}
        mode = WriteMode(stage.get("mode", WriteMode.MERGE))
        version = int(info["version"])
        files, size = added_files(dt.table_uri, version, self.storage_options)
        if info.get("operation") == "MERGE":
            inserted = int(metrics.get("num_target_rows_inserted", 0))
            updated = int(metrics.get("num_target_rows_updated", 0))
            deleted = int(metrics.get("num_target_rows_deleted", 0))
        elif "rowsInserted" in stage:
            inserted = int(stage["rowsInserted"])
            updated = int(stage.get("rowsUpdated", 0))
            deleted = int(stage.get("rowsDeleted", 0))
        else:
            inserted, updated, deleted = int(metrics.get("num_added_rows", 0)), 0, 0
        reconciled = int(stage.get("rowsReconciled", 0))
        if info.get("operation") == "MERGE" and reconciled and "rowsInserted" not in stage:
            # flagged rows were counted as updates by delta-rs
            flagged = min(reconciled, updated) if stage.get("reconcileFlags") else 0
            updated, deleted = updated - flagged, deleted + flagged
        state = info.get(_META_STATE)
        return CommitResult(
            run_id=run_id,
            dataset_id=table.dataset_id,
            mode=mode,
            already_applied=True,
            table_version=version,
            rows_staged=int(stage.get("rowsStaged", 0)),
            duplicates_dropped=int(stage.get("duplicatesDropped", 0)),
            rows_rejected=int(stage.get("rowsRejected", 0)),
            rows_inserted=inserted,
            rows_updated=updated,
            rows_deleted=deleted,
            rows_reconciled=reconciled,
            rows_written=inserted + updated,
            files_added=files,
            bytes_written=size,
            created_table=bool(stage.get("createdTable", False)),
            added_columns=tuple(stage.get("addedColumns", ())),
            state=state if isinstance(state, dict) else None,
        )

    def _apply(
        self,
        dt: DeltaTable | None,
        staged: StagedRun,
        table: TableRef,
        options: WriteOptions,
        flow_id: str,
        state: Mapping[str, Any] | None,
        now: datetime,
        *,
        reconcile: bool = False,
    ) -> CommitResult:
        uri = self._uri(table)
        source = RunSource.build(staged, options, now)
        reconcile = reconcile and source is not None and options.mode is WriteMode.MERGE
        stored = None if dt is None else pa.schema(dt.schema().to_arrow())
        if source is None:
            # Nothing was staged; record the run (and its state) on an existing table only.
            if dt is None or stored is None:
                return CommitResult(
                    run_id=staged.run_id,
                    dataset_id=table.dataset_id,
                    mode=options.mode,
                    already_applied=False,
                    table_version=None,
                    state=state,
                )
            source = RunSource.empty(stored, staged.run_id)
        drop_flag = (
            options.mode is WriteMode.MERGE
            and options.on_delete is DeleteMode.DELETE
            and source.deleted_column is not None
        )
        ignore = [source.deleted_column] if drop_flag and source.deleted_column else []
        if reconcile and not drop_flag and source.deleted_column is None:
            log.warning("run %s: no deleted flag to reconcile with in flag mode", staged.run_id)
            reconcile = False
        plan = (
            SchemaPlan(added=(), casts={})
            if stored is None
            else plan_evolution(stored, source.schema, ignore=ignore)
        )
        source.casts = plan.casts
        result = CommitResult(
            run_id=staged.run_id,
            dataset_id=table.dataset_id,
            mode=options.mode,
            already_applied=False,
            table_version=None,
            rows_staged=source.rows_staged,
            duplicates_dropped=source.duplicates,
            rows_rejected=source.rejected,
            created_table=dt is None,
            added_columns=plan.added_names,
            state=state,
        )
        metadata: dict[str, Any] = {
            _META_RUN: staged.run_id,
            _META_FLOW: flow_id,
            _META_DATASET: table.dataset_id,
            _META_STAGE: {"mode": options.mode.value, **stage_metrics(result)},
        }
        if state is not None:
            metadata[_META_STATE] = dict(state)
        commit = CommitProperties(
            custom_metadata=metadata,
            app_transactions=[Transaction(run_app_id(staged.run_id), 1)],
        )
        writer = WriterProperties(max_row_group_size=TABLE_ROW_GROUP)
        options_arg = self._options()

        history_or_empty = options.mode is WriteMode.HISTORY or source.rows_selected == 0
        reconciled = 0
        if dt is None:
            out_schema = source.output_schema(drop_deleted=drop_flag)
            actions = self._write_files(uri, source.reader(drop_deleted=drop_flag), out_schema)
            # Files are written before the commit, so the commit can carry its own count.
            metadata[_META_STAGE]["rowsInserted"] = source.rows_out
            create_table_with_add_actions(
                uri,
                DeltaSchema.from_arrow(out_schema),
                actions,
                mode="error",
                configuration={"delta.targetFileSize": str(TARGET_FILE_SIZE)},
                storage_options=options_arg,
                commit_properties=commit,
            )
            inserted, updated, deleted = source.rows_out, 0, 0
        elif history_or_empty and not plan.added and stored is not None:
            actions = self._write_files(uri, source.reader(drop_deleted=False), stored)
            metadata[_META_STAGE]["rowsInserted"] = source.rows_out
            dt.create_write_transaction(
                list[AddAction | RemoveAction](actions),
                mode="append",
                schema=stored,
                commit_properties=commit,
            )
            inserted, updated, deleted = source.rows_out, 0, 0
        elif history_or_empty:
            # New columns: delta-rs's writer evolves the schema in the same commit.
            write_deltalake(
                dt,
                source.reader(drop_deleted=False, for_delta_rs=True),
                mode="append",
                schema_mode="merge",
                writer_properties=writer,
                commit_properties=commit,
                target_file_size=TARGET_FILE_SIZE,
            )
            inserted, updated, deleted = source.rows_out, 0, 0
        elif self.rewrite_merge and self._can_rewrite(dt, source, options, plan):
            inserted, updated, deleted, reconciled = rewrite_merge(
                dt,
                self.storage_options,
                uri,
                source,
                stored,
                options.primary_key[0],
                drop_flag,
                metadata,
                commit,
                reconcile=reconcile,
            )
        else:
            if reconcile:
                reconciled = unseen_rows(
                    dt, options.primary_key, source, None if drop_flag else source.deleted_column
                )
                metadata[_META_STAGE]["rowsReconciled"] = reconciled
                metadata[_META_STAGE]["reconcileFlags"] = not drop_flag
            predicate = " AND ".join(f"t.{_quote(k)} = s.{_quote(k)}" for k in options.primary_key)
            merger = dt.merge(
                source.reader(drop_deleted=False, for_delta_rs=True),
                predicate,
                source_alias="s",
                target_alias="t",
                merge_schema=bool(plan.added),
                writer_properties=writer,
                commit_properties=commit,
            )
            if drop_flag and source.deleted_column is not None:
                flag = f"s.{_quote(source.deleted_column)}"
                except_cols = [source.deleted_column]
                merger = (
                    merger.when_matched_delete(flag)
                    .when_matched_update_all(f"NOT {flag}", except_cols=except_cols)
                    .when_not_matched_insert_all(f"NOT {flag}", except_cols=except_cols)
                )
            else:
                merger = merger.when_matched_update_all().when_not_matched_insert_all()
            if reconcile and drop_flag:
                merger = merger.when_not_matched_by_source_delete()
            elif reconcile and source.deleted_column is not None:
                flag = _quote(source.deleted_column)
                merger = merger.when_not_matched_by_source_update(
                    {flag: "true"}, f"t.{flag} IS NOT TRUE"
                )
            metrics = merger.execute()
            inserted = int(metrics.get("num_target_rows_inserted", 0))
            updated = int(metrics.get("num_target_rows_updated", 0))
            deleted = int(metrics.get("num_target_rows_deleted", 0))
            if reconcile and not drop_flag:
                updated -= reconciled  # flagged rows are counted as deleted, not updated
                deleted += reconciled

        after = DeltaTable(uri, storage_options=options_arg)
        if after.transaction_version(run_app_id(staged.run_id)) is None:
            # The MERGE changed nothing, so delta-rs skipped the commit; record the run anyway.
            write_deltalake(
                after,
                RunSource.empty(pa.schema(after.schema().to_arrow()), staged.run_id).reader(False),
                mode="append",
                commit_properties=commit,
            )
            after = DeltaTable(uri, storage_options=options_arg)
        # The commit is among the newest unless many writers raced; don't read deep history.
        info = find_commit(after, staged.run_id, limit=50)
        version = int(info["version"]) if info else after.version()
        files, size = added_files(after.table_uri, version, self.storage_options)
        log.info(
            "run %s committed to %s v%d: +%d ~%d -%d",
            staged.run_id,
            table.dataset_id,
            version,
            inserted,
            updated,
            deleted,
        )
        return replace(
            result,
            table_version=version,
            rows_inserted=inserted,
            rows_updated=updated,
            rows_deleted=deleted,
            rows_reconciled=reconciled,
            rows_written=inserted + updated,
            files_added=files,
            bytes_written=size,
        )
