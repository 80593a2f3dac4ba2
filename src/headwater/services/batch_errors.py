"""Row errors of a run's batch, as Adobe reports them: the batch's ``failedRecordCount`` and
``errors`` (Catalog), and with ``errorDiagnosticsEnabled`` the failed records for download under
the Data Access API (``GET /data/foundation/export/batches/{id}/failed``, then ``?path=``).

Shapes follow Adobe's ``help/ingestion/quality/error-diagnostics.md`` (the batch's ``errors``
with ``INGEST-1212-400`` and one entry per error code with its ``recordCount``; ``INGEST-1211-400``
without diagnostics) and ``retrieve-failed-batches.md`` (the file listing ``{"data": [{"name",
"length", "_links": {"self": {"href"}}}], "_page": {"limit", "count"}}``). A failed file is JSON
lines, one failed record each: its raw source columns and ``_errors`` (``code``, ``message``,
``columnName``, ``destination``), like Adobe's row-error files (``_corrupt_record``,
``_errors``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from headwater.domain.paths import EXPORT_PATH
from headwater.errors import NotFoundError
from headwater.services import documents
from headwater.services.context import ServiceContext, Tenant
from headwater.services.run_steps import ErrorPolicy, FailedRecord

__all__ = ["batch_errors", "batch_tags", "failed_file", "failed_files", "keep_failed"]

KIND = "batchFailedRecords"
FILE_NAME = "failed_records_0.json"
#: failed records kept per batch for download (the counts stay exact beyond it)
MAX_KEPT = 5_000
SUMMARY_CODE = "INGEST-1212-400"
NO_DIAGNOSTICS_CODE = "INGEST-1211-400"


def batch_tags(policy: ErrorPolicy) -> dict[str, Any]:
    tags: dict[str, Any] = {"acp_enableErrorDiagnostics": policy.diagnostics}
    if policy.partial_percent is not None:
        tags["acp_partialIngestionPercent"] = policy.partial_percent
    return tags


def batch_errors(
    failed: Sequence[FailedRecord], *, written: int, diagnostics: bool
) -> list[dict[str, Any]]:
    """The batch's ``errors``: the summary, then one entry per error code (with diagnostics)."""
    if not failed:
        return []
    out: list[dict[str, Any]] = [
        {
            "code": SUMMARY_CODE,
            "description": f"Encountered {len(failed)} errors in the data. Successfully "
            f"ingested {written} rows. Please review the associated diagnostic files for more "
            "details.",
        }
    ]
    if not diagnostics:
        out.append(
            {
                "code": NO_DIAGNOSTICS_CODE,
                "description": "Encountered errors while parsing, converting or otherwise "
                "validating the data. Please resend the data with error diagnostics enabled to "
                "collect additional information on failure types",
            }
        )
        return out
    codes = Counter(code for r in failed for code in {str(e.get("code")) for e in r.errors})
    for code, count in sorted(codes.items()):
        out.append(
            {
                "code": code,
                "description": "The record could not be mapped to the target schema (see "
                "columnName and message in the failed records).",
                "recordCount": count,
            }
        )
    return out


def _line(record: FailedRecord) -> dict[str, Any]:
    return {**dict(record.raw), "_errors": [dict(e) for e in record.errors]}


def keep_failed(
    ctx: ServiceContext, tenant: Tenant, batch_id: str, failed: Sequence[FailedRecord]
) -> None:
    """Keep the failed records of ``batch_id`` for download (at most :data:`MAX_KEPT`)."""
    now = ctx.clock()
    lines = [_line(r) for r in failed[:MAX_KEPT]]
    doc = {
        "id": batch_id,
        "createdAt": now,
        "updatedAt": now,
        "count": len(failed),
        "truncated": len(failed) > MAX_KEPT,
        "records": lines,
    }
    documents.insert(ctx, tenant, KIND, doc)


def _kept(ctx: ServiceContext, tenant: Tenant, batch_id: str) -> Mapping[str, Any] | None:
    documents.load(ctx, tenant, "batches", batch_id)  # 404 for an unknown batch
    try:
        return documents.load(ctx, tenant, KIND, batch_id).doc
    except NotFoundError:
        return None


def _content(doc: Mapping[str, Any]) -> bytes:
    return "".join(json.dumps(r, default=str) + "\n" for r in doc["records"]).encode()


def failed_files(
    ctx: ServiceContext, tenant: Tenant, batch_id: str, *, base_url: str
) -> dict[str, Any]:
    """The batch's failed files (none without diagnostics or failures)."""
    doc = _kept(ctx, tenant, batch_id)
    data = []
    if doc is not None and doc["records"]:
        href = f"{base_url.rstrip('/')}{EXPORT_PATH}/batches/{batch_id}/failed?path={FILE_NAME}"
        data.append(
            {
                "name": FILE_NAME,
                "length": str(len(_content(doc))),
                "_links": {"self": {"href": href}},
            }
        )
    return {"data": data, "_page": {"limit": 100, "count": len(data)}}


def failed_file(ctx: ServiceContext, tenant: Tenant, batch_id: str, path: str) -> bytes:
    doc = _kept(ctx, tenant, batch_id)
    if doc is None or path != FILE_NAME or not doc["records"]:
        raise NotFoundError(
            f"The path {path} is not found in the failed files of batch {batch_id}.",
            resource_id=path,
            resource_type="files",
        )
    return _content(doc)
