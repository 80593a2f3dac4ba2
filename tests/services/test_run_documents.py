"""Adobe's run documents from the pure builders: statuses, activities, metrics, errors."""

from __future__ import annotations

import copy

from headwater.domain.runs import RunStatus
from headwater.lake import CommitResult, WriteMode
from headwater.services import run_documents as docs
from headwater.services.run_documents import CopyProgress


def progress(**changes: object) -> CopyProgress:
    p = CopyProgress(
        run_id="run-1",
        attempt=2,
        started=1_000,
        window_start=500,
        window_end=900,
        source_ids=("src-1",),
        records=120,
        bytes=4_096,
        pages=3,
        expected_total=200,
        strategy="incremental",
        reason="cursor 2026-01-01",
    )
    for k, v in changes.items():
        setattr(p, k, v)
    return p


def result(**changes: object) -> CommitResult:
    values: dict[str, object] = {
        "run_id": "run-1",
        "dataset_id": "ds-1",
        "mode": WriteMode.MERGE,
        "already_applied": False,
        "table_version": 4,
        "rows_staged": 120,
        "duplicates_dropped": 2,
        "rows_inserted": 100,
        "rows_updated": 15,
        "rows_deleted": 3,
        "rows_written": 118,
        "files_added": 2,
        "bytes_written": 9_000,
        "added_columns": ("Properties_x",),
    }
    values.update(changes)
    return CommitResult(**values)


def test_every_status_has_its_own_adobe_string() -> None:
    wire = {s: docs.wire_status(s) for s in RunStatus}
    assert wire == {
        RunStatus.SCHEDULED: "scheduled",
        RunStatus.IN_PROGRESS: "inProgress",
        RunStatus.SUCCESS: "success",
        RunStatus.PARTIAL_SUCCESS: "partialSuccess",
        RunStatus.FAILED: "failed",
        RunStatus.CANCELLED: "cancelled",
    }


def test_progress_replaces_the_copy_activity_and_leaves_the_input_alone() -> None:
    before = {
        "metrics": docs.empty_metrics(RunStatus.SCHEDULED),
        "activities": [{"id": "copyActivity", "old": True}, {"id": "other"}],
    }
    kept = copy.deepcopy(before)
    doc = docs.with_progress(before, progress(), now=2_000)
    assert before == kept
    copy_act, other = doc["activities"]
    assert other == {"id": "other"}
    assert copy_act["id"] == "copyActivity" and "old" not in copy_act
    assert copy_act["statusSummary"]["status"] == "inProgress"
    assert "completedAtUTC" not in copy_act["durationSummary"]
    assert copy_act["durationSummary"]["extensions"] == {"windowStart": 500, "windowEnd": 900}
    assert copy_act["statusSummary"]["extensions"] == {
        "type": "incremental",
        "strategy": "incremental",
        "reason": "cursor 2026-01-01",
        "mode": "auto",
        "deletesCheckedAt": None,
        "deletes": "",
        "associationsCheckedAt": None,
        "associations": "",
        "associationRequests": 0,
        "associationChanges": 0,
        "mergedRecords": 0,
        "unchangedRecords": 0,
        "completeRead": False,
        "pages": 3,
        "expectedTotal": 200,
        "attempt": 2,
    }
    assert copy_act["sourceInfo"] == [
        {
            "id": "src-1",
            "type": "SourceConnection",
            "reference": {"type": "HeadwaterRunId", "ids": ["run-1"]},
        }
    ]
    assert doc["metrics"]["recordSummary"]["inputRecordCount"] == 120
    assert doc["metrics"]["sizeSummary"]["inputBytes"] == 4_096


def test_a_full_read_is_a_one_time_copy() -> None:
    act = docs.copy_activity(progress(strategy="full"), RunStatus.SUCCESS, now=3_000)
    assert act["statusSummary"]["extensions"]["type"] == "one-time"
    assert act["durationSummary"]["completedAtUTC"] == 3_000


def test_finished_counts_what_the_lake_wrote() -> None:
    doc = docs.finished(
        {"params": {"p": 1}},
        progress(records=100),
        result(),
        target_ids=("tgt-1", "tgt-2"),
        batch_id="B1",
        promoted_at=5_000,
        now=5_100,
    )
    assert doc["params"] == {"p": 1}
    m = doc["metrics"]
    assert m["statusSummary"] == {
        "status": "success",
        "errors": [],
        "activityRefs": ["promotionActivity"],
    }
    assert m["durationSummary"] == {"startedAtUTC": 1_000, "completedAtUTC": 5_000}
    assert m["recordSummary"] == {
        "inputRecordCount": 120,  # the staged rows exceed what this attempt read (a resume)
        "outputRecordCount": 118,
        "failedRecordCount": 0,
        "createdRecordCount": 100,
        "updatedRecordCount": 15,
        "deletedRecordCount": 3,
        "skippedRecordCount": 2,
    }
    copy_act, promotion = doc["activities"]
    assert copy_act["statusSummary"]["status"] == "success"
    assert promotion["durationSummary"] == {"startedAtUTC": 5_000, "completedAtUTC": 5_100}
    assert promotion["statusSummary"]["extensions"] == {
        "tableVersion": 4,
        "alreadyApplied": False,
        "addedColumns": ["Properties_x"],
        "mode": "merge",
        "reconciledRecordCount": 0,
    }
    assert [t["id"] for t in promotion["targetInfo"]] == ["tgt-1", "tgt-2"]
    assert {tuple(t["reference"]["ids"]) for t in promotion["targetInfo"]} == {("B1",)}


def test_rejected_records_make_a_partial_success_with_the_ingest_error() -> None:
    rejected = result(rows_rejected=7)
    assert docs.outcome_status(rejected) is RunStatus.PARTIAL_SUCCESS
    doc = docs.finished({}, progress(), rejected, target_ids=(), batch_id="B", promoted_at=1, now=2)
    summary = doc["metrics"]["statusSummary"]
    assert summary["status"] == "partialSuccess"
    assert summary["errors"] == [
        {"code": "INGEST-1212-400", "message": "7 records had no primary key"}
    ]
    assert doc["metrics"]["recordSummary"]["failedRecordCount"] == 7
    assert all(a["statusSummary"]["status"] == "partialSuccess" for a in doc["activities"])


def test_failed_puts_the_error_in_the_metrics_and_the_copy_activity() -> None:
    doc = docs.failed(
        {"metrics": docs.empty_metrics(RunStatus.IN_PROGRESS), "activities": [{"id": "x"}]},
        progress(records=40),
        code="CONNECTOR-2401-401",
        message="token revoked",
        now=9_000,
    )
    error = {"code": "CONNECTOR-2401-401", "message": "token revoked"}
    assert doc["metrics"]["statusSummary"] == {
        "status": "failed",
        "errors": [error],
        "activityRefs": ["copyActivity"],
    }
    assert doc["metrics"]["durationSummary"] == {"startedAtUTC": 1_000, "completedAtUTC": 9_000}
    assert doc["metrics"]["recordSummary"]["inputRecordCount"] == 40
    (act,) = doc["activities"]
    assert act["id"] == "copyActivity" and act["statusSummary"]["errors"] == [error]
    assert act["statusSummary"]["status"] == "failed"


def test_retry_errors_accumulate_per_attempt() -> None:
    doc = docs.empty_metrics(RunStatus.IN_PROGRESS)
    run = {"metrics": doc}
    once = docs.with_retry_error(run, code="CONNECTOR-2503-503", message="502", attempt=1)
    twice = docs.with_retry_error(once, code="CONNECTOR-2503-503", message="429", attempt=2)
    assert run["metrics"]["statusSummary"]["errors"] == []
    assert [e["message"] for e in twice["metrics"]["statusSummary"]["errors"]] == [
        "attempt 1: 502",
        "attempt 2: 429",
    ]


def test_last_run_details_and_events_speak_adobe() -> None:
    assert docs.last_run_details(
        run_id="r", status=RunStatus.PARTIAL_SUCCESS, started=1, completed=2
    ) == {"id": "r", "state": "partialSuccess", "startedAtUTC": 1, "completedAtUTC": 2}
    failed = docs.failed({}, progress(), code="C", message="m", now=3)
    event = docs.run_event(
        org_id="O",
        sandbox_name="prod",
        flow_id="f",
        run_id="r",
        attempt=1,
        status=RunStatus.FAILED,
        doc=failed,
    )
    assert event["status"] == "failed"
    assert event["errors"] == [{"code": "C", "message": "m"}]
    assert event["metrics"] is failed["metrics"]
