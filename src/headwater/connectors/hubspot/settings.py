"""Operator settings of the HubSpot connector (filled from ``HEADWATER_HUBSPOT_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.connectors.ratelimit import DEFAULT_REGISTRY, LimiterRegistry

__all__ = ["HubSpotSettings"]


@dataclass(slots=True, kw_only=True)
class HubSpotSettings:
    base_url: str = "https://api.hubapi.com"
    #: incremental windows re-read this much before the saved cursor (search indexing lag)
    lookback_ms: int = 300_000
    #: how often an incremental run lists archived records; None = by cost, 0 = every run
    deletes_every_ms: int | None = None
    #: how often an incremental run compares association lists; None = by cost, 0 = every run
    associations_every_ms: int | None = None
    #: the process-wide rate limiters, one per portal, shared by every connector of the process
    limiters: LimiterRegistry = DEFAULT_REGISTRY
