"""Fetching one CRM table's pages: search windows, list pages in property chunks (a 414
shrinks them), and full lists split into id ranges walked concurrently."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from headwater.connectors.hubspot.http import HubSpotHttp
from headwater.connectors.hubspot.paging import (
    AFTER,
    MIN_PROPERTIES_CHARS,
    URI_TOO_LONG,
    Chain,
    Page,
    UriTooLongError,
    chunk_properties,
    next_after,
    page_records,
    parse_body,
    walk,
    walk_chains,
)
from headwater.connectors.hubspot.planner import LIST_PAGE, SEARCH_PAGE
from headwater.connectors.hubspot.schema import TableLayout
from headwater.connectors.hubspot.state import RunState
from headwater.connectors.ratelimit import RequestKind
from headwater.errors import FatalSourceError, MalformedSourceResponseError

__all__ = ["TablePages"]

log = logging.getLogger(__name__)


class TablePages:
    """The HTTP side of a table read: pages, never checkpoints or events."""

    def __init__(
        self,
        *,
        http: HubSpotHttp,
        pool: ThreadPoolExecutor,
        layout: TableLayout,
        properties: tuple[str, ...],
        max_chars: int,
        list_partitions: int,
        queue_pages: int,
        inline_associations: tuple[str, ...] = (),
    ) -> None:
        self._http = http
        self._pool = pool
        self._layout = layout
        self._name = layout.table.name
        self._properties = properties
        self._max_chars = max_chars
        self._list_partitions = list_partitions
        self._queue_pages = queue_pages
        #: association targets asked for inline on live list pages (with the first chunk)
        self.inline = inline_associations
        self.chunks = chunk_properties(properties, max_chars)
        self._chunk_lock = threading.Lock()
        self._path = f"/crm/v3/objects/{layout.table.object_type}"

    def search_body(self, run: RunState, floor: str, limit: int) -> dict[str, Any]:
        prop = self._layout.table.cursor_property
        assert prop is not None
        filters = [
            {"propertyName": prop, "operator": "GTE", "value": str(run.window_start_ms or 0)},
            {"propertyName": prop, "operator": "LT", "value": str(run.window_end_ms)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": floor},
        ]
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(self._properties),
            "limit": limit,
            "after": "0",
        }

    def search_page(self, run: RunState, floor: str) -> Page:
        response = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json=self.search_body(run, floor, SEARCH_PAGE),
        )
        where = f"POST {self._path}/search"
        body = parse_body(response.content, where)
        records = page_records(body, where)
        more = next_after(body, where) is not None and bool(records)
        next_floor = str(records[-1]["id"]) if more else None
        total = body.get("total")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
            raise MalformedSourceResponseError(
                f"HubSpot answered {where} with a total that is not a number: {total!r}"
            )
        if next_floor is None and len(records) >= SEARCH_PAGE and (total or 0) > len(records):
            # a full page, more records counted, and no cursor: the answer lost its paging
            raise MalformedSourceResponseError(
                f"HubSpot answered {where} with a full page of {len(records)} of {total} "
                "records and no paging cursor"
            )
        return Page(records=records, next_pos=next_floor, total=total, where=where)

    def count_all(self) -> int | None:
        response = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json={"filterGroups": [], "properties": ["hs_object_id"], "limit": 1},
        )
        total = parse_body(response.content, f"POST {self._path}/search").get("total")
        return int(total) if isinstance(total, int) and not isinstance(total, bool) else None

    def _list_body(
        self, after: str | None, chunk: list[str], archived: bool, limit: int, assoc: bool = False
    ) -> bytes:
        params: dict[str, str] = {"limit": str(limit), "archived": "true" if archived else "false"}
        params["properties"] = ",".join(chunk) if chunk else "hs_object_id"
        if assoc and self.inline:
            params["associations"] = ",".join(self.inline)
        if after is not None:
            params["after"] = after
        response = self._http.send("GET", self._path, params=params, allow=URI_TOO_LONG)
        if response.status_code == 414:
            raise UriTooLongError
        return response.content

    def list_page(self, after: str | None, archived: bool, limit: int = LIST_PAGE) -> Page:
        """One list page; a 414 halves the property chunks (for every later page too) and retries."""
        while True:
            chunks = [["hs_object_id"]] if archived else self.chunks
            try:
                return self._list_page_once(after, archived, limit, chunks)
            except UriTooLongError:
                with self._chunk_lock:
                    if chunks is self.chunks:  # not re-chunked by another thread meanwhile
                        if self._max_chars <= MIN_PROPERTIES_CHARS or archived:
                            raise FatalSourceError(
                                f"HubSpot answered 414 URI Too Long to {self._path} even with "
                                f"{self._max_chars}-character property lists"
                            ) from None
                        self._max_chars //= 2
                        self.chunks = chunk_properties(self._properties, self._max_chars)
                        log.warning(
                            "hubspot %s: URL too long, properties now in chunks of %d characters",
                            self._name,
                            self._max_chars,
                        )

    def _list_page_once(
        self, after: str | None, archived: bool, limit: int, chunks: list[list[str]]
    ) -> Page:
        extra_futures = [
            self._pool.submit(self._list_body, after, chunk, archived, limit)
            for chunk in chunks[1:]
        ]
        first = self._list_body(after, chunks[0], archived, limit, assoc=not archived)
        extra: list[bytes | Future[bytes]] = [f.result() for f in extra_futures]
        where = f"GET {self._path}"
        match = AFTER.search(first, max(first.rfind(b'"paging"'), 0))
        if match is not None and match.group(1):
            cursor: str | None = match.group(1).decode()
        elif b'"paging"' in first:
            cursor = next_after(parse_body(first, where), where)
        else:
            cursor = None
        return Page(bodies=[first, *extra], next_pos=cursor, where=where)

    def _max_id(self) -> int | None:
        """The highest live id (a one-record search sorted by id, descending)."""
        where = f"POST {self._path}/search"
        response = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json={
                "filterGroups": [],
                "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
                "properties": ["hs_object_id"],
                "limit": 1,
            },
        )
        results = page_records(parse_body(response.content, where), where)
        try:
            return int(results[0]["id"]) if results else None
        except ValueError:
            return None

    def _partition_fetch(self, lo: int, hi: int | None) -> Callable[[str | None], Page]:
        def fetch(after: str | None) -> Page:
            page = self.list_page(after, False)
            page.lo, page.hi = lo, hi
            if page.next_pos is not None and hi is not None and int(page.next_pos) >= hi:
                page.next_pos = None  # the rest belongs to the next partition
            return page

        return fetch

    def full_pages(self, run: RunState) -> Iterator[Page]:
        """The live list, split into id ranges read concurrently when the cursor is an id.

        HubSpot's list cursor is, in practice, the next record id. When the first page confirms
        that (the cursor is the last id or the one after it), the id range up to the highest id
        is split into ``list_partitions`` ranges; each range is paged on its own, starting at
        ``lo - 1`` and keeping only ids in ``[lo, hi)``, so it is exact whether ``after`` means
        "from" or "after". Anything else is read as one chain.
        """
        if run.partitions is None and run.after is None and self._list_partitions > 1:
            first = self.list_page(None, False)
            records = first.materialize()
            nxt = first.next_pos
            last = int(records[-1]["id"]) if records and str(records[-1]["id"]).isdigit() else None
            top = (
                self._max_id()
                if nxt is not None
                and nxt.isdigit()
                and last is not None
                and int(nxt) - last in (0, 1)
                else None
            )
            if top is None or last is None or top - last < self._list_partitions * 2 * LIST_PAGE:
                return walk_chains(
                    self._name,
                    self._queue_pages,
                    [(lambda after: self.list_page(after, False), None, first, False)],
                )
            count = self._list_partitions
            step = (top - last) // count
            bounds = [last + 1 + i * step for i in range(count)]
            run.partitions = [
                {
                    "lo": 0 if i == 0 else lo,
                    "hi": bounds[i + 1] if i + 1 < count else None,
                    "after": None,
                    "done": False,
                }
                for i, lo in enumerate(bounds)
            ]
            first.part, first.hi = 0, run.partitions[0]["hi"]
            first.records = [r for r in records if int(r["id"]) < bounds[1]]
            assert nxt is not None
            if int(nxt) >= bounds[1]:
                first.next_pos = None
            chains: list[Chain] = []
            for i, part in enumerate(run.partitions):
                fetch = self._partition_fetch(part["lo"], part["hi"])
                if i == 0:
                    chains.append((fetch, None, first, True))
                else:
                    chains.append((fetch, str(part["lo"] - 1), None, True))
            return self._tagged(chains)
        if run.partitions is not None:
            chains = []
            for part in run.partitions:
                if part["done"]:
                    continue
                fetch = self._partition_fetch(part["lo"], part["hi"])
                start = part["after"] if part["after"] is not None else str(max(part["lo"] - 1, 0))
                chains.append((fetch, start if part["lo"] or part["after"] else None, None, True))
            return self._tagged(chains, [i for i, p in enumerate(run.partitions) if not p["done"]])
        return walk(
            self._name,
            self._queue_pages,
            lambda after: self.list_page(after, False),
            run.after,
            None,
            False,
        )

    def _tagged(
        self,
        chains: list[Chain],
        parts: list[int] | None = None,
    ) -> Iterator[Page]:
        """Like :meth:`_chains`, tagging each page with its partition index."""
        indexes = parts if parts is not None else list(range(len(chains)))
        tagged = []
        for index, (fetch, start, first, numeric) in zip(indexes, chains, strict=True):

            def tag(
                after: str | None, fetch: Callable[[str | None], Page] = fetch, i: int = index
            ) -> Page:
                page = fetch(after)
                page.part = i
                return page

            if first is not None:
                first.part = index
            tagged.append((tag, start, first, numeric))
        return walk_chains(self._name, self._queue_pages, tagged)
