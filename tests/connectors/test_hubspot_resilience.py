"""Reads that survive HubSpot misbehaving, and reads that resume from a checkpoint."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from headwater.connectors.events import BatchEvent, CheckpointEvent
from headwater.connectors.hubspot import AUTH_OAUTH, HubSpotConnector
from headwater.connectors.hubspot.auth import OAuthAuth
from headwater.connectors.hubspot.reader import ReadOptions
from headwater.connectors.ratelimit import LimiterRegistry
from headwater.emulator.hubspot import EmulatorConfig, FaultRule, RunningEmulator, serve_in_thread
from headwater.errors import PaginationLoopError, RetriableSourceError
from tests.connectors.conftest import (
    Collected,
    archived_ids,
    collect,
    connect,
    live_ids,
    oauth_params,
)

LOOKBACK_S = ReadOptions().lookback_ms // 1000


def test_read_survives_token_expiry_429s_503s_and_resets() -> None:
    faults = [
        FaultRule("429", endpoint="objects.list", on_requests=frozenset({4}), burst=2),
        FaultRule("503", endpoint="objects.list", on_requests=frozenset({9}), burst=2),
        FaultRule("reset", endpoint="objects.list", on_requests=frozenset({14})),
        # a full read takes associations inline from the list pages
        FaultRule("502", endpoint="objects.list", on_requests=frozenset({20})),
        FaultRule("reset", endpoint="objects.list", on_requests=frozenset({25})),
    ]
    config = EmulatorConfig(seed=11, contacts=4_000, rate_limit="none", faults=None)
    with serve_in_thread(config) as emu:
        emu.state.faults.replace(faults)
        rotated: list[dict[str, str]] = []
        with HubSpotConnector(
            auth_spec_name=AUTH_OAUTH,
            params=oauth_params(emu),
            base_url=emu.base_url,
            on_tokens_refreshed=rotated.append,
            limiter_registry=LimiterRegistry(budget=100_000),
            clock_ms=emu.clock.now_ms,
        ) as conn:
            out = Collected()
            for i, event in enumerate(conn.read("Hubspot.Contacts", state=None)):
                out.add(event)
                if i == 30:
                    # the access token expires mid-read (HubSpot's tokens live 30 minutes)
                    emu.state.advance(1801)
            stats = conn.stats
        assert sorted(out.ids, key=int) == live_ids(emu, "contacts")
        assert out.deleted_ids == archived_ids(emu, "contacts")
        assert stats["rate_limited"] == 2
        assert stats["server_errors"] == 3
        assert stats["transport_errors"] == 2
        assert stats["unauthorized"] >= 1
        assert rotated, "the renewed token was handed back for storage"
        assert set(rotated[-1]) == {"accessToken", "refreshToken", "expiresAt"}
        assert rotated[-1]["accessToken"] != oauth_params(emu)["accessToken"]
        assert emu.state.status_counts[401] >= 1
        assert emu.state.status_counts[429] == 2


def test_proactive_refresh_happens_before_expiry_without_a_401() -> None:
    with serve_in_thread(EmulatorConfig(seed=1, contacts=10, rate_limit="none")) as emu:
        now = [1_000_000.0]
        rotated: list[dict[str, str]] = []
        with httpx.Client(base_url=emu.base_url) as client:
            auth = OAuthAuth(
                http=client,
                client_id=emu.oauth_client_id,
                client_secret=emu.oauth_client_secret,
                access_token=emu.access_token,
                refresh_token=emu.refresh_token,
                on_tokens_refreshed=rotated.append,
                clock=lambda: now[0],
            )
            first = auth.bearer()  # learns expires_in from the token metadata
            assert auth.hub_id == emu.portal_id
            assert auth.expires_at is not None
            assert auth.expires_at - now[0] > 1700
            assert auth.bearer() == first
            assert rotated == []
            now[0] = auth.expires_at - 299  # inside the 5-minute margin
            second = auth.bearer()
            assert second != first
            assert len(rotated) == 1
            assert auth.refreshes == 1
        assert emu.state.status_counts.get(401, 0) == 0


def _read_until_killed(
    conn: HubSpotConnector, kill_after: int, **kwargs: Any
) -> tuple[Collected, dict[str, Any]]:
    """Read, keep what the engine would have committed by the ``kill_after``-th checkpoint, stop."""
    committed = Collected()
    pending: list[BatchEvent] = []
    checkpoints = 0
    state: dict[str, Any] = {}
    events = conn.read("Hubspot.Contacts", **kwargs)
    for event in events:
        if isinstance(event, BatchEvent):
            pending.append(event)
        elif isinstance(event, CheckpointEvent):
            for batch in pending:
                committed.add(batch)
            pending.clear()
            state = json.loads(json.dumps(event.state))
            checkpoints += 1
            if checkpoints == kill_after:
                break
    events.close()  # type: ignore[attr-defined]
    return committed, state


@pytest.mark.parametrize("kill_after", [1, 37, 199, 200, 201])
def test_full_read_killed_and_resumed_is_exact(emu20k: RunningEmulator, kill_after: int) -> None:
    emu = emu20k
    with connect(emu) as conn:
        first, state = _read_until_killed(conn, kill_after, state=None, columns=["Id"])
    assert state["run"] is not None
    if kill_after == 37:  # mid-way through the concurrent id ranges
        parts = state["run"]["partitions"]
        assert len(parts) == 3
        assert not all(p["done"] for p in parts)
    if kill_after == 1:  # killed in the deletions pass, which comes first
        assert state["run"]["phase"] == "archived"
    with connect(emu) as conn:
        rest = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
    ids = first.ids + rest.ids
    assert sorted(ids, key=int) == live_ids(emu, "contacts")
    assert first.deleted_ids + rest.deleted_ids == archived_ids(emu, "contacts")


def test_incremental_read_killed_and_resumed_is_exact() -> None:
    with serve_in_thread(EmulatorConfig(seed=5, contacts=12_000, rate_limit="none")) as emu:
        state0 = {"v": 1, "cursor_ms": emu.clock.now_ms(), "table_size": 12_000, "run": None}
        emu.state.advance(1)
        touched = emu.state.touch("contacts", 10_500)
        emu.state.advance(1)
        with connect(emu) as conn:
            first, state = _read_until_killed(
                conn, 30, state=state0, columns=["Id"], mode="incremental"
            )
        assert state["run"]["strategy"] == "incremental"
        # touched after the kill: must not be skipped by the resumed run's window either
        with connect(emu) as conn:
            rest = collect(conn.read("Hubspot.Contacts", state=state, columns=["Id"]))
        got = first.ids + rest.ids
        assert len(got) == len(set(got))
        assert sorted(got, key=int) == [str(i) for i in sorted(touched)]


def test_a_repeated_cursor_fails_loudly_instead_of_looping() -> None:
    with serve_in_thread(EmulatorConfig(seed=2, contacts=1_000, rate_limit="none")) as emu:
        emu.state.faults.replace(
            [FaultRule("repeat", endpoint="objects.list", on_requests=frozenset({3}))]
        )
        with connect(emu) as conn, pytest.raises(PaginationLoopError):
            collect(conn.read("Hubspot.Contacts", state=None, columns=["Id"]))


def test_empty_page_mid_stream_is_skipped() -> None:
    with serve_in_thread(EmulatorConfig(seed=2, contacts=1_000, rate_limit="none")) as emu:
        emu.state.faults.replace(
            [FaultRule("empty", endpoint="objects.list", on_requests=frozenset({3}))]
        )
        with connect(emu) as conn:
            out = collect(conn.read("Hubspot.Contacts", state=None, columns=["Id"]))
        assert sorted(out.ids, key=int) == live_ids(emu, "contacts")


def test_streams_share_the_portal_budget_without_429s() -> None:
    """Two connectors of one portal, read concurrently under a 25-per-10 s budget."""
    config = EmulatorConfig(seed=9, contacts=1_200, companies=1_200, rate_limit="oauth-app")
    config.burst_limit = 25
    with serve_in_thread(config) as emu:
        registry = LimiterRegistry()
        results: dict[str, Collected] = {}

        def read(table: str) -> None:
            with connect(emu, oauth=True, registry=registry) as conn:
                results[table] = collect(conn.read(table, state=None, columns=["Id"]))

        threads = [
            threading.Thread(target=read, args=(t,))
            for t in ("Hubspot.Contacts", "Hubspot.Companies")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert set(results) == {"Hubspot.Contacts", "Hubspot.Companies"}
        assert sorted(results["Hubspot.Contacts"].ids, key=int) == live_ids(emu, "contacts")
        assert sorted(results["Hubspot.Companies"].ids, key=int) == live_ids(emu, "companies")
        assert registry.keys() == [f"hub:{emu.portal_id}"]
        assert emu.state.status_counts.get(429, 0) == 0


def test_incremental_read_survives_search_429s_and_503s() -> None:
    with serve_in_thread(EmulatorConfig(seed=12, contacts=3_000, rate_limit="none")) as emu:
        state = {"v": 1, "cursor_ms": emu.clock.now_ms(), "table_size": 3_000, "run": None}
        emu.state.advance(1)
        touched = emu.state.touch("contacts", 1_500)
        emu.state.advance(1)
        emu.state.faults.replace(
            [
                FaultRule("429", endpoint="objects.search", on_requests=frozenset({2})),
                FaultRule("503", endpoint="objects.search", on_requests=frozenset({4}), burst=2),
                FaultRule("reset", endpoint="objects.search", on_requests=frozenset({7})),
            ]
        )
        with connect(emu) as conn:
            events = conn.read("Hubspot.Contacts", state=state, columns=["Id"], mode="incremental")
            out = collect(events)
            stats = conn.stats
        assert sorted(out.ids, key=int) == [str(i) for i in sorted(touched)]
        assert stats["rate_limited"] == 1
        assert stats["server_errors"] == 2
        assert stats["transport_errors"] == 1


def _read_committed(
    conn: HubSpotConnector, state: dict[str, Any] | None
) -> tuple[Collected, dict[str, Any], BaseException | None]:
    """What the engine would have committed, the last state, and the error that stopped it."""
    committed, last = Collected(), dict(state or {})
    pending: list[BatchEvent] = []
    try:
        for event in conn.read("Hubspot.Contacts", state=state, columns=["Id"]):
            if isinstance(event, BatchEvent):
                pending.append(event)
            elif isinstance(event, CheckpointEvent):
                for batch in pending:
                    committed.add(batch)
                pending.clear()
                last = json.loads(json.dumps(event.state))
    except RetriableSourceError as exc:
        return committed, last, exc
    return committed, last, None


def test_read_stops_before_the_daily_quota_runs_out_and_resumes_next_day() -> None:
    config = EmulatorConfig(
        seed=13, contacts=30_000, rate_limit="private-app", daily_limit=200, burst_limit=1_000
    )
    with serve_in_thread(config) as emu:
        registry = LimiterRegistry()
        with connect(emu, registry=registry) as conn:
            first, state, error = _read_committed(conn, None)
        assert error is not None
        assert "daily API quota is nearly used up" in str(error)
        assert emu.state.status_counts.get(429, 0) == 0  # stopped before HubSpot refused
        assert state["run"] is not None
        emu.state.advance(86_400)  # the quota resets
        with connect(emu, registry=registry) as conn:
            rest, final, error = _read_committed(conn, state)
        assert error is None
        assert final["run"] is None
    ids = first.ids + rest.ids
    assert sorted(ids, key=int) == live_ids(emu, "contacts")
