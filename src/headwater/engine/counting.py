"""Source request counts per account: a wrapper around a worker's connectors that adds each
connector's requests and 429 answers (``SourceConnector.request_counts``) to the shared counters
when it closes, under its connector's counter names (``ConnectorType.requests_metric``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import pyarrow as pa

from headwater.connectors import registry
from headwater.connectors.base import (
    ConnectorType,
    CursorState,
    JsonObject,
    ReadMode,
    RequestCounts,
    SourceConnector,
)
from headwater.connectors.events import KnownRows, ReadEvent
from headwater.services.context import ServiceContext, Tenant
from headwater.store.metrics import add_counters

log = logging.getLogger("headwater.observability")

OpenConnector = Callable[[ServiceContext, Tenant, str], SourceConnector]


class _CountedConnector:
    """A source connector that adds its request counts to the shared counters when it closes."""

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
        kind: ConnectorType | None = None
        try:
            counts = self._inner.request_counts()
            if counts is None or not counts.requests:
                return
            kind = registry.connector_named(counts.connector)
            if kind is None:
                return
            labels = {kind.account_label: counts.account}
            add_counters(
                self._ctx.engine,
                [
                    (kind.requests_metric, labels, counts.requests),
                    (kind.rate_limited_metric, labels, counts.rate_limited),
                ],
                now=self._ctx.clock(),
            )
        except Exception:
            log.exception(
                "could not record the %s request counts", kind.title if kind else "source"
            )

    def request_counts(self) -> RequestCounts | None:
        return self._inner.request_counts()

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


def count_requests(open_connector: OpenConnector) -> OpenConnector:
    """Wrap a worker's ``open_connector`` so each connector's requests and 429s are counted per
    account when it closes."""

    def opened(ctx: ServiceContext, tenant: Tenant, conn_id: str) -> SourceConnector:
        return _CountedConnector(ctx, open_connector(ctx, tenant, conn_id))

    return opened
