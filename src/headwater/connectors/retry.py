"""Retry and backoff policy shared by the connectors' HTTP clients."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with "equal jitter": half the delay fixed, half random.

    ``base_s`` is the first delay (about 1 s for HubSpot 429s without ``Retry-After``); each later
    attempt doubles it up to ``cap_s``. ``max_attempts`` counts every try, the first included.
    """

    max_attempts: int = 8
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        full = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        r: float = (rng or random).random()
        return full / 2 + r * full / 2


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (HubSpot sends integer seconds when it sends it at all)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds < 0 or math.isnan(seconds):
        return None
    return seconds
