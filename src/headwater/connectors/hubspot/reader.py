"""Reading one HubSpot CRM table: full list, incremental search, archived pass, checkpoints.

A read is a two-stage pipeline. A fetch thread walks the page cursor (list ``after`` or the search
id floor) and queues raw pages, at most ``queue_pages`` ahead; property chunks of a page are
fetched in parallel on the shared pool. The consuming generator parses pages, reads their
associations in groups of up to 1,000 ids (v4 batch read, one call per association type, in
parallel), converts them to Arrow and yields, per page, a batch and then the checkpoint that
resumes after it. Memory is bounded by the queue, whatever the portal size.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from headwater.connectors.events import (
    BatchEvent,
    CheckpointEvent,
    KnownRows,
    ProgressEvent,
    ReadEvent,
)
from headwater.connectors.hubspot.convert import build_batch, parse_datetime_ms
from headwater.connectors.hubspot.fetch import TablePages
from headwater.connectors.hubspot.http import HubSpotHttp
from headwater.connectors.hubspot.paging import (
    ASSOCIATION_BATCH,
    MAX_PROPERTIES_CHARS,
    Page,
    chunk_properties,
    fetch_associations,
    inline_associations,
    walk,
)
from headwater.connectors.hubspot.planner import (
    LIST_PAGE,
    SEARCH_PAGE,
    Cadence,
    cadence,
    choose_strategy,
)
from headwater.connectors.hubspot.refresh import (
    MERGED_PROPERTY,
    batch_read,
    changed_associations,
    merged_ids,
    stored_versions,
)
from headwater.connectors.hubspot.schema import TableLayout
from headwater.connectors.hubspot.state import (
    ARCHIVED,
    ASSOCIATIONS,
    DONE,
    FULL,
    INCREMENTAL,
    LIVE,
    RunState,
    StreamState,
    next_cursor,
    search_window,
)
from headwater.connectors.ratelimit import RequestKind
from headwater.errors import MalformedSourceResponseError

__all__ = ["ReadOptions", "TableReader", "chunk_properties", "fetch_associations"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadOptions:
    """Tunables of a read; the defaults follow HubSpot's documented limits."""

    #: Windows end when the sync starts and begin this long before the saved cursor: HubSpot
    #: indexes search asynchronously (usually within seconds), so a change it had not indexed
    #: when the last window was read is read now; re-reading the overlap is harmless (the lake
    #: merges on the key) and costs the records changed in it.
    lookback_ms: int = 5 * 60 * 1000
    #: how often an incremental run lists archived records to find deletions; ``None`` decides
    #: from what the list cost last time (a few pages: every run; see ``planner.cadence``),
    #: ``0`` means every run. Full reads always list them.
    deletes_every_ms: int | None = None
    #: how often an incremental run compares the dataset's association lists with HubSpot's
    #: (HubSpot does not move the modification date when only an association changes);
    #: ``None`` decides from the cost, ``0`` means every run. Needs the dataset's rows.
    associations_every_ms: int | None = None
    #: concurrent id ranges of a full list read (see ``TableReader._full_pages``)
    list_partitions: int = 3
    queue_pages: int = 16
    #: HubSpot's spec exempts association batch reads from the 10 s window
    #: (``x-hubspot-rate-limit-exemptions: ["ten-secondly"]``); ``BURST`` counts them anyway
    association_kind: RequestKind = RequestKind.EXEMPT
    #: ask list pages for their associations inline (``associations=``), so a full read needs
    #: no association calls except for records with more than HubSpot's 100 per type
    inline_associations: bool = True
    max_properties_chars: int = MAX_PROPERTIES_CHARS

    def overridden(self, flow: Mapping[str, int]) -> ReadOptions:
        """These options with a flow's own (``lookbackSeconds``, ``deletesEverySeconds``,
        ``associationsEverySeconds``, in seconds) taking precedence."""

        def ms(key: str, default: int | None) -> int | None:
            return int(flow[key]) * 1000 if key in flow else default

        return replace(
            self,
            lookback_ms=ms("lookbackSeconds", self.lookback_ms) or 0,
            deletes_every_ms=ms("deletesEverySeconds", self.deletes_every_ms),
            associations_every_ms=ms("associationsEverySeconds", self.associations_every_ms),
        )


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
        known: KnownRows | None = None,
        merges: bool = False,
    ) -> None:
        self._http = http
        self._pool = pool
        self._layout = layout
        self._table = layout.table
        self._state = state
        self._mode = mode
        self._opts = options
        self._now_ms = now_ms
        self._known = known
        # merged-away ids arrive in the winner's hs_merged_object_ids, wanted or not as a column
        extra = (MERGED_PROPERTY,) if merges and MERGED_PROPERTY not in layout.properties else ()
        self._merges = merges
        self._properties = (*layout.properties, *extra)
        self._fetch = TablePages(
            http=http,
            pool=pool,
            layout=layout,
            properties=self._properties,
            max_chars=options.max_properties_chars,
            list_partitions=options.list_partitions,
            queue_pages=options.queue_pages,
            inline_associations=layout.associations if options.inline_associations else (),
        )
        self._requests_at_start = http.stats["requests"]

    # ------------------------------------------------------------------ planning

    def _deletes(self, now: int) -> Cadence:
        count = self._state.archived_count
        pages = None if count is None else max(1, math.ceil(count / LIST_PAGE))
        return cadence(
            what="deletes",
            requests=pages,
            last_ms=self._state.archived_through_ms,
            now_ms=now,
            every_ms=self._opts.deletes_every_ms,
        )

    def _associations_cadence(self, now: int) -> Cadence | None:
        """``None`` when there is nothing to compare (no associations or no dataset yet)."""
        targets = self._layout.associations
        if not targets or self._known is None:
            return None
        size = self._state.table_size
        requests = None if size is None else max(1, math.ceil(size / ASSOCIATION_BATCH))
        return cadence(
            what="associations",
            requests=None if requests is None else requests * len(targets),
            last_ms=self._state.associations_checked_ms,
            now_ms=now,
            every_ms=self._opts.associations_every_ms,
        )

    def _plan(self) -> tuple[RunState, Page | None]:
        """A new run: the strategy, why, and the first search page when search was probed."""
        now = self._now_ms()
        end = now
        st = self._state

        def full(reason: str) -> RunState:
            return RunState(
                strategy=FULL,
                reason=reason,
                sync_start_ms=now,
                window_end_ms=end,
                phase=ARCHIVED,
                deletes_note="deletes: every full read",
                associations_note="associations: read with every record (full read)",
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
        if st.cursor_ms is not None and now < st.cursor_ms - self._opts.lookback_ms:
            # HubSpot's clock went back past the cursor: changes from now on would carry
            # timestamps the window skips; only a full read is sure to see them
            return full("HubSpot's clock is behind the saved cursor: full read"), None
        deletes = self._deletes(now)
        assoc = self._associations_cadence(now)
        checked = st.archived_through_ms
        window_start, end = search_window(st.cursor_ms, self._opts.lookback_ms, now)
        run = RunState(
            strategy=INCREMENTAL,
            reason="incremental requested",
            sync_start_ms=now,
            window_start_ms=window_start,
            window_end_ms=end,
            archived_pass=deletes.due,
            archived_since_ms=checked if checked is not None else st.cursor_ms or 0,
            phase=ARCHIVED if deletes.due else LIVE,
            deletes_note=deletes.reason,
            associations_pass=assoc is not None and assoc.due,
            associations_note=(
                assoc.reason
                if assoc is not None
                else "associations: nothing to compare (no dataset rows or no associations)"
            ),
        )
        probe = self._fetch.search_page(run, "0")
        changed = int(probe.total or 0)
        run.expected_total = changed
        if self._mode == INCREMENTAL:
            return run, probe
        if changed <= SEARCH_PAGE:
            run.reason = f"search is cheaper: {changed} records changed (one search page)"
            return run, probe
        size = st.table_size if st.table_size is not None else self._fetch.count_all()
        limiter = self._http.limiter
        choice = choose_strategy(
            changed=changed,
            table_size=size or changed,
            list_chunks=len(self._fetch.chunks),
            burst_rate=limiter.rate(RequestKind.BURST),
            search_rate=limiter.rate(RequestKind.SEARCH),
        )
        if choice.strategy == FULL:
            return full(choice.reason), None
        run.reason = choice.reason
        return run, probe

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

    def page_associations(
        self, records: list[dict[str, Any]], inline: bool
    ) -> dict[str, dict[str, list[str]]]:
        """Associations of records from list pages (``inline``: read from the records) or from
        search pages (v4 batch reads)."""
        if not inline or not self._fetch.inline:
            return self.associations([str(r["id"]) for r in records])
        return inline_associations(
            self._http,
            self._table.object_type,
            self._fetch.inline,
            records,
            self._opts.association_kind,
        )

    def _checkpoint(self, final: bool = False) -> CheckpointEvent:
        return CheckpointEvent(self._table.name, self._state.to_json(), final)

    def _progress(self, run: RunState, *, done: bool = False) -> ProgressEvent:
        st = self._state
        return ProgressEvent(
            table=self._table.name,
            strategy=run.strategy,
            reason=run.reason,
            phase="done" if done else run.phase,
            records=run.records,
            pages=run.pages,
            requests=self._http.stats["requests"] - self._requests_at_start,
            expected_total=run.expected_total,
            deletes_checked_ms=st.archived_through_ms,
            deletes=run.deletes_note,
            associations_checked_ms=st.associations_checked_ms,
            associations=run.associations_note,
            association_requests=run.association_requests,
            association_changes=run.association_changes,
            merged=run.merged,
            unchanged=run.unchanged,
            complete=done and run.strategy == FULL,
        )

    def _emit_group(
        self,
        run: RunState,
        group: list[tuple[Page, list[dict[str, Any]]]],
        deleted: bool,
        inline: bool,
    ) -> Iterator[ReadEvent]:
        everything = [r for _, records in group for r in records]
        assoc = {} if deleted else self.page_associations(everything, inline)
        merged = merged_ids(everything) if self._merges and not deleted else []
        if merged:
            # reported before the checkpoints of the pages that carried them
            gone = build_batch(self._layout, [{"id": m} for m in merged], deleted=True)
            yield BatchEvent(self._table.name, gone, True)
            run.merged += len(merged)
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
                if run.phase == ARCHIVED:
                    run.phase = LIVE
                else:
                    run.phase = ASSOCIATIONS if run.associations_pass else DONE
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
        inline: bool = False,
    ) -> Iterator[ReadEvent]:
        per_page = SEARCH_PAGE if run.strategy == INCREMENTAL and not deleted else LIST_PAGE
        grouped = 0
        group: list[tuple[Page, list[dict[str, Any]]]] = []
        for page in pages:
            records = page.materialize()
            if deleted:
                run.archived_listed += len(records)
            if keep is not None:
                records = [r for r in records if keep(r)]
            group.append((page, records))
            grouped += len(records)
            if (
                grouped + per_page > ASSOCIATION_BATCH
                or len(group) * LIST_PAGE >= ASSOCIATION_BATCH
            ):
                yield from self._emit_group(run, group, deleted, inline)
                group, grouped = [], 0
        if group:
            yield from self._emit_group(run, group, deleted, inline)

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
                lambda after: self._fetch.list_page(after, True),
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
                    lambda floor: self._fetch.search_page(run, floor or "0"),
                    run.floor,
                    first,
                    True,
                )
            else:
                pages = self._fetch.full_pages(run)
            inline = run.strategy != INCREMENTAL
            keep = self._changed_since_stored(run) if run.strategy == INCREMENTAL else None
            yield from self._phase(run, pages, deleted=False, keep=keep, inline=inline)
        if run.phase == ASSOCIATIONS:
            yield from self._refresh_associations(run)
        if run.archived_pass:
            st.archived_through_ms = until
            st.archived_count = run.archived_listed
        if run.strategy == FULL:
            st.table_size = run.records
            st.associations_checked_ms = run.sync_start_ms
        # never past the start of the sync: the end of the window that was read
        end = run.window_end_ms if run.window_end_ms is not None else run.sync_start_ms
        st.cursor_ms = next_cursor(st.cursor_ms, end, incremental=run.strategy == INCREMENTAL)
        st.run = None
        yield self._checkpoint(final=True)
        yield self._progress(run, done=True)

    def _changed_since_stored(self, run: RunState) -> Callable[[dict[str, Any]], bool] | None:
        """For the search hits of an incremental read: False for a record the dataset already
        holds at the same modification time, so its associations are not read again.

        Only the lookback overlap (modified before the previous window ended) can hold such
        records; they were written by an earlier run, with their association lists then.
        Association-only changes since are the association comparison's (its own cadence), as
        for every other record. The dataset's versions are read once, on the first overlap hit,
        and only for rows modified since the window start."""
        cursor = self._state.cursor_ms
        since = run.window_start_ms
        if self._known is None or cursor is None or since is None or since >= cursor:
            return None
        known = self._known
        versions: dict[str, int] | None = None
        loaded = False

        def keep(record: dict[str, Any]) -> bool:
            nonlocal versions, loaded
            at = parse_datetime_ms(record.get("updatedAt"))
            if at is None or at >= cursor:
                return True  # changed after the previous window: new to the dataset
            if not loaded:
                versions, loaded = stored_versions(known, since), True
            if versions is None or versions.get(str(record.get("id"))) != at:
                return True
            run.unchanged += 1
            return False

        return keep

    def _refresh_associations(self, run: RunState) -> Iterator[ReadEvent]:
        """Re-read the known records whose association lists changed in HubSpot (a resumed
        read repeats the whole comparison: re-reading a record twice is harmless)."""
        assert self._known is not None
        before = self._http.stats["requests"]
        for diff in changed_associations(self._known, self._layout, self.associations):
            records = batch_read(self._http, self._table.object_type, diff.ids, self._properties)
            if records:
                batch = build_batch(self._layout, records, associations=diff.current)
                yield BatchEvent(self._table.name, batch)
                run.records += len(records)
                run.association_changes += len(records)
            run.association_requests = self._http.stats["requests"] - before
            yield self._checkpoint()
        run.association_requests = self._http.stats["requests"] - before
        run.phase = DONE
        self._state.associations_checked_ms = run.sync_start_ms
        yield self._progress(run)

    # ------------------------------------------------------------------ preview

    def preview(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` live records with their associations (one list page)."""
        page = self._fetch.list_page(None, False, limit=max(1, min(limit, LIST_PAGE)))
        return page.materialize()[:limit]


def now_ms() -> int:
    return int(time.time() * 1000)


def require_records(body: Any, where: str) -> list[dict[str, Any]]:
    """``results`` of a HubSpot collection response, or a clear error when the shape is wrong."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise MalformedSourceResponseError(
            f"HubSpot answered {where} without a results list of objects"
        )
    return results
