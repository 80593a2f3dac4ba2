"""Property history tables read from the emulator: full, per-flow properties, incremental."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator, serve_in_thread

from .conftest import collect, connect, live_ids

TABLES = {
    "Hubspot.Contact_Property_History": "contacts",
    "Hubspot.Company_Property_History": "companies",
    "Hubspot.Deal_Property_History": "deals",
    "Hubspot.Ticket_Property_History": "tickets",
    "Hubspot.Pet_Property_History": "pets",
}
KEY = ("Object_Id", "Property", "Timestamp", "Value", "Source_Type", "Source_Id")


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        seed=3,
        contacts=120,
        companies=60,
        deals=70,
        tickets=40,
        engagements=5,
        custom_records=30,
        extra_records=5,
        search_index_lag_ms=0,
        clock=ManualClock(),
    )
    with serve_in_thread(config) as running:
        yield running


def expected(
    emu: RunningEmulator, object_type: str, props: list[str] | None = None
) -> set[tuple[str, str, str, str, str]]:
    """(id, property, ISO timestamp, value, source type) of every version, from the emulator."""
    store = emu.state.stores[object_type]
    names = props or [p.name for p in store.type.properties]
    return {
        (rid, name, str(v["timestamp"]), str(v["value"]), str(v["sourceType"]))
        for rid in live_ids(emu, object_type)
        for name in names
        for v in store.history_for(int(rid), name)
    }


def got_rows(rows: list[dict[str, object]]) -> set[tuple[str, str, str, str, str]]:
    out = set()
    for r in rows:
        stamp = r["Timestamp"]
        iso = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # type: ignore[attr-defined]
        out.add(
            (str(r["Object_Id"]), str(r["Property"]), iso, str(r["Value"]), str(r["Source_Type"]))
        )
    return out


@pytest.mark.parametrize("table", sorted(TABLES))
def test_full_read_has_every_version_of_every_property(table: str, emu: RunningEmulator) -> None:
    with connect(emu) as conn:
        assert conn.primary_key(table) == KEY
        explored = conn.explore_table(table, preview=True, limit=5)
        assert explored["meta:primaryKey"] == list(KEY)
        assert len(explored["data"]) == 5
        got = collect(conn.read(table, state=None))
    rows = got_rows(got.rows)
    assert rows == expected(emu, TABLES[table])
    keys = [tuple(r[k] for k in KEY) for r in got.rows]
    assert len(keys) == len(set(keys)), "the key is unique"
    assert all(r["Source_Id"] == "" for r in got.rows)  # the emulator sends no source ids


def test_a_flow_chooses_the_properties_and_the_columns(emu: RunningEmulator) -> None:
    with connect(emu) as conn:
        got = collect(
            conn.read(
                "Hubspot.Contact_Property_History",
                state=None,
                columns=["Properties_Email_Value", "lifecyclestage", "Source_Label"],
            )
        )
        with pytest.raises(Exception, match="Properties_Nope_Value"):
            list(
                conn.read(
                    "Hubspot.Contact_Property_History",
                    state=None,
                    columns=["Properties_Nope_Value"],
                )
            )
    assert {r["Property"] for r in got.rows} == {"email", "lifecyclestage"}
    assert set(got.rows[0]) == {*KEY, "Source_Label", "Is_Deleted"}
    assert got_rows(got.rows) == expected(emu, "contacts", ["email", "lifecyclestage"])


def patch(emu: RunningEmulator, object_type: str, rid: int, properties: dict[str, str]) -> None:
    """Write through HubSpot's own update endpoint, as a user's change would arrive."""
    path = f"/crm/v3/objects/{emu.state.resolve(object_type).type_id}/{rid}"
    headers = {"Authorization": f"Bearer {emu.private_app_token}"}
    with httpx.Client(base_url=emu.base_url, headers=headers) as api:
        r = api.patch(path, json={"properties": properties})
    assert r.status_code == 200, r.text


def test_incremental_reads_exactly_the_versions_written_since(emu: RunningEmulator) -> None:
    table = "Hubspot.Deal_Property_History"
    with connect(emu) as conn:
        first = collect(conn.read(table, state=None))
        emu.state.clock.advance(3600)
        patch(emu, "deals", 9, {"dealstage": "closedwon", "amount": "1234.5"})
        emu.state.clock.advance(5)
        patched = emu.state.stores["deals"].history_for(9, "dealstage")[0]
        again = collect(conn.read(table, state=first.checkpoints[-1]))
        emu.state.clock.advance(600)
        overlap = collect(conn.read(table, state=again.checkpoints[-1]))
        quiet = collect(conn.read(table, state=overlap.checkpoints[-1]))
    assert again.progress[0].strategy == "incremental"
    assert {(r["Object_Id"], r["Property"], r["Value"], r["Source_Type"]) for r in again.rows} == {
        ("9", "dealstage", "closedwon", "API"),
        ("9", "amount", "1234.5", "API"),
    }
    assert got_rows(again.rows) <= expected(emu, "deals")
    assert patched["value"] == "closedwon"
    # the next window starts 5 minutes before the cursor: the same versions again, same keys
    # (merged by the dataset); the one after starts past the write
    assert {tuple(r[k] for k in KEY) for r in overlap.rows} == {
        tuple(r[k] for k in KEY) for r in again.rows
    }
    assert quiet.rows == []
    assert first.checkpoints[-1]["cursor_ms"] < again.checkpoints[-1]["cursor_ms"]


# a property of each object that HubSpot keeps history for, written just before the run
WRITTEN = {
    "Hubspot.Contact_Property_History": ("email", "new.address@headwater-demo.test"),
    "Hubspot.Company_Property_History": ("name", "Renamed Holdings"),
    "Hubspot.Deal_Property_History": ("dealname", "Renewal 2026"),
    "Hubspot.Ticket_Property_History": ("subject", "Printer on fire"),
    "Hubspot.Pet_Property_History": ("name", "Biscuit"),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_each_history_table_reads_a_write_made_just_before_the_run(
    table: str, emu: RunningEmulator
) -> None:
    object_type = TABLES[table]
    prop, value = WRITTEN[table]
    rid = int(live_ids(emu, object_type)[4])
    with connect(emu) as conn:
        first = collect(conn.read(table, state=None, columns=[prop]))
        emu.state.clock.advance(3600)
        patch(emu, object_type, rid, {prop: value})
        emu.state.clock.advance(1)
        again = collect(conn.read(table, state=first.checkpoints[-1], columns=[prop]))
    assert again.progress[0].strategy == "incremental"
    assert {(r["Object_Id"], r["Property"], r["Value"], r["Source_Type"]) for r in again.rows} == {
        (str(rid), prop, value, "API")
    }
    assert got_rows(first.rows + again.rows) == expected(emu, object_type, [prop])


def test_a_resumed_full_read_neither_repeats_nor_skips(emu: RunningEmulator) -> None:
    table = "Hubspot.Contact_Property_History"
    with connect(emu) as conn:
        whole = collect(conn.read(table, state=None, columns=["lifecyclestage"]))
        head = []
        checkpoint = None
        for event in conn.read(table, state=None, columns=["lifecyclestage"]):
            if hasattr(event, "batch"):
                head.extend(event.batch.to_pylist())
            elif hasattr(event, "final") and not event.final:
                checkpoint = event.state
                break
        assert checkpoint is not None
        rest = collect(conn.read(table, state=checkpoint, columns=["lifecyclestage"]))
    assert len(head) + len(rest.rows) == len(whole.rows)
    assert got_rows(head) | got_rows(rest.rows) == got_rows(whole.rows)
