"""Property history tables: one row per version of a property of a record.

A row is (``Object_Id``, ``Property``, ``Timestamp``, ``Value``, ``Source_Type``, ``Source_Id``)
plus ``Source_Label`` and ``Updated_By_User_Id``; the six first columns are the dataset key, so
re-reading a version never duplicates it (``Source_Id`` is ``""`` when HubSpot sends none, since
key columns cannot be null).

* **Full read** (first sync, ``mode="full"``): ``GET /crm/v3/objects/{type}`` with
  ``propertiesWithHistory`` at HubSpot's limit of 50 records per page. The property names are sent
  in chunks of at most 15,000 URL-encoded characters, one request per chunk for the same page.
* **Incremental read**: the records modified in the window (``POST .../search`` on the object's
  modification date, keyset paging on ``hs_object_id`` as for the object tables, 200 ids per
  page), then their history through ``POST .../batch/read`` (50 ids per call). Only versions
  stamped at or after the window start are emitted: a property change moves the record's
  modification date, so the new versions of every changed record are in the window.

The properties come from the object's definitions (all of them by default). A flow chooses some by
naming, in its columns, the object table's property columns (``Properties_Email_Value``) or the
property names themselves (``email``); the row columns it names are kept, the key always.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from headwater.connectors.events import BatchEvent, CheckpointEvent, ProgressEvent, ReadEvent
from headwater.connectors.hubspot.convert import build_batch, parse_datetime_ms
from headwater.connectors.hubspot.http import HubSpotHttp, json_body
from headwater.connectors.hubspot.paging import MAX_PROPERTIES_CHARS, chunk_properties
from headwater.connectors.hubspot.planner import SEARCH_PAGE
from headwater.connectors.hubspot.refresh import batch_read
from headwater.connectors.hubspot.schema import (
    Column,
    ColumnKind,
    Origin,
    PropertyDef,
    TableLayout,
    column_name,
)
from headwater.connectors.hubspot.state import (
    FULL,
    RunState,
    StreamState,
    close_window,
    plan_window,
    progress,
)
from headwater.connectors.hubspot.tables import TableDef
from headwater.connectors.ratelimit import RequestKind
from headwater.errors import PaginationLoopError

__all__ = [
    "HISTORY_PAGE",
    "HistoryReader",
    "WindowedReader",
    "history_layout",
    "history_rows",
    "search_id_page",
    "select_history",
]

#: HubSpot's page size with propertiesWithHistory (lists and batch reads alike)
HISTORY_PAGE = 50

_COLUMNS = (
    Column("Object_Id", "objectId", Origin.FIELD, ColumnKind.STRING, "the record's id"),
    Column("Property", "property", Origin.FIELD, ColumnKind.STRING, "the property's name"),
    Column("Timestamp", "timestamp", Origin.FIELD, ColumnKind.DATETIME, "when it was set"),
    Column("Value", "value", Origin.FIELD, ColumnKind.STRING, "the value it was set to"),
    Column("Source_Type", "sourceType", Origin.FIELD, ColumnKind.STRING, "CRM_UI, API, ..."),
    Column("Source_Id", "sourceId", Origin.FIELD, ColumnKind.STRING, '"" when none'),
    Column("Source_Label", "sourceLabel", Origin.FIELD, ColumnKind.STRING),
    Column("Updated_By_User_Id", "updatedByUserId", Origin.FIELD, ColumnKind.LONG),
    Column("Is_Deleted", "", Origin.DELETED, ColumnKind.BOOLEAN),
)
KEY = ("Object_Id", "Property", "Timestamp", "Value", "Source_Type", "Source_Id")


def history_layout(table: TableDef, props: Sequence[PropertyDef]) -> TableLayout:
    """Every row column; ``properties`` are all the object's property names."""
    return TableLayout(table, _COLUMNS, tuple(sorted(p.name for p in props)), key=KEY)


def select_history(
    layout: TableLayout, names: Sequence[str] | None, props: Sequence[PropertyDef]
) -> TableLayout:
    """``layout`` with the named row columns (the key always) and the named properties.

    ``KeyError`` names what is neither a row column nor a property of the object."""
    if not names:
        return layout
    by_column = {column_name("properties", p.name, "value"): p.name for p in props}
    known = {p.name for p in props}
    rows = {c.name for c in layout.columns}
    chosen: list[str] = []
    unknown: list[str] = []
    for name in names:
        if name in rows:
            continue
        prop = by_column.get(name) or (name if name in known else None)
        if prop is None:
            unknown.append(name)
        elif prop not in chosen:
            chosen.append(prop)
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    keep = tuple(
        c
        for c in layout.columns
        if c.name in names or c.name in layout.key or c.origin is Origin.DELETED
    )
    return TableLayout(layout.table, keep, tuple(chosen) or layout.properties, key=layout.key)


def history_rows(
    records: Sequence[dict[str, Any]], since_ms: int | None = None
) -> list[dict[str, Any]]:
    """One row per version in ``records``' ``propertiesWithHistory`` (those stamped at or after
    ``since_ms`` when given)."""
    rows: list[dict[str, Any]] = []
    for record in records:
        rid = str(record.get("id"))
        for prop, versions in (record.get("propertiesWithHistory") or {}).items():
            for v in versions or []:
                stamp = v.get("timestamp")
                if stamp is None:
                    continue
                if since_ms is not None:
                    at = parse_datetime_ms(stamp)
                    if at is None or at < since_ms:
                        continue
                source_id = v.get("sourceId")
                rows.append(
                    {
                        "objectId": rid,
                        "property": prop,
                        "timestamp": stamp,
                        "value": "" if v.get("value") is None else str(v.get("value")),
                        "sourceType": v.get("sourceType") or "",
                        "sourceId": "" if source_id is None else str(source_id),
                        "sourceLabel": v.get("sourceLabel"),
                        "updatedByUserId": v.get("updatedByUserId"),
                    }
                )
    return rows


def search_id_page(
    http: HubSpotHttp, path: str, filters: list[dict[str, str]]
) -> tuple[list[str], str | None, int | None]:
    """One page of a CRM search for record ids (one filter group, ascending ``hs_object_id``,
    :data:`SEARCH_PAGE` ids): the ids, the last of them when HubSpot has more, and its total."""
    body = json_body(
        http.send(
            "POST",
            f"{path}/search",
            kind=RequestKind.SEARCH,
            json={
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": ["hs_object_id"],
                "limit": SEARCH_PAGE,
                "after": "0",
            },
        )
    )
    ids = [str(r["id"]) for r in body.get("results") or []]
    more = bool((body.get("paging") or {}).get("next")) and bool(ids)
    total = body.get("total")
    return ids, ids[-1] if more else None, total if isinstance(total, int) else None


class WindowedReader(ABC):
    """What the property-history and merge readers share: one CRM object's path, the window of
    a read (planned once, kept in the stream state so a resumed read goes on with it) and its
    progress, counted in the requests this read sent. Construct per ``read`` call."""

    def __init__(
        self,
        *,
        http: HubSpotHttp,
        layout: TableLayout,
        state: StreamState,
        mode: str,
        lookback_ms: int,
        now_ms: Callable[[], int],
    ) -> None:
        self._http = http
        self._layout = layout
        self._table = layout.table
        self._state = state
        self._mode = mode
        self._lookback_ms = lookback_ms
        self._now_ms = now_ms
        self._path = f"/crm/v3/objects/{self._table.object_type}"
        self._start = http.stats["requests"]

    @abstractmethod
    def _reason(self) -> str:
        """Why an incremental read reads what it reads (shown in the run's progress)."""

    def _window(self) -> RunState:
        """The unfinished read of the state, or a new one."""
        if self._state.run is None:
            self._state.run = plan_window(
                mode=self._mode,
                cursor_ms=self._state.cursor_ms,
                now=self._now_ms(),
                lookback_ms=self._lookback_ms,
                reason=self._reason(),
            )
        return self._state.run

    def _progress(self, run: RunState, phase: str) -> ProgressEvent:
        requests = self._http.stats["requests"] - self._start
        return progress(self._table.name, run, phase, requests, expected_total=run.expected_total)

    def _searched(
        self, run: RunState, page: tuple[list[str], str | None, int | None]
    ) -> tuple[list[str], str | None]:
        """The ids and next floor of a :func:`search_id_page` answer; the first total becomes
        the read's expected total, and a floor that does not move up is a pagination loop."""
        ids, nxt, total = page
        if run.expected_total is None:
            run.expected_total = total
        if nxt is not None and int(nxt) <= int(run.floor):
            raise PaginationLoopError(f"HubSpot search did not advance {self._table.name}")
        return ids, nxt


class HistoryReader(WindowedReader):
    """Reads one property history table; construct per ``read`` call."""

    def __init__(
        self,
        *,
        http: HubSpotHttp,
        layout: TableLayout,
        state: StreamState,
        mode: str,
        lookback_ms: int,
        now_ms: Callable[[], int],
        max_chars: int = MAX_PROPERTIES_CHARS,
    ) -> None:
        super().__init__(
            http=http, layout=layout, state=state, mode=mode, lookback_ms=lookback_ms, now_ms=now_ms
        )
        self._chunks = chunk_properties(layout.properties, max_chars)

    # ------------------------------------------------------------------ pages

    def list_page(
        self, after: str | None, limit: int = HISTORY_PAGE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Rows of one list page (every property chunk) and the cursor after it."""
        rows: list[dict[str, Any]] = []
        nxt: str | None = None
        for i, chunk in enumerate(self._chunks):
            params = {
                "limit": str(limit),
                "archived": "false",
                "properties": "hs_object_id",
                "propertiesWithHistory": ",".join(chunk),
            }
            if after is not None:
                params["after"] = after
            body = json_body(self._http.send("GET", self._path, params=params))
            rows += history_rows(body.get("results") or [])
            if i == 0:
                value = ((body.get("paging") or {}).get("next") or {}).get("after")
                nxt = None if value is None else str(value)
        return rows, nxt

    def _changed_ids(self, run: RunState) -> tuple[list[str], str | None, int | None]:
        prop = str(self._table.cursor_property)
        return search_id_page(
            self._http,
            self._path,
            [
                {"propertyName": prop, "operator": "GTE", "value": str(run.window_start_ms or 0)},
                {"propertyName": prop, "operator": "LT", "value": str(run.window_end_ms)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": run.floor},
            ],
        )

    def _history_of(self, ids: Sequence[str], since_ms: int | None) -> list[dict[str, Any]]:
        records = batch_read(
            self._http,
            self._table.object_type,
            ids,
            ["hs_object_id"],
            with_history=self._layout.properties,
            per_call=HISTORY_PAGE,
        )
        return history_rows(records, since_ms)

    # ------------------------------------------------------------------ the read

    def _reason(self) -> str:
        return f"history of the records whose {self._table.cursor_property} moved"

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        run = self._window()
        yield self._progress(run, "live")
        seen: set[str] = set()
        while True:
            if run.strategy == FULL:
                rows, nxt = self.list_page(run.after)
                if nxt is not None and (nxt == run.after or nxt in seen):
                    raise PaginationLoopError(
                        f"HubSpot repeated the page cursor {nxt!r} of {self._table.name}"
                    )
            else:
                ids, nxt = self._searched(run, self._changed_ids(run))
                rows = self._history_of(ids, run.window_start_ms)
            if rows:
                yield BatchEvent(self._table.name, build_batch(self._layout, rows))
                run.records += len(rows)
            run.pages += 1
            if nxt is None:
                break
            if run.strategy == FULL:
                run.after = nxt
                seen.add(nxt)
            else:
                run.floor = nxt
            yield CheckpointEvent(self._table.name, st.to_json())
            yield self._progress(run, "live")
        close_window(st, run)
        yield CheckpointEvent(self._table.name, st.to_json(), final=True)
        yield self._progress(run, "done")

    def preview(self, limit: int) -> list[dict[str, Any]]:
        rows, _ = self.list_page(None, limit=max(1, min(limit, HISTORY_PAGE)))
        return rows[:limit]
