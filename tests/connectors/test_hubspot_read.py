"""Reading from the HubSpot emulator: exact full reads, incremental windows, cheap no-op runs."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.hubspot.schema import column_name
from headwater.connectors.ratelimit import LimiterRegistry
from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread
from tests.connectors.conftest import (
    archived_ids,
    collect,
    connect,
    expected_value,
    live_ids,
)

LOOKBACK_S = ReadOptions().lookback_ms // 1000


def test_full_read_of_20k_contacts_equals_the_emulator(emu20k: RunningEmulator) -> None:
    emu = emu20k
    with connect(emu) as conn:
        layout = conn.layout("Hubspot.Contacts")
        out = collect(conn.read("Hubspot.Contacts", state=None))
    store = emu.state.stores["contacts"]
    assert sorted(out.ids, key=int) == live_ids(emu, "contacts")  # no duplicates, none missing
    assert len(out.ids) == len(set(out.ids)) > 19_000
    assert out.deleted_ids == archived_ids(emu, "contacts")
    assert all(r["Is_Deleted"] and r["Archived"] for r in out.deleted)
    assert all(r["Archived_At"] is not None for r in out.deleted)

    kinds = {p.name: p.type for p in conn._props("contacts")}
    prop_columns = [c for c in layout.columns if c.origin == "property"]
    assert len(prop_columns) == len(kinds) >= 10
    mismatches = []
    for row in out.rows:
        rid = int(row["Id"])
        for col in prop_columns:
            want = expected_value(kinds[col.source], store.value(rid, col.source))
            if row[col.name] != want:
                mismatches.append((rid, col.source, row[col.name], want))
        created = expected_value("datetime", store.value(rid, "createdate"))
        assert row["Created_At"] == created
        for target in ("companies", "deals", "tickets"):
            want_ids = [str(link.to_id) for link in emu.state.graph.links("contacts", target, rid)]
            got = row[column_name("associations", target, "ids")]
            if got != want_ids:
                mismatches.append((rid, target, got, want_ids))
    assert mismatches == []
    # some associations exist, so the comparison above was not vacuous
    assert sum(len(r["Associations_Companies_Ids"]) for r in out.rows) > 10_000

    final = out.checkpoints[-1]
    assert final["run"] is None
    assert final["table_size"] == len(out.ids)
    assert final["cursor_ms"] is not None
    assert json.loads(json.dumps(final)) == final
    assert out.progress[0].strategy == "full"
    assert "first sync" in out.progress[0].reason


def test_every_page_is_followed_by_a_checkpoint(emu20k: RunningEmulator) -> None:
    with connect(emu20k) as conn:
        events = list(conn.read("Hubspot.Companies", state=None))
    kinds = [type(e).__name__ for e in events]
    for i, kind in enumerate(kinds):
        if kind == "BatchEvent":  # batches are covered by the next event that is not a batch
            assert next(k for k in kinds[i:] if k != "BatchEvent") == "CheckpointEvent"
    schema = conn.table_schema("Hubspot.Companies")
    assert all(e.batch.schema == schema for e in events if type(e).__name__ == "BatchEvent")


@pytest.fixture(scope="module")
def emu60k() -> RunningEmulator:
    with serve_in_thread(EmulatorConfig(seed=7, contacts=60_000, rate_limit="none")) as emu:
        yield emu  # type: ignore[misc]


def test_incremental_after_touching_25k_of_60k_returns_exactly_those(
    emu60k: RunningEmulator,
) -> None:
    emu = emu60k
    start = emu.clock.now_ms()
    state = {"v": 1, "cursor_ms": start, "table_size": 60_000, "run": None}
    emu.state.advance(1)
    touched = emu.state.touch("contacts", 25_000)
    assert len(touched) == 25_000
    # older than the lookback before this run's start: the next run does not re-read them
    emu.state.advance(LOOKBACK_S + 1)
    before = dict(emu.state.request_counts)
    with connect(emu) as conn:
        conn.table_schema("Hubspot.Contacts")
        out = collect(conn.read("Hubspot.Contacts", state=state, mode="incremental"))
    after = Counter(emu.state.request_counts)
    after.subtract(before)
    assert out.progress[0].strategy == "incremental"
    assert out.progress[0].expected_total == 25_000
    assert sorted(out.ids, key=int) == [str(i) for i in sorted(touched)]
    assert len(out.ids) == len(set(out.ids))
    assert out.deleted == []  # nothing was archived after the window start
    # 125 pages of 200 through three 10k windows; never a 400 from the cap
    assert after["objects.search"] == 125
    assert emu.state.status_counts.get(400, 0) == 0
    final = out.checkpoints[-1]
    assert final["run"] is None
    assert start < final["cursor_ms"] <= emu.clock.now_ms()

    # Nothing changed since: at most 2 requests per stream (search + archived list)
    with connect(emu) as conn:
        conn.table_schema("Hubspot.Contacts")
        conn.table_schema("Hubspot.Owners")
        base = conn.stats["requests"]
        again = collect(conn.read("Hubspot.Contacts", state=final))
        contacts_requests = conn.stats["requests"] - base
        base = conn.stats["requests"]
        owners = collect(conn.read("Hubspot.Owners", state=None))
        owners_requests = conn.stats["requests"] - base
    assert again.rows == []
    assert again.progress[0].strategy == "incremental"
    assert contacts_requests <= 2, again.progress[-1].deletes
    assert owners.rows and owners_requests <= 2
    assert owners.progress[0].strategy == "full"
    assert "no modification cursor" in owners.progress[0].reason


def test_auto_relists_when_most_of_the_table_changed() -> None:
    with serve_in_thread(EmulatorConfig(seed=3, contacts=3_000, rate_limit="none")) as emu:
        # no table size in the state: the connector counts the table with a one-record search
        state = {"v": 1, "cursor_ms": emu.clock.now_ms(), "run": None}
        emu.state.advance(1)
        emu.state.touch("contacts", 2_900)
        emu.state.advance(1)
        # search: 200 records at 5/s; list: 100 records at 190 per 10 s (a Professional portal)
        with connect(emu, registry=LimiterRegistry(budget=190)) as conn:
            out = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
        assert out.progress[0].strategy == "full"
        assert "re-list is cheaper" in out.progress[0].reason
        assert sorted(out.ids, key=int) == live_ids(emu, "contacts")


def test_archived_records_after_the_cursor_come_back_deleted(emu20k: RunningEmulator) -> None:
    emu = emu20k
    state = {"v": 1, "cursor_ms": emu.clock.now_ms(), "table_size": 5_000, "run": None}
    emu.state.advance(1)
    gone = emu.state.archive("deals", 7)
    emu.state.advance(1)
    with connect(emu) as conn:
        out = collect(conn.read("Hubspot.Deals", state=state))
    assert sorted(out.deleted_ids, key=int) == [str(i) for i in gone]
    assert all(r["Is_Deleted"] for r in out.deleted)
    assert out.rows == []


def test_property_chunks_are_fetched_in_parallel_and_merged_by_id() -> None:
    config = EmulatorConfig(seed=4, contacts=1_500, rate_limit="none", max_url_length=900)
    with serve_in_thread(config) as emu:
        with connect(emu) as whole:
            layout = whole.layout("Hubspot.Contacts")
        chunked_opts = ReadOptions(max_properties_chars=200)
        with connect(emu, read_options=chunked_opts) as conn:
            out = collect(conn.read("Hubspot.Contacts", state=None))
            requests = dict(emu.state.request_counts)
        assert emu.state.status_counts.get(414, 0) == 0
        # several list calls per page: one per chunk of properties
        pages = -(-len(live_ids(emu, "contacts")) // 100)
        assert requests["objects.list"] > 2 * pages
        store = emu.state.stores["contacts"]
        kinds = {c.source: c for c in layout.columns if c.origin == "property"}
        types = {p.name: p.type for p in conn._props("contacts")}
        for row in out.rows[::37]:
            for name, col in kinds.items():
                want = expected_value(types[name], store.value(int(row["Id"]), name))
                assert row[col.name] == want, (row["Id"], name)
        assert sorted(out.ids, key=int) == live_ids(emu, "contacts")


def test_search_is_paced_under_hubspots_limits_without_429s() -> None:
    config = EmulatorConfig(seed=8, contacts=3_000, rate_limit="oauth-app")
    with serve_in_thread(config) as emu:
        state = {"v": 1, "cursor_ms": emu.clock.now_ms(), "table_size": 3_000, "run": None}
        emu.state.advance(1)
        touched = emu.state.touch("contacts", 2_000)
        emu.state.advance(1)
        with connect(emu, oauth=True, registry=LimiterRegistry()) as conn:
            out = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
        assert sorted(out.ids, key=int) == [str(i) for i in sorted(touched)]
        assert emu.state.request_counts["objects.search"] >= 10
        assert emu.state.status_counts.get(429, 0) == 0


def test_lookback_rereads_the_overlap_and_the_cursor_never_goes_back() -> None:
    with serve_in_thread(EmulatorConfig(seed=6, contacts=500, rate_limit="none")) as emu:
        now = emu.clock.now_ms()
        emu.state.touch("contacts", 10)
        emu.state.advance(60)
        # the cursor sits 30 s after the touch; a 2-minute lookback still finds those records
        state = {"v": 1, "cursor_ms": now + 30_000, "run": None, "archived_through_ms": now}
        opts = ReadOptions(lookback_ms=120_000)
        with connect(emu, read_options=opts) as conn:
            out = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
        assert len(out.ids) == 10
        # a cursor within the lookback ahead of the window end stays where it was
        ahead = {"v": 1, "cursor_ms": emu.clock.now_ms() + 250_000, "run": None}
        with connect(emu) as conn:
            again = collect(conn.read("Hubspot.Contacts", state=ahead, columns=["Id"]))
        assert again.rows == []
        assert again.checkpoints[-1]["cursor_ms"] == ahead["cursor_ms"]
        # further ahead (the clock moved back an hour): changes from now on would carry times
        # before the cursor, which only a full read is sure to see
        ahead = {"v": 1, "cursor_ms": emu.clock.now_ms() + 3_600_000, "run": None}
        with connect(emu) as conn:
            again = collect(conn.read("Hubspot.Contacts", state=ahead, columns=["Id"]))
        assert sorted(again.ids, key=int) == live_ids(emu, "contacts")
        assert again.checkpoints[-1]["cursor_ms"] < ahead["cursor_ms"]


def test_a_414_shrinks_the_property_chunks_and_the_read_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = EmulatorConfig(seed=4, contacts=800, rate_limit="none", max_url_length=400)
    with serve_in_thread(config) as emu:
        with connect(emu) as conn:
            out = collect(conn.read("Hubspot.Contacts", state=None))
            layout = conn.layout("Hubspot.Contacts")
        assert sorted(out.ids, key=int) == live_ids(emu, "contacts")
        # the first call was refused before routing; every page then needed several chunks
        pages = -(-len(live_ids(emu, "contacts")) // 100)
        assert emu.state.request_counts["objects.list"] >= 2 * pages
        store = emu.state.stores["contacts"]
        col = next(c for c in layout.columns if c.source == "email")
        assert all(r[col.name] == store.value(int(r["Id"]), "email") for r in out.rows)
        assert "URL too long" in caplog.text


def test_full_read_takes_associations_inline_and_pages_only_truncated_ones() -> None:
    """List pages carry up to 100 associations per record and type; only a record with more is
    completed with a v4 batch read, which HubSpot (and the emulator) exempt from the 10 s window."""
    config = EmulatorConfig(seed=5, contacts=600, companies=300, rate_limit="oauth-app")
    with serve_in_thread(config) as emu:
        big = 7
        for contact in range(1, 251):
            emu.state.associate("companies", big, "contacts", contact)
        emu.state.request_counts.clear()
        with connect(emu, registry=LimiterRegistry()) as conn:
            out = collect(conn.read("Hubspot.Companies", state=None))
        counts = emu.state.request_counts
        statuses = dict(emu.state.status_counts)
    by_id = {r["Id"]: r for r in out.rows}
    for rid, row in by_id.items():
        for target in ("contacts", "deals", "tickets"):
            links = emu.state.graph.links("companies", target, int(rid))
            assert row[column_name("associations", target, "ids")] == [str(x.to_id) for x in links]
    assert len(by_id[str(big)]["Associations_Contacts_Ids"]) >= 250
    # one batch read, for the one truncated record and type; nothing else
    assert counts["associations.v4.batch_read"] == 1
    assert statuses.get(429, 0) == 0
