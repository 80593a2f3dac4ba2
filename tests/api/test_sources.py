"""Connection tests and explore over the Flow Service API, against the bundled HubSpot emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from headwater.connectors.hubspot import HubSpotSettings
from headwater.emulator.hubspot import EmulatorConfig, ManualClock, serve_in_thread
from headwater.services import connections
from headwater.services.context import ServiceContext
from tests.conftest import Identity

FS = "/data/foundation/flowservice"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"


@pytest.fixture(scope="module")
def emu() -> Iterator:
    clock = ManualClock(1_763_856_000_000)
    with serve_in_thread(
        EmulatorConfig(
            seed=7,
            contacts=120,
            companies=30,
            deals=40,
            tickets=20,
            products=5,
            line_items=10,
            engagements=10,
            custom_records=10,
            clock=clock,
        )
    ) as running:
        yield running


@pytest.fixture
def hs_ctx(ctx: ServiceContext, emu) -> ServiceContext:
    ctx.connector_settings.get(HubSpotSettings).base_url = emu.base_url
    return ctx


def _create(
    client: TestClient, ident: Identity, params: dict, spec_name: str = "Basic Authentication"
) -> str:
    r = client.post(
        f"{FS}/connections",
        headers=ident.headers(),
        json={
            "name": "hubspot",
            "auth": {"specName": spec_name, "params": params},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _oauth(emu, access: str | None = None) -> dict[str, str]:
    return {
        "clientId": emu.oauth_client_id,
        "clientSecret": emu.oauth_client_secret,
        "accessToken": access if access is not None else emu.access_token,
        "refreshToken": emu.refresh_token,
    }


def test_connection_test_and_explore(client: TestClient, ident: Identity, hs_ctx, emu) -> None:
    conn_id = _create(client, ident, _oauth(emu))
    h = ident.headers()
    r = client.get(f"{FS}/connections/{conn_id}/test", headers=h)
    assert r.status_code == 200
    assert r.json() == {"result": True}

    root = client.get(
        f"{FS}/connections/{conn_id}/explore", params={"objectType": "root"}, headers=h
    )
    assert root.status_code == 200, root.text
    tables = root.json()
    assert isinstance(tables, list)
    names = {t["name"] for t in tables}
    assert {
        "Hubspot.Contacts",
        "Hubspot.Companies",
        "Hubspot.Deals",
        "Hubspot.All_Deals",
        "Hubspot.Owners",
    } <= names
    assert all(t["type"] == "table" and t["path"] == t["name"] for t in tables)

    schema = client.get(
        f"{FS}/connections/{conn_id}/explore",
        params={"objectType": "table", "object": "Hubspot.Contacts"},
        headers=h,
    ).json()
    assert schema["format"] == "flat"
    assert schema["schema"]["columns"]
    assert "data" not in schema
    preview = client.get(
        f"{FS}/connections/{conn_id}/explore",
        params={"objectType": "TABLE", "object": "Hubspot.Contacts", "preview": "True"},
        headers=h,
    ).json()
    assert 0 < len(preview["data"]) <= 10
    cols = {c["name"] for c in preview["schema"]["columns"]}
    assert set(preview["data"][0]) <= cols

    missing = client.get(
        f"{FS}/connections/{conn_id}/explore",
        params={"objectType": "table", "object": "Hubspot.Nope"},
        headers=h,
    )
    assert missing.status_code == 404


def test_bad_credentials_can_be_created_and_the_test_says_why(client, ident, hs_ctx, emu) -> None:
    conn_id = _create(
        client,
        ident,
        {
            "clientId": emu.oauth_client_id,
            "clientSecret": "wrong",
            "accessToken": "bogus",
            "refreshToken": "revoked-or-unknown",
        },
    )
    r = client.get(f"{FS}/connections/{conn_id}/test", headers=ident.headers())
    assert r.status_code == 200
    body = r.json()
    assert body["result"] is False
    err = body["error"]
    assert isinstance(err["status"], int) and err["status"] >= 400
    assert err["errorMessage"]
    assert "CONNECTOR-" in err["type"]

    pat = _create(
        client, ident, {"accessToken": emu.private_app_token}, spec_name="Private App Token"
    )
    assert client.get(f"{FS}/connections/{pat}/test", headers=ident.headers()).json() == {
        "result": True
    }


def test_expired_token_is_refreshed_and_stored_encrypted(
    client, ident, hs_ctx: ServiceContext, emu, tenant_of
) -> None:
    old_access = emu.access_token
    conn_id = _create(client, ident, _oauth(emu, old_access))
    emu.clock.advance(3600)  # the access token (30 min) has expired
    assert client.get(f"{FS}/connections/{conn_id}/test", headers=ident.headers()).json() == {
        "result": True
    }
    _doc, params = connections.read_credentials(hs_ctx, tenant_of(ident), conn_id)
    assert params["accessToken"] != old_access
    got = client.get(f"{FS}/connections/{conn_id}", headers=ident.headers()).json()["items"][0]
    assert got["auth"]["params"]["accessToken"] == "********"
    assert "_tokenExpiresAt" not in got


def test_service_key_connection_with_some_scopes_tests_ok_and_explore_marks_the_rest(
    client, ident, hs_ctx, emu
) -> None:
    key = httpx.post(
        f"{emu.base_url}/_emulator/service-keys",
        json={"scopes": ["crm.objects.contacts.read"]},
    ).json()["service_key"]
    conn_id = _create(
        client, ident, {"serviceKey": key, "apiVersion": "2026-03"}, spec_name="Service Key"
    )
    got = client.get(f"{FS}/connections/{conn_id}", headers=ident.headers()).json()["items"][0]
    assert got["auth"]["params"] == {"serviceKey": "********", "apiVersion": "2026-03"}
    h = ident.headers()
    assert client.get(f"{FS}/connections/{conn_id}/test", headers=h).json() == {"result": True}
    root = client.get(
        f"{FS}/connections/{conn_id}/explore", params={"objectType": "root"}, headers=h
    ).json()
    by_name = {t["name"]: t for t in root}
    assert "meta:missingScopes" not in by_name["Hubspot.Contacts"]
    assert by_name["Hubspot.Tickets"]["meta:missingScopes"] == ["tickets"]
    assert by_name["Hubspot.Tickets"]["canPreview"] is False
    table = client.get(
        f"{FS}/connections/{conn_id}/explore",
        params={"objectType": "table", "object": "Hubspot.Tickets", "preview": "true"},
        headers=h,
    )
    assert table.status_code == 400
    error = table.json()
    assert error["type"].endswith("CONNECTOR-2403-403") and error["title"] == "Missing scope"
    assert "Hubspot.Tickets needs the HubSpot scope tickets" in error["errorMessage"]
    bad = _create_raw(client, ident, {"serviceKey": key, "apiVersion": "v3"}, "Service Key")
    assert bad.status_code == 400
    assert "apiVersion" in bad.text


def _create_raw(client: TestClient, ident: Identity, params: dict, spec_name: str):
    return client.post(
        f"{FS}/connections",
        headers=ident.headers(),
        json={
            "name": "hubspot",
            "auth": {"specName": spec_name, "params": params},
            "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
        },
    )


def test_a_static_tokens_portal_is_kept_with_the_connection_until_the_token_changes(
    client, ident, hs_ctx: ServiceContext, emu, tenant_of
) -> None:
    h = ident.headers()
    conn_id = _create(client, ident, {"accessToken": emu.private_app_token}, "Private App Token")
    etag = client.get(f"{FS}/connections/{conn_id}", headers=h).json()["items"][0]["etag"]
    assert client.get(f"{FS}/connections/{conn_id}/test", headers=h).json() == {"result": True}
    doc, _ = connections.read_credentials(hs_ctx, tenant_of(ident), conn_id)
    assert doc["_learned"]["portalId"] == str(emu.portal_id)
    got = client.get(f"{FS}/connections/{conn_id}", headers=h).json()["items"][0]
    assert "_learned" not in got and "portalCredential" not in str(got)
    assert got["etag"] == etag  # not an edit
    # explore (as a run) opens a connector that knows the portal: no account details call
    httpx.post(f"{emu.base_url}/_emulator/stats/reset")
    root = client.get(
        f"{FS}/connections/{conn_id}/explore", params={"objectType": "root"}, headers=h
    )
    assert root.status_code == 200
    counts = httpx.get(f"{emu.base_url}/_emulator/stats").json()["requests"]
    assert counts.get("account.details", 0) == 0, counts
    # a rename keeps it; new credentials do not
    rename = [{"op": "replace", "path": "/name", "value": "renamed"}]
    r = client.patch(f"{FS}/connections/{conn_id}", headers=h | {"If-Match": etag}, json=rename)
    assert r.status_code == 200, r.text
    doc, _ = connections.read_credentials(hs_ctx, tenant_of(ident), conn_id)
    assert doc["_learned"]["portalId"] == str(emu.portal_id)
    token = httpx.post(f"{emu.base_url}/_emulator/tokens", json={"scopes": ["oauth"]}).json()
    swap = [
        {"op": "replace", "path": "/auth/params/accessToken", "value": token["private_app_token"]}
    ]
    r = client.patch(
        f"{FS}/connections/{conn_id}", headers=h | {"If-Match": r.json()["etag"]}, json=swap
    )
    assert r.status_code == 200, r.text
    doc, _ = connections.read_credentials(hs_ctx, tenant_of(ident), conn_id)
    assert "_learned" not in doc
