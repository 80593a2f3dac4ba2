"""Injected time for the emulators: the real clock by default, a settable one in tests."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Source of wall-clock time in epoch milliseconds."""

    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        ...


class SystemClock:
    """The machine's clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to; thread-safe so a served emulator can share it."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now = int(start_ms)
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def set_ms(self, value: int) -> None:
        """Jump to an absolute time (epoch ms)."""
        with self._lock:
            self._now = int(value)

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds`` and return the new time in epoch ms."""
        with self._lock:
            self._now += round(seconds * 1000)
            return self._now


class OffsetClock:
    """The system clock shifted by an adjustable offset; lets out-of-process tests move time."""

    def __init__(self) -> None:
        self._offset_ms = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self._offset_ms

    def set_ms(self, value: int) -> None:
        with self._lock:
            self._offset_ms = int(value) - time.time_ns() // 1_000_000

    def advance(self, seconds: float) -> int:
        with self._lock:
            self._offset_ms += round(seconds * 1000)
        return self.now_ms()
