"""Incremental search windows over a sequence of runs (``state.search_window`` and
``state.next_cursor``, as ``TableReader`` plans and finishes a read; ``plan_window`` and
``close_window`` for the other readers): whatever the run times
(the clock may go back), the strategies and the lookback, the windows read so far cover
``[first start, latest sync start)`` without a gap, each window reaches back at least
``lookback`` before the previous cursor, and the cursor never passes a sync start; and the
checkpoint that carries the cursor between runs round-trips whatever a read left in it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from headwater.connectors.hubspot.state import (
    FULL,
    INCREMENTAL,
    RunState,
    StreamState,
    close_window,
    next_cursor,
    plan_window,
    search_window,
)

MS = st.integers(0, 4_102_444_800_000)
runs = st.lists(
    st.tuples(
        st.integers(-3_600_000, 86_400_000),  # how far the clock moved since the last run
        st.sampled_from([INCREMENTAL, INCREMENTAL, FULL]),
    ),
    min_size=1,
    max_size=12,
)


def covered_without_gap(windows: list[tuple[int, int]], lo: int, hi: int) -> bool:
    """Whether the union of ``windows`` holds every instant of ``[lo, hi)``."""
    reach = lo
    for start, end in sorted(w for w in windows if w[0] < w[1]):
        if start > reach:
            break
        reach = max(reach, end)
    return reach >= hi


@given(MS, st.integers(0, 86_400_000), runs, st.booleans())
@example(1_767_225_600_000, 300_000, [(-3_600_000, INCREMENTAL), (60_000, INCREMENTAL)], True)
def test_windows_cover_every_change_since_the_first_without_a_gap(
    first_sync: int, lookback: int, sequence: list[tuple[int, str]], first_is_full: bool
) -> None:
    cursor: int | None = None
    windows: list[tuple[int, int]] = []
    now = first_sync
    latest = 0
    first_start: int | None = None
    for i, (step, strategy) in enumerate(sequence):
        now = max(now + step, 0) if i else now
        full = strategy == FULL or (i == 0 and first_is_full) or cursor is None
        if full:
            start, end = 0, now  # a full read reads every record as of its start
        else:
            start, end = search_window(cursor, lookback, now)
            assert start <= max(cursor - lookback, 0) if cursor is not None else start == 0
        windows.append((start, end))
        if first_start is None:
            first_start = start
        cursor = next_cursor(cursor, end, incremental=not full)
        latest = max(latest, now)
        assert cursor <= latest  # never past a sync start: changes after it are not read yet
        assert covered_without_gap(windows, first_start, cursor)


@given(MS, st.integers(0, 86_400_000), st.lists(MS, min_size=2, max_size=8))
def test_incremental_cursors_never_move_back(
    cursor0: int, lookback: int, sync_starts: list[int]
) -> None:
    cursor = cursor0
    for now in sync_starts:
        _, end = search_window(cursor, lookback, now)
        new = next_cursor(cursor, end, incremental=True)
        assert new >= cursor
        cursor = new


json_ints = st.one_of(st.none(), st.integers(0, 2**62))
run_states = st.builds(
    RunState,
    strategy=st.sampled_from([FULL, INCREMENTAL]),
    reason=st.text(max_size=20),
    sync_start_ms=st.integers(0, 2**62),
    phase=st.sampled_from(["live", "archived", "associations", "done"]),
    after=st.one_of(st.none(), st.text(max_size=10)),
    window_start_ms=json_ints,
    window_end_ms=json_ints,
    floor=st.integers(0, 2**62).map(str),
    records=st.integers(0, 2**40),
    pages=st.integers(0, 2**30),
    partitions=st.one_of(
        st.none(),
        st.lists(
            st.fixed_dictionaries(
                {
                    "lo": st.integers(0, 10**9),
                    "hi": json_ints,
                    "after": st.one_of(st.none(), st.integers(0, 10**9).map(str)),
                    "done": st.booleans(),
                }
            ),
            max_size=4,
        ),
    ),
)
stream_states = st.builds(
    StreamState,
    cursor_ms=json_ints,
    table_size=json_ints,
    archived_through_ms=json_ints,
    archived_count=json_ints,
    associations_checked_ms=json_ints,
    run=st.one_of(st.none(), run_states),
)


@given(stream_states)
def test_a_checkpoint_resumes_exactly_where_it_was_saved(state: StreamState) -> None:

    saved: dict[str, Any] = json.loads(json.dumps(state.to_json()))  # as the store keeps it
    back = StreamState.from_json(saved)
    assert back.to_json() == state.to_json()


@given(st.one_of(st.none(), MS), st.integers(0, 86_400_000), st.lists(MS, min_size=1, max_size=8))
def test_the_other_readers_windows_leave_no_gap_either(
    cursor0: int | None, lookback: int, sync_starts: list[int]
) -> None:
    """History, merges, simple and association tables plan with ``plan_window`` and finish with
    ``close_window``: each window starts at or before the cursor the last one left."""
    state = StreamState(cursor_ms=cursor0)
    for now in sync_starts:
        before = state.cursor_ms
        run = plan_window(
            mode="auto", cursor_ms=before, now=now, lookback_ms=lookback, reason="test"
        )
        if run.strategy == INCREMENTAL:
            assert before is not None and run.window_start_ms is not None
            assert run.window_start_ms <= before
        close_window(state, run)
        assert state.cursor_ms is not None and state.cursor_ms >= (before or 0)
