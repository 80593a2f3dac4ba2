"""The bookkeeping around a run's execution: what happens when a committed run completes (cursor,
batch, documents) and when an attempt ends (the run's new state, the flow's ``lastRunDetails``,
events). The engine moves the data; it records through these functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from headwater.connectors.base import CursorState
from headwater.domain.runs import RunStatus
from headwater.errors import SourceAuthError
from headwater.lake import CommitResult
from headwater.services import batch_errors, datasets, flows, run_documents
from headwater.services.context import ServiceContext
from headwater.services.run_documents import CopyProgress, Doc
from headwater.services.run_plans import FailedRecord, RunPlan
from headwater.store import runs as store
from headwater.store.runs import RunRow

__all__ = ["Outcome", "complete", "record_outcome", "record_start", "reject"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended. ``status`` is the run's next state: a terminal one, ``SCHEDULED``
    to go back to the queue in ``retry_in_s``, or ``None`` when the lease was lost (another
    worker owns the run, so nothing is written)."""

    status: RunStatus | None
    doc: Doc
    retry_in_s: float = 0.0


def complete(
    ctx: ServiceContext,
    plan: RunPlan,
    progress: CopyProgress,
    result: CommitResult,
    state: CursorState | None,
    doc: Doc,
    *,
    failed: Sequence[FailedRecord] = (),
) -> Outcome:
    """The run's data is in the lake: commit the cursor (only now, after the data), record the
    dataset batch (with the records the mapping ``failed``, kept for download when the flow has
    ``errorDiagnosticsEnabled``), and build the finished run document."""
    now = ctx.clock()
    if state is not None:
        with ctx.engine.begin() as conn:
            store.commit_flow_state(
                conn,
                flow_id=plan.flow_id,
                stream=plan.stream,
                state=dict(state),
                run_id=plan.run_id,
                now=now,
            )
    status = run_documents.outcome_status(result, len(failed))
    written = result.rows_inserted + result.rows_updated + result.rows_deleted
    errors = batch_errors.batch_errors(failed, written=written, diagnostics=plan.errors.diagnostics)
    batch_id = datasets.record_batch(
        ctx,
        plan.tenant,
        ds_id=plan.dataset_id,
        run_id=plan.run_id,
        flow_id=plan.flow_id,
        # Adobe's partially ingested batches are "success" with errors; records the lake
        # rejected (no key) keep Headwater's "partial"
        status="success" if result.rows_rejected == 0 else "partial",
        records=written,
        metrics=result.metrics()
        | {
            "inputRecordCount": max(progress.records, result.rows_staged + len(failed)),
            "outputRecordCount": written,
            "failedRecordCount": len(failed) + result.rows_rejected,
        },
        errors=errors,
        tags=batch_errors.batch_tags(plan.errors),
    )
    if failed and plan.errors.diagnostics:
        batch_errors.keep_failed(ctx, plan.tenant, batch_id, failed)
    finished = run_documents.finished(
        doc,
        progress,
        result,
        target_ids=plan.target_connection_ids,
        batch_id=batch_id,
        promoted_at=now,
        now=ctx.clock(),
    )
    return Outcome(status=status, doc=finished)


def reject(
    ctx: ServiceContext,
    plan: RunPlan,
    progress: CopyProgress,
    failed: Sequence[FailedRecord],
) -> str:
    """More records failed than the flow's ``partialIngestionPercent`` allows: nothing is
    committed, and the run's batch is recorded as Adobe records a failed batch (``status:
    failed``, its counts and ``errors``), its failed records kept for download when the flow has
    ``errorDiagnosticsEnabled``. A retried attempt finds the batch it already recorded."""
    for res in datasets.batches_of_run(ctx, plan.tenant, plan.run_id):
        if res.get("status") == "failed":
            return str(res["id"])
    batch_id = datasets.record_batch(
        ctx,
        plan.tenant,
        ds_id=plan.dataset_id,
        run_id=plan.run_id,
        flow_id=plan.flow_id,
        status="failed",
        records=0,
        metrics={
            "inputRecordCount": progress.records,
            "outputRecordCount": 0,
            "failedRecordCount": len(failed),
        },
        errors=batch_errors.batch_errors(failed, written=0, diagnostics=plan.errors.diagnostics),
        tags=batch_errors.batch_tags(plan.errors),
    )
    if failed and plan.errors.diagnostics:
        batch_errors.keep_failed(ctx, plan.tenant, batch_id, failed)
    return batch_id


def _event(run: RunRow, status: RunStatus, doc: Doc) -> Doc:
    return run_documents.run_event(
        org_id=run.org_id,
        sandbox_name=run.sandbox_name,
        flow_id=run.flow_id,
        run_id=run.id,
        attempt=run.attempt,
        status=status,
        doc=doc,
    )


def record_start(ctx: ServiceContext, run: RunRow) -> None:
    """A worker claimed ``run``; its first attempt is announced."""
    if run.attempt == 1:
        ctx.emit("flow.run.started", _event(run, RunStatus.IN_PROGRESS, run.doc))


_EVENT_OF = {
    RunStatus.SUCCESS: "flow.run.succeeded",
    RunStatus.PARTIAL_SUCCESS: "flow.run.partially_succeeded",
}


def record_outcome(ctx: ServiceContext, run: RunRow, *, worker_id: str, outcome: Outcome) -> None:
    """Store how the attempt ended: back to the queue (keeping its checkpoint), or finished, with
    the flow's ``lastRunDetails`` and the run (and credential) events."""
    if outcome.status is None:
        return
    now = ctx.clock()
    requeued = outcome.status is RunStatus.SCHEDULED
    store.set_run_state(
        ctx.engine,
        run_id=run.id,
        worker_id=worker_id,
        now=now,
        status=outcome.status,
        doc=outcome.doc,
        retry_at=now + int(outcome.retry_in_s * 1000) if requeued else None,
    )
    if requeued:
        return
    flows.record_last_run(
        ctx,
        org_id=run.org_id,
        sandbox_name=run.sandbox_name,
        flow_id=run.flow_id,
        details=run_documents.last_run_details(
            run_id=run.id, status=outcome.status, started=run.started_at, completed=now
        ),
    )
    ctx.emit(
        _EVENT_OF.get(outcome.status, "flow.run.failed"), _event(run, outcome.status, outcome.doc)
    )
    errors = outcome.doc.get("metrics", {}).get("statusSummary", {}).get("errors", [])
    auth_errors = [e for e in errors if e.get("code") == SourceAuthError.run_code]
    if outcome.status is RunStatus.FAILED and auth_errors and run.portal_key:
        # the run's portal key is its base connection: tell whoever watches credentials
        ctx.emit(
            "connection.credentials.failed",
            {
                "imsOrgId": run.org_id,
                "sandboxName": run.sandbox_name,
                "connectionId": run.portal_key,
                "flowId": run.flow_id,
                "flowRunId": run.id,
                "status": "failed",
                "errors": auth_errors,
            },
        )
