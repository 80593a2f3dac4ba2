"""OAuth: token expiry on an injected clock, the authorization-code flow, refresh, introspect and
revoke."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import httpx

from headwater.emulator.hubspot import ManualClock, RunningEmulator

from .helpers import api, oauth_token


def test_oauth_token_expires_after_30_minutes(start: Callable[..., RunningEmulator]) -> None:
    emu = start()
    clock = emu.clock
    assert isinstance(clock, ManualClock)
    token = oauth_token(emu)
    with api(emu, token) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        clock.advance(1799)
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        info = httpx.get(f"{emu.base_url}/oauth/v1/access-tokens/{token}").json()
        assert info["expires_in"] == 1
        clock.advance(1)
        expired = c.get("/crm/v3/objects/contacts")
        assert expired.status_code == 401
        assert expired.headers["x-hubspot-auth-failure"] == "401 Unauthorized"
        body = expired.json()
        assert body["category"] == "EXPIRED_AUTHENTICATION"
        assert body["message"] == "The OAuth token used to make this call expired 0 second(s) ago."
        assert body["context"]["expire time"] == ["2026-01-01T00:30:00.000Z"]
        clock.advance(86_400 * 3)
        assert "expired 3 day(s) ago" in c.get("/crm/v3/objects/contacts").json()["message"]
    fresh = oauth_token(emu)
    with api(emu, fresh) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
    # private-app tokens never expire
    with api(emu) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200


def test_oauth_flows_authorize_code_refresh_introspect_revoke(
    start: Callable[..., RunningEmulator],
) -> None:
    emu = start()
    with httpx.Client(base_url=emu.base_url) as http:
        _oauth_flows(emu, http)


def _oauth_flows(emu: RunningEmulator, http: httpx.Client) -> None:
    params = {
        "client_id": emu.oauth_client_id,
        "redirect_uri": "http://localhost:9/cb",
        "scope": "oauth crm.objects.contacts.read",
        "state": "xyz",
    }
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert "Grant access" in page.text
    granted = http.post("/oauth/authorize/grant", params=params)
    assert granted.status_code == 302
    location = urlparse(granted.headers["location"])
    q = parse_qs(location.query)
    assert q["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "client_id": emu.oauth_client_id,
        "client_secret": emu.oauth_client_secret,
        "redirect_uri": "http://localhost:9/cb",
        "code": q["code"][0],
    }
    tok = http.post("/oauth/v3/token", data=form).json()
    assert tok["expires_in"] == 1800
    assert tok["scopes"] == ["oauth", "crm.objects.contacts.read"]
    reused = http.post("/oauth/v1/token", data=form)
    assert reused.status_code == 400
    assert reused.json()["status"] == "BAD_AUTH_CODE"
    with api(emu, tok["access_token"]) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        assert c.get("/crm/v3/objects/deals").status_code == 403
    refreshed = http.post(
        "/oauth/2026-03/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emu.oauth_client_id,
            "client_secret": emu.oauth_client_secret,
            "refresh_token": tok["refresh_token"],
        },
    ).json()
    assert refreshed["refresh_token"] == tok["refresh_token"]
    creds = {"client_id": emu.oauth_client_id, "client_secret": emu.oauth_client_secret}
    active = http.post(
        "/oauth/v3/token/introspect", data={**creds, "token": refreshed["access_token"]}
    ).json()
    assert active["active"] is True
    assert active["hub_id"] == emu.portal_id
    assert http.post("/oauth/v3/token/introspect", data={**creds, "token": "nope"}).json() == {
        "active": False
    }
    assert http.delete(f"/oauth/v1/refresh-tokens/{tok['refresh_token']}").status_code == 204
    with api(emu, refreshed["access_token"]) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 401
    bad = http.post(
        "/oauth/v1/token",
        data={"grant_type": "refresh_token", **creds, "refresh_token": tok["refresh_token"]},
    )
    assert bad.json()["status"] == "BAD_REFRESH_TOKEN"
