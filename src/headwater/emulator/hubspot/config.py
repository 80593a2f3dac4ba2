"""Configuration of one emulated HubSpot portal."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.emulator.clock import Clock
from headwater.emulator.hubspot.auth import ALL_SCOPES
from headwater.emulator.hubspot.faults import FaultPlan


@dataclass
class EmulatorConfig:
    """Everything that shapes the emulated portal. The data is a pure function of these values.

    ``rate_limit`` picks the budget profile applied to every token: ``"none"`` (no limits, no
    headers), ``"oauth-app"`` (110 requests per rolling 10 s, no daily headers) or ``"private-app"``
    (190 per 10 s plus the daily headers). ``burst_limit`` overrides the 10 s budget;
    ``daily_limit`` enables a daily quota. ``faults`` is a :class:`FaultPlan` or its CLI spec
    string. ``indexing_delay`` (seconds) delays when writes become visible to search.
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
    owners: int = 25
    portal_id: int = 62515
    rate_limit: str = "none"
    burst_limit: int | None = None
    search_per_second: int = 5
    daily_limit: int | None = None
    retry_after: bool = False
    token_ttl: int = 1800
    faults: FaultPlan | str | None = None
    indexing_delay: float = 0.0
    clock: Clock | None = None
    scopes: tuple[str, ...] = ALL_SCOPES
    max_url_length: int = 16_300
    host: str = "127.0.0.1"
    port: int = 0

    def counts(self) -> dict[str, int]:
        """Generated record count per object type."""
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
        }

    def count(self, object_type: str) -> int:
        """Generated records of one type (0 for the standard types the portal does not use)."""
        return self.counts().get(object_type, 0)
