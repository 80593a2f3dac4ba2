"""Flow schedules (``scheduleParams``) as windows of time: pure arithmetic, no clock of its own.

A schedule with ``startTime`` (epoch seconds), ``frequency`` (minute, hour, day, week) and
``interval`` cuts time from its start into back-to-back windows of ``interval`` periods; the
scheduler queues one run per window, keyed by the window's start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PERIOD_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000, "week": 604_800_000}


def due_window(schedule: Mapping[str, Any], now_ms: int) -> tuple[int, int] | None:
    """The schedule window containing ``now`` as ``(start, end)`` epoch ms (start included, end
    excluded), or None before ``startTime``, from ``endTime`` on, or for an unknown frequency."""
    freq = schedule.get("frequency")
    if freq not in PERIOD_MS:
        return None
    start = int(schedule["startTime"]) * 1000
    if now_ms < start:
        return None
    end_time = schedule.get("endTime")
    if end_time is not None and now_ms >= int(end_time) * 1000:
        return None
    period = PERIOD_MS[freq] * max(1, int(schedule.get("interval") or 1))
    k = (now_ms - start) // period
    window_start = start + k * period
    return window_start, window_start + period
