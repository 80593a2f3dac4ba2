"""HubSpot's rate limits: a rolling ten-second budget per app, 5 searches per second per portal and
an optional daily quota, with the ``X-HubSpot-RateLimit-*`` headers HubSpot sends."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

RATE_LIMIT_MODES = ("none", "oauth-app", "private-app")
DEFAULT_BURST = {"oauth-app": 110, "private-app": 190}
WINDOW_MS = 10_000
SEARCH_WINDOW_MS = 1_000


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one check: ``policy`` is set when the request must be refused with a 429."""

    headers: tuple[tuple[bytes, bytes], ...]
    policy: str | None = None
    message: str = ""
    retry_after_s: int | None = None


ALLOW_NO_HEADERS = Decision(())


class RateLimiter:
    """Rolling-window counters keyed by app (OAuth client or private-app token)."""

    def __init__(
        self,
        mode: str,
        *,
        burst: int | None = None,
        search_per_second: int = 5,
        daily: int | None = None,
        retry_after: bool = False,
        portal_id: int = 0,
    ) -> None:
        if mode not in RATE_LIMIT_MODES:
            raise ValueError(f"rate limit mode must be one of {RATE_LIMIT_MODES}, not {mode!r}")
        self.mode = mode
        self.burst = burst if burst is not None else DEFAULT_BURST.get(mode, 0)
        self.search_per_second = search_per_second
        self.daily = daily
        self.retry_after = retry_after
        self.portal_id = portal_id
        self._windows: dict[str, collections.deque[int]] = {}
        self._search: collections.deque[int] = collections.deque()
        self._daily_count: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def check(
        self, app_key: str, now_ms: int, *, search: bool, private: bool, exempt: bool = False
    ) -> Decision:
        """Count one request and decide whether it passes.

        ``exempt`` requests (HubSpot's ``ten-secondly`` exemption) only count towards the daily
        quota and carry no ten-second headers.
        """
        if self.mode == "none":
            return ALLOW_NO_HEADERS
        with self._lock:
            day = now_ms // 86_400_000
            daily_key = (app_key, day)
            daily_used = self._daily_count.get(daily_key, 0)
            show_daily = private or self.mode == "private-app"
            daily_limit = self.daily if self.daily is not None else 1_000_000
            if self.daily is not None and daily_used >= self.daily:
                return self._refuse("DAILY", "You have reached your daily limit.", 3600)
            if exempt and not search:
                self._daily_count[daily_key] = daily_used + 1
                return ALLOW_NO_HEADERS
            if search:
                q = self._search
                while q and q[0] <= now_ms - SEARCH_WINDOW_MS:
                    q.popleft()
                if len(q) >= self.search_per_second:
                    wait = max(1, -(-(q[0] + SEARCH_WINDOW_MS - now_ms) // 1000))
                    return self._refuse("SECONDLY", "You have reached your secondly limit.", wait)
                q.append(now_ms)
                self._daily_count[daily_key] = daily_used + 1
                return ALLOW_NO_HEADERS  # search responses carry no rate-limit headers
            q = self._windows.setdefault(app_key, collections.deque())
            while q and q[0] <= now_ms - WINDOW_MS:
                q.popleft()
            if len(q) >= self.burst:
                wait = max(1, -(-(q[0] + WINDOW_MS - now_ms) // 1000))
                return self._refuse(
                    "TEN_SECONDLY_ROLLING",
                    "You have reached your ten_secondly_rolling limit.",
                    wait,
                )
            q.append(now_ms)
            self._daily_count[daily_key] = daily_used + 1
            headers = [
                (b"x-hubspot-ratelimit-interval-milliseconds", b"10000"),
                (b"x-hubspot-ratelimit-max", str(self.burst).encode()),
                (b"x-hubspot-ratelimit-remaining", str(self.burst - len(q)).encode()),
            ]
            if show_daily:
                headers += [
                    (b"x-hubspot-ratelimit-daily", str(daily_limit).encode()),
                    (
                        b"x-hubspot-ratelimit-daily-remaining",
                        str(max(daily_limit - daily_used - 1, 0)).encode(),
                    ),
                ]
            return Decision(tuple(headers))

    def _refuse(self, policy: str, message: str, wait_s: int) -> Decision:
        return Decision((), policy, message, wait_s if self.retry_after else None)

    def group_name(self, app_key: str, policy: str) -> str:
        window = {"TEN_SECONDLY_ROLLING": "ten-secondly", "SECONDLY": "secondly", "DAILY": "daily"}[
            policy
        ]
        return f"publicapi:{app_key.split(':', 1)[0]}-api-calls-{window}:{self.portal_id}"
