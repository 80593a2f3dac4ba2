"""Adobe's run documents, built by pure functions: metrics, the ``copyActivity`` and
``promotionActivity`` activities, ``lastRunDetails`` of a flow and the run event payloads.

This is the one place that turns a :class:`RunStatus` into Adobe's status string. Each builder
takes the run document it updates and returns a new one; none reads a clock or a database.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headwater.connectors.events import ProgressEvent
from headwater.domain.runs import RunStatus
from headwater.lake import CommitResult

__all__ = [
    "CopyProgress",
    "copy_activity",
    "empty_metrics",
    "failed",
    "finished",
    "last_run_details",
    "run_event",
    "wire_status",
    "with_progress",
    "with_retry_error",
]

#: A run document (or a part of one) in Adobe's JSON shape.
Doc = dict[str, Any]

_WIRE = {
    RunStatus.SCHEDULED: "scheduled",
    RunStatus.IN_PROGRESS: "inProgress",
    RunStatus.SUCCESS: "success",
    RunStatus.PARTIAL_SUCCESS: "partialSuccess",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "cancelled",
}
REJECTED_CODE = "INGEST-1212-400"
#: Adobe's run error code for records the mapper could not transform.
MAPPER_CODE = "MAPPER-3700-400"


def wire_status(status: RunStatus) -> str:
    """Adobe's ``statusSummary.status`` / ``state`` string of a run status."""
    return _WIRE[status]


@dataclass(slots=True, kw_only=True)
class CopyProgress:
    """What the copy step (source → staging) of one attempt has done so far. The engine updates
    it as events arrive; the builders read it."""

    run_id: str
    attempt: int
    started: int
    window_start: int | None = None
    window_end: int | None = None
    source_ids: Sequence[str] = ()
    records: int = 0
    #: records a transformation (the mapping) failed; they are not staged
    failed: int = 0
    bytes: int = 0
    pages: int = 0
    expected_total: int | None = None
    strategy: str = ""
    reason: str = ""
    #: the read's mode as the run asked for it (``auto``, ``full``, ``incremental``)
    mode: str = "auto"
    #: the connector's last progress report: deletes and associations checked, merges, ...
    last: ProgressEvent | None = None


def empty_metrics(status: RunStatus) -> Doc:
    return {
        "durationSummary": {},
        "sizeSummary": {"inputBytes": 0, "outputBytes": 0},
        "recordSummary": {
            "inputRecordCount": 0,
            "outputRecordCount": 0,
            "failedRecordCount": 0,
            "createdRecordCount": 0,
            "updatedRecordCount": 0,
            "deletedRecordCount": 0,
        },
        "fileSummary": {"inputFileCount": 0, "outputFileCount": 0, "activityRefs": []},
        "statusSummary": {"status": wire_status(status), "errors": [], "activityRefs": []},
    }


def read_checks(event: ProgressEvent | None) -> Doc:
    """What a read checked beyond the changed records, as the copy activity reports it."""
    e = event or ProgressEvent(
        table="", strategy="", reason="", phase="", records=0, pages=0, requests=0
    )
    return {
        "deletesCheckedAt": e.deletes_checked_ms,
        "deletes": e.deletes,
        "associationsCheckedAt": e.associations_checked_ms,
        "associations": e.associations,
        "associationRequests": e.association_requests,
        "associationChanges": e.association_changes,
        "mergedRecords": e.merged,
        "unchangedRecords": e.unchanged,
        "completeRead": e.complete,
    }


def copy_activity(progress: CopyProgress, status: RunStatus, *, now: int) -> Doc:
    """Adobe's ``copyActivity``: reading the source into staging."""
    return {
        "id": "copyActivity",
        "name": "Copy Activity",
        "updatedAtUTC": now,
        "durationSummary": {
            "startedAtUTC": progress.started,
            **({"completedAtUTC": now} if status is not RunStatus.IN_PROGRESS else {}),
            "extensions": {
                "windowStart": progress.window_start,
                "windowEnd": progress.window_end,
            },
        },
        "sizeSummary": {"inputBytes": progress.bytes, "outputBytes": progress.bytes},
        "recordSummary": {
            "inputRecordCount": progress.records,
            "outputRecordCount": progress.records - progress.failed,
            "failedRecordCount": progress.failed,
        },
        "fileSummary": {"inputFileCount": 0, "outputFileCount": 0},
        "statusSummary": {
            "status": wire_status(status),
            "extensions": {
                "type": "incremental" if progress.strategy == "incremental" else "one-time",
                "strategy": progress.strategy,
                "reason": progress.reason,
                "mode": progress.mode,
                **read_checks(progress.last),
                "pages": progress.pages,
                "expectedTotal": progress.expected_total,
                "attempt": progress.attempt,
            },
        },
        "sourceInfo": [
            {
                "id": sid,
                "type": "SourceConnection",
                "reference": {"type": "HeadwaterRunId", "ids": [progress.run_id]},
            }
            for sid in progress.source_ids
        ],
    }


def with_progress(doc: Doc, progress: CopyProgress, *, now: int) -> Doc:
    """The run document while the copy is under way: a fresh in-progress ``copyActivity`` and
    the records and bytes read so far."""
    out = copy.deepcopy(doc)
    others = [a for a in out.get("activities", []) if a.get("id") != "copyActivity"]
    out["activities"] = [copy_activity(progress, RunStatus.IN_PROGRESS, now=now), *others]
    metrics = out.setdefault("metrics", empty_metrics(RunStatus.IN_PROGRESS))
    metrics.setdefault("recordSummary", {})["inputRecordCount"] = progress.records
    metrics.setdefault("sizeSummary", {})["inputBytes"] = progress.bytes
    return out


def with_retry_error(doc: Doc, *, code: str, message: str, attempt: int) -> Doc:
    """The run document of an attempt that failed and will be retried: the error is kept."""
    out = copy.deepcopy(doc)
    summary = out.setdefault("metrics", {}).setdefault("statusSummary", {})
    summary.setdefault("errors", []).append(
        {"code": code, "message": f"attempt {attempt}: {message}"}
    )
    return out


def failed(doc: Doc, progress: CopyProgress, *, code: str, message: str, now: int) -> Doc:
    """The run document of a run that failed for good."""
    out = copy.deepcopy(doc)
    error = {"code": code, "message": message}
    metrics = out.setdefault("metrics", {})
    metrics["durationSummary"] = {"startedAtUTC": progress.started, "completedAtUTC": now}
    summary = metrics.setdefault("recordSummary", {})
    summary["inputRecordCount"] = progress.records
    summary["failedRecordCount"] = progress.failed
    metrics["statusSummary"] = {
        "status": wire_status(RunStatus.FAILED),
        "errors": [error],
        "activityRefs": ["copyActivity"],
    }
    activity = copy_activity(progress, RunStatus.FAILED, now=now)
    activity["statusSummary"]["errors"] = [dict(error)]
    out["activities"] = [activity]
    return out


def with_failed_batch(
    doc: Doc, progress: CopyProgress, *, target_ids: Sequence[str], batch_id: str, now: int
) -> Doc:
    """A failed run's document when its batch failed (too many records failed mapping): a
    failed ``promotionActivity`` that nothing was written by, naming the failed batch in its
    ``targetInfo`` as Adobe's runs name their batches."""
    out = copy.deepcopy(doc)
    errors = out.get("metrics", {}).get("statusSummary", {}).get("errors", [])
    promotion: Doc = {
        "id": "promotionActivity",
        "name": "Promotion Activity",
        "updatedAtUTC": now,
        "durationSummary": {"startedAtUTC": now, "completedAtUTC": now},
        "recordSummary": {
            "inputRecordCount": progress.records - progress.failed,
            "outputRecordCount": 0,
            "failedRecordCount": progress.failed,
        },
        "statusSummary": {"status": wire_status(RunStatus.FAILED), "errors": copy.deepcopy(errors)},
        "targetInfo": [
            {
                "id": tid,
                "type": "TargetConnection",
                "reference": {"type": "Batch", "ids": [batch_id]},
            }
            for tid in target_ids
        ],
    }
    out["activities"] = [*out.get("activities", []), promotion]
    summary = out.setdefault("metrics", {}).setdefault("statusSummary", {})
    summary["activityRefs"] = [*summary.get("activityRefs", []), "promotionActivity"]
    return out


def outcome_status(result: CommitResult, failed: int = 0) -> RunStatus:
    """A committed run succeeded, or partly when records failed: the mapping failed ``failed``
    of them, or the lake rejected some (no primary key)."""
    ok = result.rows_rejected == 0 and failed == 0
    return RunStatus.SUCCESS if ok else RunStatus.PARTIAL_SUCCESS


def _errors(result: CommitResult, progress: CopyProgress, errors: Sequence[Doc]) -> list[Doc]:
    out: list[Doc] = []
    if result.rows_rejected:
        out.append(
            {"code": REJECTED_CODE, "message": f"{result.rows_rejected} records had no primary key"}
        )
    if progress.failed:
        out.append(
            {
                "code": MAPPER_CODE,
                "message": f"{progress.failed} of {progress.records} records failed mapping",
                "recordCount": progress.failed,
            }
        )
    out.extend(errors)
    return out


def finished(
    doc: Doc,
    progress: CopyProgress,
    result: CommitResult,
    *,
    target_ids: Sequence[str],
    batch_id: str,
    promoted_at: int,
    now: int,
    errors: Sequence[Doc] = (),
) -> Doc:
    """The run document of a run whose data is committed: metrics, then the copy and the
    promotion (staging → Delta table) activities. ``progress.failed`` records failed mapping;
    ``errors`` are more entries for ``statusSummary.errors`` (one per error code)."""
    status = outcome_status(result, progress.failed)
    wire = wire_status(status)
    records_in = max(progress.records, result.rows_staged)
    written = result.rows_inserted + result.rows_updated + result.rows_deleted
    metrics: Doc = {
        "durationSummary": {"startedAtUTC": progress.started, "completedAtUTC": promoted_at},
        "sizeSummary": {"inputBytes": progress.bytes, "outputBytes": result.bytes_written},
        "recordSummary": {
            "inputRecordCount": records_in,
            "outputRecordCount": written,
            "failedRecordCount": result.rows_rejected + progress.failed,
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
            "status": wire,
            "errors": _errors(result, progress, errors),
            "activityRefs": ["promotionActivity"],
        },
    }
    promotion: Doc = {
        "id": "promotionActivity",
        "name": "Promotion Activity",
        "updatedAtUTC": promoted_at,
        "durationSummary": {"startedAtUTC": promoted_at, "completedAtUTC": now},
        "sizeSummary": {"inputBytes": progress.bytes, "outputBytes": result.bytes_written},
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
            "status": wire,
            "errors": [],
            "extensions": {
                "tableVersion": result.table_version,
                "alreadyApplied": result.already_applied,
                "addedColumns": list(result.added_columns),
                "mode": result.mode.value,
                # rows the dataset had that a complete read no longer saw (removed or flagged)
                "reconciledRecordCount": result.rows_reconciled,
            },
        },
        "targetInfo": [
            {
                "id": tid,
                "type": "TargetConnection",
                "reference": {"type": "Batch", "ids": [batch_id]},
            }
            for tid in target_ids
        ],
    }
    out = copy.deepcopy(doc)
    out["metrics"] = metrics
    out["activities"] = [copy_activity(progress, status, now=now), promotion]
    return out


def last_run_details(*, run_id: str, status: RunStatus, started: int | None, completed: int) -> Doc:
    """A flow's ``lastRunDetails`` after one of its runs ended."""
    return {
        "id": run_id,
        "state": wire_status(status),
        "startedAtUTC": started,
        "completedAtUTC": completed,
    }


def run_event(
    *,
    org_id: str,
    sandbox_name: str,
    flow_id: str,
    run_id: str,
    attempt: int,
    status: RunStatus,
    doc: Doc,
) -> Doc:
    """A payload shaped like Adobe's flow-run events."""
    metrics = doc.get("metrics", {})
    return {
        "imsOrgId": org_id,
        "sandboxName": sandbox_name,
        "flowId": flow_id,
        "flowRunId": run_id,
        "status": wire_status(status),
        "attempt": attempt,
        "metrics": metrics,
        "errors": metrics.get("statusSummary", {}).get("errors", []),
    }
