"""Tables without a server-side cursor: owners (paged), pipelines (one call) and the account
tables of ``simple_tables`` (stages, owners' teams, users, teams). Always full reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.hubspot.convert import build_batch
from headwater.connectors.hubspot.http import HubSpotHttp, json_body
from headwater.connectors.hubspot.reader import require_records
from headwater.connectors.hubspot.schema import TableLayout
from headwater.connectors.hubspot.simple_tables import SIMPLE_KINDS, paged, path_for, rows_from
from headwater.connectors.hubspot.state import ARCHIVED, FULL, LIVE, RunState, StreamState, progress
from headwater.connectors.hubspot.tables import TableKind
from headwater.errors import PaginationLoopError

__all__ = ["SimpleReader"]

NO_CURSOR = "HubSpot has no modification cursor for this table: full read"


class SimpleReader:
    def __init__(
        self,
        *,
        http: HubSpotHttp,
        layout: TableLayout,
        state: StreamState,
        now_ms: Callable[[], int],
    ) -> None:
        self._http = http
        self._layout = layout
        self._table = layout.table
        self._state = state
        self._now_ms = now_ms
        self._start_requests = http.stats["requests"]

    def _path(self) -> str:
        if self._table.kind in SIMPLE_KINDS:
            return path_for(self._table)
        if self._table.kind is TableKind.PIPELINES:
            return f"/crm/v3/pipelines/{self._table.object_type}"
        return "/crm/v3/owners"

    def page(
        self, after: str | None, archived: bool, limit: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, str] = {}
        kind = self._table.kind
        if kind is TableKind.OWNERS or kind is TableKind.OWNER_TEAMS:
            params = {"limit": str(limit), "archived": "true" if archived else "false"}
        elif kind is TableKind.USERS:
            params = {"limit": str(limit)}
        if after is not None and (kind is TableKind.OWNERS or paged(self._table)):
            params["after"] = after
        body = json_body(self._http.send("GET", self._path(), params=params))
        records = require_records(body, self._path())
        if kind in SIMPLE_KINDS:
            records = rows_from(self._table, records)
        nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
        return records, None if nxt is None else str(nxt)

    def _progress(self, run: RunState, phase: str) -> ProgressEvent:
        return progress(
            self._table.name, run, phase, self._http.stats["requests"] - self._start_requests
        )

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        if st.run is None:
            st.run = RunState(strategy=FULL, reason=NO_CURSOR, sync_start_ms=self._now_ms())
        run = st.run
        yield self._progress(run, run.phase)
        phases = [LIVE, ARCHIVED] if self._table.kind is TableKind.OWNERS else [LIVE]
        for phase in phases[phases.index(run.phase) if run.phase in phases else 0 :]:
            run.phase = phase
            deleted = phase == ARCHIVED
            seen: set[str] = set()
            while True:
                records, nxt = self.page(run.after, deleted)
                if records:
                    batch = build_batch(self._layout, records, deleted=deleted)
                    yield BatchEvent(self._table.name, batch, deleted)
                run.pages += 1
                if deleted:
                    run.deleted += len(records)
                else:
                    run.records += len(records)
                if nxt is not None and (nxt == run.after or nxt in seen):
                    raise PaginationLoopError(
                        f"HubSpot repeated the page cursor {nxt!r} of {self._table.name}"
                    )
                run.after = nxt
                if nxt is None:
                    break
                seen.add(nxt)
                yield CheckpointEvent(self._table.name, st.to_json())
            if phase != phases[-1]:
                run.phase, run.after = phases[phases.index(phase) + 1], None
                yield CheckpointEvent(self._table.name, st.to_json())
        st.table_size = run.records
        st.cursor_ms = run.sync_start_ms
        st.run = None
        yield CheckpointEvent(self._table.name, st.to_json(), final=True)
        yield self._progress(run, "done")
