"""The connector on HubSpot's 2026 API, against the emulator over real sockets: date-versioned
paths with the legacy ones per connection and per family, token introspection, service keys,
missing scopes named per table, and one rate budget per portal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from headwater.connectors.hubspot import (
    AUTH_OAUTH,
    AUTH_PRIVATE_APP,
    AUTH_SERVICE_KEY,
    HubSpotConnector,
)
from headwater.connectors.ratelimit import LimiterRegistry, RequestKind
from headwater.emulator.hubspot import EmulatorConfig, RunningEmulator, serve_in_thread
from headwater.errors import MissingScopeError, SourceAuthError
from tests.connectors.conftest import collect, oauth_params

TABLES = ("Hubspot.Contacts", "Hubspot.Owners", "Hubspot.Deal_Pipelines", "Hubspot.Pets")


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        seed=5,
        contacts=300,
        companies=40,
        deals=60,
        tickets=20,
        engagements=10,
        custom_records=15,
        search_index_lag_ms=0,
    )
    with serve_in_thread(config) as running:
        yield running


def _conn(
    emu: RunningEmulator,
    spec: str = AUTH_PRIVATE_APP,
    registry: LimiterRegistry | None = None,
    **params: str,
) -> HubSpotConnector:
    if spec == AUTH_OAUTH:
        base = oauth_params(emu)
    elif spec == AUTH_SERVICE_KEY:
        base = {"serviceKey": emu.service_key}
    else:
        base = {"accessToken": emu.private_app_token}
    return HubSpotConnector(
        auth_spec_name=spec,
        params=base | params,
        base_url=emu.base_url,
        limiter_registry=registry or LimiterRegistry(budget=100_000, search_per_s=50),
        clock_ms=emu.clock.now_ms,
    )


def _record_paths(conn: HubSpotConnector) -> list[str]:
    paths: list[str] = []
    lock = threading.Lock()

    def hook(request: httpx.Request) -> None:
        with lock:
            paths.append(request.url.path)

    conn.http.client.event_hooks["request"].append(hook)
    return paths


def _read_everything(conn: HubSpotConnector) -> dict[str, int]:
    conn.check()
    conn.explore_root()
    return {t: len(collect(conn.read(t, state=None, mode="full")).rows) for t in TABLES}


def _read_changes(conn: HubSpotConnector, emu: RunningEmulator) -> None:
    """A full read takes associations inline from the list; an incremental one reads the
    associations of its search pages with batch reads."""
    full = collect(conn.read("Hubspot.Contacts", state=None, mode="full"))
    emu.state.touch("contacts", 3)
    # A search window ends just before its run starts: begin after the touch's millisecond.
    touched_ms = emu.clock.now_ms()
    while emu.clock.now_ms() <= touched_ms:
        time.sleep(0.001)
    collect(conn.read("Hubspot.Contacts", state=full.checkpoints[-1], mode="incremental"))


def test_default_connections_use_the_dated_paths_of_every_family(emu: RunningEmulator) -> None:
    with _conn(emu) as conn:
        paths = _record_paths(conn)
        counts = _read_everything(conn)
        _read_changes(conn, emu)
    assert counts["Hubspot.Contacts"] == emu.state.record_counts()["records"]["contacts"]
    legacy = [p for p in paths if p.startswith(("/crm/v3/", "/crm/v4/", "/account-info/v3"))]
    assert legacy == []
    for prefix in (
        "/account-info/2026-03/details",
        "/crm-object-schemas/2026-03/schemas",
        "/crm/properties/2026-03/contacts",
        "/crm/objects/2026-03/contacts",
        "/crm/associations/2026-03/contacts/",
        "/crm/owners/2026-03",
        "/crm/pipelines/2026-03/deals",
    ):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_legacy_connections_keep_the_v3_paths_and_read_the_same(emu: RunningEmulator) -> None:
    with _conn(emu) as dated:
        expected = _read_everything(dated)
    with _conn(emu, apiVersion="legacy") as conn:
        paths = _record_paths(conn)
        assert _read_everything(conn) == expected
        _read_changes(conn, emu)
    assert not any("/2026-03" in p for p in paths)
    assert any(p.startswith("/crm/v3/objects/contacts") for p in paths)
    assert any(p.startswith("/crm/v4/associations/") for p in paths)


def test_a_family_missing_on_its_dated_path_falls_back_once() -> None:
    config = EmulatorConfig(seed=5, contacts=50, undated_families=("pipelines", "owners"))
    with serve_in_thread(config) as emu, _conn(emu) as conn:
        paths = _record_paths(conn)
        for table in ("Hubspot.Deal_Pipelines", "Hubspot.Ticket_Pipelines", "Hubspot.Owners"):
            assert collect(conn.read(table, state=None)).rows
        assert conn.paths.fallen_back == {"pipelines", "owners"}
        assert conn.stats["fallbacks"] == 2  # once per family, not once per call
        assert emu.state.request_counts["undated"] == 2
        assert "/crm/v3/pipelines/tickets" in paths
        contacts = collect(conn.read("Hubspot.Contacts", state=None)).rows
        assert len(contacts) == emu.state.record_counts()["records"]["contacts"]
        assert any(p.startswith("/crm/objects/2026-03/contacts") for p in paths)


def test_a_missing_record_is_not_mistaken_for_a_missing_family(emu: RunningEmulator) -> None:
    with _conn(emu) as conn:
        response = conn.http.send(
            "GET", "/crm/v3/objects/contacts/999999999", allow=frozenset({404})
        )
        assert response.status_code == 404
        assert conn.paths.fallen_back == frozenset()


def test_oauth_learns_its_token_by_introspection_not_v1_metadata(emu: RunningEmulator) -> None:
    before = dict(emu.state.request_counts)
    with _conn(emu, AUTH_OAUTH) as conn:
        conn.check()
        assert conn.http.limiter is conn.http.limiter
        assert "crm.objects.contacts.read" in conn.auth.scopes  # type: ignore[attr-defined]
    counts = emu.state.request_counts
    assert counts["oauth.introspect"] - before.get("oauth.introspect", 0) == 1
    assert counts["oauth.access_token_info"] == before.get("oauth.access_token_info", 0)


def test_oauth_refresh_and_introspection_on_their_dated_and_legacy_paths(
    emu: RunningEmulator,
) -> None:
    for version, prefix, introspect in (
        ({}, "/oauth/2026-03/", "/oauth/2026-03/token/introspect"),
        ({"apiVersion": "legacy"}, "/oauth/v", "/oauth/v3/token/introspect"),
    ):
        with _conn(emu, AUTH_OAUTH, **version) as conn:  # a stored token: introspected
            paths = _record_paths(conn)
            conn.check()
        assert [p for p in paths if p.startswith("/oauth/")] == [introspect]
        with _conn(emu, AUTH_OAUTH, accessToken="", **version) as conn:  # none yet: refreshed
            paths = _record_paths(conn)
            conn.check()
        token = [p for p in paths if p.startswith("/oauth/")]
        assert token == [prefix + ("token" if version == {} else "1/token")]
        assert "/oauth/v1/access-tokens" not in " ".join(paths)


def test_service_key_connection_reads_and_names_what_it_may_not(emu: RunningEmulator) -> None:
    issued = httpx.post(
        f"{emu.base_url}/_emulator/service-keys",
        json={"scopes": ["crm.objects.contacts.read", "crm.objects.companies.read"]},
    ).json()
    with _conn(emu, AUTH_SERVICE_KEY, serviceKey=issued["service_key"]) as conn:
        conn.check()
        root = {t["name"]: t for t in conn.explore_root()}
        assert "meta:missingScopes" not in root["Hubspot.Contacts"]
        assert root["Hubspot.Contacts"]["canPreview"] is True
        assert root["Hubspot.Deals"]["meta:missingScopes"] == ["crm.objects.deals.read"]
        assert root["Hubspot.Deals"]["canPreview"] is False
        assert root["Hubspot.Owners"]["meta:missingScopes"] == ["crm.objects.owners.read"]
        assert "Hubspot.Pets" not in root  # custom objects need crm.schemas.custom.read
        with pytest.raises(MissingScopeError) as err:
            conn.explore_table("Hubspot.Deals", preview=False)
        assert err.value.table == "Hubspot.Deals"
        assert "crm.objects.deals.read" in err.value.message
        rows = collect(conn.read("Hubspot.Contacts", state=None)).rows
        assert len(rows) == emu.state.record_counts()["records"]["contacts"]


def test_a_read_that_lacks_a_scope_fails_naming_the_table_and_scope(emu: RunningEmulator) -> None:
    token = httpx.post(
        f"{emu.base_url}/_emulator/tokens", json={"scopes": ["crm.objects.contacts.read"]}
    ).json()["private_app_token"]
    with _conn(emu, accessToken=token) as conn:
        conn.check()
        with pytest.raises(SourceAuthError) as err:
            collect(conn.read("Hubspot.Tickets", state=None))
    assert "Hubspot.Tickets needs the HubSpot scope tickets" in err.value.message
    assert err.value.run_code == "CONNECTOR-2403-403"


def test_connections_to_one_portal_share_one_rate_budget(emu: RunningEmulator) -> None:
    registry = LimiterRegistry(budget=1_000, search_per_s=5)
    other_token = httpx.post(f"{emu.base_url}/_emulator/tokens", json={"scopes": []}).json()
    with (
        _conn(emu, registry=registry) as private,
        _conn(emu, AUTH_SERVICE_KEY, registry=registry) as service,
        _conn(emu, AUTH_OAUTH, registry=registry) as oauth,
        _conn(emu, registry=registry, accessToken=other_token["private_app_token"]) as bare,
    ):
        private.check()
        service.check()
        oauth.check()
        bare.check()  # no scope at all: still authenticates and finds its portal
        assert private.http.limiter is service.http.limiter is oauth.http.limiter
        assert bare.http.limiter is private.http.limiter
        assert private.http.portal_id == emu.portal_id
        # the request counters label a static token's requests with its portal too
        assert service.portal() == oauth.portal() == str(emu.portal_id)
    assert f"hub:{emu.portal_id}" in list(registry.keys())


def _searches(conn: HubSpotConnector, n: int, errors: list[BaseException]) -> None:
    body = {"limit": 1, "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
    try:
        for _ in range(n):
            conn.http.send(
                "POST", "/crm/v3/objects/contacts/search", kind=RequestKind.SEARCH, json=body
            )
    except BaseException as exc:
        errors.append(exc)


def _two_token_connections_searching(shared: bool) -> int:
    """429s the emulator sent while a private-app connection and a service-key connection of one
    portal searched at once (HubSpot allows 5 searches per second per portal)."""
    config = EmulatorConfig(seed=9, contacts=50, rate_limit="private-app")
    with serve_in_thread(config) as emu:
        first = LimiterRegistry(search_per_s=5)
        second = first if shared else LimiterRegistry(search_per_s=5)
        errors: list[BaseException] = []
        with _conn(emu, registry=first) as a, _conn(emu, AUTH_SERVICE_KEY, registry=second) as b:
            threads = [threading.Thread(target=_searches, args=(c, 8, errors)) for c in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert not errors, errors
        return emu.state.status_counts[429]


def test_shared_budget_keeps_two_token_connections_under_the_search_limit() -> None:
    assert _two_token_connections_searching(shared=True) == 0
    # the same load with a budget per token (as before) runs into HubSpot's per-portal limit
    assert _two_token_connections_searching(shared=False) > 0
