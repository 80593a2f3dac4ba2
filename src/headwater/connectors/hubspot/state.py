"""The checkpoint of one table: what the engine stores and passes back as ``state``.

::

    {"v": 1,
     "cursor_ms": 1767225600000,   # start of the next incremental window
     "table_size": 20000,          # live records at the end of the last full read
     "archived_through_ms": ...,   # deletions up to here were reported
     "archived_count": 340,        # archived records the last deletes check listed
     "associations_checked_ms": ...,  # when association lists were last compared
     "run": {                      # present while a read is unfinished
        "strategy": "incremental", "reason": "...", "sync_start_ms": ..., "phase": "live",
        "after": null,             # list cursor of the current phase (full reads, archived pass)
        "window_start_ms": ..., "window_end_ms": ...,  # window [start, end), end = sync start
        "floor": "10234",          # search id floor: next page is hs_object_id > floor
        "records": 9800, "pages": 49, "deleted": 0, "expected_total": 25000}}

A resumed read continues exactly after the last page whose checkpoint was committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from headwater.connectors.events import ProgressEvent
from headwater.errors import CheckpointError

__all__ = [
    "FULL",
    "INCREMENTAL",
    "RunState",
    "StreamState",
    "close_window",
    "next_cursor",
    "plan_window",
    "progress",
    "search_window",
]

FULL = "full"
INCREMENTAL = "incremental"
LIVE = "live"
ARCHIVED = "archived"
ASSOCIATIONS = "associations"
DONE = "done"
VERSION = 1


@dataclass(slots=True, kw_only=True)
class RunState:
    strategy: str
    reason: str
    sync_start_ms: int
    phase: str = LIVE
    after: str | None = None
    window_start_ms: int | None = None
    window_end_ms: int | None = None
    partitions: list[dict[str, Any]] | None = None
    archived_pass: bool = True
    archived_since_ms: int | None = None
    archived_listed: int = 0
    associations_pass: bool = False
    deletes_note: str = ""
    associations_note: str = ""
    merged: int = 0
    association_requests: int = 0
    association_changes: int = 0
    #: search hits the dataset already held at the same modification time (not written again)
    unchanged: int = 0
    floor: str = "0"
    records: int = 0
    pages: int = 0
    deleted: int = 0
    expected_total: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(slots=True, kw_only=True)
class StreamState:
    cursor_ms: int | None = None
    table_size: int | None = None
    archived_through_ms: int | None = None
    archived_count: int | None = None
    associations_checked_ms: int | None = None
    run: RunState | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> StreamState:
        """Raises:
        CheckpointError: ``data`` is not a checkpoint of this version (damaged or foreign)."""
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise CheckpointError("the HubSpot checkpoint is not an object")
        version = data.get("v", VERSION)
        if version != VERSION:
            raise CheckpointError(f"unsupported HubSpot checkpoint version {version!r}")
        try:
            return cls._parse(data)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"the HubSpot checkpoint is damaged: {exc}") from exc

    @classmethod
    def _parse(cls, data: Mapping[str, Any]) -> StreamState:
        run = data.get("run")
        cursor = data.get("cursor_ms")
        size = data.get("table_size")
        through = data.get("archived_through_ms")
        archived = data.get("archived_count")
        associations = data.get("associations_checked_ms")
        return cls(
            cursor_ms=int(cursor) if cursor is not None else None,
            table_size=int(size) if size is not None else None,
            archived_through_ms=int(through) if through is not None else None,
            archived_count=int(archived) if archived is not None else None,
            associations_checked_ms=int(associations) if associations is not None else None,
            run=RunState.from_json(run) if isinstance(run, Mapping) else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "cursor_ms": self.cursor_ms,
            "table_size": self.table_size,
            "archived_through_ms": self.archived_through_ms,
            "archived_count": self.archived_count,
            "associations_checked_ms": self.associations_checked_ms,
            "run": asdict(self.run) if self.run is not None else None,
        }


def search_window(cursor_ms: int | None, lookback_ms: int, sync_start_ms: int) -> tuple[int, int]:
    """The ``[start, end)`` of modification times an incremental read searches: from
    ``lookback_ms`` before the saved cursor (HubSpot indexes search asynchronously) up to the
    start of this sync; no cursor yet (an incremental read asked for explicitly) means everything."""
    return max((cursor_ms or 0) - max(lookback_ms, 0), 0), sync_start_ms


def next_cursor(cursor_ms: int | None, window_end_ms: int, *, incremental: bool) -> int:
    """The cursor a finished read saves: the end of the window it read (never past the start of
    the sync). An incremental read never moves it back (an empty window after the clock went
    back); a full read read everything up to its end, so its end is the cursor."""
    if incremental and cursor_ms is not None:
        return max(window_end_ms, cursor_ms)
    return window_end_ms


def plan_window(
    *, mode: str, cursor_ms: int | None, now: int, lookback_ms: int, reason: str
) -> RunState:
    """A full read (asked for, or no cursor yet) or the incremental window
    ``[cursor - lookback, now)``, which ends when the read starts (``reason`` says what it
    reads)."""
    if mode == FULL or (cursor_ms is None and mode != INCREMENTAL):
        why = "full read requested" if mode == FULL else "first sync: no cursor yet"
        return RunState(strategy=FULL, reason=why, sync_start_ms=now, window_end_ms=now)
    return RunState(
        strategy=INCREMENTAL,
        reason=reason,
        sync_start_ms=now,
        window_start_ms=search_window(cursor_ms, lookback_ms, now)[0],
        window_end_ms=now,
    )


def close_window(state: StreamState, run: RunState) -> None:
    """A finished read: the cursor moves to the end of the window read (never back)."""
    end = run.window_end_ms if run.window_end_ms is not None else run.sync_start_ms
    state.cursor_ms = max(end, state.cursor_ms or 0)
    state.run = None


def progress(
    table: str,
    run: RunState,
    phase: str,
    requests: int,
    **more: Any,
) -> ProgressEvent:
    """Where a read of ``table`` stands (``requests`` made so far; ``more``: the reader's own
    fields of :class:`ProgressEvent`)."""
    return ProgressEvent(
        table=table,
        strategy=run.strategy,
        reason=run.reason,
        phase=phase,
        records=run.records,
        pages=run.pages,
        requests=requests,
        **more,
    )
