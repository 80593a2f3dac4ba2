"""Checking credentials and exploring tables against the emulator."""

from __future__ import annotations

import json

import httpx
import pyarrow as pa
import pytest

from headwater.connectors.hubspot import AUTH_OAUTH, AUTH_PRIVATE_APP, HubSpotConnector
from headwater.connectors.ratelimit import LimiterRegistry
from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread
from headwater.errors import InvalidRequestError, SourceAuthError, TableNotFoundError
from tests.connectors.conftest import collect, connect, live_ids, oauth_params


def _oauth(emu: RunningEmulator, **params: str) -> HubSpotConnector:
    return HubSpotConnector(
        auth_spec_name=AUTH_OAUTH,
        params=oauth_params(emu) | params,
        base_url=emu.base_url,
        limiter_registry=LimiterRegistry(),
    )


def test_check_passes_with_oauth_and_private_app(emu20k: RunningEmulator) -> None:
    rotated: list[dict[str, str]] = []
    with HubSpotConnector(
        auth_spec_name=AUTH_OAUTH,
        params=oauth_params(emu20k, access_token=""),
        base_url=emu20k.base_url,
        on_tokens_refreshed=rotated.append,
        limiter_registry=LimiterRegistry(),
    ) as conn:
        conn.check()
    assert len(rotated) == 1  # no access token yet: one refresh, handed back for storage
    with connect(emu20k) as conn:
        conn.check()


def test_bad_refresh_token_fails_once_with_a_clear_reason(emu20k: RunningEmulator) -> None:
    before = emu20k.state.request_counts["oauth.token"]
    with (
        _oauth(emu20k, accessToken="", refreshToken="na1-not-a-token") as conn,
        pytest.raises(SourceAuthError, match="refresh token is invalid or revoked"),
    ):
        conn.check()
    assert emu20k.state.request_counts["oauth.token"] - before == 1  # no retry loop


def test_revoked_refresh_token_is_reported_when_the_access_token_expires() -> None:
    with serve_in_thread(EmulatorConfig(seed=1, contacts=10, rate_limit="none")) as emu:
        params = oauth_params(emu)
        httpx.delete(f"{emu.base_url}/oauth/v1/refresh-tokens/{params['refreshToken']}")
        emu.state.advance(1801)  # the access token expired too
        with _oauth(emu, accessToken=params["accessToken"]) as conn:
            with pytest.raises(SourceAuthError, match="BAD_REFRESH_TOKEN"):
                conn.check()


def test_invalid_private_app_token() -> None:
    with serve_in_thread(EmulatorConfig(seed=1, contacts=10, rate_limit="none")) as emu:
        with (
            HubSpotConnector(
                auth_spec_name=AUTH_PRIVATE_APP,
                params={"accessToken": "pat-na1-00000000-0000-0000-0000-000000000000"},
                base_url=emu.base_url,
                limiter_registry=LimiterRegistry(),
            ) as conn,
            pytest.raises(SourceAuthError, match="rejected the access token"),
        ):
            conn.check()
        assert emu.state.status_counts[401] == 1


def test_missing_scope_names_the_scope_and_the_table() -> None:
    config = EmulatorConfig(seed=1, contacts=10, rate_limit="none", scopes=("oauth",))
    with serve_in_thread(config) as emu:
        with _oauth(emu) as conn:
            conn.check()  # the token works: a missing scope fails a table, not the connection
            with pytest.raises(SourceAuthError) as err:
                collect(conn.read("Hubspot.Contacts", state=None))
        assert "Hubspot.Contacts" in err.value.message
        assert "crm.objects.contacts.read" in err.value.message
        assert emu.state.status_counts[403] == 1  # failed fast, no retries


def test_unknown_auth_spec() -> None:
    with pytest.raises(InvalidRequestError):
        HubSpotConnector(auth_spec_name="Magic", params={}, base_url="http://127.0.0.1:9")


def test_explore_root_lists_adobes_tables_and_custom_objects(emu20k: RunningEmulator) -> None:
    with connect(emu20k) as conn:
        root = conn.explore_root()
    names = [t["name"] for t in root]
    for name in [
        "Hubspot.Contacts",
        "Hubspot.Companies",
        "Hubspot.Deals",
        "Hubspot.All_Deals",
        "Hubspot.Tickets",
        "Hubspot.Products",
        "Hubspot.Line_Items",
        "Hubspot.Owners",
        "Hubspot.Calls",
        "Hubspot.Emails",
        "Hubspot.Meetings",
        "Hubspot.Notes",
        "Hubspot.Tasks",
        "Hubspot.Deal_Pipelines",
        "Hubspot.Ticket_Pipelines",
        "Hubspot.Pets",
    ]:
        assert name in names
    assert root[0] == {
        "type": "table",
        "name": "Hubspot.Contacts",
        "path": "Hubspot.Contacts",
        "canPreview": True,
        "canFetchSchema": True,
    }
    json.dumps(root)


def test_explore_table_types_come_from_property_metadata(emu20k: RunningEmulator) -> None:
    with connect(emu20k) as conn:
        result = conn.explore_table("Hubspot.Contacts", preview=False)
        props = {p.name: p for p in conn._props("contacts")}
    assert result["format"] == "flat"
    assert "data" not in result
    cols = {c["name"]: c for c in result["schema"]["columns"]}
    by_type = {"number": "double", "bool": "boolean", "datetime": "string", "enumeration": "string"}
    seen = set()
    for prop in props.values():
        col = cols[f"Properties_{'_'.join(s.capitalize() for s in prop.name.split('_'))}_Value"]
        if prop.type in by_type:
            seen.add(prop.type)
            assert col["type"] == by_type[prop.type]
        if prop.type == "datetime":
            assert col["meta:xdmType"] == "date-time"
        if prop.type == "enumeration" and prop.options:
            assert col["xdm"]["enum"] == [v for v, _ in prop.options]
    assert seen == set(by_type)
    assert result["meta:incremental"]["supported"] is True
    assert result["meta:incremental"]["cursor"] == "lastmodifieddate"


def test_explore_preview_returns_rows(emu20k: RunningEmulator) -> None:
    with connect(emu20k) as conn:
        result = conn.explore_table("Hubspot.Deals", preview=True, limit=3)
        owners = conn.explore_table("Hubspot.Owners", preview=True, limit=2)
        pipelines = conn.explore_table("Hubspot.Deal_Pipelines", preview=True)
    assert len(result["data"]) == 3
    names = {c["name"] for c in result["schema"]["columns"]}
    assert set(result["data"][0]) == names
    assert result["data"][0]["Associations_Contacts_Ids"]
    json.dumps(result)
    assert len(owners["data"]) == 2
    assert owners["meta:incremental"]["supported"] is False
    assert "no modification cursor" in owners["meta:incremental"]["reason"]
    assert pipelines["data"][0]["Stages"]


def test_unknown_table(emu20k: RunningEmulator) -> None:
    with connect(emu20k) as conn, pytest.raises(TableNotFoundError):
        conn.explore_table("Hubspot.Nope", preview=False)


def test_schema_and_key_are_known_before_reading(emu20k: RunningEmulator) -> None:
    with connect(emu20k) as conn:
        schema = conn.table_schema("Hubspot.Tickets")
        assert conn.primary_key("Hubspot.Tickets") == ("Id",)
        assert schema.field("Updated_At").type == pa.timestamp("ms", tz="UTC")
        out = collect(conn.read("Hubspot.Ticket_Pipelines", state=None))
        assert out.rows
        pets = collect(conn.read("Hubspot.Pets", state=None, columns=["Id"]))
    assert len(pets.rows) + len(pets.deleted) == emu20k.state.stores["pets"].size


def test_every_table_reads_and_previews() -> None:
    config = EmulatorConfig(
        seed=42,
        contacts=500,
        companies=300,
        deals=300,
        tickets=300,
        line_items=300,
        products=150,
        engagements=200,
        custom_records=100,
        rate_limit="none",
    )
    with serve_in_thread(config) as emu, connect(emu) as conn:
        for object_type in ("contacts", "companies", "deals", "tickets", "pets"):
            a, b = live_ids(emu, object_type)[:2]  # so that every merge table has a row
            emu.state.merge(object_type, int(a), int(b))
        emu.state.advance(2)  # past the search-index lag
        for table in conn.explore_root():
            name = table["name"]
            out = collect(conn.read(name, state=None))
            preview = conn.explore_table(name, preview=True, limit=2)
            assert out.rows, name
            assert preview["data"], name
            schema = conn.table_schema(name)
            assert {c["name"] for c in preview["schema"]["columns"]} == set(schema.names)
            key = conn.primary_key(name)
            keys = [tuple(r[k] for k in key) for r in out.rows]
            assert len(keys) == len(set(keys)), name
