"""Reading one HubSpot CRM table: full list, incremental search, archived pass, checkpoints.

A read is a two-stage pipeline. A fetch thread walks the page cursor (list ``after`` or the search
id floor) and queues raw pages, at most ``queue_pages`` ahead; property chunks of a page are
fetched in parallel on the shared pool. The consuming generator parses pages, reads their
associations in groups of up to 1,000 ids (v4 batch read, one call per association type, in
parallel), converts them to Arrow and yields, per page, a batch and then the checkpoint that
resumes after it. Memory is bounded by the queue, whatever the portal size.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.hubspot.convert import build_batch, parse_datetime_ms
from headwater.connectors.hubspot.http import HubSpotHttp
from headwater.connectors.hubspot.paging import (
    AFTER,
    ASSOCIATION_BATCH,
    MAX_PROPERTIES_CHARS,
    MIN_PROPERTIES_CHARS,
    URI_TOO_LONG,
    Chain,
    Page,
    UriTooLongError,
    chunk_properties,
    fetch_associations,
    walk,
    walk_chains,
)
from headwater.connectors.hubspot.planner import LIST_PAGE, SEARCH_PAGE, choose_strategy
from headwater.connectors.hubspot.schema import TableLayout
from headwater.connectors.hubspot.state import (
    ARCHIVED,
    DONE,
    FULL,
    INCREMENTAL,
    LIVE,
    RunState,
    StreamState,
)
from headwater.connectors.ratelimit import RequestKind
from headwater.errors import FatalSourceError

__all__ = ["ReadOptions", "TableReader", "chunk_properties", "fetch_associations"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadOptions:
    """Tunables of a read; the defaults follow HubSpot's documented limits."""

    #: HubSpot indexes search asynchronously: windows end this long before the sync started, so
    #: every record modified inside a window is searchable when the window is read.
    search_lag_ms: int = 5 * 60 * 1000
    #: optional overlap: each window also re-reads this much before the cursor, for portals whose
    #: indexing lags more than ``search_lag_ms`` at times (the lake merges on the key)
    lookback_ms: int = 0
    #: how often an incremental run lists archived records to report deletions (full reads
    #: always do); listing them costs one call per 100 archived records, however few changed
    archived_every_ms: int = 60 * 60 * 1000
    #: concurrent id ranges of a full list read (see ``TableReader._full_pages``)
    list_partitions: int = 3
    queue_pages: int = 16
    #: HubSpot's spec exempts v4 association batch reads from the 10 s window, but counting them
    #: is the safe side (the emulator, and apps sharing the budget, count them)
    association_kind: RequestKind = RequestKind.BURST
    max_properties_chars: int = MAX_PROPERTIES_CHARS


class TableReader:
    """Reads one CRM table; construct per ``read`` call."""

    def __init__(
        self,
        *,
        http: HubSpotHttp,
        pool: ThreadPoolExecutor,
        layout: TableLayout,
        state: StreamState,
        mode: str,
        options: ReadOptions,
        now_ms: Callable[[], int],
    ) -> None:
        self._http = http
        self._pool = pool
        self._layout = layout
        self._table = layout.table
        self._state = state
        self._mode = mode
        self._opts = options
        self._now_ms = now_ms
        self._max_chars = options.max_properties_chars
        self._chunks = chunk_properties(layout.properties, self._max_chars)
        self._chunk_lock = threading.Lock()
        self._path = f"/crm/v3/objects/{self._table.object_type}"
        self._requests_at_start = http.stats["requests"]

    # ------------------------------------------------------------------ planning

    def _search_body(self, run: RunState, floor: str, limit: int) -> dict[str, Any]:
        prop = self._table.cursor_property
        assert prop is not None
        filters = [
            {"propertyName": prop, "operator": "GTE", "value": str(run.window_start_ms or 0)},
            {"propertyName": prop, "operator": "LT", "value": str(run.window_end_ms)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": floor},
        ]
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(self._layout.properties),
            "limit": limit,
            "after": "0",
        }

    def _search_page(self, run: RunState, floor: str) -> Page:
        response = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json=self._search_body(run, floor, SEARCH_PAGE),
        )
        body = response.json()
        records: list[dict[str, Any]] = body.get("results") or []
        more = bool((body.get("paging") or {}).get("next")) and bool(records)
        next_floor = str(records[-1]["id"]) if more else None
        return Page(records=records, next_pos=next_floor, total=body.get("total"))

    def _count_all(self) -> int | None:
        response = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json={"filterGroups": [], "properties": ["hs_object_id"], "limit": 1},
        )
        total = response.json().get("total")
        return int(total) if isinstance(total, int) else None

    def _plan(self) -> tuple[RunState, Page | None]:
        """A new run: the strategy, why, and the first search page when search was probed."""
        now = self._now_ms()
        end = now - self._opts.search_lag_ms
        st = self._state

        def full(reason: str) -> RunState:
            return RunState(
                strategy=FULL, reason=reason, sync_start_ms=now, window_end_ms=end, phase=ARCHIVED
            )

        if self._mode == FULL or not self._table.incremental:
            reason = (
                "full read requested"
                if self._mode == FULL
                else "HubSpot has no modification cursor for this table: full read"
            )
            return full(reason), None
        if st.cursor_ms is None and self._mode != INCREMENTAL:
            return full("first sync: no cursor yet"), None
        # Deletions can only be found by listing every archived record, so an incremental run
        # looks for them at most every ``archived_every_ms`` (always after a full read).
        checked = st.archived_through_ms
        due = checked is None or end - checked >= self._opts.archived_every_ms
        run = RunState(
            strategy=INCREMENTAL,
            reason="incremental requested",
            sync_start_ms=now,
            window_start_ms=max((st.cursor_ms or 0) - self._opts.lookback_ms, 0),
            window_end_ms=end,
            archived_pass=due,
            archived_since_ms=checked if checked is not None else st.cursor_ms or 0,
            phase=ARCHIVED if due else LIVE,
        )
        probe = self._search_page(run, "0")
        changed = int(probe.total or 0)
        run.expected_total = changed
        if self._mode == INCREMENTAL:
            return run, probe
        if changed <= SEARCH_PAGE:
            run.reason = f"search is cheaper: {changed} records changed (one search page)"
            return run, probe
        size = st.table_size if st.table_size is not None else self._count_all()
        limiter = self._http.limiter
        choice = choose_strategy(
            changed=changed,
            table_size=size or changed,
            list_chunks=len(self._chunks),
            burst_rate=limiter.rate(RequestKind.BURST),
            search_rate=limiter.rate(RequestKind.SEARCH),
        )
        if choice.strategy == FULL:
            return full(choice.reason), None
        run.reason = choice.reason
        return run, probe

    # ------------------------------------------------------------------ fetching

    def _list_body(self, after: str | None, chunk: list[str], archived: bool, limit: int) -> bytes:
        params: dict[str, str] = {"limit": str(limit), "archived": "true" if archived else "false"}
        params["properties"] = ",".join(chunk) if chunk else "hs_object_id"
        if after is not None:
            params["after"] = after
        response = self._http.send("GET", self._path, params=params, allow=URI_TOO_LONG)
        if response.status_code == 414:
            raise UriTooLongError
        return response.content

    def _list_page(self, after: str | None, archived: bool, limit: int = LIST_PAGE) -> Page:
        """One list page; a 414 halves the property chunks (for every later page too) and retries."""
        while True:
            chunks = [["hs_object_id"]] if archived else self._chunks
            try:
                return self._list_page_once(after, archived, limit, chunks)
            except UriTooLongError:
                with self._chunk_lock:
                    if chunks is self._chunks:  # not re-chunked by another thread meanwhile
                        if self._max_chars <= MIN_PROPERTIES_CHARS or archived:
                            raise FatalSourceError(
                                f"HubSpot answered 414 URI Too Long to {self._path} even with "
                                f"{self._max_chars}-character property lists"
                            ) from None
                        self._max_chars //= 2
                        self._chunks = chunk_properties(self._layout.properties, self._max_chars)
                        log.warning(
                            "hubspot %s: URL too long, properties now in chunks of %d characters",
                            self._table.name,
                            self._max_chars,
                        )

    def _list_page_once(
        self, after: str | None, archived: bool, limit: int, chunks: list[list[str]]
    ) -> Page:
        extra_futures = [
            self._pool.submit(self._list_body, after, chunk, archived, limit)
            for chunk in chunks[1:]
        ]
        first = self._list_body(after, chunks[0], archived, limit)
        extra: list[bytes | Future[bytes]] = [f.result() for f in extra_futures]
        match = AFTER.search(first, max(first.rfind(b'"paging"'), 0))
        if match is not None:
            next_after: str | None = match.group(1).decode()
        elif b'"paging"' in first:
            paging = json.loads(first).get("paging") or {}
            value = (paging.get("next") or {}).get("after")
            next_after = None if value is None else str(value)
        else:
            next_after = None
        return Page(bodies=[first, *extra], next_pos=next_after)

    def _max_id(self) -> int | None:
        """The highest live id (a one-record search sorted by id, descending)."""
        body = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json={
                "filterGroups": [],
                "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
                "properties": ["hs_object_id"],
                "limit": 1,
            },
        ).json()
        results = body.get("results") or []
        try:
            return int(results[0]["id"]) if results else None
        except (KeyError, ValueError):
            return None

    def _partition_fetch(self, lo: int, hi: int | None) -> Callable[[str | None], Page]:
        def fetch(after: str | None) -> Page:
            page = self._list_page(after, False)
            page.lo, page.hi = lo, hi
            if page.next_pos is not None and hi is not None and int(page.next_pos) >= hi:
                page.next_pos = None  # the rest belongs to the next partition
            return page

        return fetch

    def _full_pages(self, run: RunState) -> Iterator[Page]:
        """The live list, split into id ranges read concurrently when the cursor is an id.

        HubSpot's list cursor is, in practice, the next record id. When the first page confirms
        that (the cursor is the last id or the one after it), the id range up to the highest id
        is split into ``list_partitions`` ranges; each range is paged on its own, starting at
        ``lo - 1`` and keeping only ids in ``[lo, hi)``, so it is exact whether ``after`` means
        "from" or "after". Anything else is read as one chain.
        """
        if run.partitions is None and run.after is None and self._opts.list_partitions > 1:
            first = self._list_page(None, False)
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
            if (
                top is None
                or last is None
                or top - last < self._opts.list_partitions * 2 * LIST_PAGE
            ):
                return walk_chains(
                    self._table.name,
                    self._opts.queue_pages,
                    [(lambda after: self._list_page(after, False), None, first, False)],
                )
            count = self._opts.list_partitions
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
            self._table.name,
            self._opts.queue_pages,
            lambda after: self._list_page(after, False),
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
        return walk_chains(self._table.name, self._opts.queue_pages, tagged)

    # ------------------------------------------------------------------ emitting

    def associations(self, ids: list[str]) -> dict[str, dict[str, list[str]]]:
        targets = self._layout.associations
        if not ids or not targets:
            return {}
        futures = {
            t: self._pool.submit(
                fetch_associations,
                self._http,
                self._table.object_type,
                t,
                ids,
                self._opts.association_kind,
            )
            for t in targets
        }
        return {t: f.result() for t, f in futures.items()}

    def _checkpoint(self, final: bool = False) -> CheckpointEvent:
        return CheckpointEvent(self._table.name, self._state.to_json(), final)

    def _progress(self, run: RunState) -> ProgressEvent:
        return ProgressEvent(
            table=self._table.name,
            strategy=run.strategy,
            reason=run.reason,
            phase=run.phase,
            records=run.records,
            pages=run.pages,
            requests=self._http.stats["requests"] - self._requests_at_start,
            expected_total=run.expected_total,
        )

    def _emit_group(
        self, run: RunState, group: list[tuple[Page, list[dict[str, Any]]]], deleted: bool
    ) -> Iterator[ReadEvent]:
        everything = [r for _, records in group for r in records]
        assoc = {} if deleted else self.associations([str(r["id"]) for r in everything])
        # one conversion for the group (Arrow casts have a fixed cost), then a slice per page
        whole = build_batch(self._layout, everything, associations=assoc, deleted=deleted)
        offset = 0
        for page, records in group:
            if records:
                yield BatchEvent(self._table.name, whole.slice(offset, len(records)), deleted)
                offset += len(records)
            run.pages += 1
            if deleted:
                run.deleted += len(records)
            else:
                run.records += len(records)
            if page.part is not None and run.partitions is not None:
                part = run.partitions[page.part]
                if page.next_pos is None:
                    part["done"] = True
                else:
                    part["after"] = page.next_pos
                if all(p["done"] for p in run.partitions):
                    run.phase, run.after = DONE, None
            elif page.next_pos is None:  # the phase ends with this page
                run.phase = LIVE if run.phase == ARCHIVED else DONE
                run.after = None
            elif run.strategy == INCREMENTAL and run.phase == LIVE:
                run.floor = page.next_pos
            else:
                run.after = page.next_pos
            yield self._checkpoint()
        yield self._progress(run)

    def _phase(
        self,
        run: RunState,
        pages: Iterator[Page],
        deleted: bool,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Iterator[ReadEvent]:
        per_page = SEARCH_PAGE if run.strategy == INCREMENTAL and not deleted else LIST_PAGE
        grouped = 0
        group: list[tuple[Page, list[dict[str, Any]]]] = []
        for page in pages:
            records = page.materialize()
            if keep is not None:
                records = [r for r in records if keep(r)]
            group.append((page, records))
            grouped += len(records)
            if (
                grouped + per_page > ASSOCIATION_BATCH
                or len(group) * LIST_PAGE >= ASSOCIATION_BATCH
            ):
                yield from self._emit_group(run, group, deleted)
                group, grouped = [], 0
        if group:
            yield from self._emit_group(run, group, deleted)

    # ------------------------------------------------------------------ the read

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        first: Page | None = None
        if st.run is None:
            st.run, first = self._plan()
            log.info("hubspot %s: %s (%s)", self._table.name, st.run.strategy, st.run.reason)
        run = st.run
        yield self._progress(run)
        # Deletions first: a few calls, made while the budget is fresh, instead of a sequential
        # tail that would wait for the next rate window after the live pages used it up.
        since = run.archived_since_ms if run.strategy == INCREMENTAL else None
        until = run.window_end_ms

        def archived_since(record: dict[str, Any]) -> bool:
            """Full reads report every archived record; incremental ones those archived since."""
            if since is None:
                return True
            at = parse_datetime_ms(record.get("archivedAt") or record.get("updatedAt"))
            return at is None or (since <= at and (until is None or at < until))

        if run.phase == ARCHIVED:
            archived = walk(
                self._table.name,
                self._opts.queue_pages,
                lambda after: self._list_page(after, True),
                run.after,
                None,
                False,
            )
            yield from self._phase(run, archived, deleted=True, keep=archived_since)
        if run.phase == LIVE:
            if run.strategy == INCREMENTAL:
                pages = walk(
                    self._table.name,
                    self._opts.queue_pages,
                    lambda floor: self._search_page(run, floor or "0"),
                    run.floor,
                    first,
                    True,
                )
            else:
                pages = self._full_pages(run)
            yield from self._phase(run, pages, deleted=False)
        if run.archived_pass:
            st.archived_through_ms = until
        if run.strategy == FULL:
            st.table_size = run.records
        # never past the start of the sync: the end of the window that was read
        end = run.window_end_ms if run.window_end_ms is not None else run.sync_start_ms
        if run.strategy == INCREMENTAL and st.cursor_ms is not None:
            end = max(end, st.cursor_ms)  # an empty window never moves the cursor back
        st.cursor_ms = end
        st.run = None
        yield self._checkpoint(final=True)
        yield ProgressEvent(
            table=self._table.name,
            strategy=run.strategy,
            reason=run.reason,
            phase="done",
            records=run.records,
            pages=run.pages,
            requests=self._http.stats["requests"] - self._requests_at_start,
            expected_total=run.expected_total,
        )

    # ------------------------------------------------------------------ preview

    def preview(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` live records with their associations (one list page)."""
        page = self._list_page(None, False, limit=max(1, min(limit, LIST_PAGE)))
        return page.materialize()[:limit]


def now_ms() -> int:
    return int(time.time() * 1000)


def require_records(body: Any, where: str) -> list[dict[str, Any]]:
    """``results`` of a HubSpot collection response, or a clear error when the shape is wrong."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise FatalSourceError(f"HubSpot answered {where} without a results list")
    return results
