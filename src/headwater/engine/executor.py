"""Run one claimed run: plan it, read the source table into the run's staging area (through the
plan's transformations), commit the staged data to the dataset's Delta table in one transaction,
then let services commit the cursor and the metrics.

The order is the design: data first, cursor second. A crash anywhere re-reads (from the last
durable staged checkpoint) and never skips; a retried lake commit of the same run is a no-op.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy.exc import SQLAlchemyError

from headwater.connectors.base import CursorState, SourceConnector
from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent
from headwater.domain.runs import RunStatus
from headwater.engine.failures import FailedRecords
from headwater.engine.stopping import pause_point
from headwater.errors import (
    CheckpointError,
    DestinationError,
    FatalSyncError,
    Interrupted,
    LeaseLostError,
    NotFoundError,
    PartialIngestionError,
    RetriableSyncError,
    SyncError,
)
from headwater.lake import CommitResult, Lake, StagedRun, WriteOptions
from headwater.services import run_documents, run_outcomes
from headwater.services.context import ServiceContext, Tenant
from headwater.services.datasets import lake_of
from headwater.services.run_documents import CopyProgress
from headwater.services.run_outcomes import Outcome
from headwater.services.run_plans import Applied, FailedRecord, RunPlan, plan_run
from headwater.store import runs as store
from headwater.store.runs import RunRow

log = logging.getLogger("headwater.engine")

PROGRESS_EVERY_S = 0.5
NOT_FOUND_CODE = "CONNECTOR-1101-404"
CRASH_CODE = "ENGINE-1102-500"

OpenConnector = Callable[[ServiceContext, Tenant, str], SourceConnector]
#: Builds a claimed run's plan (``services.run_plans.plan_run``).
Planner = Callable[[ServiceContext, RunRow], RunPlan]


@dataclass
class RunControl:
    """Signals from the worker: stop (SIGTERM) and lease lost (another worker took over)."""

    stop: threading.Event = field(default_factory=threading.Event)
    lease_lost: threading.Event = field(default_factory=threading.Event)


def staged_schema(
    schema: pa.Schema, plan: RunPlan, primary_key: tuple[str, ...], deleted_column: str
) -> tuple[pa.Schema, tuple[str, ...]]:
    """The schema of the batches the plan stages: the selected columns (plus the key and the
    deleted flag), then each transformation's output; and the key columns after them."""
    if plan.source.columns:
        keep = set(plan.source.columns) | set(primary_key) | {deleted_column}
        schema = pa.schema([f for f in schema if f.name in keep])
    key = primary_key
    for step in plan.transformations:
        key = step.output_key(schema, key)
        schema = step.output_schema(schema)
    return schema, key


class Execution:
    """The state of one run while a worker executes it."""

    def __init__(
        self,
        ctx: ServiceContext,
        run: RunRow,
        *,
        worker_id: str,
        open_connector: OpenConnector,
        control: RunControl,
        planner: Planner = plan_run,
    ) -> None:
        self.ctx = ctx
        self.planner = planner
        self.run = run
        self.worker_id = worker_id
        self.open_connector = open_connector
        self.control = control
        self.doc = run.doc
        self.progress = CopyProgress(
            run_id=run.id,
            attempt=run.attempt,
            started=run.started_at or ctx.clock(),
            window_start=run.window_start,
            window_end=run.window_end,
        )
        self._last_save = 0.0
        self._unsaved_checkpoint: CursorState | None = None
        #: records the plan's transformations failed (each fails alone), with transformations
        self.failures: FailedRecords | None = None
        #: the failed batch (and the target connections) of a run whose records failed mapping
        self.rejected: tuple[str, tuple[str, ...]] | None = None

    # ------------------------------------------------------------------ helpers

    def _save_progress(self, *, force: bool = False, checkpoint: CursorState | None = None) -> None:
        """Write the run's progress at most every ``PROGRESS_EVERY_S``; a checkpoint that
        arrives in between waits for the next write instead of being skipped, so the stored
        checkpoint is never more than that interval behind the read."""
        if checkpoint is not None:
            self._unsaved_checkpoint = checkpoint
        now = time.monotonic()
        if not force and now - self._last_save < PROGRESS_EVERY_S:
            return
        self._last_save = now
        checkpoint, self._unsaved_checkpoint = self._unsaved_checkpoint, None
        self.doc = run_documents.with_progress(self.doc, self.progress, now=self.ctx.clock())
        if not store.set_run_state(
            self.ctx.engine,
            run_id=self.run.id,
            worker_id=self.worker_id,
            now=self.ctx.clock(),
            status=RunStatus.IN_PROGRESS,
            doc=self.doc,
            checkpoint=checkpoint,
        ):
            self.control.lease_lost.set()

    def _check_signals(self) -> None:
        if self.control.lease_lost.is_set():
            raise LeaseLostError(f"run {self.run.id} is owned by another worker now")
        if self.control.stop.is_set():
            raise Interrupted("worker shutting down")

    # ------------------------------------------------------------------ the run

    def execute(self) -> Outcome:
        plan = self.planner(self.ctx, self.run)
        self.progress.source_ids = plan.source.source_connection_ids
        lake = lake_of(self.ctx)
        if plan.transformations:
            self.failures = FailedRecords(lake, plan.run_id)

        applied = lake.applied_commit(plan.table, plan.run_id)
        if applied is not None:
            log.info("run %s was committed before the crash; finishing it", plan.run_id)
            recorded = applied.state if applied.state is not None else plan.cursor.committed
            return self._finish(plan, applied, recorded)

        staged = lake.stage(plan.run_id)
        state: CursorState | None
        if staged.resume_state is not None:
            state = dict(staged.resume_state)
            self.progress.records = staged.durable_rows + len(self.failed)
            self.progress.failed = len(self.failed)
        else:
            state = plan.cursor.start
        with self.open_connector(self.ctx, plan.tenant, plan.source.base_connection_id) as source:
            try:
                final_state, options = self._copy(plan, source, staged, state, lake)
            except CheckpointError as exc:
                if state is None:
                    raise
                # a damaged (or foreign) checkpoint: the table read from the start is exact
                log.warning(
                    "run %s: %s; reading %s from the start", plan.run_id, exc, plan.source.table
                )
                staged = self._start_over(plan, staged, lake)
                final_state, options = self._copy(plan, source, staged, None, lake)
        self._check_signals()
        if not plan.errors.allows(len(self.failed), self.progress.records):
            message = self._too_many(plan)
            # the failed batch (and its failed records) first, then the staged data goes
            batch_id = run_outcomes.reject(self.ctx, plan, self.progress, self.failed)
            self.rejected = (batch_id, tuple(plan.target_connection_ids))
            staged.discard()
            if self.failures is not None:
                self.failures.discard()
            raise PartialIngestionError(message)
        pause_point("commit")  # a test hook: stop a worker in the middle of a commit
        result = lake.commit(
            staged,
            plan.table,
            options,
            flow_id=plan.flow_id,
            state=final_state,
            # a read that listed every live record: what the dataset has beyond it is gone
            # (purged, GDPR-deleted) from the source
            reconcile=self._complete() and not plan.transformations,
        )
        return self._finish(plan, result, final_state)

    def _copy(
        self,
        plan: RunPlan,
        source: SourceConnector,
        staged: StagedRun,
        state: CursorState | None,
        lake: Lake,
    ) -> tuple[CursorState | None, WriteOptions]:
        """Read the table into staging; the last checkpoint's state and the write options."""
        table = plan.source.table
        source_key = source.primary_key(table)
        schema, primary_key = staged_schema(
            source.table_schema(table), plan, source_key, plan.write.deleted_column
        )
        if self.failures is not None:
            self.failures.key = source_key
        empty = schema.empty_table().to_batches(max_chunksize=1)
        empty_batch = empty[0] if empty else pa.RecordBatch.from_pylist([], schema=schema)
        final_state = state
        self._save_progress(force=True)
        columns = list(plan.source.columns) if plan.source.columns else None
        self.progress.mode = plan.source.mode

        def known(names: Sequence[str]) -> Iterator[pa.RecordBatch]:
            return lake.scan(plan.table, names)

        events = source.read(
            table,
            state=state,
            columns=columns,
            mode=plan.source.mode,
            # the dataset's rows, for changes the source's cursor misses (association-only);
            # a transformed dataset no longer holds the source's columns
            known=None if plan.transformations else known,
            options=plan.source.options,
        )
        constants: Mapping[str, str] | None = None
        for event in events:
            if isinstance(event, BatchEvent):
                batch = event.batch
                if plan.transformations and constants is None:
                    constants = source.constants()
                for step in plan.transformations:
                    applied = step.apply(batch, constants or {})
                    if isinstance(applied, Applied):
                        if applied.failed and self.failures is not None:
                            self.failures.add(applied.failed)
                            self.progress.failed = len(self.failures)
                        applied = applied.batch
                    batch = applied
                staged.write(batch)
                self.progress.records += event.batch.num_rows
                self.progress.bytes += event.batch.nbytes
            elif isinstance(event, CheckpointEvent):
                if self.failures is not None:
                    self.failures.checkpoint()  # before the staged data it covers
                staged.write(empty_batch, state=event.state)
                final_state = event.state
                self._save_progress(checkpoint=event.state)
            elif isinstance(event, ProgressEvent):
                self.progress.pages = event.pages
                self.progress.expected_total = event.expected_total
                self._took(event)
                self._save_progress()
            try:
                self._check_signals()
            except Interrupted:
                # the process is stopping: what was read up to the last checkpoint becomes
                # durable, so the next attempt resumes from there
                staged.flush()
                raise
        staged.flush()
        return final_state, plan.write.options(primary_key=primary_key, schema=schema)

    def _start_over(self, plan: RunPlan, staged: StagedRun, lake: Lake) -> StagedRun:
        """Drop what the run staged so far (and its failed records) and count from zero."""
        staged.discard()
        if self.failures is not None:
            self.failures.discard()
            self.failures = FailedRecords(lake, plan.run_id)
        self.progress.records = self.progress.failed = self.progress.bytes = 0
        return lake.stage(plan.run_id)

    def _complete(self) -> bool:
        last = self.progress.last
        return last is not None and last.complete

    def _took(self, event: ProgressEvent) -> None:
        self.progress.strategy, self.progress.reason = event.strategy, event.reason
        self.progress.last = event

    @property
    def failed(self) -> list[FailedRecord]:
        return [] if self.failures is None else self.failures.records

    def _too_many(self, plan: RunPlan) -> str:
        failed, total = len(self.failed), self.progress.records
        share = 100.0 * failed / total if total else 100.0
        limit = plan.errors.partial_percent
        allowed = (
            "no record may fail without partialIngestionPercent"
            if limit is None
            else f"partialIngestionPercent allows {limit:g}%"
        )
        first = self.failed[0].errors[0] if self.failed and self.failed[0].errors else {}
        example = f"; first: {first.get('columnName')}: {first.get('message')}" if first else ""
        return (
            f"{failed} of {total} records ({share:.1f}%) failed mapping and {allowed}; "
            f"the dataset is unchanged{example}"
        )

    def _finish(
        self, plan: RunPlan, result: CommitResult, final_state: CursorState | None
    ) -> Outcome:
        outcome = run_outcomes.complete(
            self.ctx, plan, self.progress, result, final_state, self.doc, failed=self.failed
        )
        if self.failures is not None:
            self.failures.discard()
        self.doc = outcome.doc
        return outcome


def run_one(
    ctx: ServiceContext,
    run: RunRow,
    *,
    worker_id: str,
    open_connector: OpenConnector,
    control: RunControl,
    max_attempts: int = 5,
    planner: Planner = plan_run,
) -> Outcome:
    """Execute ``run`` and classify how it ended (the worker records the outcome)."""
    ex = Execution(
        ctx,
        run,
        worker_id=worker_id,
        open_connector=open_connector,
        control=control,
        planner=planner,
    )
    try:
        return ex.execute()
    except Interrupted:
        return Outcome(status=RunStatus.SCHEDULED, doc=ex.doc, retry_in_s=0.0)
    except LeaseLostError:
        return Outcome(status=None, doc=ex.doc)
    except (RetriableSyncError, SQLAlchemyError) as exc:
        if isinstance(exc, SQLAlchemyError):
            # the database went away mid-run (a restart, a failover): nothing is lost, the
            # staged data and the lake commit resume on the next attempt
            exc = RetriableSyncError(f"the database was unreachable: {exc.__class__.__name__}")
        if run.attempt >= max_attempts:
            return _failed(ex, exc, f"gave up after {run.attempt} attempts: {exc.message}")
        delay = min(300.0, 2.0 * 2 ** (run.attempt - 1))
        log.warning(
            "run %s attempt %d failed (%s); retrying in %.0f s", run.id, run.attempt, exc, delay
        )
        doc = run_documents.with_retry_error(
            ex.doc, code=exc.run_code, message=exc.message, attempt=run.attempt
        )
        return Outcome(status=RunStatus.SCHEDULED, doc=doc, retry_in_s=delay)
    except (FatalSyncError, DestinationError) as exc:
        return _failed(ex, exc, exc.message)
    except NotFoundError as exc:
        return _failed(ex, exc, exc.message, code=NOT_FOUND_CODE)
    except SyncError as exc:
        return _failed(ex, exc, exc.message)
    except Exception as exc:
        log.exception("run %s crashed", run.id)
        return _failed(ex, exc, f"{type(exc).__name__}: {exc}", code=CRASH_CODE)


def _failed(ex: Execution, exc: BaseException, message: str, code: str | None = None) -> Outcome:
    run_code = code or (exc.run_code if isinstance(exc, SyncError) else SyncError.run_code)
    doc = run_documents.failed(
        ex.doc, ex.progress, code=run_code, message=message, now=ex.ctx.clock()
    )
    if ex.rejected is not None and isinstance(exc, PartialIngestionError):
        batch_id, target_ids = ex.rejected
        doc = run_documents.with_failed_batch(
            doc, ex.progress, target_ids=target_ids, batch_id=batch_id, now=ex.ctx.clock()
        )
    return Outcome(status=RunStatus.FAILED, doc=doc)
