"""HubSpot request counts per portal: a wrapper around a worker's connectors that adds each
connector's requests and 429 answers to the shared counters when it closes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import pyarrow as pa

from headwater.connectors.base import CursorState, JsonObject, ReadMode, SourceConnector
from headwater.connectors.events import KnownRows, ReadEvent
from headwater.services.context import ServiceContext, Tenant
from headwater.store.metrics import HUBSPOT_429, HUBSPOT_REQUESTS, add_counters

log = logging.getLogger("headwater.observability")

OpenConnector = Callable[[ServiceContext, Tenant, str], SourceConnector]


def _portal_of(connector: object) -> str:
    looked_up = getattr(getattr(connector, "http", None), "portal_id", None)
    if looked_up is not None:  # a static token's portal, from the account details
        return str(looked_up)
    auth = getattr(connector, "auth", None)
    if auth is None:
        return "unknown"
    if hasattr(auth, "hub_id"):  # OAuth: the portal id the token belongs to
        hub = auth.hub_id
        return str(hub) if hub is not None else "unknown"
    key = auth.account_key()  # portal unknown: a hash of the token names the budget
    return str(key).removeprefix("hub:")


class _CountedConnector:
    """A source connector that adds its HubSpot request counts to the shared counters when it
    closes."""

    def __init__(self, ctx: ServiceContext, inner: SourceConnector) -> None:
        self._ctx = ctx
        self._inner = inner

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._inner.__exit__(exc_type, exc, tb)
        finally:
            self.record()

    def record(self) -> None:
        stats = getattr(self._inner, "stats", None)
        if not isinstance(stats, dict) or not stats.get("requests"):
            return
        try:
            portal = _portal_of(self._inner)
            add_counters(
                self._ctx.engine,
                [
                    (HUBSPOT_REQUESTS, {"portal": portal}, int(stats.get("requests", 0))),
                    (HUBSPOT_429, {"portal": portal}, int(stats.get("rate_limited", 0))),
                ],
                now=self._ctx.clock(),
            )
        except Exception:
            log.exception("could not record HubSpot request counts")

    def check(self) -> None:
        self._inner.check()

    def explore_root(self) -> list[JsonObject]:
        return self._inner.explore_root()

    def explore_table(self, name: str, *, preview: bool, limit: int = 10) -> JsonObject:
        return self._inner.explore_table(name, preview=preview, limit=limit)

    def read(
        self,
        table: str,
        *,
        state: CursorState | None,
        columns: Sequence[str] | None = None,
        mode: ReadMode = "auto",
        known: KnownRows | None = None,
        options: Mapping[str, int] | None = None,
    ) -> Iterator[ReadEvent]:
        return self._inner.read(
            table, state=state, columns=columns, mode=mode, known=known, options=options
        )

    def primary_key(self, name: str) -> tuple[str, ...]:
        return tuple(self._inner.primary_key(name))

    def table_schema(self, name: str) -> pa.Schema:
        return self._inner.table_schema(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def count_hubspot_requests(open_connector: OpenConnector) -> OpenConnector:
    """Wrap a worker's ``open_connector`` so each connector's requests and 429s are counted per
    portal when it closes."""

    def opened(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> SourceConnector:
        return _CountedConnector(ctx, open_connector(ctx, tenant, conn_id))

    return opened
