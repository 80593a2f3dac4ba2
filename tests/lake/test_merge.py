"""MERGE mode: insert, update, delete or flag archived records, reduce repeated keys."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from headwater.lake import DeleteMode, Lake, TableRef, WriteOptions
from tests.lake.helpers import batch, contact, rows, run

FLAG = WriteOptions(primary_key=("Id",), deleted_column="Archived", on_delete=DeleteMode.FLAG)


@pytest.fixture(params=["rewrite", "delta-rs"])
def lake(tmp_path: Path, request: pytest.FixtureRequest) -> Lake:
    """A local lake, once per MERGE engine (streaming rewrite and delta-rs's MERGE)."""
    return Lake(str(tmp_path / "lake"), rewrite_merge=request.param == "rewrite")


def test_first_commit_creates_the_table_from_the_staged_schema(lake: Lake, table: TableRef) -> None:
    result = run(lake, table, "r1", batch([contact(1), contact(2)]), batch([contact(3)]))

    assert result.created_table
    assert not result.already_applied
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (3, 0, 0)
    assert result.rows_written == 3
    assert result.files_added >= 1
    assert result.bytes_written > 0
    assert result.table_version == 0
    assert [r["Id"] for r in rows(lake, table)] == ["1", "2", "3"]
    schema = lake.schema(table)
    assert schema is not None
    # Delete mode does not store the deleted flag; timestamps are stored as microseconds.
    assert schema.names == ["Id", "Email", "Score", "Updated_At"]
    assert schema.field("Updated_At").type == pa.timestamp("us", tz="UTC")


def test_merge_updates_matched_inserts_new_and_deletes_archived(
    lake: Lake, table: TableRef
) -> None:
    run(lake, table, "r1", batch([contact(1), contact(2), contact(3)]))

    result = run(
        lake,
        table,
        "r2",
        batch([contact(2, score=20), contact(3, archived=True), contact(4, score=4)]),
    )

    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 1, 1)
    assert not result.created_table
    recorded = lake.applied_commit(table, "r2")
    assert recorded is not None
    assert (recorded.rows_inserted, recorded.rows_updated, recorded.rows_deleted) == (1, 1, 1)
    assert (recorded.bytes_written, recorded.files_added) == (
        result.bytes_written,
        result.files_added,
    )
    assert [(r["Id"], r["Score"]) for r in rows(lake, table)] == [("1", 0), ("2", 20), ("4", 4)]


def test_archived_record_never_seen_before_is_not_inserted(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1), contact(9, archived=True)]))
    assert [r["Id"] for r in rows(lake, table)] == ["1"]

    result = run(lake, table, "r2", batch([contact(8, archived=True)]))
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (0, 0, 0)
    assert [r["Id"] for r in rows(lake, table)] == ["1"]
    # The run is still recorded, so a retry is recognised.
    assert lake.applied_commit(table, "r2") is not None


def test_flag_mode_keeps_archived_rows_with_the_flag(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1), contact(2)]), options=FLAG)

    result = run(
        lake,
        table,
        "r2",
        batch([contact(2, archived=True), contact(5, archived=True)]),
        options=FLAG,
    )

    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 1, 0)
    assert [(r["Id"], r["Archived"]) for r in rows(lake, table)] == [
        ("1", False),
        ("2", True),
        ("5", True),
    ]


def test_null_deleted_flag_counts_as_live(lake: Lake, table: TableRef) -> None:
    record = contact(1)
    record["Archived"] = None
    run(lake, table, "r1", batch([record, contact(2)]), options=FLAG)
    assert [r["Archived"] for r in rows(lake, table)] == [False, False]


def test_repeated_keys_in_one_run_keep_the_last_staged_version(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1, score=1)]))

    result = run(
        lake,
        table,
        "r2",
        batch([contact(1, score=10), contact(2, score=1)]),
        # A resumed run re-reads a page: the later versions must win.
        batch([contact(1, score=11), contact(2, score=2)]),
        batch([contact(2, archived=True), contact(3, score=3)]),
        batch([contact(3, score=33)]),
    )

    assert result.rows_staged == 7
    assert result.duplicates_dropped == 4
    assert [(r["Id"], r["Score"]) for r in rows(lake, table)] == [("1", 11), ("3", 33)]


def test_rows_without_a_key_are_rejected_not_written(lake: Lake, table: TableRef) -> None:
    keyless = contact(0)
    keyless["Id"] = None
    result = run(lake, table, "r1", batch([keyless, contact(1), contact(1, score=5)]))

    assert result.rows_rejected == 1
    assert result.duplicates_dropped == 1
    assert [(r["Id"], r["Score"]) for r in rows(lake, table)] == [("1", 5)]


def test_composite_primary_key(lake: Lake, table: TableRef) -> None:
    schema = pa.schema([("Portal", pa.string()), ("Id", pa.string()), ("V", pa.int64())])
    options = WriteOptions(primary_key=("Portal", "Id"))
    run(
        lake,
        table,
        "r1",
        batch([{"Portal": "a", "Id": "1", "V": 1}, {"Portal": "b", "Id": "1", "V": 1}], schema),
        options=options,
    )

    result = run(
        lake,
        table,
        "r2",
        batch([{"Portal": "a", "Id": "1", "V": 2}, {"Portal": "a", "Id": "1", "V": 3}], schema),
        options=options,
    )

    assert result.duplicates_dropped == 1
    data = lake.dataset(table)
    assert data is not None
    assert sorted((r["Portal"], r["V"]) for r in data.to_table().to_pylist()) == [
        ("a", 3),
        ("b", 1),
    ]


def test_source_without_columns_of_the_table_keeps_their_stored_values(
    lake: Lake, table: TableRef
) -> None:
    run(lake, table, "r1", batch([contact(1, score=7)]))
    narrow = pa.schema([("Id", pa.string()), ("Email", pa.string())])

    run(
        lake,
        table,
        "r2",
        batch([{"Id": "1", "Email": "new@example.com"}, {"Id": "2", "Email": "x"}], narrow),
    )

    assert [(r["Id"], r["Email"], r["Score"]) for r in rows(lake, table)] == [
        ("1", "new@example.com", 7),
        ("2", "x", None),
    ]


def test_options_without_a_deleted_column_merge_everything(lake: Lake, table: TableRef) -> None:
    options = WriteOptions(primary_key=("Id",))
    run(lake, table, "r1", batch([contact(1, archived=True)]), options=options)
    schema = lake.schema(table)
    assert schema is not None
    assert "Archived" in schema.names
    assert [r["Archived"] for r in rows(lake, table)] == [True]
