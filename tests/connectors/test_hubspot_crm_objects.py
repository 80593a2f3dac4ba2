"""The other standard objects (quotes, leads, goals, ...) and the account tables (pipeline
stages, owners' teams, users, teams) read from the emulator."""

from __future__ import annotations

from collections.abc import Iterator

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


def test_an_update_to_a_quote_comes_back_in_the_next_incremental_read(
    emu: RunningEmulator,
) -> None:
    with connect(emu) as conn:
        first = collect(conn.read("Hubspot.Quotes", state=None))
        emu.state.clock.advance(600)
        emu.state.update("quotes", 7, {"hs_title": "Renewal 2026"})
        emu.state.clock.advance(1)
        again = collect(conn.read("Hubspot.Quotes", state=first.checkpoints[-1]))
    assert again.progress[0].strategy == "incremental"
    assert again.ids == ["7"]
    assert again.rows[0]["Properties_Hs_Title_Value"] == "Renewal 2026"


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
