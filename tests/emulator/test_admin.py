"""The admin prefix: touches, archives, counters and the clock, over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from headwater.emulator.hubspot import RunningEmulator

from .helpers import all_pages, api, oauth_token


def test_admin_touch_archive_and_counters(emu: RunningEmulator) -> None:
    clock = emu.clock
    with httpx.Client(base_url=emu.base_url) as admin, api(emu) as c:
        admin.post("/_emulator/stats/reset")
        since = clock.now_ms() + 1
        clock.advance(1)  # type: ignore[attr-defined]
        touched = admin.post(
            "/_emulator/touch", json={"objectType": "companies", "count": 7}
        ).json()["ids"]
        assert len(touched) == 7
        clock.advance(emu.state.search_lag_ms / 1000)  # search sees writes after the index lag
        found = c.post(
            "/crm/v3/objects/companies/search",
            json={
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since)}
                ],
                "limit": 100,
            },
        ).json()
        assert sorted(r["id"] for r in found["results"]) == sorted(touched)
        gone = admin.post(
            "/_emulator/archive", json={"objectType": "companies", "count": 3}
        ).json()["ids"]
        archived_ids = {
            r["id"]
            for r in all_pages(c, "/crm/v3/objects/companies", {"archived": "true", "limit": 100})
        }
        assert set(gone) <= archived_ids
        stats = admin.get("/_emulator/stats").json()
        assert stats["requests"]["objects.search"] == 1
        assert stats["requests"]["objects.list"] >= 1
        info = admin.get("/_emulator/info").json()
        assert info["private_app_token"] == emu.private_app_token


def test_clock_can_be_moved_over_http_for_out_of_process_tests(
    start: Callable[..., RunningEmulator],
) -> None:
    emu = start(clock=None)  # the CLI's clock: system time plus an offset
    token = oauth_token(emu)
    with api(emu, token) as c, httpx.Client(base_url=emu.base_url) as admin:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        moved = admin.post("/_emulator/clock", json={"advance": 1801}).json()
        assert moved["nowMs"] >= emu.state.now_ms() - 1000
        assert c.get("/crm/v3/objects/contacts").json()["category"] == "EXPIRED_AUTHENTICATION"
