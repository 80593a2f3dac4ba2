"""Contact-like batches and small helpers shared by the lake tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from headwater.lake import CommitResult, Lake, TableRef, WriteOptions

CONTACTS = pa.schema(
    [
        pa.field("Id", pa.string()),
        pa.field("Email", pa.string()),
        pa.field("Score", pa.int64()),
        pa.field("Updated_At", pa.timestamp("ms", tz="UTC")),
        pa.field("Archived", pa.bool_()),
    ]
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)

MERGE = WriteOptions(primary_key=("Id",), deleted_column="Archived")


def contact(
    i: int | str, *, score: int = 0, archived: bool = False, minutes: int = 0
) -> dict[str, Any]:
    return {
        "Id": str(i),
        "Email": f"c{i}@example.com",
        "Score": score,
        "Updated_At": T0 + timedelta(minutes=minutes),
        "Archived": archived,
    }


def batch(rows: Sequence[dict[str, Any]], schema: pa.Schema = CONTACTS) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(list(rows), schema=schema)


def run(
    lake: Lake,
    table: TableRef,
    run_id: str,
    *batches: pa.RecordBatch,
    options: WriteOptions = MERGE,
    **kw: Any,
) -> CommitResult:
    """Stage ``batches`` as ``run_id`` and commit them."""
    staged = lake.stage(run_id)
    for b in batches:
        staged.write(b)
    return lake.commit(staged, table, options, flow_id="flow-1", **kw)


def rows(lake: Lake, table: TableRef) -> list[dict[str, Any]]:
    data = lake.dataset(table)
    assert data is not None
    return sorted(data.to_table().to_pylist(), key=lambda r: (r["Id"], str(r.get("_valid_from"))))
