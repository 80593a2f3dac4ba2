"""HubSpot's 2026 API in the emulator: every family on its date-versioned path as well as the
legacy one, the v1 Pipelines sunset (and ``legacy_v1`` for old clients), account details, token
introspection and service keys with their own scopes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from headwater.emulator.hubspot import RunningEmulator

from .helpers import api, oauth_token

# (legacy path, dated path, method, JSON body) for every family the emulator serves
FAMILIES: list[tuple[str, str, str, dict[str, object] | None]] = [
    ("/crm/v3/objects/contacts?limit=3", "/crm/objects/2026-03/contacts?limit=3", "GET", None),
    ("/crm/v3/objects/deals/1", "/crm/objects/2026-03/deals/1", "GET", None),
    (
        "/crm/v3/objects/companies/search",
        "/crm/objects/2026-03/companies/search",
        "POST",
        {"limit": 5, "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]},
    ),
    ("/crm/v3/properties/tickets", "/crm/properties/2026-03/tickets", "GET", None),
    ("/crm/v3/owners?limit=4", "/crm/owners/2026-03?limit=4", "GET", None),
    ("/crm/v3/pipelines/deals", "/crm/pipelines/2026-03/deals", "GET", None),
    ("/crm/v3/pipelines/tickets/0/stages", "/crm/pipelines/2026-03/tickets/0/stages", "GET", None),
    ("/crm-object-schemas/v3/schemas", "/crm-object-schemas/2026-03/schemas", "GET", None),
    (
        "/crm/v4/associations/contacts/companies/batch/read",
        "/crm/associations/2026-03/contacts/companies/batch/read",
        "POST",
        {"inputs": [{"id": "1"}, {"id": "2"}]},
    ),
    (
        "/crm/associations/v4/contacts/companies/labels",
        "/crm/associations/2026-03/contacts/companies/labels",
        "GET",
        None,
    ),
    ("/crm/v3/lists/search", "/crm/lists/2026-03/search", "POST", {"count": 5}),
    ("/account-info/v3/details", "/account-info/2026-03/details", "GET", None),
]


@pytest.mark.parametrize(("legacy", "dated", "method", "body"), FAMILIES)
def test_every_family_answers_the_same_on_its_dated_path(
    c: httpx.Client, legacy: str, dated: str, method: str, body: dict[str, object] | None
) -> None:
    old = c.request(method, legacy, json=body)
    new = c.request(method, dated, json=body)
    assert old.status_code == new.status_code == 200, (old.text[:200], new.text[:200])
    strip = ("startedAt", "completedAt")
    a = {k: v for k, v in old.json().items() if k not in strip}
    b = {k: v for k, v in new.json().items() if k not in strip}
    if "paging" in a:  # the link names the path it was asked on
        a["paging"]["next"].pop("link", None)
        b["paging"]["next"].pop("link", None)
    assert a == b


def test_dated_lists_read_and_memberships(c: httpx.Client) -> None:
    first = c.post("/crm/lists/2026-03/search", json={"count": 1}).json()["lists"][0]
    list_id = first["listId"]
    assert c.get(f"/crm/lists/2026-03/{list_id}").json() == c.get(f"/crm/v3/lists/{list_id}").json()
    dated = c.get(f"/crm/lists/2026-03/{list_id}/memberships", params={"limit": 5}).json()
    legacy = c.get(f"/crm/v3/lists/{list_id}/memberships", params={"limit": 5}).json()
    assert dated["results"] == legacy["results"]


def test_account_details_name_the_portal(c: httpx.Client, emu: RunningEmulator) -> None:
    body = c.get("/account-info/2026-03/details").json()
    assert body["portalId"] == emu.portal_id
    for field in (
        "accountType",
        "timeZone",
        "uiDomain",
        "utcOffsetMilliseconds",
        "companyCurrency",
    ):
        assert field in body
    assert httpx.get(f"{emu.base_url}/account-info/2026-03/details").status_code == 401


def test_v1_pipelines_and_lists_answer_404_after_their_sunset(c: httpx.Client) -> None:
    for path in (
        "/crm-pipelines/v1/pipelines/deals",
        "/deals/v1/pipelines",
        "/contacts/v1/lists",
        "/contacts/v1/lists/static",
        "/contacts/v1/lists/1",
    ):
        assert c.get(path).status_code == 404, path
    assert c.get("/crm/v3/pipelines/deals").status_code == 200
    assert c.post("/crm/v3/lists/search", json={"count": 1}).status_code == 200


def test_legacy_v1_flag_keeps_serving_v1_pipelines_and_lists(
    start: Callable[..., RunningEmulator],
) -> None:
    emu = start(legacy_v1=True)
    with api(emu) as c:
        legacy = c.get("/crm-pipelines/v1/pipelines/deals").json()
        assert legacy["results"][0]["stages"][0]["stageId"] == "appointmentscheduled"
        assert isinstance(c.get("/deals/v1/pipelines").json(), list)
        every = c.get("/contacts/v1/lists", params={"count": 250}).json()
        assert every["has-more"] is False and every["offset"] == len(every["lists"]) == 30
        first = c.get("/contacts/v1/lists", params={"count": 10}).json()
        assert first["has-more"] is True and first["offset"] == 10
        again = c.get("/contacts/v1/lists", params={"count": 10, "offset": 10}).json()
        assert [x["listId"] for x in again["lists"]] == list(range(11, 21))
        static = c.get("/contacts/v1/lists/static", params={"count": 250}).json()["lists"]
        dynamic = c.get("/contacts/v1/lists/dynamic", params={"count": 250}).json()["lists"]
        assert len(static) + len(dynamic) == 30
        assert all(not x["dynamic"] for x in static) and all(x["dynamic"] for x in dynamic)
        one = c.get("/contacts/v1/lists/3").json()
        v3 = c.get("/crm/v3/lists/3").json()["list"]
        assert one["listId"] == 3 and one["name"] == v3["name"]
        assert isinstance(one["createdAt"], int)  # v1 timestamps are epoch milliseconds
        assert c.get("/contacts/v1/lists/999").status_code == 404


def test_introspection_describes_access_and_refresh_tokens(emu: RunningEmulator) -> None:
    token = oauth_token(emu)
    form = {"client_id": emu.oauth_client_id, "client_secret": emu.oauth_client_secret}
    for version in ("v3", "2026-03"):
        url = f"{emu.base_url}/oauth/{version}/token/introspect"
        info = httpx.post(url, data={**form, "token": token}).json()
        assert info["active"] is True
        assert info["hub_id"] == emu.portal_id
        assert info["token_use"] == "access_token"
        assert 0 < info["expires_in"] <= 1800
        assert "crm.objects.contacts.read" in info["scopes"]
        refresh = httpx.post(url, data={**form, "token": emu.refresh_token}).json()
        assert refresh["active"] is True and refresh["token_use"] == "refresh_token"
        assert httpx.post(url, data={**form, "token": "nope"}).json() == {"active": False}
        bad = httpx.post(url, data={**form, "client_secret": "x", "token": token})
        assert bad.status_code == 400


def test_service_keys_are_issued_with_their_scopes_and_enforced(emu: RunningEmulator) -> None:
    admin = f"{emu.base_url}/_emulator/service-keys"
    issued = httpx.post(admin, json={"scopes": ["crm.objects.contacts.read"]}).json()
    key = issued["service_key"]
    assert issued["scopes"] == ["crm.objects.contacts.read"]
    with api(emu, key) as c:
        assert c.get("/crm/objects/2026-03/contacts", params={"limit": 1}).status_code == 200
        denied = c.get("/crm/objects/2026-03/deals", params={"limit": 1})
        assert denied.status_code == 403
        body = denied.json()
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.deals.read"]
        # static like a private-app token: the private-app budget applies, no expiry
        assert c.get("/account-info/2026-03/details").json()["portalId"] == emu.portal_id
    revoked = httpx.post(f"{admin}/revoke", json={"service_key": key})
    assert revoked.json() == {"revoked": True}
    with api(emu, key) as c:
        assert c.get("/crm/objects/2026-03/contacts").status_code == 401
    # the portal's default service key has every scope
    with api(emu, emu.service_key) as c:
        assert c.get("/crm/pipelines/2026-03/deals").status_code == 200
