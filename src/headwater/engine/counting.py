"""HubSpot request counts per portal: a wrapper around a worker's connectors that adds each
connector's requests and 429 answers to the shared counters when it closes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from headwater.services.context import ServiceContext, Tenant
from headwater.store.metrics import HUBSPOT_429, HUBSPOT_REQUESTS, add_counters

log = logging.getLogger("headwater.observability")

OpenConnector = Callable[[ServiceContext, Tenant, str], Any]


def _portal_of(connector: Any) -> str:
    auth = getattr(connector, "auth", None)
    if auth is None:
        return "unknown"
    if hasattr(auth, "hub_id"):  # OAuth: the portal id the token belongs to
        hub = auth.hub_id
        return str(hub) if hub is not None else "unknown"
    key = auth.account_key()  # private apps: a hash of the token names the budget
    return str(key).removeprefix("hub:")


class _CountedConnector:
    """A source connector that adds its HubSpot request counts to the shared counters when it
    closes."""

    def __init__(self, ctx: ServiceContext, inner: Any) -> None:
        self._ctx = ctx
        self._inner = inner

    def __enter__(self) -> Any:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._inner.__exit__(*exc)
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

    def read(self, table: str, *, state: Any, **kwargs: Any) -> Any:
        return self._inner.read(table, state=state, **kwargs)

    def primary_key(self, name: str) -> tuple[str, ...]:
        return tuple(self._inner.primary_key(name))

    def table_schema(self, name: str) -> pa.Schema:
        return self._inner.table_schema(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def count_hubspot_requests(open_connector: OpenConnector) -> OpenConnector:
    """Wrap a worker's ``open_connector`` so each connector's requests and 429s are counted per
    portal when it closes."""

    def opened(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> Any:
        return _CountedConnector(ctx, open_connector(ctx, tenant, conn_id))

    return opened
