"""A run is applied once: retried commits are no-ops that report the original commit."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from headwater.lake import Lake, TableRef, run_app_id
from tests.lake.helpers import MERGE, batch, contact, rows, run


def test_retried_commit_is_reported_as_already_applied(lake: Lake, table: TableRef) -> None:
    state = {"after": "200", "updatedAt": "2026-01-01T00:00:00Z"}
    staged = lake.stage("r1")
    staged.write(batch([contact(1), contact(2)]))
    first = lake.commit(staged, table, MERGE, flow_id="flow-1", state=state, discard_staging=False)

    again = lake.commit("r1", table, MERGE, flow_id="flow-1", state=state)

    assert not first.already_applied
    assert again.already_applied
    assert again.table_version == first.table_version
    assert (again.rows_inserted, again.rows_updated, again.rows_deleted) == (2, 0, 0)
    assert again.bytes_written == first.bytes_written
    assert again.state == state
    assert [r["Id"] for r in rows(lake, table)] == ["1", "2"]
    dt = lake.open_table(table)
    assert dt is not None
    assert dt.version() == 0
    assert dt.transaction_version(run_app_id("r1")) == 1


def test_commit_records_run_flow_and_state(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1)]), state={"cursor": 42})
    dt = lake.open_table(table)
    assert dt is not None
    info = dt.history(1)[0]
    assert info["headwater.runId"] == "r1"
    assert info["headwater.flowId"] == "flow-1"
    assert info["headwater.datasetId"] == "ds1"
    assert info["headwater.state"] == {"cursor": 42}


def test_applied_commit_recovers_the_cursor_after_a_crash(lake: Lake, table: TableRef) -> None:
    assert lake.applied_commit(table, "r1") is None
    run(lake, table, "r1", batch([contact(1)]), state={"cursor": 7})

    recorded = lake.applied_commit(table, "r1")

    assert recorded is not None
    assert recorded.already_applied
    assert recorded.state == {"cursor": 7}
    assert lake.applied_commit(table, "other") is None


def test_commit_discards_staging_by_default(lake: Lake, table: TableRef) -> None:
    staged = lake.stage("r1")
    staged.write(batch([contact(1)]))
    staged.flush()
    assert lake.staged_runs() == ["r1"]

    lake.commit(staged, table, MERGE, flow_id="flow-1")

    assert lake.staged_runs() == []


def test_empty_run_on_a_new_dataset_creates_nothing(lake: Lake, table: TableRef) -> None:
    result = lake.commit("r-empty", table, MERGE, flow_id="flow-1", state={"c": 1})
    assert result.table_version is None
    assert not lake.table_exists(table)


def test_empty_run_on_an_existing_table_is_recorded(lake: Lake, table: TableRef) -> None:
    run(lake, table, "r1", batch([contact(1)]))

    result = lake.commit("r2", table, MERGE, flow_id="flow-1", state={"c": 2})

    assert result.table_version == 1
    assert (result.rows_inserted, result.rows_updated) == (0, 0)
    recorded = lake.applied_commit(table, "r2")
    assert recorded is not None
    assert recorded.state == {"c": 2}
    assert [r["Id"] for r in rows(lake, table)] == ["1"]


def _commit_in_child(root: str, ready: object, go: object, out: object) -> None:
    lake = Lake(root)
    table = TableRef("ORG1@AdobeOrg", "prod", "ds1")
    ready.set()  # type: ignore[attr-defined]
    go.wait()  # type: ignore[attr-defined]
    result = lake.commit("r2", table, MERGE, flow_id="flow-1", discard_staging=False)
    out.put((result.already_applied, result.rows_inserted, result.rows_updated))  # type: ignore[attr-defined]


def test_two_workers_committing_the_same_run_apply_it_once(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    lake = Lake(root)
    table = TableRef("ORG1@AdobeOrg", "prod", "ds1")
    run(lake, table, "r1", batch([contact(i) for i in range(50)]))
    staged = lake.stage("r2")
    staged.write(batch([contact(i, score=1) for i in range(25, 75)]))
    staged.flush()

    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    out = ctx.Queue()
    readies = [ctx.Event() for _ in range(2)]
    procs = [ctx.Process(target=_commit_in_child, args=(root, r, go, out)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        assert r.wait(60)
    go.set()
    results = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0

    # Exactly one worker applied it; the other saw the first one's transaction.
    assert [applied for applied, _, _ in results] == [False, True]
    assert all((ins, upd) == (25, 25) for _, ins, upd in results)
    data = rows(lake, table)
    assert len(data) == 75
    assert sum(r["Score"] for r in data) == 50
    dt = lake.open_table(table)
    assert dt is not None
    assert dt.version() == 1


def test_a_concurrent_commit_makes_the_rewrite_merge_plan_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    import headwater.lake.merge as merge
    from headwater.lake.files import TableFileWriter

    lake = Lake(str(tmp_path / "lake"))
    table = TableRef("o", "s", "d")
    run(lake, table, "r1", batch([contact(1)]))
    uri = lake.table_uri("o", "s", "d")
    interfered: list[bool] = []

    class InterferingWriter(TableFileWriter):
        def close(self):  # type: ignore[no-untyped-def]
            actions = super().close()
            if not interfered:
                # Another writer commits key "2" while this run is planning its merge.
                interfered.append(True)
                schema = lake.schema(table)
                assert schema is not None
                write_deltalake(
                    uri,
                    pa.Table.from_pylist(
                        [{"Id": "2", "Email": "x", "Score": 99, "Updated_At": None}], schema=schema
                    ),
                    mode="append",
                )
            return actions

    monkeypatch.setattr(merge, "TableFileWriter", InterferingWriter)
    result = run(lake, table, "r2", batch([contact(1, score=5), contact(2, score=7)]))

    assert interfered == [True]
    assert (result.rows_inserted, result.rows_updated) == (0, 2)
    assert [(r["Id"], r["Score"]) for r in rows(lake, table)] == [("1", 5), ("2", 7)]


def test_maintain_compacts_and_vacuums_without_changing_data(lake: Lake, table: TableRef) -> None:
    # Disjoint runs add a small file each; the last one rewrites a file (leaving one to vacuum).
    for i in range(3):
        run(
            lake, table, f"r{i}", batch([contact(j, score=i) for j in range(i * 100, i * 100 + 10)])
        )
    run(lake, table, "r3", batch([contact(0, score=9)]))
    before = rows(lake, table)
    dt = lake.open_table(table)
    assert dt is not None
    files_before = len(dt.file_uris())

    report = lake.maintain(table, retention_hours=0)

    assert report["filesCompacted"] > report["filesAdded"] > 0
    assert report["filesVacuumed"] > 0
    dt = lake.open_table(table)
    assert dt is not None
    assert len(dt.file_uris()) <= files_before
    assert rows(lake, table) == before
    # Retried commits are still recognised after maintenance.
    assert lake.commit("r3", table, MERGE, flow_id="flow-1").already_applied
