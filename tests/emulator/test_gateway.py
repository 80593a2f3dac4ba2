"""What HubSpot's edge does before a handler: unknown and malformed tokens, missing scopes, the
rolling ten-second window, the daily quota and the per-second search limit."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from headwater.emulator.hubspot import ManualClock, RunningEmulator

from .helpers import api, oauth_token


def test_unknown_token_and_missing_scopes(start: Callable[..., RunningEmulator]) -> None:
    emu = start()
    with api(emu, "not-a-token") as c:
        r = c.get("/crm/v3/objects/contacts")
        assert r.status_code == 401
        assert r.json()["category"] == "INVALID_AUTHENTICATION"
    with api(emu, "pat-na1-" + "0" * 36) as c:  # well-formed but unknown
        assert c.get("/crm/v3/objects/contacts").status_code == 401
    with api(emu, "pat-garbage") as c:  # malformed private-app token: Cloudflare's 530
        assert c.get("/crm/v3/objects/contacts").status_code == 530
    made = httpx.post(
        f"{emu.base_url}/_emulator/tokens", json={"scopes": ["crm.objects.contacts.read"]}
    ).json()
    with api(emu, made["private_app_token"]) as c:
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


def test_rolling_ten_second_window_for_oauth_apps(start: Callable[..., RunningEmulator]) -> None:
    clock = ManualClock()
    emu = start(rate_limit="oauth-app", clock=clock)
    token = oauth_token(emu)
    with api(emu, token) as c:
        for i in range(60):
            r = c.get("/crm/v3/objects/contacts", params={"limit": 1})
            assert r.status_code == 200
            assert r.headers["x-hubspot-ratelimit-max"] == "110"
            assert r.headers["x-hubspot-ratelimit-remaining"] == str(110 - i - 1)
            assert r.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
            assert "x-hubspot-ratelimit-daily" not in r.headers  # OAuth apps get no daily headers
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


def test_association_batch_reads_are_exempt_from_the_ten_second_window(
    start: Callable[..., RunningEmulator],
) -> None:
    """HubSpot's spec marks association batch reads ``x-hubspot-rate-limit-exemptions:
    ["ten-secondly"]``: they pass when the window is spent and do not spend it."""
    clock = ManualClock()
    emu = start(rate_limit="oauth-app", clock=clock)
    token = oauth_token(emu)
    body = {"inputs": [{"id": "1"}, {"id": "2"}]}
    with api(emu, token) as c:
        for _ in range(110):
            assert c.get("/crm/v3/objects/contacts", params={"limit": 1}).status_code == 200
        assert c.get("/crm/v3/objects/contacts").status_code == 429
        for path in (
            "/crm/v4/associations/contacts/companies/batch/read",
            "/crm/v3/associations/contacts/companies/batch/read",
        ):
            for _ in range(20):
                r = c.post(path, json=body)
                assert r.status_code in (200, 207)
                assert "x-hubspot-ratelimit-remaining" not in r.headers
        clock.advance(10.01)
        first = c.get("/crm/v3/objects/contacts", params={"limit": 1})
        assert first.headers["x-hubspot-ratelimit-remaining"] == "109"


def test_private_app_budget_daily_quota_and_retry_after(
    start: Callable[..., RunningEmulator],
) -> None:
    clock = ManualClock()
    emu = start(rate_limit="private-app", daily_limit=200, retry_after=True, clock=clock)
    with api(emu) as c:
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


def test_search_is_limited_per_second_and_carries_no_rate_headers(
    start: Callable[..., RunningEmulator],
) -> None:
    clock = ManualClock()
    emu = start(rate_limit="oauth-app", clock=clock)
    with api(emu) as c:
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
