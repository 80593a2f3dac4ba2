"""Association join tables (``Hubspot.Contact_Company_Associations``, ...): one row per
association type, labels included, read in full from the emulator's v4 associations."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from headwater.connectors.hubspot import HubSpotConnector
from headwater.connectors.hubspot.derived import ASSOCIATION_PAIRS
from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator, serve_in_thread

from .conftest import collect, connect, live_ids


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        seed=5,
        contacts=1_500,
        companies=400,
        deals=300,
        tickets=200,
        line_items=300,
        engagements=300,
        custom_records=200,
        extra_records=40,
        search_index_lag_ms=0,
        clock=ManualClock(),
    )
    with serve_in_thread(config) as running:
        yield running


def expected_rows(
    emu: RunningEmulator, source: str, target: str
) -> set[tuple[str, str, int, str, str | None]]:
    """Every association type between live records, straight from the emulator's graph."""
    out = set()
    for rid in live_ids(emu, source):
        for link in emu.state.graph.links(source, target, int(rid)):
            for t in link.types:
                out.add((rid, str(link.to_id), t.type_id, t.category, t.label))
    return out


def rows_of(got: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(r["From_Id"], r["To_Id"], r["Type_Id"], r["Category"], r["Label"]) for r in got}


#: the pairs of the other standard objects (quotes, invoices, orders, carts, leads, ...)
OTHER_PAIRS = ASSOCIATION_PAIRS[ASSOCIATION_PAIRS.index(("quotes", "contacts")) :]


@pytest.mark.parametrize(("source", "target"), ASSOCIATION_PAIRS)
def test_every_standard_pair_is_a_join_table_with_labels(
    source: str, target: str, emu: RunningEmulator
) -> None:
    with connect(emu) as conn:
        name = next(
            t["name"]
            for t in conn.explore_root()
            if t["name"].endswith("_Associations")
            and conn.table(t["name"]).object_type == source
            and conn.table(t["name"]).associations == (target,)
        )
        assert conn.primary_key(name) == ("From_Id", "To_Id", "Type_Id")
        got = collect(conn.read(name, state=None))
    expected = expected_rows(emu, source, target)
    assert expected, (source, target)
    assert rows_of(got.rows) == expected
    assert len(got.rows) == len(expected)
    assert got.progress[-1].complete


def test_names_read_as_joins_and_labels_are_kept(emu: RunningEmulator) -> None:
    with connect(emu) as conn:
        names = {t["name"] for t in conn.explore_root()}
        assert {
            "Hubspot.Contact_Company_Associations",
            "Hubspot.Deal_Ticket_Associations",
            "Hubspot.Company_Company_Associations",
            "Hubspot.Contact_Call_Associations",
            "Hubspot.Pet_Contact_Associations",
        } <= names
        companies = collect(conn.read("Hubspot.Contact_Company_Associations", state=None))
        hierarchy = collect(conn.read("Hubspot.Company_Company_Associations", state=None))
        deal_contacts = collect(conn.read("Hubspot.Deal_Contact_Associations", state=None))
        preview = conn.explore_table("Hubspot.Deal_Company_Associations", preview=True, limit=4)
    labels = {(r["Type_Id"], r["Label"]) for r in companies.rows}
    assert labels == {(1, "Primary"), (279, None)}
    assert {(r["Type_Id"], r["Label"]) for r in hierarchy.rows} == {
        (14, "Parent Company"),
        (13, "Child Company"),
        (450, None),
    }
    assert len(preview["data"]) == 4
    assert {(r["Type_Id"], r["Category"], r["Label"]) for r in deal_contacts.rows} == {
        (3, "HUBSPOT_DEFINED", None),
        (1001, "USER_DEFINED", "Decision maker"),
    }


def test_custom_object_pairs_come_from_the_schema(emu: RunningEmulator) -> None:
    with connect(emu) as conn:
        got = collect(conn.read("Hubspot.Pet_Contact_Associations", state=None))
    assert rows_of(got.rows) == expected_rows(emu, "pets", "contacts")
    assert {r["Category"] for r in got.rows} == {"USER_DEFINED"}


def test_an_association_written_before_the_run_is_read_and_a_removed_one_is_gone(
    emu: RunningEmulator,
) -> None:
    contact, company = 17, 399
    with connect(emu) as conn:
        before = collect(conn.read("Hubspot.Contact_Company_Associations", state=None))
        gone = next(r for r in before.rows if r["From_Id"] == "3")
        headers = {"Authorization": f"Bearer {emu.private_app_token}"}
        with httpx.Client(base_url=emu.base_url, headers=headers) as api:
            made = api.put(
                f"/crm/v4/objects/contacts/{contact}/associations/companies/{company}",
                json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
            )
            removed = api.delete(
                f"/crm/v4/objects/contacts/3/associations/companies/{gone['To_Id']}"
            )
        assert (made.status_code, removed.status_code) == (201, 204), made.text
        after = collect(
            conn.read("Hubspot.Contact_Company_Associations", state=before.checkpoints[-1])
        )
    pairs = {(r["From_Id"], r["To_Id"], r["Type_Id"]) for r in after.rows}
    assert {("17", "399", 1), ("17", "399", 279)} <= pairs
    assert ("3", gone["To_Id"], gone["Type_Id"]) not in pairs
    assert rows_of(after.rows) == expected_rows(emu, "contacts", "companies")


def test_a_resumed_read_neither_repeats_nor_skips(emu: RunningEmulator) -> None:
    table = "Hubspot.Contact_Meeting_Associations"
    with connect(emu) as conn:
        whole = collect(conn.read(table, state=None))
        events = conn.read(table, state=None)
        first = []
        checkpoint = None
        for event in events:
            if hasattr(event, "batch"):
                first.extend(event.batch.to_pylist())
            elif hasattr(event, "state") and not event.final:
                checkpoint = event.state
                break
        assert checkpoint is not None
        rest = collect(conn.read(table, state=checkpoint))
    assert rows_of(first) | rows_of(rest.rows) == rows_of(whole.rows)
    assert len(first) + len(rest.rows) == len(whole.rows)


def _table_of(conn: HubSpotConnector, source: str, target: str) -> str:
    return next(
        t["name"]
        for t in conn.explore_root()
        if t["name"].endswith("_Associations")
        and conn.table(t["name"]).object_type == source
        and conn.table(t["name"]).associations == (target,)
    )


@pytest.mark.parametrize(("source", "target"), OTHER_PAIRS)
def test_a_change_written_through_v4_before_the_next_run_shows_in_it(
    source: str, target: str, emu: RunningEmulator
) -> None:
    headers = {"Authorization": f"Bearer {emu.private_app_token}"}
    with connect(emu) as conn, httpx.Client(base_url=emu.base_url, headers=headers) as api:
        name = _table_of(conn, source, target)
        before = collect(conn.read(name, state=None))
        assert before.rows, name
        gone = before.rows[0]
        linked = {(r["From_Id"], r["To_Id"]) for r in before.rows}
        a = next(i for i in live_ids(emu, source) if i != gone["From_Id"])
        b = next(i for i in live_ids(emu, target) if (a, i) not in linked)
        labels = api.get(f"/crm/v4/associations/{source}/{target}/labels").json()["results"]
        unlabeled = next(t for t in labels if t["label"] is None)
        made = api.put(
            f"/crm/v4/objects/{source}/{a}/associations/{target}/{b}",
            json=[
                {
                    "associationCategory": unlabeled["category"],
                    "associationTypeId": unlabeled["typeId"],
                }
            ],
        )
        removed = api.delete(
            f"/crm/v4/objects/{source}/{gone['From_Id']}/associations/{target}/{gone['To_Id']}"
        )
        assert (made.status_code, removed.status_code) == (201, 204), made.text
        after = collect(conn.read(name, state=before.checkpoints[-1]))
    got = rows_of(after.rows)
    assert (a, b, unlabeled["typeId"], "HUBSPOT_DEFINED", None) in got
    assert not any(r[:2] == (gone["From_Id"], gone["To_Id"]) for r in got)
    assert got == expected_rows(emu, source, target)
    assert len(after.rows) == len(got)
    assert after.progress[-1].complete
