"""OAuth expiry on an injected clock, scopes, the rolling rate limit, search and daily limits."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from headwater.emulator.hubspot import EmulatorConfig, ManualClock, RunningEmulator, serve_in_thread

from .helpers import api, oauth_token

SMALL = {
    "contacts": 300,
    "companies": 20,
    "deals": 20,
    "tickets": 20,
    "engagements": 5,
    "line_items": 5,
    "custom_records": 5,
    "products": 5,
}


@pytest.fixture
def clocked() -> Iterator[RunningEmulator]:
    with serve_in_thread(EmulatorConfig(**SMALL, clock=ManualClock())) as emu:
        yield emu


def test_oauth_token_expires_after_30_minutes(clocked: RunningEmulator) -> None:
    clock = clocked.clock
    assert isinstance(clock, ManualClock)
    token = oauth_token(clocked)
    with api(clocked, token) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        clock.advance(1799)
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        info = httpx.get(f"{clocked.base_url}/oauth/v1/access-tokens/{token}").json()
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
    fresh = oauth_token(clocked)
    with api(clocked, fresh) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
    # private-app tokens never expire
    with api(clocked) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200


def test_clock_can_be_moved_over_http_for_out_of_process_tests() -> None:
    with serve_in_thread(
        EmulatorConfig(**SMALL)
    ) as emu:  # default clock: system time plus an offset
        token = oauth_token(emu)
        with api(emu, token) as c, httpx.Client(base_url=emu.base_url) as admin:
            assert c.get("/crm/v3/objects/contacts").status_code == 200
            moved = admin.post("/_emulator/clock", json={"advance": 1801}).json()
            assert moved["nowMs"] >= emu.state.now_ms() - 1000
            assert c.get("/crm/v3/objects/contacts").json()["category"] == "EXPIRED_AUTHENTICATION"


def test_unknown_token_and_missing_scopes(clocked: RunningEmulator) -> None:
    with api(clocked, "not-a-token") as c:
        r = c.get("/crm/v3/objects/contacts")
        assert r.status_code == 401
        assert r.json()["category"] == "INVALID_AUTHENTICATION"
    with api(clocked, "pat-na1-" + "0" * 36) as c:  # well-formed but unknown
        assert c.get("/crm/v3/objects/contacts").status_code == 401
    with api(clocked, "pat-garbage") as c:  # malformed private-app token: Cloudflare's 530
        assert c.get("/crm/v3/objects/contacts").status_code == 530
    made = httpx.post(
        f"{clocked.base_url}/_emulator/tokens", json={"scopes": ["crm.objects.contacts.read"]}
    ).json()
    with api(clocked, made["private_app_token"]) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        denied = c.get("/crm/v3/owners/")
        assert denied.status_code == 403
        body = denied.json()
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.owners.read"]
        assert c.post("/crm/v3/objects/deals/search", json={}).status_code == 403
        assert (
            c.post(
                "/crm/v3/objects/contacts", json={"properties": {"email": "x@y.test"}}
            ).status_code
            == 403
        )


def test_oauth_flows_authorize_code_refresh_introspect_revoke(clocked: RunningEmulator) -> None:
    with httpx.Client(base_url=clocked.base_url) as http:
        _oauth_flows(clocked, http)


def _oauth_flows(clocked: RunningEmulator, http: httpx.Client) -> None:
    params = {
        "client_id": clocked.oauth_client_id,
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
        "client_id": clocked.oauth_client_id,
        "client_secret": clocked.oauth_client_secret,
        "redirect_uri": "http://localhost:9/cb",
        "code": q["code"][0],
    }
    tok = http.post("/oauth/v3/token", data=form).json()
    assert tok["expires_in"] == 1800
    assert tok["scopes"] == ["oauth", "crm.objects.contacts.read"]
    reused = http.post("/oauth/v1/token", data=form)
    assert reused.status_code == 400
    assert reused.json()["status"] == "BAD_AUTH_CODE"
    with api(clocked, tok["access_token"]) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        assert c.get("/crm/v3/objects/deals").status_code == 403
    refreshed = http.post(
        "/oauth/2026-03/token",
        data={
            "grant_type": "refresh_token",
            "client_id": clocked.oauth_client_id,
            "client_secret": clocked.oauth_client_secret,
            "refresh_token": tok["refresh_token"],
        },
    ).json()
    assert refreshed["refresh_token"] == tok["refresh_token"]
    creds = {"client_id": clocked.oauth_client_id, "client_secret": clocked.oauth_client_secret}
    active = http.post(
        "/oauth/v3/token/introspect", data={**creds, "token": refreshed["access_token"]}
    ).json()
    assert active["active"] is True
    assert active["hub_id"] == clocked.portal_id
    assert http.post("/oauth/v3/token/introspect", data={**creds, "token": "nope"}).json() == {
        "active": False
    }
    assert http.delete(f"/oauth/v1/refresh-tokens/{tok['refresh_token']}").status_code == 204
    with api(clocked, refreshed["access_token"]) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 401
    bad = http.post(
        "/oauth/v1/token",
        data={"grant_type": "refresh_token", **creds, "refresh_token": tok["refresh_token"]},
    )
    assert bad.json()["status"] == "BAD_REFRESH_TOKEN"


def test_rolling_ten_second_window_for_oauth_apps() -> None:
    clock = ManualClock()
    with serve_in_thread(EmulatorConfig(**SMALL, rate_limit="oauth-app", clock=clock)) as emu:
        token = oauth_token(emu)
        with api(emu, token) as c:
            for i in range(60):
                r = c.get("/crm/v3/objects/contacts", params={"limit": 1})
                assert r.status_code == 200
                assert r.headers["x-hubspot-ratelimit-max"] == "110"
                assert r.headers["x-hubspot-ratelimit-remaining"] == str(110 - i - 1)
                assert r.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
                assert (
                    "x-hubspot-ratelimit-daily" not in r.headers
                )  # OAuth apps get no daily headers
            clock.advance(5)
            for _ in range(50):
                assert c.get("/crm/v3/objects/contacts", params={"limit": 1}).status_code == 200
            refused = c.get("/crm/v3/objects/contacts")
            assert refused.status_code == 429
            assert "retry-after" not in refused.headers
            body = refused.json()
            assert body["policyName"] == "TEN_SECONDLY_ROLLING"
            assert body["errorType"] == "RATE_LIMIT"
            assert body["message"] == "You have reached your ten_secondly_rolling limit."
            clock.advance(5)  # the first 60 leave the window, the later 50 stay
            for _ in range(60):
                assert c.get("/crm/v3/objects/contacts", params={"limit": 1}).status_code == 200
            assert c.get("/crm/v3/objects/contacts").status_code == 429


def test_private_app_budget_daily_quota_and_retry_after() -> None:
    clock = ManualClock()
    config = EmulatorConfig(
        **SMALL, rate_limit="private-app", daily_limit=200, retry_after=True, clock=clock
    )
    with serve_in_thread(config) as emu, api(emu) as c:
        first = c.get("/crm/v3/objects/contacts")
        assert first.headers["x-hubspot-ratelimit-max"] == "190"
        assert first.headers["x-hubspot-ratelimit-daily"] == "200"
        assert first.headers["x-hubspot-ratelimit-daily-remaining"] == "199"
        for _ in range(189):
            assert c.get("/crm/v3/objects/contacts").status_code == 200
        refused = c.get("/crm/v3/objects/contacts")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"
        clock.advance(10)
        for _ in range(10):
            assert c.get("/crm/v3/objects/contacts").status_code == 200
        daily = c.get("/crm/v3/objects/contacts")
        assert daily.status_code == 429
        assert daily.json()["policyName"] == "DAILY"


def test_search_is_limited_per_second_and_carries_no_rate_headers() -> None:
    clock = ManualClock()
    with (
        serve_in_thread(EmulatorConfig(**SMALL, rate_limit="oauth-app", clock=clock)) as emu,
        api(emu) as c,
    ):
        for _ in range(5):
            r = c.post("/crm/v3/objects/contacts/search", json={})
            assert r.status_code == 200
            assert not [h for h in r.headers if h.startswith("x-hubspot-ratelimit")]
        refused = c.post("/crm/v3/objects/contacts/search", json={})
        assert refused.status_code == 429
        assert refused.json()["policyName"] == "SECONDLY"
        # search does not spend the ten-second budget
        assert c.get("/crm/v3/objects/contacts").headers["x-hubspot-ratelimit-remaining"] == "109"
        clock.advance(1)
        assert c.post("/crm/v3/objects/contacts/search", json={}).status_code == 200
