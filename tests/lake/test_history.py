"""History mode: every run appends its versions with ``_valid_from`` and ``_run_id``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from headwater.lake import RUN_ID_COLUMN, VALID_FROM_COLUMN, Lake, TableRef, WriteMode, WriteOptions
from tests.lake.helpers import T0, batch, contact, rows, run

HISTORY = WriteOptions(primary_key=("Id",), mode=WriteMode.HISTORY, deleted_column="Archived")
HISTORY_BY_UPDATE = WriteOptions(
    primary_key=("Id",),
    mode=WriteMode.HISTORY,
    deleted_column="Archived",
    valid_from_column="Updated_At",
)


def test_history_appends_every_version_with_run_and_commit_time(
    lake: Lake, table: TableRef
) -> None:
    t1 = datetime(2026, 3, 1, tzinfo=UTC)
    t2 = t1 + timedelta(hours=1)
    first = run(
        lake, table, "r1", batch([contact(1), contact(2)]), options=HISTORY, committed_at=t1
    )
    second = run(
        lake,
        table,
        "r2",
        batch([contact(1, score=5), contact(2, archived=True)]),
        options=HISTORY,
        committed_at=t2,
    )

    assert (first.rows_inserted, second.rows_inserted) == (2, 2)
    assert second.rows_updated == second.rows_deleted == 0
    got = [
        (r["Id"], r["Score"], r["Archived"], r[RUN_ID_COLUMN], r[VALID_FROM_COLUMN])
        for r in rows(lake, table)
    ]
    assert got == [
        ("1", 0, False, "r1", t1),
        ("1", 5, False, "r2", t2),
        ("2", 0, False, "r1", t1),
        ("2", 0, True, "r2", t2),
    ]
    schema = lake.schema(table)
    assert schema is not None
    assert schema.field(VALID_FROM_COLUMN).type == pa.timestamp("us", tz="UTC")


def test_history_valid_from_can_come_from_a_source_column(lake: Lake, table: TableRef) -> None:
    run(
        lake,
        table,
        "r1",
        batch([contact(1, minutes=1), contact(1, minutes=5), contact(2, minutes=3)]),
        options=HISTORY_BY_UPDATE,
    )

    got = [(r["Id"], r[VALID_FROM_COLUMN]) for r in rows(lake, table)]
    # One version per key and run: the re-read record keeps its last staged version.
    assert got == [("1", T0 + timedelta(minutes=5)), ("2", T0 + timedelta(minutes=3))]


def test_history_then_new_columns_extend_the_table(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1)]), options=HISTORY)
    wider = pa.schema([("Id", pa.string()), ("Phone", pa.string())])

    result = run(lake, table, "r2", batch([{"Id": "1", "Phone": "555"}], wider), options=HISTORY)

    assert result.added_columns == ("Phone",)
    assert [(r["Id"], r["Phone"], r["Email"]) for r in rows(lake, table)] == [
        ("1", None, "c1@example.com"),
        ("1", "555", None),
    ]
