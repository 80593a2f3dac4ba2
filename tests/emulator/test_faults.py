"""Each fault kind over real sockets, plus the fault plan's determinism and CLI syntax."""

from __future__ import annotations

import time

import httpx
import pytest

from headwater.emulator.hubspot import (
    EmulatorConfig,
    FaultPlan,
    FaultRule,
    RunningEmulator,
    parse_fault_spec,
)

from .helpers import api, small_config


@pytest.fixture(scope="module")
def emu_config() -> EmulatorConfig:
    return small_config(contacts=500, clock=None)  # real time: latency faults are measured


def _plan(emu: RunningEmulator, *rules: FaultRule) -> None:
    emu.state.faults.replace(rules)


def test_429_without_and_with_retry_after(emu: RunningEmulator) -> None:
    _plan(
        emu,
        FaultRule("429", endpoint="objects.list", on_requests={2}),
        FaultRule("429r", endpoint="objects.read", on_requests={1}),
    )
    with api(emu) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        r = c.get("/crm/v3/objects/contacts")
        assert r.status_code == 429
        assert "retry-after" not in r.headers
        assert r.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        r = c.get("/crm/v3/objects/contacts/1")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"


def test_5xx_burst(emu: RunningEmulator) -> None:
    _plan(
        emu,
        FaultRule("503", endpoint="objects.*", on_requests={2}, burst=3),
        FaultRule("502", endpoint="owners.list", on_requests={1}),
    )
    with api(emu) as c:
        statuses = [c.get("/crm/v3/objects/contacts").status_code for _ in range(6)]
        assert statuses == [200, 503, 503, 503, 200, 200]
        assert c.get("/crm/v3/owners").status_code == 502
        assert c.get("/crm/v3/owners").status_code == 200


def test_latency_and_slow_responses(emu: RunningEmulator) -> None:
    _plan(
        emu,
        FaultRule("latency", latency_ms=50),
        FaultRule("slow", endpoint="objects.search", on_requests={1}, latency_ms=200),
    )
    assert emu.state.faults.rules[0].latency_ms == 50
    with api(emu) as c:
        started = time.perf_counter()
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        assert (
            time.perf_counter() - started >= 0.05
        )  # the delay is a floor, not a performance claim
        started = time.perf_counter()
        assert c.post("/crm/v3/objects/contacts/search", json={}).status_code == 200
        assert time.perf_counter() - started >= 0.25


def test_connection_reset(emu: RunningEmulator) -> None:
    _plan(emu, FaultRule("reset", endpoint="objects.list", on_requests={2}))
    with api(emu) as c:
        assert c.get("/crm/v3/objects/contacts").status_code == 200
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            c.get("/crm/v3/objects/contacts")
        assert c.get("/crm/v3/objects/contacts").status_code == 200  # a new connection works


def test_truncated_body(emu: RunningEmulator) -> None:
    _plan(emu, FaultRule("truncate", endpoint="objects.list", on_requests={1}))
    with api(emu) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/crm/v3/objects/contacts", params={"limit": 100})
        assert (
            len(c.get("/crm/v3/objects/contacts", params={"limit": 100}).json()["results"]) == 100
        )


def test_empty_page_and_repeated_cursor(emu: RunningEmulator) -> None:
    _plan(
        emu,
        FaultRule("empty", endpoint="objects.list", on_requests={2}),
        FaultRule("repeat", endpoint="objects.list", on_requests={3}),
    )
    with api(emu) as c:
        first = c.get("/crm/v3/objects/contacts", params={"limit": 10}).json()
        after = first["paging"]["next"]["after"]
        empty = c.get("/crm/v3/objects/contacts", params={"limit": 10, "after": after}).json()
        assert empty["results"] == []
        assert empty["paging"]["next"]["after"] == after
        repeated = c.get("/crm/v3/objects/contacts", params={"limit": 10, "after": after}).json()
        assert len(repeated["results"]) == 10
        assert repeated["paging"]["next"]["after"] == after


def test_fault_plan_over_the_admin_prefix(emu: RunningEmulator) -> None:
    with httpx.Client(base_url=emu.base_url) as admin:
        assert admin.post("/_emulator/faults", json={"spec": "500:1"}).json()["rules"] == 1
        with api(emu) as c:
            assert c.get("/crm/v3/objects/contacts").status_code == 500
        admin.post("/_emulator/faults", json={"spec": ""})
        with api(emu) as c:
            assert c.get("/crm/v3/objects/contacts").status_code == 200


def test_cli_spec_parses_and_probabilistic_plan_is_deterministic() -> None:
    rules = parse_fault_spec(
        "429:0.02,503x3:0.01,latency:20ms,slow:0.1:1s,reset:0.001,truncate:0.001"
    )
    assert [r.kind for r in rules] == ["429", "503", "latency", "slow", "reset", "truncate"]
    assert rules[1].burst == 3
    assert rules[2].latency_ms == 20
    assert rules[3].latency_ms == 1000
    with pytest.raises(ValueError, match="cannot parse"):
        parse_fault_spec("teapot:0.5")

    def run(seed: int) -> list[int | None]:
        plan = FaultPlan.parse("429:0.1,503:0.05", seed=seed)
        return [plan.decide("objects.list").status for _ in range(2_000)]

    a, b, c = run(1), run(1), run(2)
    assert a == b
    assert a != c
    share = sum(1 for s in a if s == 429) / len(a)
    assert 0.07 < share < 0.13
