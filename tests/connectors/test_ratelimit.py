"""The portal rate limiter's window arithmetic, on a fake monotonic clock."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.connectors.ratelimit import (
    LimiterRegistry,
    PortalRateLimiter,
    RequestKind,
    Ticket,
)
from headwater.connectors.retry import RetryPolicy, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_budget_is_spent_then_waits_for_the_window() -> None:
    clock = FakeClock()
    lim = PortalRateLimiter(budget=3, window_s=10.0, margin_s=0.05, clock=clock)
    tickets = [lim.try_acquire(RequestKind.BURST) for _ in range(3)]
    assert all(isinstance(t, Ticket) for t in tickets)
    # all three in flight: the fourth must wait
    assert isinstance(lim.try_acquire(RequestKind.BURST), float)
    clock.now += 0.5
    for t in tickets:
        assert isinstance(t, Ticket)
        lim.release(t)
    wait = lim.try_acquire(RequestKind.BURST)
    # the slot frees 10 s (+ margin) after the response, not after the request
    assert wait == pytest.approx(10.05)
    clock.now += 10.0
    assert isinstance(lim.try_acquire(RequestKind.BURST), float)
    clock.now += 0.06
    assert isinstance(lim.try_acquire(RequestKind.BURST), Ticket)


def test_search_is_paced_per_second_and_exempt_from_burst() -> None:
    clock = FakeClock()
    lim = PortalRateLimiter(budget=1, search_per_s=5, margin_s=0.0, clock=clock)
    burst = lim.try_acquire(RequestKind.BURST)
    assert isinstance(burst, Ticket)
    got = [lim.try_acquire(RequestKind.SEARCH) for _ in range(6)]
    assert [isinstance(g, Ticket) for g in got] == [True] * 5 + [False]
    for g in got[:5]:
        assert isinstance(g, Ticket)
        lim.release(g)
    clock.now += 1.0001
    assert isinstance(lim.try_acquire(RequestKind.SEARCH), Ticket)
    assert isinstance(lim.try_acquire(RequestKind.EXEMPT), Ticket)


def test_server_headers_raise_the_count_when_others_share_the_budget() -> None:
    clock = FakeClock()
    lim = PortalRateLimiter(budget=100, margin_s=0.0, clock=clock)
    t = lim.try_acquire(RequestKind.BURST)
    assert isinstance(t, Ticket)
    # HubSpot says 8 of 10 are used: someone else spent 7
    lim.release(
        t,
        {
            "x-hubspot-ratelimit-max": "10",
            "x-hubspot-ratelimit-remaining": "2",
            "x-hubspot-ratelimit-interval-milliseconds": "10000",
        },
    )
    assert lim.budget == 10
    assert [isinstance(lim.try_acquire(RequestKind.BURST), Ticket) for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_penalty_holds_the_whole_portal() -> None:
    clock = FakeClock()
    lim = PortalRateLimiter(budget=100, clock=clock)
    lim.penalize(RequestKind.BURST, 2.0)
    assert lim.try_acquire(RequestKind.BURST) == pytest.approx(2.0)
    assert isinstance(lim.try_acquire(RequestKind.SEARCH), Ticket)
    clock.now += 2.0
    assert isinstance(lim.try_acquire(RequestKind.BURST), Ticket)
    assert lim.rate_limited == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 3), st.floats(0, 0.5)), min_size=1, max_size=120),
    st.integers(1, 20),
)
def test_never_more_than_budget_in_any_window(
    steps: list[tuple[float, float]], budget: int
) -> None:
    """Whatever the timing, sends within any window (by send time) never exceed the budget."""
    clock = FakeClock()
    lim = PortalRateLimiter(budget=budget, window_s=10.0, margin_s=0.0, clock=clock)
    sends: list[float] = []
    for gap, latency in steps:
        clock.now += gap
        got = lim.try_acquire(RequestKind.BURST)
        for _ in range(3):  # float rounding may need a second, tiny wait
            if isinstance(got, Ticket):
                break
            clock.now += got
            got = lim.try_acquire(RequestKind.BURST)
        assert isinstance(got, Ticket)
        sends.append(clock.now)
        clock.now += latency
        lim.release(got)
    for i, start in enumerate(sends):
        in_window = [s for s in sends[i:] if s < start + 10.0]
        assert len(in_window) <= budget


def test_blocking_acquire_wakes_on_release() -> None:
    lim = PortalRateLimiter(budget=1, window_s=0.05, margin_s=0.0)
    first = lim.acquire(RequestKind.BURST)
    done = threading.Event()

    def second() -> None:
        t = lim.acquire(RequestKind.BURST)
        lim.release(t)
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    lim.release(first)
    thread.join(timeout=5)
    assert done.is_set()


def test_registry_shares_one_limiter_per_key() -> None:
    reg = LimiterRegistry()
    a = reg.get("hub:1", budget=110)
    assert reg.get("hub:1", budget=5) is a
    assert reg.get("hub:2", budget=110) is not a
    assert reg.keys() == ["hub:1", "hub:2"]


def test_backoff_doubles_from_about_a_second_with_jitter() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=8.0)
    import random

    rng = random.Random(7)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)]:
        d = policy.delay(attempt, rng)
        assert full / 2 <= d <= full
    with pytest.raises(ValueError):
        policy.delay(0)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None


def test_requests_in_flight_are_not_double_counted_from_headers() -> None:
    clock = FakeClock()
    lim = PortalRateLimiter(budget=10, margin_s=0.0, clock=clock)
    tickets = [lim.try_acquire(RequestKind.BURST) for _ in range(4)]
    first = tickets[0]
    assert isinstance(first, Ticket)
    # the server already counted all four; three are still in flight here
    lim.release(first, {"x-hubspot-ratelimit-max": "10", "x-hubspot-ratelimit-remaining": "6"})
    got = [lim.try_acquire(RequestKind.BURST) for _ in range(7)]
    assert [isinstance(g, Ticket) for g in got] == [True] * 6 + [False]


def test_slots_the_server_already_freed_are_reused_at_once() -> None:
    """Locally a slot is held until 10 s after the response; HubSpot frees it 10 s after arrival."""
    clock = FakeClock()
    lim = PortalRateLimiter(budget=10, window_s=10.0, margin_s=0.0, clock=clock)
    early = [lim.try_acquire(RequestKind.BURST) for _ in range(5)]
    clock.now += 1.0  # slow responses
    for t in early:
        assert isinstance(t, Ticket)
        lim.release(t)
    clock.now += 9.5  # the server counted them on arrival, 10.5 s ago: gone from its window
    probe = lim.try_acquire(RequestKind.BURST)
    assert isinstance(probe, Ticket)
    clock.now += 0.1
    lim.release(probe, {"x-hubspot-ratelimit-max": "10", "x-hubspot-ratelimit-remaining": "9"})
    got = [lim.try_acquire(RequestKind.BURST) for _ in range(10)]
    assert [isinstance(g, Ticket) for g in got] == [True] * 9 + [False]
