"""Association join tables: one row per (from record, to record, association type).

HubSpot has no modification time for associations (v4 answers carry none, and associating two
records does not move either record's ``hs_lastmodifieddate``), so every read is full: the live
ids of the *from* object are listed (``GET /crm/v3/objects/{from}?properties=hs_object_id``, 100
per page) and their associations read with ``POST /crm/v4/associations/{from}/{to}/batch/read``,
1,000 ids per call (a record with more than 500 associations pages on with its ``after``). Each
association type of a pair is a row with its ``typeId``, ``category`` and ``label`` (``null`` for
the unlabeled type). The read ends ``complete``: an association missing from it is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.hubspot.convert import build_batch
from headwater.connectors.hubspot.http import HubSpotHttp, json_body
from headwater.connectors.hubspot.paging import ASSOCIATION_BATCH
from headwater.connectors.hubspot.schema import Column, ColumnKind, Origin, TableLayout
from headwater.connectors.hubspot.state import FULL, RunState, StreamState, progress
from headwater.connectors.hubspot.tables import TableDef
from headwater.connectors.ratelimit import RequestKind
from headwater.errors import PaginationLoopError

__all__ = ["AssociationReader", "association_layout", "association_rows"]

_COLUMNS = (
    Column("From_Id", "fromId", Origin.FIELD, ColumnKind.STRING, "id of the from record"),
    Column("To_Id", "toId", Origin.FIELD, ColumnKind.STRING, "id of the associated record"),
    Column("Type_Id", "typeId", Origin.FIELD, ColumnKind.LONG, "association type id"),
    Column("Category", "category", Origin.FIELD, ColumnKind.STRING, "HUBSPOT_DEFINED, ..."),
    Column("Label", "label", Origin.FIELD, ColumnKind.STRING, "null for the unlabeled type"),
    Column("Is_Deleted", "", Origin.DELETED, ColumnKind.BOOLEAN),
)
KEY = ("From_Id", "To_Id", "Type_Id")
REASON = "HubSpot has no modification time for associations: full read"


def association_layout(table: TableDef) -> TableLayout:
    return TableLayout(table, _COLUMNS, key=KEY)


def association_rows(
    http: HubSpotHttp, from_type: str, to_type: str, ids: Sequence[str], kind: RequestKind
) -> list[dict[str, Any]]:
    """One row per association type of ``ids`` (v4 batch read, paged per from record)."""
    rows: list[dict[str, Any]] = []
    pending: list[dict[str, str]] = [{"id": i} for i in ids]
    path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
    while pending:
        batch, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
        body = json_body(http.send("POST", path, kind=kind, json={"inputs": batch}))
        for result in body.get("results") or []:
            source = str((result.get("from") or {}).get("id"))
            for to in result.get("to") or []:
                for spec in to.get("associationTypes") or []:
                    rows.append(
                        {
                            "fromId": source,
                            "toId": str(to.get("toObjectId")),
                            "typeId": spec.get("typeId"),
                            "category": spec.get("category"),
                            "label": spec.get("label"),
                        }
                    )
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                pending.append({"id": source, "after": str(after)})
    return rows


class AssociationReader:
    """Reads one association table; construct per ``read`` call."""

    def __init__(
        self,
        *,
        http: HubSpotHttp,
        layout: TableLayout,
        state: StreamState,
        now_ms: Callable[[], int],
        kind: RequestKind = RequestKind.BURST,
    ) -> None:
        self._http = http
        self._layout = layout
        self._table = layout.table
        self._state = state
        self._now_ms = now_ms
        self._kind = kind
        self._start = http.stats["requests"]

    def _ids(self, after: str | None) -> tuple[list[str], str | None]:
        params = {"limit": "100", "archived": "false", "properties": "hs_object_id"}
        if after is not None:
            params["after"] = after
        path = f"/crm/v3/objects/{self._table.object_type}"
        body = json_body(self._http.send("GET", path, params=params))
        ids = [str(r["id"]) for r in body.get("results") or []]
        nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
        return ids, None if nxt is None else str(nxt)

    def _progress(self, run: RunState, phase: str) -> ProgressEvent:
        requests = self._http.stats["requests"] - self._start
        return progress(self._table.name, run, phase, requests, complete=phase == "done")

    def preview(self, limit: int) -> list[dict[str, Any]]:
        ids, _ = self._ids(None)
        rows = association_rows(
            self._http, self._table.object_type, self._table.associations[0], ids, self._kind
        )
        return rows[:limit]

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        if st.run is None:
            st.run = RunState(strategy=FULL, reason=REASON, sync_start_ms=self._now_ms())
        run = st.run
        yield self._progress(run, "live")
        target = self._table.associations[0]
        seen: set[str] = set()
        while True:
            ids: list[str] = []
            nxt = run.after
            while len(ids) < ASSOCIATION_BATCH:
                page, after = self._ids(nxt)
                ids += page
                run.pages += 1
                if after is not None and (after == nxt or after in seen):
                    raise PaginationLoopError(
                        f"HubSpot repeated the page cursor {after!r} of {self._table.name}"
                    )
                nxt = after
                if nxt is None:
                    break
                seen.add(nxt)
            rows = association_rows(self._http, self._table.object_type, target, ids, self._kind)
            if rows:
                yield BatchEvent(self._table.name, build_batch(self._layout, rows))
                run.records += len(rows)
            run.after = nxt
            if nxt is None:
                break
            yield CheckpointEvent(self._table.name, st.to_json())
            yield self._progress(run, "live")
        st.table_size = run.records
        st.cursor_ms = run.sync_start_ms
        st.run = None
        yield CheckpointEvent(self._table.name, st.to_json(), final=True)
        yield self._progress(run, "done")
