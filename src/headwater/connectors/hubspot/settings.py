"""Operator settings of the HubSpot connector (filled from ``HEADWATER_HUBSPOT_*``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headwater.connectors.ratelimit import DEFAULT_REGISTRY, LimiterRegistry

__all__ = ["HubSpotSettings", "settings_from"]


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


def _ms(seconds: Any) -> int | None:
    return None if seconds is None else int(seconds) * 1000


def settings_from(values: Mapping[str, Any]) -> HubSpotSettings:
    """The connector's settings from Headwater's (``hubspot_base_url``, ``hubspot_lookback_seconds``,
    ``hubspot_deletes_every_seconds``, ``hubspot_associations_every_seconds``,
    ``hubspot_burst_budget``, ``hubspot_search_per_second``); a missing value keeps its default."""
    defaults = HubSpotSettings()
    budget = values.get("hubspot_burst_budget")
    per_second = values.get("hubspot_search_per_second", 5)
    limiters = (
        DEFAULT_REGISTRY
        if budget is None and per_second == 5
        else LimiterRegistry(budget=budget, search_per_s=per_second)
    )
    return HubSpotSettings(
        base_url=str(values.get("hubspot_base_url", defaults.base_url)),
        lookback_ms=int(values.get("hubspot_lookback_seconds", defaults.lookback_ms // 1000))
        * 1000,
        deletes_every_ms=_ms(values.get("hubspot_deletes_every_seconds")),
        associations_every_ms=_ms(values.get("hubspot_associations_every_seconds")),
        limiters=limiters,
    )
