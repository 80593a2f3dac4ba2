"""What every service call needs: the engine, the secret box, a clock, and the caller's tenant."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from headwater.connectors.base import ConnectorSettings
from headwater.domain.ids import now_ms
from headwater.store.secrets import SecretBox

if TYPE_CHECKING:
    from headwater.lake import Lake


@dataclass(frozen=True, slots=True)
class Tenant:
    """The org and sandbox a request acts in, and who is calling."""

    org_id: str
    sandbox_name: str
    sandbox_id: str
    client_id: str


class AttemptLimiter:
    """Failed secret checks per client id in a sliding window (this process): past
    ``max_failures`` in ``window_ms`` every attempt for that client id is refused, right secret
    or not, until the oldest failure leaves the window. Stops a brute force on one client's
    secret through the token endpoint or the UI sign-in."""

    def __init__(self, *, max_failures: int = 10, window_ms: int = 60_000) -> None:
        self.max_failures = max_failures
        self.window_ms = window_ms
        self._lock = threading.Lock()
        self._failures: dict[str, collections.deque[int]] = {}

    def _recent(self, key: str, now: int) -> collections.deque[int]:
        times = self._failures.get(key)
        if times is None:
            return collections.deque()
        while times and times[0] <= now - self.window_ms:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after_ms(self, key: str, now: int) -> int:
        """0 when an attempt may go ahead, else how long to wait."""
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return 0
            return max(1, times[0] + self.window_ms - now)

    def failed(self, key: str, now: int) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # unknown ids by the million: keep memory bounded
                self._failures.clear()
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times


@dataclass(slots=True)
class TtlCache:
    """Values kept for ``ttl_ms`` after they were loaded (at most ``max_entries``, oldest dropped
    first); one process's memory, thread-safe. A stale value is reloaded on the next get."""

    ttl_ms: int = 120_000
    max_entries: int = 256
    _entries: dict[Hashable, tuple[int, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable, now: int) -> Any | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or now - hit[0] >= self.ttl_ms:
                return None
            return hit[1]

    def put(self, key: Hashable, value: Any, now: int) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now, value)
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]


@dataclass(slots=True)
class ServiceContext:
    engine: Engine
    box: SecretBox
    token_ttl_ms: int = 24 * 3600 * 1000
    #: Each connector's operator settings (``connector_settings.get(ItsSettings)``).
    connector_settings: ConnectorSettings = field(default_factory=ConnectorSettings)
    clock: Callable[[], int] = field(default=now_ms)
    lake: Lake | None = None
    #: Subscribers to run and connection events: ``listener(event_type, payload)``.
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)
    #: Explore results of the web UI's table pickers (``sources.explore_cached``).
    explore_cache: TtlCache = field(default_factory=TtlCache)
    #: Failed client-secret checks per client id (token endpoint and UI sign-in).
    attempts: AttemptLimiter = field(default_factory=AttemptLimiter)

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        """Tell every listener; a failing listener never breaks the caller."""
        for listener in list(self.listeners):
            try:
                listener(event_type, payload)
            except Exception:
                logging.getLogger("headwater.events").exception("event listener failed")
