"""Source connectors and the pieces they share (events, rate limiting, retry policy)."""

from __future__ import annotations

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.ratelimit import (
    DEFAULT_REGISTRY,
    LimiterRegistry,
    PortalRateLimiter,
    RequestKind,
)
from headwater.connectors.retry import RetryPolicy

__all__ = [
    "DEFAULT_REGISTRY",
    "BatchEvent",
    "CheckpointEvent",
    "LimiterRegistry",
    "PortalRateLimiter",
    "ProgressEvent",
    "ReadEvent",
    "RequestKind",
    "RetryPolicy",
]
