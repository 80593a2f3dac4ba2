"""A complete read reconciles: rows whose key the source no longer has are removed or flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.lake import DeleteMode, Lake, TableRef, WriteMode, WriteOptions
from tests.lake.helpers import MERGE, batch, contact, rows, run

FLAG = WriteOptions(primary_key=("Id",), deleted_column="Archived", on_delete=DeleteMode.FLAG)


@pytest.fixture(params=["rewrite", "delta-rs"])
def lake(tmp_path: Path, request: pytest.FixtureRequest) -> Lake:
    return Lake(str(tmp_path / "lake"), rewrite_merge=request.param == "rewrite")


def test_a_reconciling_commit_removes_rows_the_source_no_longer_has(
    lake: Lake, table: TableRef
) -> None:
    run(lake, table, "r1", batch([contact(i) for i in range(1, 11)]))
    # 3 and 7 vanished from HubSpot without passing through the archived list (a GDPR delete);
    # 9 is archived: the read reports it deleted
    seen = [contact(i, score=1) for i in range(1, 11) if i not in (3, 7, 9)]
    result = run(lake, table, "r2", batch([*seen, contact(9, archived=True)]), reconcile=True)
    assert [r["Id"] for r in rows(lake, table)] == sorted(str(i) for i in (1, 2, 4, 5, 6, 8, 10))
    assert result.rows_reconciled == 2
    assert result.rows_deleted == 3  # 9 (archived) and the 2 reconciled
    assert result.rows_updated == 7
    # the retried commit reports what the first did
    again = lake.applied_commit(table, "r2")
    assert again is not None
    assert (again.rows_deleted, again.rows_reconciled) == (3, 2)


def test_without_reconcile_unseen_rows_stay(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(i) for i in range(1, 6)]))
    result = run(lake, table, "r2", batch([contact(1, score=2)]))
    assert len(rows(lake, table)) == 5
    assert result.rows_reconciled == 0


def test_flag_mode_flags_unseen_rows_once(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(i) for i in range(1, 6)]), options=FLAG)
    result = run(lake, table, "r2", batch([contact(1), contact(2)]), options=FLAG, reconcile=True)
    assert [(r["Id"], r["Archived"]) for r in rows(lake, table)] == [
        ("1", False),
        ("2", False),
        ("3", True),
        ("4", True),
        ("5", True),
    ]
    assert result.rows_reconciled == 3
    assert result.rows_deleted == 3
    assert result.rows_updated == 2
    # already flagged rows are not counted again
    result = run(lake, table, "r3", batch([contact(1), contact(2)]), options=FLAG, reconcile=True)
    assert result.rows_reconciled == 0
    assert len(rows(lake, table)) == 5


def test_an_empty_read_never_empties_the_table(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(i) for i in range(1, 4)]))
    result = run(lake, table, "r2", reconcile=True)
    assert len(rows(lake, table)) == 3
    assert result.rows_reconciled == 0


def test_history_datasets_are_not_reconciled(lake: Lake, table: TableRef) -> None:
    history = WriteOptions(primary_key=("Id",), deleted_column="Archived", mode=WriteMode.HISTORY)
    run(lake, table, "r1", batch([contact(1), contact(2)]), options=history)
    result = run(lake, table, "r2", batch([contact(1, score=3)]), options=history, reconcile=True)
    assert result.rows_reconciled == 0
    assert len(rows(lake, table)) == 3


def test_reconcile_with_merge_options_is_the_default_dataset(lake: Lake, table: TableRef) -> None:
    assert MERGE.on_delete is DeleteMode.DELETE


def test_scan_yields_the_columns_the_table_has(lake: Lake, table: TableRef) -> None:
    assert list(lake.scan(table, ["Id"])) == []  # no table yet
    run(lake, table, "r1", batch([contact(i) for i in range(1, 4)]))
    run(lake, table, "r2", batch([contact(i) for i in range(3, 6)]))
    got = list(lake.scan(table, ["Id", "Score", "Not_There"]))
    assert all(b.schema.names == ["Id", "Score"] for b in got)
    assert sorted(i for b in got for i in b.column(0).to_pylist()) == ["1", "2", "3", "4", "5"]
