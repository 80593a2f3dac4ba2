"""Configuration of one emulated HubSpot portal."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.emulator.clock import Clock
from headwater.emulator.hubspot.auth import ALL_SCOPES
from headwater.emulator.hubspot.crm_objects import EXTRA_TYPE_NAMES
from headwater.emulator.hubspot.faults import FaultPlan

# HubSpot's search index usually catches up with a write within a second or two.
DEFAULT_SEARCH_INDEX_LAG_MS = 1_000


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulated portal. The data is a pure function of these values.

    ``rate_limit`` picks the budget profile applied to every token: ``"none"`` (no limits, no
    headers), ``"oauth-app"`` (110 requests per rolling 10 s, no daily headers) or ``"private-app"``
    (190 per 10 s plus the daily headers). ``burst_limit`` overrides the 10 s budget;
    ``daily_limit`` enables a daily quota. ``faults`` is a :class:`FaultPlan` or its CLI spec
    string. ``legacy_v1`` keeps serving the v1 Pipelines (sunset 2026-12-04) and v1 Contact Lists (sunset
    2026-04-30) reads; without it they answer 404, as HubSpot does after a sunset.
    ``undated_families`` names API families (the first part of an endpoint name: ``pipelines``,
    ``lists``, ...) that answer 404 on date-versioned paths, as a family HubSpot has not moved
    yet would; clients' fallback to the legacy paths is tested with it.

    Each record count is the number of *live* records; about 0.8 % more start archived on top.
    ``search_index_lag_ms`` is how long a write takes to reach search (HubSpot indexes
    asynchronously; GET and list see the write at once). ``indexing_delay`` is the same in
    seconds, kept for older callers; when set it wins.
    """

    seed: int = 42
    contacts: int = 20_000
    companies: int = 2_000
    deals: int = 5_000
    tickets: int = 3_000
    products: int = 200
    line_items: int = 5_000
    engagements: int = 2_000
    custom_records: int = 500
    #: live records of each other standard object (quotes, leads, goals, invoices, ...)
    extra_records: int = 200
    owners: int = 25
    portal_id: int = 62515
    rate_limit: str = "none"
    burst_limit: int | None = None
    search_per_second: int = 5
    daily_limit: int | None = None
    retry_after: bool = False
    token_ttl: int = 1800
    faults: FaultPlan | str | None = None
    search_index_lag_ms: int = DEFAULT_SEARCH_INDEX_LAG_MS
    indexing_delay: float | None = None
    clock: Clock | None = None
    scopes: tuple[str, ...] = ALL_SCOPES
    max_url_length: int = 16_300
    legacy_v1: bool = False
    undated_families: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def search_lag_ms(self) -> int:
        """The effective search-index lag in milliseconds."""
        if self.indexing_delay is not None:
            return round(self.indexing_delay * 1000)
        return self.search_index_lag_ms

    def counts(self) -> dict[str, int]:
        """Live record count per object type (archived seed records come on top)."""
        e = self.engagements
        return {
            "contacts": self.contacts,
            "companies": self.companies,
            "deals": self.deals,
            "tickets": self.tickets,
            "products": self.products,
            "line_items": self.line_items,
            "calls": e,
            "emails": e,
            "meetings": e,
            "notes": e,
            "tasks": e,
            "pets": self.custom_records,
            **dict.fromkeys(EXTRA_TYPE_NAMES, self.extra_records),
        }

    def count(self, object_type: str) -> int:
        """Live records of one type (0 for the standard types the portal does not use)."""
        return self.counts().get(object_type, 0)
