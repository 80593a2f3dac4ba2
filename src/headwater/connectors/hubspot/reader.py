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
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.hubspot.convert import build_batch, parse_datetime_ms
from headwater.connectors.hubspot.http import HubSpotHttp
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
from headwater.errors import FatalSourceError, PaginationLoopError

__all__ = ["ReadOptions", "TableReader", "chunk_properties", "fetch_associations"]

log = logging.getLogger(__name__)

#: Airbyte's empirical bound for the URL-encoded ``properties`` value (the URL limit is ~16,300).
MAX_PROPERTIES_CHARS = 15_000
ASSOCIATION_BATCH = 1_000
_AFTER = re.compile(rb'"paging"\s*:\s*\{\s*"next"\s*:\s*\{[^{}]*?"after"\s*:\s*"([^"\\]*)"')
_END = object()
EMPTY_PAGE_RETRIES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadOptions:
    """Tunables of a read; the defaults follow HubSpot's documented limits."""

    #: HubSpot indexes search asynchronously: windows end this long before the sync started, so
    #: every record modified inside a window is searchable when the window is read.
    search_lag_ms: int = 5 * 60 * 1000
    #: how often an incremental run lists archived records to report deletions (full reads
    #: always do); listing them costs one call per 100 archived records, however few changed
    archived_every_ms: int = 60 * 60 * 1000
    queue_pages: int = 16
    association_kind: RequestKind = RequestKind.EXEMPT  # v4 batch read is exempt from 10 s
    max_properties_chars: int = MAX_PROPERTIES_CHARS


def chunk_properties(
    names: Sequence[str], max_chars: int = MAX_PROPERTIES_CHARS
) -> list[list[str]]:
    """Split property names so each comma-joined, URL-encoded chunk stays within ``max_chars``."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for name in names:
        cost = len(quote(name, safe="")) + (3 if current else 0)  # "%2C" between names
        if current and size + cost > max_chars:
            chunks.append(current)
            current, size = [], 0
            cost = len(quote(name, safe=""))
        current.append(name)
        size += cost
    if current or not chunks:
        chunks.append(current)
    return chunks


def fetch_associations(
    http: HubSpotHttp, from_type: str, to_type: str, ids: Sequence[str], kind: RequestKind
) -> dict[str, list[str]]:
    """``from id → associated ids`` through ``POST /crm/v4/associations/.../batch/read``."""
    found: dict[str, list[str]] = {}
    pending: list[dict[str, str]] = [{"id": i} for i in ids]
    path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
    while pending:
        batch, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
        body = http.send("POST", path, kind=kind, json={"inputs": batch}).json()
        for result in body.get("results") or []:
            source = str((result.get("from") or {}).get("id"))
            targets = found.setdefault(source, [])
            for to in result.get("to") or []:
                target = str(to.get("toObjectId"))
                if target not in targets:
                    targets.append(target)
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                pending.append({"id": source, "after": str(after)})
    return found


@dataclass(slots=True)
class _Page:
    """One fetched page: the position it was fetched at and what resumes after it."""

    bodies: list[bytes | Future[bytes]] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None
    next_pos: str | None = None
    total: int | None = None

    def materialize(self) -> list[dict[str, Any]]:
        if self.records is not None:
            return self.records
        parsed = [json.loads(b if isinstance(b, bytes) else b.result()) for b in self.bodies]
        records: list[dict[str, Any]] = parsed[0].get("results") or []
        if len(parsed) > 1:
            by_id = {r["id"]: r for r in records}
            for extra in parsed[1:]:
                for r in extra.get("results") or []:
                    base = by_id.get(r["id"])
                    if base is not None:
                        base.setdefault("properties", {}).update(r.get("properties") or {})
        self.records = records
        self.bodies = []
        return records


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
        self._chunks = chunk_properties(layout.properties, options.max_properties_chars)
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

    def _search_page(self, run: RunState, floor: str) -> _Page:
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
        return _Page(records=records, next_pos=next_floor, total=body.get("total"))

    def _count_all(self) -> int | None:
        response = self._http.send(
            "POST",
            f"{self._path}/search",
            kind=RequestKind.SEARCH,
            json={"filterGroups": [], "properties": ["hs_object_id"], "limit": 1},
        )
        total = response.json().get("total")
        return int(total) if isinstance(total, int) else None

    def _plan(self) -> tuple[RunState, _Page | None]:
        """A new run: the strategy, why, and the first search page when search was probed."""
        now = self._now_ms()
        end = now - self._opts.search_lag_ms
        st = self._state

        def full(reason: str) -> RunState:
            return RunState(strategy=FULL, reason=reason, sync_start_ms=now, window_end_ms=end)

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
            window_start_ms=st.cursor_ms or 0,
            window_end_ms=end,
            archived_pass=due,
            archived_since_ms=checked if checked is not None else st.cursor_ms or 0,
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
        return self._http.send("GET", self._path, params=params).content

    def _list_page(self, after: str | None, archived: bool, limit: int = LIST_PAGE) -> _Page:
        chunks = [["hs_object_id"]] if archived else self._chunks
        extra: list[bytes | Future[bytes]] = [
            self._pool.submit(self._list_body, after, chunk, archived, limit)
            for chunk in chunks[1:]
        ]
        first = self._list_body(after, chunks[0], archived, limit)
        match = _AFTER.search(first, max(first.rfind(b'"paging"'), 0))
        if match is not None:
            next_after: str | None = match.group(1).decode()
        elif b'"paging"' in first:
            paging = json.loads(first).get("paging") or {}
            value = (paging.get("next") or {}).get("after")
            next_after = None if value is None else str(value)
        else:
            next_after = None
        return _Page(bodies=[first, *extra], next_pos=next_after)

    def _produce(
        self,
        fetch: Callable[[str | None], _Page],
        start: str | None,
        first: _Page | None,
        out: queue.Queue[object],
        stop: threading.Event,
        numeric: bool,
    ) -> None:
        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        pos = start
        seen: set[str] = set()
        empty_retries = EMPTY_PAGE_RETRIES
        try:
            while not stop.is_set():
                page = first if first is not None else fetch(pos)
                first = None
                nxt = page.next_pos
                if nxt is not None and nxt == pos and empty_retries > 0 and not page.materialize():
                    # an empty page that points back at itself: a hiccup, ask again
                    empty_retries -= 1
                    continue
                empty_retries = EMPTY_PAGE_RETRIES
                if not put(page):
                    return
                if nxt is None:
                    break
                if (
                    nxt == pos
                    or nxt in seen
                    or (numeric and pos is not None and int(nxt) <= int(pos))
                ):
                    raise PaginationLoopError(
                        f"HubSpot repeated the page cursor {nxt!r} of {self._table.name}"
                    )
                if not numeric:
                    seen.add(nxt)
                pos = nxt
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(exc)

    def _pages(
        self,
        fetch: Callable[[str | None], _Page],
        start: str | None,
        first: _Page | None,
        numeric: bool,
    ) -> Iterator[_Page]:
        out: queue.Queue[object] = queue.Queue(maxsize=self._opts.queue_pages)
        stop = threading.Event()
        worker = threading.Thread(
            target=self._produce,
            args=(fetch, start, first, out, stop, numeric),
            name=f"hubspot-pages-{self._table.name}",
            daemon=True,
        )
        worker.start()
        try:
            while True:
                item = out.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, _Page)
                yield item
        finally:
            stop.set()
            worker.join(timeout=0.5)

    # ------------------------------------------------------------------ emitting

    def _associations(self, ids: list[str]) -> dict[str, dict[str, list[str]]]:
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
        self, run: RunState, group: list[tuple[_Page, list[dict[str, Any]]]], deleted: bool
    ) -> Iterator[ReadEvent]:
        ids = [str(r["id"]) for _, records in group for r in records]
        assoc = {} if deleted else self._associations(ids)
        for page, records in group:
            if records:
                batch = build_batch(self._layout, records, associations=assoc, deleted=deleted)
                yield BatchEvent(self._table.name, batch, deleted)
            run.pages += 1
            if deleted:
                run.deleted += len(records)
            else:
                run.records += len(records)
            if page.next_pos is None:  # the phase ends with this page
                run.phase = ARCHIVED if run.phase == LIVE else DONE
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
        pages: Iterator[_Page],
        deleted: bool,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Iterator[ReadEvent]:
        per_page = SEARCH_PAGE if run.strategy == INCREMENTAL and not deleted else LIST_PAGE
        grouped = 0
        group: list[tuple[_Page, list[dict[str, Any]]]] = []
        for page in pages:
            records = page.materialize()
            if keep is not None:
                records = [r for r in records if keep(r)]
            group.append((page, records))
            grouped += len(records)
            if deleted or not self._layout.associations or grouped + per_page > ASSOCIATION_BATCH:
                yield from self._emit_group(run, group, deleted)
                group, grouped = [], 0
        if group:
            yield from self._emit_group(run, group, deleted)

    # ------------------------------------------------------------------ the read

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        first: _Page | None = None
        if st.run is None:
            st.run, first = self._plan()
            log.info("hubspot %s: %s (%s)", self._table.name, st.run.strategy, st.run.reason)
        run = st.run
        yield self._progress(run)
        if run.phase == LIVE:
            if run.strategy == INCREMENTAL:
                pages = self._pages(
                    lambda floor: self._search_page(run, floor or "0"), run.floor, first, True
                )
            else:
                pages = self._pages(
                    lambda after: self._list_page(after, False), run.after, None, False
                )
            yield from self._phase(run, pages, deleted=False)
        since = run.archived_since_ms if run.strategy == INCREMENTAL else None
        until = run.window_end_ms

        def archived_since(record: dict[str, Any]) -> bool:
            """Full reads report every archived record; incremental ones those archived since."""
            if since is None:
                return True
            at = parse_datetime_ms(record.get("archivedAt") or record.get("updatedAt"))
            return at is None or (since <= at and (until is None or at < until))

        if run.phase == ARCHIVED and run.archived_pass:
            archived = self._pages(
                lambda after: self._list_page(after, True), run.after, None, False
            )
            yield from self._phase(run, archived, deleted=True, keep=archived_since)
        if run.archived_pass:
            st.archived_through_ms = until
        if run.strategy == FULL:
            st.table_size = run.records
        # never past the start of the sync: the end of the window that was read
        st.cursor_ms = run.window_end_ms if run.window_end_ms is not None else run.sync_start_ms
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
