"""Client-side rate limiting shared by every stream and flow of one source account.

A :class:`PortalRateLimiter` models the two budgets HubSpot enforces per portal:

* a rolling window (``budget`` requests per ``window_s``; HubSpot: 100-250 per 10 s) for ordinary
  calls, and
* a rolling one-second window of ``search_per_s`` calls for CRM search, which is exempt from the
  ten-second window.

A request occupies its slot from the moment it is sent until ``window_s`` after its response came
back. The server counts a request when it arrives, which is never later than when its response
arrives, so the client's view of the window is always at least as full as the server's and the
budget can be spent to the last request without a 429. When responses carry
``X-HubSpot-RateLimit-Max``/``-Remaining`` (other clients share the app's budget) the limiter adopts
the server's count whenever it is higher than its own.

:class:`LimiterRegistry` hands out one limiter per account key, process-wide.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "DEFAULT_REGISTRY",
    "LimiterRegistry",
    "PortalRateLimiter",
    "RequestKind",
    "Ticket",
]


class RequestKind(StrEnum):
    BURST = "burst"  # counted in the rolling ten-second window
    SEARCH = "search"  # paced per second, exempt from the ten-second window
    EXEMPT = "exempt"  # not limited (token endpoints, association batch reads)


@dataclass(slots=True)
class Ticket:
    kind: RequestKind
    granted_at: float


@dataclass(slots=True)
class _Bucket:
    capacity: int
    window_s: float
    inflight: int = 0
    done: deque[float] = field(default_factory=deque)
    phantom: deque[float] = field(default_factory=deque)
    paused_until: float = 0.0

    def prune(self, now: float, margin_s: float) -> None:
        horizon = now - self.window_s - margin_s
        while self.done and self.done[0] <= horizon:
            self.done.popleft()
        while self.phantom and self.phantom[0] <= horizon:
            self.phantom.popleft()

    def used(self) -> int:
        return self.inflight + len(self.done) + len(self.phantom)

    def wait_s(self, now: float, margin_s: float) -> float:
        """0 when a request may start now, else how long until one may."""
        if now < self.paused_until:
            return self.paused_until - now
        self.prune(now, margin_s)
        if self.used() < self.capacity:
            return 0.0
        oldest = [q[0] for q in (self.done, self.phantom) if q]
        if not oldest:  # everything in flight: wait for a release
            return self.window_s
        return max(min(oldest) + self.window_s + margin_s - now, 1e-3)


class PortalRateLimiter:
    """One account's budgets, shared by all threads that call it.

    ``clock`` must be monotonic; it is injectable so that the window arithmetic can be tested
    without sleeping.
    """

    def __init__(
        self,
        *,
        budget: int = 110,
        window_s: float = 10.0,
        search_per_s: int = 5,
        margin_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget < 1 or search_per_s < 1:
            raise ValueError("budgets must be positive")
        self._clock = clock
        self._margin_s = margin_s
        self._cond = threading.Condition()
        self._buckets = {
            RequestKind.BURST: _Bucket(budget, window_s),
            RequestKind.SEARCH: _Bucket(search_per_s, 1.0),
        }
        self.waited_s = 0.0
        self.rate_limited = 0

    # ------------------------------------------------------------------ budgets

    @property
    def budget(self) -> int:
        return self._buckets[RequestKind.BURST].capacity

    @property
    def window_s(self) -> float:
        return self._buckets[RequestKind.BURST].window_s

    @property
    def search_per_s(self) -> int:
        return self._buckets[RequestKind.SEARCH].capacity

    def rate(self, kind: RequestKind) -> float:
        """Sustained requests per second the budget allows for ``kind``."""
        if kind is RequestKind.EXEMPT:
            return float("inf")
        b = self._buckets[kind]
        return b.capacity / b.window_s

    # ------------------------------------------------------------------ acquire / release

    def try_acquire(self, kind: RequestKind) -> Ticket | float:
        """A ticket when ``kind`` may be sent now, else the seconds to wait before asking again."""
        with self._cond:
            return self._try(kind)

    def _try(self, kind: RequestKind) -> Ticket | float:
        now = self._clock()
        if kind is RequestKind.EXEMPT:
            return Ticket(kind, now)
        bucket = self._buckets[kind]
        wait = bucket.wait_s(now, self._margin_s)
        if wait > 0:
            return wait
        bucket.inflight += 1
        return Ticket(kind, now)

    def acquire(self, kind: RequestKind) -> Ticket:
        """Block until a request of ``kind`` may be sent."""
        start = time.monotonic()
        with self._cond:
            while True:
                got = self._try(kind)
                if isinstance(got, Ticket):
                    self.waited_s += time.monotonic() - start
                    return got
                self._cond.wait(got)

    def release(self, ticket: Ticket, headers: Mapping[str, str] | None = None) -> None:
        """Record that the request of ``ticket`` got its response (or failed)."""
        if ticket.kind is RequestKind.EXEMPT:
            return
        with self._cond:
            now = self._clock()
            bucket = self._buckets[ticket.kind]
            bucket.inflight -= 1
            bucket.done.append(now)
            if headers is not None and ticket.kind is RequestKind.BURST:
                self._observe(bucket, headers, now, ticket.granted_at)
            self._cond.notify_all()

    def _observe(
        self, bucket: _Bucket, headers: Mapping[str, str], now: float, sent: float
    ) -> None:
        try:
            max_ = int(headers["x-hubspot-ratelimit-max"])
            remaining = int(headers["x-hubspot-ratelimit-remaining"])
        except (KeyError, ValueError):
            return
        interval = headers.get("x-hubspot-ratelimit-interval-milliseconds")
        if interval and interval.isdigit() and int(interval) > 0:
            bucket.window_s = int(interval) / 1000
        if max_ > 0:
            bucket.capacity = max_
        bucket.prune(now, self._margin_s)
        server_used = max_ - remaining
        # The server may already count requests still in flight here, so compare with everything
        # this limiter holds; only a surplus on the server's side is someone else's traffic.
        local_used = bucket.used()
        for _ in range(server_used - local_used):
            bucket.phantom.append(now)
        # Entries that finished before this request was sent had reached the server before it
        # counted this one; it counts at most ``server_used - 1`` of them. Any more have already
        # left its window (a slot is held locally until 10 s after the *response*), so drop the
        # oldest: the budget is then re-spent when HubSpot frees it, not a latency later.
        older = sum(1 for t in bucket.done if t < sent) + sum(1 for t in bucket.phantom if t < sent)
        for _ in range(older - (server_used - 1)):
            if bucket.phantom and (not bucket.done or bucket.phantom[0] <= bucket.done[0]):
                bucket.phantom.popleft()
            elif bucket.done:
                bucket.done.popleft()

    def penalize(self, kind: RequestKind, seconds: float) -> None:
        """Hold every request of ``kind`` (a 429 was answered) for ``seconds``."""
        if kind is RequestKind.EXEMPT:
            return
        with self._cond:
            bucket = self._buckets[kind]
            bucket.paused_until = max(bucket.paused_until, self._clock() + seconds)
            self.rate_limited += 1


class LimiterRegistry:
    """Process-wide map from account key to its limiter; thread-safe.

    ``budget`` overrides the per-credential default burst budget (a portal with an API limit
    increase, or an emulator with limits off); responses' rate-limit headers still win.
    """

    def __init__(
        self, *, budget: int | None = None, search_per_s: int = 5, margin_s: float = 0.05
    ) -> None:
        self._lock = threading.Lock()
        self._limiters: dict[str, PortalRateLimiter] = {}
        self._budget = budget
        self._search_per_s = search_per_s
        self._margin_s = margin_s

    def get(self, key: str, *, budget: int) -> PortalRateLimiter:
        """The limiter of ``key``, created with ``budget`` on first use."""
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = PortalRateLimiter(
                    budget=self._budget or budget,
                    search_per_s=self._search_per_s,
                    margin_s=self._margin_s,
                )
                self._limiters[key] = limiter
            return limiter

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._limiters)


DEFAULT_REGISTRY = LimiterRegistry()
