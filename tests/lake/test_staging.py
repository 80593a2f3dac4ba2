"""Staging: bounded buffering, durable parts with the source position, resume after kill -9."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pyarrow as pa

from headwater.lake import SEQ_COLUMN, Lake, TableRef
from tests.lake.helpers import MERGE, batch, contact, rows

PAGE = 100
PAGES = 20


def page(k: int) -> pa.RecordBatch:
    return batch([contact(i, score=k) for i in range(k * PAGE, (k + 1) * PAGE)])


def test_buffer_flushes_by_rows_and_carries_the_state(lake: Lake) -> None:
    staged = lake.stage("r1", part_rows=200)
    for k in range(5):
        staged.write(page(k), state={"page": k + 1})

    # Parts became durable after pages 2 and 4; page 5 is still buffered.
    assert staged.durable_rows == 400
    assert staged.rows_staged == 500
    assert staged.resume_state == {"page": 4}
    assert staged.latest_state == {"page": 5}

    reopened = lake.stage("r1")
    assert reopened.resume_state == {"page": 4}
    assert reopened.durable_rows == 400
    data = reopened.dataset()
    assert data is not None
    seqs = data.to_table(columns=[SEQ_COLUMN]).column(0).to_pylist()
    assert sorted(seqs) == list(range(400))


def test_buffer_flushes_by_bytes(lake: Lake) -> None:
    staged = lake.stage("r1", part_rows=10**9, part_bytes=1)
    staged.write(page(0), state={"page": 1})
    assert staged.durable_rows == PAGE


def test_sequence_continues_after_resume(lake: Lake) -> None:
    first = lake.stage("r1")
    first.write(page(0))
    first.flush()
    second = lake.stage("r1")
    second.write(page(0))
    second.flush()
    data = second.dataset()
    assert data is not None
    assert sorted(data.to_table(columns=[SEQ_COLUMN]).column(0).to_pylist()) == list(range(200))


def test_state_only_flush_is_recorded_once_data_exists(lake: Lake) -> None:
    staged = lake.stage("r1")
    staged.write(page(0), state={"page": 1})
    staged.flush()
    staged.write(batch([]), state={"page": 2})
    staged.flush()
    assert lake.stage("r1").resume_state == {"page": 2}


def test_discard_removes_the_staged_run(lake: Lake) -> None:
    staged = lake.stage("r1")
    staged.write(page(0))
    staged.flush()
    assert lake.staged_runs() == ["r1"]
    staged.discard()
    assert lake.staged_runs() == []
    assert lake.stage("r1").dataset() is None


def test_local_staging_lives_next_to_the_lake(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    assert lake.staging_uri == str(tmp_path / "lake.staging")
    assert Lake("s3://bucket/prefix/").staging_uri == "s3://bucket/prefix/_staging"


def _worker(root: str, marker: str) -> None:
    """Stage pages forever, flushing every 3 pages; announce progress after 6 pages."""
    lake = Lake(root)
    staged = lake.stage("run-crash", part_rows=3 * PAGE)
    for k in range(PAGES):
        staged.write(page(k), state={"page": k + 1})
        if k == 6:
            # Page 6 is buffered, not durable: it is lost with the worker.
            Path(marker).write_text("ready")
            time.sleep(600)


def test_kill_9_mid_run_resumes_elsewhere_and_ends_exact(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    marker = tmp_path / "marker"
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_worker, args=(root, str(marker)))
    proc.start()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.is_alive(), "worker died before staging"
            assert time.monotonic() < deadline, "worker never staged"
            time.sleep(0.05)
        os.kill(proc.pid or 0, signal.SIGKILL)
    finally:
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL

    # Another worker picks the run up from the last durable position.
    lake = Lake(root)
    assert lake.staged_runs() == ["run-crash"]
    staged = lake.stage("run-crash")
    state = staged.resume_state
    assert state == {"page": 6}
    # The source re-reads the page before the checkpoint (an overlapping resume).
    for k in range(int(state["page"]) - 1, PAGES):
        staged.write(page(k), state={"page": k + 1})
    table = TableRef("ORG1@AdobeOrg", "prod", "ds1")
    result = lake.commit(staged, table, MERGE, flow_id="flow-1", state={"page": PAGES})

    ids = [r["Id"] for r in rows(lake, table)]
    assert len(ids) == len(set(ids)) == PAGE * PAGES
    assert sorted(ids, key=int) == [str(i) for i in range(PAGE * PAGES)]
    assert result.duplicates_dropped == PAGE
    assert result.rows_inserted == PAGE * PAGES
    assert lake.staged_runs() == []


def test_new_columns_mid_run_are_staged_and_committed(lake: Lake) -> None:
    staged = lake.stage("r1", part_rows=1)
    staged.write(batch([contact(1)]))
    wider = pa.schema([("Id", pa.string()), ("Phone", pa.string())])
    staged.write(batch([{"Id": "2", "Phone": "555"}], wider))
    staged.write(batch([contact(3)]))
    assert staged.durable_rows == 3
    table = TableRef("o", "s", "d")

    result = lake.commit(lake.stage("r1"), table, MERGE, flow_id="f")

    assert result.rows_inserted == 3
    got = [(r["Id"], r["Email"], r["Phone"]) for r in rows(lake, table)]
    assert got == [("1", "c1@example.com", None), ("2", None, "555"), ("3", "c3@example.com", None)]


def _commit_then_hang(root: str, marker: str) -> None:
    """Commit run-2 but stop after its files are written, before the Delta commit."""
    import headwater.lake.core as core
    import headwater.lake.merge as merge
    from headwater.lake.files import TableFileWriter

    class Hanging(TableFileWriter):
        def close(self):  # type: ignore[no-untyped-def]
            actions = super().close()
            Path(marker).write_text("written")
            time.sleep(600)
            return actions

    core.TableFileWriter = Hanging  # type: ignore[misc]
    merge.TableFileWriter = Hanging  # type: ignore[misc]
    Lake(root).commit("run-2", TableRef("o", "s", "d"), MERGE, flow_id="f")


def test_kill_9_during_the_commit_leaves_the_table_untouched_and_the_run_retryable(
    tmp_path: Path,
) -> None:
    root = str(tmp_path / "lake")
    lake = Lake(root)
    table = TableRef("o", "s", "d")
    first = lake.stage("run-1")
    first.write(page(0))
    lake.commit(first, table, MERGE, flow_id="f")
    second = lake.stage("run-2")
    second.write(batch([contact(i, score=5) for i in range(50, 150)]))
    second.flush()

    marker = tmp_path / "marker"
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_commit_then_hang, args=(root, str(marker)))
    proc.start()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.is_alive(), "committing worker died early"
            assert time.monotonic() < deadline, "committing worker never wrote its files"
            time.sleep(0.05)
        os.kill(proc.pid or 0, signal.SIGKILL)
    finally:
        proc.join(30)

    # The killed commit left only unreferenced files: the table is as before.
    assert [r["Score"] for r in rows(lake, table)] == [0] * PAGE
    assert lake.applied_commit(table, "run-2") is None
    result = lake.commit("run-2", table, MERGE, flow_id="f")
    assert (result.rows_inserted, result.rows_updated, result.already_applied) == (50, 50, False)
    ids = [r["Id"] for r in rows(lake, table)]
    assert len(ids) == len(set(ids)) == 150
    assert lake.maintain(table, retention_hours=0, compact=False)["filesVacuumed"] >= 1
