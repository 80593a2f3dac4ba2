"""Incremental reads see every change made before the run: no blind window, deletes checked by
cost, association-only changes found by comparing with the dataset's rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pytest

from headwater.connectors.hubspot.planner import cadence
from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.hubspot.refresh import merged_ids
from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread
from tests.connectors.conftest import collect, connect, live_ids


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(seed=11, contacts=3_000, rate_limit="none")) as running:
        yield running


def _full(emu: RunningEmulator, table: str = "Hubspot.Contacts") -> Any:
    with connect(emu) as conn:
        return collect(conn.read(table, state=None))


def test_a_change_one_second_before_the_run_is_read(emu: RunningEmulator) -> None:
    first = _full(emu)
    state = first.checkpoints[-1]
    emu.state.advance(1)
    touched = emu.state.touch("contacts", 50)
    gone = emu.state.archive("contacts", 5)
    emu.state.advance(1)
    started = emu.clock.now_ms()
    with connect(emu) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=state))
    assert {int(i) for i in out.ids} >= set(touched)
    assert sorted(int(i) for i in out.deleted_ids) == sorted(gone)
    done = out.progress[-1]
    assert done.phase == "done"
    assert done.deletes.startswith("deletes: every run"), done.deletes
    # the window ends when the run starts: the cursor is the run's start, not 5 minutes before
    cursor = out.checkpoints[-1]["cursor_ms"]
    assert started <= cursor <= emu.clock.now_ms()
    assert done.deletes_checked_ms == cursor


def test_the_lookback_overlap_is_all_a_quiet_run_rereads(emu: RunningEmulator) -> None:
    state = _full(emu).checkpoints[-1]
    emu.state.advance(1)
    emu.state.touch("contacts", 30)
    emu.state.advance(1)
    with connect(emu) as conn:
        once = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
        after_once = once.checkpoints[-1]
        # nothing changed since: the 30 records sit in the overlap and are read again, once
        base = conn.stats["requests"]
        again = collect(conn.read("Hubspot.Contacts", state=after_once, columns=["Id"]))
        quiet = conn.stats["requests"] - base
    assert len(once.ids) >= 30
    assert sorted(again.ids) == sorted(once.ids)
    assert quiet <= 2  # one search page and the archived list
    # past the lookback, a quiet run reads nothing
    emu.state.advance(ReadOptions().lookback_ms // 1000 + 1)
    with connect(emu) as conn:
        later = collect(conn.read("Hubspot.Contacts", state=again.checkpoints[-1], columns=["Id"]))
        base = conn.stats["requests"]
        quietest = collect(
            conn.read("Hubspot.Contacts", state=later.checkpoints[-1], columns=["Id"])
        )
        assert conn.stats["requests"] - base <= 2
    assert quietest.rows == []


def test_deletes_are_checked_every_run_while_the_archived_list_is_short() -> None:
    few = cadence(what="deletes", requests=1, last_ms=1_000, now_ms=2_000)
    assert few.due and few.every_ms == 0
    three = cadence(what="deletes", requests=3, last_ms=1_000, now_ms=2_000)
    assert not three.due and three.every_ms == 3 * 60_000
    assert cadence(what="deletes", requests=3, last_ms=0, now_ms=15 * 60_000).due
    many = cadence(what="deletes", requests=50, last_ms=1_000, now_ms=2_000)
    assert not many.due and many.every_ms == 50 * 60_000
    assert "every 50 min" in many.reason and "next in" in many.reason
    assert cadence(what="deletes", requests=50, last_ms=0, now_ms=50 * 60_000).due
    huge = cadence(what="deletes", requests=100_000, last_ms=None, now_ms=0)
    assert huge.due and huge.every_ms == 24 * 3600 * 1000
    pinned = cadence(what="deletes", requests=1, last_ms=0, now_ms=10, every_ms=3_600_000)
    assert not pinned.due and "set by the flow" in pinned.reason


def test_a_large_archived_list_is_checked_less_often(emu: RunningEmulator) -> None:
    state = _full(emu).checkpoints[-1]
    state = {**state, "archived_count": 5_000}  # 50 pages
    with connect(emu) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
    assert "every 50 min" in out.progress[-1].deletes
    assert out.progress[-1].deletes_checked_ms == state["archived_through_ms"]
    assert emu.state.request_counts  # the run happened
    # the flow can ask for every run
    with connect(emu, read_options=ReadOptions(deletes_every_ms=0)) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
    assert out.progress[-1].deletes.startswith("deletes: every run (set by the flow)")
    assert out.progress[-1].deletes_checked_ms == out.checkpoints[-1]["cursor_ms"]


def _known(rows: list[dict[str, Any]]) -> Any:
    def known(columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        table = pa.Table.from_pylist(rows)
        have = [c for c in columns if c in table.column_names]
        yield from table.select(have).to_batches(max_chunksize=700)

    return known


def test_association_only_changes_are_found_by_comparing_with_the_dataset(
    emu: RunningEmulator,
) -> None:
    first = _full(emu)
    state = first.checkpoints[-1]
    rows = [dict(r) for r in first.rows]
    # the dataset holds other association lists than HubSpot for these records now: as after
    # an association created or removed in HubSpot (which does not move the modification date)
    drifted = sorted(rows[i]["Id"] for i in (3, 500, 1_700))
    for r in rows:
        if r["Id"] in drifted:
            r["Associations_Companies_Ids"] = [*r["Associations_Companies_Ids"], "999999"]
    options = ReadOptions(associations_every_ms=0)
    before = Counter(emu.state.request_counts)
    with connect(emu, read_options=options) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=state, known=_known(rows)))
    calls = Counter(emu.state.request_counts)
    calls.subtract(before)
    done = out.progress[-1]
    assert sorted(set(out.ids)) == drifted
    assert done.association_changes == 3
    assert done.associations.startswith("associations: every run")
    # ~3,000 contacts, 3 association types: 3 batch reads of 1,000 ids each (and their next
    # pages), then a record batch read per chunk with changes (rows 3 and 500; row 1,700)
    assert calls["objects.batch_read"] == 2
    assert calls["associations.v4.batch_read"] >= 3 * 3
    assert (
        done.association_requests
        == calls["objects.batch_read"] + calls["associations.v4.batch_read"]
    )
    assert done.associations_checked_ms == out.checkpoints[-1]["cursor_ms"]
    for row in out.rows:
        assert "999999" not in row["Associations_Companies_Ids"]
    assert out.checkpoints[-1]["associations_checked_ms"] == done.associations_checked_ms


def test_association_refresh_cadence_follows_its_cost(emu: RunningEmulator) -> None:
    first = _full(emu)
    state = {**first.checkpoints[-1], "table_size": 300_000}  # 900 batch reads to compare
    with connect(emu) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=state, known=_known(first.rows)))
    done = out.progress[-1]
    assert done.association_requests == 0
    assert "every 15 h" in done.associations, done.associations
    # without dataset rows there is nothing to compare
    with connect(emu) as conn:
        out = collect(conn.read("Hubspot.Contacts", state=first.checkpoints[-1]))
    assert "nothing to compare" in out.progress[-1].associations


def test_merged_ids_come_from_hs_merged_object_ids() -> None:
    records = [
        {"id": "10", "properties": {"hs_merged_object_ids": "7;8"}},
        {"id": "11", "properties": {"hs_merged_object_ids": "8; 9;11"}},
        {"id": "12", "properties": {}},
    ]
    assert merged_ids(records) == ["7", "8", "9"]


def test_live_ids_helper_matches_a_full_read(emu: RunningEmulator) -> None:
    assert sorted(_full(emu).ids, key=int) == live_ids(emu, "contacts")
