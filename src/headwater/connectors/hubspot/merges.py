"""Merge tables: one row per record merged into another, for audit.

HubSpot lists the ids a record absorbed in its ``hs_merged_object_ids`` (``;``-separated, every
id of earlier merges included). The records that have the property are found with a search
(``hs_merged_object_ids HAS_PROPERTY``, keyset paging on ``hs_object_id``, plus the modification
window on incremental reads: a merge creates or modifies the winner); their property history
(``POST .../batch/read`` with ``propertiesWithHistory``, 50 per call) dates each merged id: the
time of the oldest version that lists it (the winner's ``updatedAt`` if HubSpot sends no
history). A row is ``Winner_Id``, ``Merged_Id``, ``Merged_At``; the key is the pair.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from headwater.connectors.events import BatchEvent, CheckpointEvent, ReadEvent
from headwater.connectors.hubspot.convert import build_batch
from headwater.connectors.hubspot.history import HISTORY_PAGE, WindowedReader, search_id_page
from headwater.connectors.hubspot.refresh import MERGED_PROPERTY, batch_read
from headwater.connectors.hubspot.schema import Column, ColumnKind, Origin, TableLayout
from headwater.connectors.hubspot.state import (
    FULL,
    INCREMENTAL,
    RunState,
    close_window,
)
from headwater.connectors.hubspot.tables import TableDef

__all__ = ["MergeReader", "merge_layout", "merge_rows"]

_COLUMNS = (
    Column("Winner_Id", "winnerId", Origin.FIELD, ColumnKind.STRING, "the record that remains"),
    Column("Merged_Id", "mergedId", Origin.FIELD, ColumnKind.STRING, "an id merged into it"),
    Column("Merged_At", "mergedAt", Origin.FIELD, ColumnKind.DATETIME, "when it was merged"),
    Column("Is_Deleted", "", Origin.DELETED, ColumnKind.BOOLEAN),
)
KEY = ("Winner_Id", "Merged_Id")


def merge_layout(table: TableDef) -> TableLayout:
    return TableLayout(table, _COLUMNS, key=KEY)


def _ids(value: Any) -> list[str]:
    return [p.strip() for p in str(value or "").split(";") if p.strip()]


def merge_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per id in each record's ``hs_merged_object_ids`` other than its own."""
    rows: list[dict[str, Any]] = []
    for record in records:
        winner = str(record.get("id"))
        dated: dict[str, Any] = {}
        versions = (record.get("propertiesWithHistory") or {}).get(MERGED_PROPERTY) or []
        for version in reversed(versions):  # oldest first
            for merged in _ids(version.get("value")):
                dated.setdefault(merged, version.get("timestamp"))
        current = _ids((record.get("properties") or {}).get(MERGED_PROPERTY))
        for merged in current:
            if merged != winner:
                at = dated.get(merged) or record.get("updatedAt")
                rows.append({"winnerId": winner, "mergedId": merged, "mergedAt": at})
    return rows


class MergeReader(WindowedReader):
    """Reads one merge table; construct per ``read`` call."""

    def _winners(self, run: RunState) -> tuple[list[str], str | None, int | None]:
        filters: list[dict[str, str]] = [
            {"propertyName": MERGED_PROPERTY, "operator": "HAS_PROPERTY"},
            {"propertyName": "hs_object_id", "operator": "GT", "value": run.floor},
        ]
        if run.strategy == INCREMENTAL:
            prop = str(self._table.cursor_property)
            filters += [
                {"propertyName": prop, "operator": "GTE", "value": str(run.window_start_ms or 0)},
                {"propertyName": prop, "operator": "LT", "value": str(run.window_end_ms)},
            ]
        return search_id_page(self._http, self._path, filters)

    def _rows(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        records = batch_read(
            self._http,
            self._table.object_type,
            ids,
            [MERGED_PROPERTY],
            with_history=[MERGED_PROPERTY],
            per_call=HISTORY_PAGE,
        )
        return merge_rows(records)

    def _reason(self) -> str:
        return "records merged into since the last read"

    def preview(self, limit: int) -> list[dict[str, Any]]:
        run = RunState(strategy=FULL, reason="preview", sync_start_ms=self._now_ms())
        ids, _, _ = self._winners(run)
        return self._rows(ids[:limit])[:limit]

    def run(self) -> Iterator[ReadEvent]:
        st = self._state
        run = self._window()
        yield self._progress(run, "live")
        while True:
            ids, nxt = self._searched(run, self._winners(run))
            rows = self._rows(ids)
            if rows:
                yield BatchEvent(self._table.name, build_batch(self._layout, rows))
                run.records += len(rows)
            run.pages += 1
            if nxt is None:
                break
            run.floor = nxt
            yield CheckpointEvent(self._table.name, st.to_json())
            yield self._progress(run, "live")
        close_window(st, run)
        yield CheckpointEvent(self._table.name, st.to_json(), final=True)
        yield self._progress(run, "done")
