"""The other standard objects (quotes, leads, goals, ...) and the account tables (pipeline
stages, owners' teams, users, teams) read from the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from headwater.connectors.hubspot.tables import STANDARD_TABLES
from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator, serve_in_thread
from headwater.emulator.hubspot.crm_objects import EXTRA_TYPE_NAMES
from headwater.emulator.hubspot.portal_metadata import PIPELINES, TEAMS
from headwater.emulator.hubspot.routes.settings import portal_users

from .conftest import collect, connect, live_ids

EXTRA_TABLES = {
    "Hubspot.Quotes": "quotes",
    "Hubspot.Leads": "leads",
    "Hubspot.Goals": "goal_targets",
    "Hubspot.Feedback_Submissions": "feedback_submissions",
    "Hubspot.Communications": "communications",
    "Hubspot.Postal_Mail": "postal_mail",
    "Hubspot.Deal_Splits": "deal_splits",
    "Hubspot.Invoices": "invoices",
    "Hubspot.Orders": "orders",
    "Hubspot.Carts": "carts",
}


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        seed=11,
        contacts=300,
        companies=50,
        deals=80,
        tickets=40,
        engagements=20,
        custom_records=20,
        extra_records=150,
        search_index_lag_ms=0,
        clock=ManualClock(),
    )
    with serve_in_thread(config) as running:
        yield running


def test_every_extra_standard_object_is_a_table() -> None:
    names = {t.name: t.object_type for t in STANDARD_TABLES}
    assert {n: names.get(n) for n in EXTRA_TABLES} == EXTRA_TABLES
    assert set(EXTRA_TABLES.values()) == set(EXTRA_TYPE_NAMES)


@pytest.mark.parametrize("table", sorted(EXTRA_TABLES))
def test_full_read_of_each_extra_object_equals_the_emulator(
    table: str, emu: RunningEmulator
) -> None:
    object_type = EXTRA_TABLES[table]
    with connect(emu) as conn:
        explored = conn.explore_table(table, preview=True, limit=3)
        assert explored["meta:incremental"]["supported"] is True
        assert len(explored["data"]) == 3
        got = collect(conn.read(table, state=None, mode="full"))
    assert sorted(got.ids, key=int) == live_ids(emu, object_type)
    assert sorted(got.deleted_ids) == sorted(
        str(i)
        for i in range(1, emu.state.stores[object_type].size + 1)
        if emu.state.stores[object_type].is_archived(i)
    )


# a property of each type, the value written through the PATCH endpoint, and how it reads back
WRITES: dict[str, tuple[str, str, object]] = {
    "Hubspot.Quotes": ("hs_title", "Renewal 2026", "Renewal 2026"),
    "Hubspot.Leads": ("hs_lead_name", "Inbound lead", "Inbound lead"),
    "Hubspot.Goals": ("hs_goal_name", "Q1 revenue", "Q1 revenue"),
    "Hubspot.Feedback_Submissions": ("hs_content", "Great support", "Great support"),
    "Hubspot.Communications": ("hs_communication_body", "Call me back", "Call me back"),
    "Hubspot.Postal_Mail": ("hs_postal_mail_body", "Thank-you card", "Thank-you card"),
    "Hubspot.Deal_Splits": ("hs_split_percentage", "0.25", 0.25),
    "Hubspot.Invoices": ("hs_number", "INV-2026-7", "INV-2026-7"),
    "Hubspot.Orders": ("hs_order_name", "Order 2026-7", "Order 2026-7"),
    "Hubspot.Carts": ("hs_cart_name", "Spring cart", "Spring cart"),
}


def test_every_extra_object_has_a_write() -> None:
    assert set(WRITES) == set(EXTRA_TABLES)


@pytest.mark.parametrize("table", sorted(EXTRA_TABLES))
def test_an_update_made_through_the_api_comes_back_in_the_next_incremental_read(
    table: str, emu: RunningEmulator
) -> None:
    object_type = EXTRA_TABLES[table]
    prop, value, read_back = WRITES[table]
    column = "Properties_" + "_".join(w.title() for w in prop.split("_")) + "_Value"
    rid = live_ids(emu, object_type)[6]
    headers = {"Authorization": f"Bearer {emu.private_app_token}"}
    with connect(emu) as conn, httpx.Client(base_url=emu.base_url, headers=headers) as api:
        first = collect(conn.read(table, state=None))
        assert first.progress[0].strategy == "full"
        emu.state.clock.advance(600)
        r = api.patch(f"/crm/v3/objects/{object_type}/{rid}", json={"properties": {prop: value}})
        assert r.status_code == 200, r.text
        emu.state.clock.advance(1)
        again = collect(conn.read(table, state=first.checkpoints[-1]))
    assert again.progress[0].strategy == "incremental"
    assert again.ids == [rid]
    assert again.rows[0][column] == read_back


@pytest.mark.parametrize("object_type", ["deals", "tickets"])
def test_pipeline_stages_are_one_row_per_stage(object_type: str, emu: RunningEmulator) -> None:
    table = (
        "Hubspot.Deal_Pipeline_Stages"
        if object_type == "deals"
        else ("Hubspot.Ticket_Pipeline_Stages")
    )
    with connect(emu) as conn:
        assert conn.primary_key(table) == ("Pipeline_Id", "Id")
        got = collect(conn.read(table, state=None))
    expected = [
        (p.id, stage[0]) for p in PIPELINES if p.object_type == object_type for stage in p.stages
    ]
    assert sorted((r["Pipeline_Id"], r["Id"]) for r in got.rows) == sorted(expected)
    if object_type == "deals":
        won = next(r for r in got.rows if r["Id"] == "closedwon")
        assert won["Probability"] == 1.0 and won["Is_Closed"] is True
    else:
        assert {r["Ticket_State"] for r in got.rows} == {"OPEN", "CLOSED"}


def test_a_stage_created_through_the_api_is_in_the_next_full_read() -> None:
    config = EmulatorConfig(seed=4, contacts=20, companies=5, deals=10, tickets=5, engagements=1)
    with serve_in_thread(config) as emu, connect(emu) as conn:
        first = collect(conn.read("Hubspot.Ticket_Pipeline_Stages", state=None))
        headers = {"Authorization": f"Bearer {emu.private_app_token}"}
        with httpx.Client(base_url=emu.base_url, headers=headers) as api:
            r = api.post(
                "/crm/v3/pipelines/tickets/0/stages",
                json={
                    "label": "Waiting on vendor",
                    "displayOrder": 1,
                    "metadata": {"ticketState": "OPEN"},
                },
            )
        assert r.status_code == 201, r.text
        made = r.json()
        again = collect(conn.read("Hubspot.Ticket_Pipeline_Stages", state=first.checkpoints[-1]))
        pipelines = collect(conn.read("Hubspot.Ticket_Pipelines", state=None))
    assert again.progress[0].strategy == "full"
    assert len(again.rows) == len(first.rows) + 1
    row = next(r for r in again.rows if r["Id"] == made["id"])
    assert (row["Pipeline_Id"], row["Label"], row["Ticket_State"]) == (
        "0",
        "Waiting on vendor",
        "OPEN",
    )
    assert made["id"] in pipelines.rows[0]["Stages"]


def test_users_teams_and_owner_teams(emu: RunningEmulator) -> None:
    users = portal_users(emu.state.owners)
    with connect(emu) as conn:
        got_users = collect(conn.read("Hubspot.Users", state=None))
        got_teams = collect(conn.read("Hubspot.Teams", state=None))
        got_owner_teams = collect(conn.read("Hubspot.Owner_Teams", state=None))
    assert sorted(got_users.ids) == sorted(str(o.user_id) for o in users)
    assert sum(1 for r in got_users.rows if r["Super_Admin"]) == 1
    assert {r["Id"]: r["Name"] for r in got_teams.rows} == dict(TEAMS)
    members = {u for r in got_teams.rows for u in r["User_Ids"]}
    assert members == {r["Id"] for r in got_users.rows if r["Primary_Team_Id"]}
    live_owners = [o for o in emu.state.owners if not o.archived and o.team is not None]
    assert sorted((r["Owner_Id"], r["Team_Id"]) for r in got_owner_teams.rows) == sorted(
        (str(o.id), o.team[0]) for o in live_owners if o.team is not None
    )
    assert all(r["Primary"] for r in got_owner_teams.rows)


def test_a_user_created_through_the_api_is_in_the_next_full_reads() -> None:
    config = EmulatorConfig(seed=4, contacts=20, companies=5, deals=10, tickets=5, engagements=1)
    with serve_in_thread(config) as emu, connect(emu) as conn:
        first = {
            t: collect(conn.read(f"Hubspot.{t}", state=None))
            for t in ("Users", "Teams", "Owner_Teams", "Owners")
        }
        headers = {"Authorization": f"Bearer {emu.private_app_token}"}
        with httpx.Client(base_url=emu.base_url, headers=headers) as api:
            r = api.post(
                "/settings/v3/users",
                json={
                    "email": "new.hire@headwater-demo.test",
                    "sendWelcomeEmail": False,
                    "firstName": "New",
                    "lastName": "Hire",
                    "primaryTeamId": "102",
                    "secondaryTeamIds": ["103"],
                },
            )
        assert r.status_code == 201, r.text
        user = r.json()
        again = {
            t: collect(conn.read(f"Hubspot.{t}", state=got.checkpoints[-1]))
            for t, got in first.items()
        }
    assert all(got.progress[0].strategy == "full" for got in again.values())
    assert {t: len(again[t].rows) - len(first[t].rows) for t in first} == {
        "Users": 1,
        "Teams": 0,
        "Owner_Teams": 1,
        "Owners": 1,
    }
    row = next(r for r in again["Users"].rows if r["Id"] == user["id"])
    assert (row["Email"], row["Primary_Team_Id"]) == ("new.hire@headwater-demo.test", "102")
    teams = {r["Id"]: r for r in again["Teams"].rows}
    assert user["id"] in teams["102"]["User_Ids"]
    owner = next(r for r in again["Owners"].rows if r["Email"] == user["email"])
    assert (owner["Id"], "102") in {
        (r["Owner_Id"], r["Team_Id"]) for r in again["Owner_Teams"].rows
    }


def test_explore_names_the_missing_scope_and_probes_each_endpoint_once(
    emu: RunningEmulator,
) -> None:
    from headwater.connectors.hubspot import AUTH_PRIVATE_APP, HubSpotConnector
    from headwater.connectors.hubspot.connector import probe_path
    from headwater.connectors.ratelimit import LimiterRegistry
    from headwater.emulator.hubspot.auth import ALL_SCOPES

    token = "pat-na1-00000000-0000-4000-a000-0000000000aa"
    emu.state.auth.add_private_token(
        token, [s for s in ALL_SCOPES if not s.startswith("settings.users")]
    )
    with HubSpotConnector(
        auth_spec_name=AUTH_PRIVATE_APP,
        params={"accessToken": token},
        base_url=emu.base_url,
        limiter_registry=LimiterRegistry(budget=100_000, search_per_s=50),
        clock_ms=emu.clock.now_ms,
    ) as conn:
        tables = conn.tables()
        before = conn.stats["requests"]
        root = {t["name"]: t for t in conn.explore_root()}
        probes = conn.stats["requests"] - before
    assert root["Hubspot.Users"]["meta:missingScopes"] == ["settings.users.read"]
    assert root["Hubspot.Teams"]["meta:missingScopes"] == ["settings.users.teams.read"]
    assert "meta:missingScopes" not in root["Hubspot.Contact_Property_History"]
    assert probes == len({p for t in tables if (p := probe_path(t))})
    assert probes < len(tables) / 2
