"""Run one claimed run: read the source table into the run's staging area, commit the staged data
to the dataset's Delta table in one transaction, then commit the cursor, then the metrics.

The order is the design: data first, cursor second. A crash anywhere re-reads (from the last
durable staged checkpoint) and never skips; a retried lake commit of the same run is a no-op.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from headwater.connectors.base import SourceConnector
from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent
from headwater.errors import (
    DestinationError,
    FatalSyncError,
    Interrupted,
    LeaseLostError,
    NotFoundError,
    RetriableSyncError,
    SyncError,
)
from headwater.lake import CommitResult, DeleteMode, Lake, TableRef, WriteMode, WriteOptions
from headwater.services.context import ServiceContext, Tenant
from headwater.store import resources as resource_store
from headwater.store import runs as store
from headwater.store.runs import RunRow

log = logging.getLogger("headwater.engine")

DELETED_COLUMN = "Is_Deleted"
PROGRESS_EVERY_S = 0.5


OpenConnector = Callable[[ServiceContext, Tenant, str], SourceConnector]


@dataclass
class RunControl:
    """Signals from the worker: stop (SIGTERM) and lease lost (another worker took over)."""

    stop: threading.Event = field(default_factory=threading.Event)
    lease_lost: threading.Event = field(default_factory=threading.Event)


@dataclass
class Outcome:
    status: str  # success | failed | partialSuccess | released | lost
    doc: dict[str, Any]
    retry_in_s: float = 0.0


def _load_doc(
    ctx: ServiceContext, kind: str, res_id: str, org: str, sandbox: str
) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        res = resource_store.read_resource(
            conn, kind=kind, res_id=res_id, org_id=org, sandbox_name=sandbox
        )
    if res is None:
        raise NotFoundError(
            f"{kind} {res_id} no longer exists", resource_id=res_id, resource_type=kind
        )
    return res.doc


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
    ) -> None:
        self.ctx = ctx
        self.run = run
        self.worker_id = worker_id
        self.open_connector = open_connector
        self.control = control
        self.doc = run.doc
        self.started = run.started_at or ctx.clock()
        self.records_read = 0
        self.bytes_read = 0
        self.pages = 0
        self.expected_total: int | None = None
        self.strategy = ""
        self.reason = ""
        self._last_save = 0.0
        self._flow_sources: list[str] = []

    # ------------------------------------------------------------------ helpers

    @property
    def lake(self) -> Lake:
        assert self.ctx.lake is not None
        return self.ctx.lake

    def _tenant(self, flow: dict[str, Any]) -> Tenant:
        return Tenant(
            org_id=self.run.org_id,
            sandbox_name=self.run.sandbox_name,
            sandbox_id=flow.get("sandboxId", ""),
            client_id=flow.get("createdClient", ""),
        )

    def _copy_activity(self, status: str) -> dict[str, Any]:
        return {
            "id": "copyActivity",
            "name": "Copy Activity",
            "updatedAtUTC": self.ctx.clock(),
            "durationSummary": {
                "startedAtUTC": self.started,
                **({"completedAtUTC": self.ctx.clock()} if status != "inProgress" else {}),
                "extensions": {
                    "windowStart": self.run.window_start,
                    "windowEnd": self.run.window_end,
                },
            },
            "sizeSummary": {"inputBytes": self.bytes_read, "outputBytes": self.bytes_read},
            "recordSummary": {
                "inputRecordCount": self.records_read,
                "outputRecordCount": self.records_read,
                "failedRecordCount": 0,
            },
            "fileSummary": {"inputFileCount": 0, "outputFileCount": 0},
            "statusSummary": {
                "status": status,
                "extensions": {
                    "type": "incremental" if self.strategy == "incremental" else "one-time",
                    "strategy": self.strategy,
                    "reason": self.reason,
                    "pages": self.pages,
                    "expectedTotal": self.expected_total,
                    "attempt": self.run.attempt,
                },
            },
            "sourceInfo": [
                {
                    "id": sid,
                    "type": "SourceConnection",
                    "reference": {"type": "HeadwaterRunId", "ids": [self.run.id]},
                }
                for sid in self._flow_sources
            ],
        }

    def _save_progress(
        self, *, force: bool = False, checkpoint: dict[str, Any] | None = None
    ) -> None:
        now = time.monotonic()
        if not force and now - self._last_save < PROGRESS_EVERY_S:
            return
        self._last_save = now
        activities = [a for a in self.doc.get("activities", []) if a.get("id") != "copyActivity"]
        self.doc["activities"] = [self._copy_activity("inProgress"), *activities]
        rs = self.doc["metrics"]["recordSummary"]
        rs["inputRecordCount"] = self.records_read
        self.doc["metrics"]["sizeSummary"]["inputBytes"] = self.bytes_read
        if not store.save_progress(
            self.ctx.engine,
            run_id=self.run.id,
            worker_id=self.worker_id,
            now=self.ctx.clock(),
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
        flow = _load_doc(
            self.ctx, "flows", self.run.flow_id, self.run.org_id, self.run.sandbox_name
        )
        self._flow_sources = list(flow.get("sourceConnectionIds", []))
        src = _load_doc(
            self.ctx,
            "sourceConnections",
            flow["sourceConnectionIds"][0],
            self.run.org_id,
            self.run.sandbox_name,
        )
        tgt = _load_doc(
            self.ctx,
            "targetConnections",
            flow["targetConnectionIds"][0],
            self.run.org_id,
            self.run.sandbox_name,
        )
        ds_id = tgt["params"]["dataSetId"]
        dataset = _load_doc(self.ctx, "dataSets", ds_id, self.run.org_id, self.run.sandbox_name)
        table_name = src["params"].get("tableName") or src["params"]["path"]
        columns = src["params"].get("columns")
        column_names = (
            [c if isinstance(c, str) else c["name"] for c in columns] if columns else None
        )
        table_ref = TableRef(self.run.org_id, self.run.sandbox_name, ds_id)
        stream = table_name

        with self.ctx.engine.connect() as conn:
            committed = store.read_flow_state(conn, flow_id=flow["id"]).get(stream)

        applied = self.lake.applied_commit(table_ref, self.run.id)
        if applied is not None:
            log.info("run %s was committed before the crash; finishing it", self.run.id)
            recorded = dict(applied.state) if applied.state is not None else committed
            return self._finish(flow, dataset, stream, applied, recorded)

        staged = self.lake.stage(self.run.id)
        state: dict[str, Any] | None
        if staged.resume_state is not None:
            state = dict(staged.resume_state)
            self.records_read = staged.durable_rows
        elif committed is not None:
            state = committed
        else:
            state = None
            sp = flow.get("scheduleParams", {})
            if sp.get("frequency") != "once" and sp.get("backfill") == "false":
                state = {"v": 1, "cursor_ms": int(sp["startTime"]) * 1000}

        tenant = self._tenant(flow)
        final_state: dict[str, Any] | None = state
        with self.open_connector(self.ctx, tenant, src["baseConnectionId"]) as connector:
            primary_key = connector.primary_key(table_name)
            schema = connector.table_schema(table_name)
            if column_names:
                keep = set(column_names) | set(primary_key) | {DELETED_COLUMN}
                schema = pa.schema([f for f in schema if f.name in keep])
            empty = schema.empty_table().to_batches(max_chunksize=1)
            empty_batch = empty[0] if empty else pa.RecordBatch.from_pylist([], schema=schema)
            self._save_progress(force=True)
            for event in connector.read(table_name, state=state, columns=column_names):
                if isinstance(event, BatchEvent):
                    staged.write(event.batch)
                    self.records_read += event.batch.num_rows
                    self.bytes_read += event.batch.nbytes
                elif isinstance(event, CheckpointEvent):
                    staged.write(empty_batch, state=event.state)
                    final_state = event.state
                    self._save_progress(checkpoint=event.state)
                elif isinstance(event, ProgressEvent):
                    self.pages = event.pages
                    self.expected_total = event.expected_total
                    self.strategy = event.strategy
                    self.reason = event.reason
                    self._save_progress()
                self._check_signals()
            staged.flush()
            options = WriteOptions(
                primary_key=primary_key,
                mode=WriteMode(dataset["headwater"]["writeMode"]),
                deleted_column=DELETED_COLUMN,
                on_delete=DeleteMode(dataset["headwater"]["deletedRecords"]),
                valid_from_column="Updated_At"
                if dataset["headwater"]["writeMode"] == WriteMode.HISTORY.value
                and "Updated_At" in schema.names
                else None,
            )
        self._check_signals()
        result = self.lake.commit(staged, table_ref, options, flow_id=flow["id"], state=final_state)
        return self._finish(flow, dataset, stream, result, final_state)

    def _finish(
        self,
        flow: dict[str, Any],
        dataset: dict[str, Any],
        stream: str,
        result: CommitResult,
        final_state: dict[str, Any] | None,
    ) -> Outcome:
        now = self.ctx.clock()
        if final_state is not None:
            with self.ctx.engine.begin() as conn:
                store.commit_flow_state(
                    conn,
                    flow_id=flow["id"],
                    stream=stream,
                    state=final_state,
                    run_id=self.run.id,
                    now=now,
                )
        from headwater.services import datasets as dataset_service

        tenant = self._tenant(flow)
        status = "success" if result.rows_rejected == 0 else "partialSuccess"
        records_in = max(self.records_read, result.rows_staged)
        output = result.rows_inserted + result.rows_updated + result.rows_deleted
        metrics: dict[str, Any] = {
            "durationSummary": {"startedAtUTC": self.started, "completedAtUTC": now},
            "sizeSummary": {"inputBytes": self.bytes_read, "outputBytes": result.bytes_written},
            "recordSummary": {
                "inputRecordCount": records_in,
                "outputRecordCount": result.rows_inserted
                + result.rows_updated
                + result.rows_deleted,
                "failedRecordCount": result.rows_rejected,
                "createdRecordCount": result.rows_inserted,
                "updatedRecordCount": result.rows_updated,
                "deletedRecordCount": result.rows_deleted,
                "skippedRecordCount": result.duplicates_dropped,
            },
            "fileSummary": {
                "inputFileCount": 0,
                "outputFileCount": result.files_added,
                "activityRefs": ["promotionActivity"],
            },
            "statusSummary": {
                "status": status,
                "errors": []
                if status == "success"
                else [
                    {
                        "code": "INGEST-1212-400",
                        "message": f"{result.rows_rejected} records had no primary key",
                    }
                ],
                "activityRefs": ["promotionActivity"],
            },
        }
        batch_id = dataset_service.record_batch(
            self.ctx,
            tenant,
            ds_id=dataset["id"],
            run_id=self.run.id,
            flow_id=flow["id"],
            status="success" if status == "success" else "partial",
            records=output,
            metrics=result.metrics(),
        )
        promotion = {
            "id": "promotionActivity",
            "name": "Promotion Activity",
            "updatedAtUTC": now,
            "durationSummary": {"startedAtUTC": now, "completedAtUTC": self.ctx.clock()},
            "sizeSummary": {"inputBytes": self.bytes_read, "outputBytes": result.bytes_written},
            "recordSummary": {
                "inputRecordCount": result.rows_staged,
                "outputRecordCount": result.rows_written,
                "failedRecordCount": result.rows_rejected,
                "createdRecordCount": result.rows_inserted,
                "updatedRecordCount": result.rows_updated,
                "deletedRecordCount": result.rows_deleted,
            },
            "fileSummary": {"inputFileCount": 0, "outputFileCount": result.files_added},
            "statusSummary": {
                "status": status,
                "errors": [],
                "extensions": {
                    "tableVersion": result.table_version,
                    "alreadyApplied": result.already_applied,
                    "addedColumns": list(result.added_columns),
                    "mode": result.mode.value,
                },
            },
            "targetInfo": [
                {
                    "id": tid,
                    "type": "TargetConnection",
                    "reference": {"type": "Batch", "ids": [batch_id]},
                }
                for tid in flow.get("targetConnectionIds", [])
            ],
        }
        self._flow_sources = list(flow.get("sourceConnectionIds", []))
        self.doc["metrics"] = metrics
        self.doc["activities"] = [self._copy_activity(status), promotion]
        return Outcome(status=status, doc=self.doc)


def run_one(
    ctx: ServiceContext,
    run: RunRow,
    *,
    worker_id: str,
    open_connector: OpenConnector,
    control: RunControl,
    max_attempts: int = 5,
) -> Outcome:
    """Execute ``run`` and classify how it ended (the worker records the outcome)."""
    ex = Execution(ctx, run, worker_id=worker_id, open_connector=open_connector, control=control)
    try:
        return ex.execute()
    except Interrupted:
        return Outcome(status="released", doc=ex.doc, retry_in_s=0.0)
    except LeaseLostError:
        return Outcome(status="lost", doc=ex.doc)
    except RetriableSyncError as exc:
        if run.attempt >= max_attempts:
            return _failed(ex, exc, f"gave up after {run.attempt} attempts: {exc.message}")
        delay = min(300.0, 2.0 * 2 ** (run.attempt - 1))
        log.warning(
            "run %s attempt %d failed (%s); retrying in %.0f s", run.id, run.attempt, exc, delay
        )
        errors = ex.doc["metrics"]["statusSummary"].setdefault("errors", [])
        errors.append({"code": exc.run_code, "message": f"attempt {run.attempt}: {exc.message}"})
        return Outcome(status="released", doc=ex.doc, retry_in_s=delay)
    except (FatalSyncError, DestinationError) as exc:
        return _failed(ex, exc, exc.message)
    except NotFoundError as exc:
        return _failed(ex, exc, exc.message, code="CONNECTOR-1101-404")
    except SyncError as exc:
        return _failed(ex, exc, exc.message)
    except Exception as exc:
        log.exception("run %s crashed", run.id)
        return _failed(ex, exc, f"{type(exc).__name__}: {exc}", code="ENGINE-1102-500")


def _failed(ex: Execution, exc: BaseException, message: str, code: str | None = None) -> Outcome:
    run_code = code or getattr(exc, "run_code", "CONNECTOR-2001-500")
    metrics = ex.doc.setdefault("metrics", {})
    metrics["durationSummary"] = {"startedAtUTC": ex.started, "completedAtUTC": ex.ctx.clock()}
    metrics.setdefault("recordSummary", {})["inputRecordCount"] = ex.records_read
    metrics["statusSummary"] = {
        "status": "failed",
        "errors": [{"code": run_code, "message": message}],
        "activityRefs": ["copyActivity"],
    }
    ex.doc["activities"] = [ex._copy_activity("failed")]
    ex.doc["activities"][0]["statusSummary"]["errors"] = [{"code": run_code, "message": message}]
    return Outcome(status="failed", doc=ex.doc)
