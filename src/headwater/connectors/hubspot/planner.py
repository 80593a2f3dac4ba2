"""Choosing between an incremental search and a full re-list for one run of one table.

Search returns 200 records per call but is paced at ``search_rate`` calls per second (HubSpot: 5);
list pages return 100 records and spend the ten-second burst budget (HubSpot: 100-250 per 10 s),
one call per property chunk. When a large share of the table changed, re-listing everything is
faster than searching for the changes. Association reads cost the same per record either way and
are left out, which slightly favours search (it reads fewer records).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from headwater.connectors.hubspot.state import FULL, INCREMENTAL

__all__ = [
    "LIST_PAGE",
    "SEARCH_PAGE",
    "Cadence",
    "StrategyChoice",
    "cadence",
    "choose_strategy",
]

LIST_PAGE = 100
SEARCH_PAGE = 200


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    strategy: str
    reason: str
    search_s: float
    list_s: float


#: A HubSpot round trip: no limit makes a call cheaper than this.
ROUND_TRIP_S = 0.05
#: List pages of a full read are fetched over this many concurrent id ranges; search is sequential.
LIST_CONCURRENCY = 3


def choose_strategy(
    *,
    changed: int,
    table_size: int,
    list_chunks: int,
    burst_rate: float,
    search_rate: float,
    round_trip_s: float = ROUND_TRIP_S,
    list_concurrency: int = LIST_CONCURRENCY,
) -> StrategyChoice:
    """Estimated seconds for both strategies; the cheaper one wins (ties go to search).

    A call costs the larger of its rate-limit spacing and its round trip (shared by the concurrent
    list ranges), so a raised or absent limit does not make re-listing look free."""
    search_calls = math.ceil(changed / SEARCH_PAGE)
    list_calls = math.ceil(max(table_size, changed) / LIST_PAGE) * max(list_chunks, 1)
    search_s = search_calls * max(1 / search_rate, round_trip_s)
    list_s = list_calls * max(1 / burst_rate, round_trip_s / max(list_concurrency, 1))
    numbers = (
        f"{changed} of ~{table_size} records changed: search {search_calls} calls "
        f"at {search_rate:g}/s ≈ {search_s:.1f} s, re-list {list_calls} calls "
        f"at {burst_rate:g}/s ≈ {list_s:.1f} s"
    )
    if list_s < search_s:
        return StrategyChoice(FULL, f"re-list is cheaper: {numbers}", search_s, list_s)
    return StrategyChoice(INCREMENTAL, f"search is cheaper: {numbers}", search_s, list_s)


@dataclass(frozen=True, slots=True)
class Cadence:
    """Whether a side pass (deletes, association refresh) runs now, and why, in words."""

    due: bool
    every_ms: int
    reason: str


#: a side pass of one request runs on every run
EVERY_RUN_REQUESTS = 1
#: a larger one at most once per this much time per request it costs (so with a 15-minute
#: schedule, a pass of up to 15 requests still runs every run)
MS_PER_REQUEST = 60_000
#: and at least once a day
MAX_INTERVAL_MS = 24 * 3600 * 1000


def _words(ms: int) -> str:
    if ms >= 3_600_000 and ms % 3_600_000 == 0:
        return f"{ms // 3_600_000} h"
    if ms >= 60_000:
        return f"{ms / 60_000:.0f} min"
    return f"{ms / 1000:.0f} s"


def cadence(
    *,
    what: str,
    requests: int | None,
    last_ms: int | None,
    now_ms: int,
    every_ms: int | None = None,
    every_run_requests: int = EVERY_RUN_REQUESTS,
) -> Cadence:
    """When a pass of ``requests`` calls (``None``: unknown yet) is due.

    ``every_ms`` set by the flow wins (0 = every run). Otherwise a pass that costs a few
    requests runs every run; a larger one runs at most once per ``MS_PER_REQUEST`` per request
    (a 50-request pass: every 50 minutes), and at least daily, so it costs about one request a
    minute however large the table grows, and a run that follows the last one closely costs
    one search request when nothing changed."""
    if every_ms is not None:
        interval, why = max(every_ms, 0), "set by the flow"
    elif requests is None:
        interval, why = 0, "cost not known yet"
    elif requests <= every_run_requests:
        interval, why = 0, f"{requests} requests"
    else:
        interval = min(requests * MS_PER_REQUEST, MAX_INTERVAL_MS)
        why = f"{requests} requests"
    if interval == 0:
        return Cadence(True, 0, f"{what}: every run ({why})")
    if last_ms is None:
        return Cadence(True, interval, f"{what}: every {_words(interval)} ({why}); never done")
    wait = last_ms + interval - now_ms
    if wait <= 0:
        return Cadence(True, interval, f"{what}: every {_words(interval)} ({why}); due")
    return Cadence(
        False, interval, f"{what}: every {_words(interval)} ({why}); next in {_words(wait)}"
    )
