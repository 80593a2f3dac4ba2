"""Merge tables: winner, merged id and time of every merge made through the emulator's API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator, serve_in_thread

from .conftest import collect, connect, live_ids


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        seed=8,
        contacts=200,
        companies=60,
        deals=60,
        tickets=40,
        engagements=5,
        custom_records=30,
        extra_records=5,
        search_index_lag_ms=0,
        clock=ManualClock(),
    )
    with serve_in_thread(config) as running:
        yield running


def _merge(emu: RunningEmulator, object_type: str, primary: int, secondary: int) -> tuple[str, str]:
    """Merge through HubSpot's own endpoint; the new record's id and its updatedAt."""
    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.private_app_token}"}
    ) as c:
        r = c.post(
            f"/crm/v3/objects/{object_type}/merge",
            json={"primaryObjectId": str(primary), "objectIdToMerge": str(secondary)},
        )
        assert r.status_code == 200, r.text
        body = r.json()
    return str(body["id"]), str(body["updatedAt"])


def iso(value: object) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "object_type"),
    [
        ("Hubspot.Contact_Merges", "contacts"),
        ("Hubspot.Company_Merges", "companies"),
        ("Hubspot.Deal_Merges", "deals"),
        ("Hubspot.Ticket_Merges", "tickets"),
        ("Hubspot.Pet_Merges", "pets"),
    ],
)
def test_full_read_lists_every_merge_with_its_time(
    table: str, object_type: str, emu: RunningEmulator
) -> None:
    with connect(emu) as conn:
        assert conn.primary_key(table) == ("Winner_Id", "Merged_Id")
        assert collect(conn.read(table, state=None)).rows == []
        a, b = live_ids(emu, object_type)[2:4]
        winner, at = _merge(emu, object_type, int(a), int(b))
        got = collect(conn.read(table, state=None, mode="full"))
    assert {(r["Winner_Id"], r["Merged_Id"], iso(r["Merged_At"])) for r in got.rows} == {
        (winner, a, at),
        (winner, b, at),
    }


@pytest.mark.parametrize("object_type", ["contacts", "companies", "deals", "tickets", "pets"])
def test_a_merge_made_just_before_the_run_is_read_incrementally(
    object_type: str, emu: RunningEmulator
) -> None:
    table = f"Hubspot.{emu.state.resolve(object_type).singular.title()}_Merges"
    a, b = live_ids(emu, object_type)[5:7]
    with connect(emu) as conn:
        first = collect(conn.read(table, state=None))
        emu.state.clock.advance(3600)
        winner, at = _merge(emu, object_type, int(a), int(b))
        emu.state.clock.advance(1)
        again = collect(conn.read(table, state=first.checkpoints[-1]))
    assert again.progress[0].strategy == "incremental"
    assert {(r["Winner_Id"], r["Merged_Id"], iso(r["Merged_At"])) for r in again.rows} == {
        (winner, a, at),
        (winner, b, at),
    }


def test_incremental_reads_new_merges_and_dates_chained_ones(emu: RunningEmulator) -> None:
    table = "Hubspot.Contact_Merges"
    with connect(emu) as conn:
        first_winner, first_at = _merge(emu, "contacts", 10, 11)
        first = collect(conn.read(table, state=None))
        emu.state.clock.advance(3600)
        second_winner, second_at = _merge(emu, "contacts", int(first_winner), 12)
        emu.state.clock.advance(1)
        again = collect(conn.read(table, state=first.checkpoints[-1]))
    assert {(r["Winner_Id"], r["Merged_Id"]) for r in first.rows} == {
        (first_winner, "10"),
        (first_winner, "11"),
    }
    assert again.progress[0].strategy == "incremental"
    # the chain's second merge is a new record listing every absorbed id
    assert {r["Merged_Id"] for r in again.rows} == {"10", "11", "12", first_winner}
    assert {r["Winner_Id"] for r in again.rows} == {second_winner}
    assert {iso(r["Merged_At"]) for r in again.rows} == {second_at}
    assert first_at < second_at
