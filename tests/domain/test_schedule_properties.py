"""From what a client sends to the runs the scheduler queues: whatever ``scheduleParams`` holds,
the flow service refuses it with a 400 or stores a schedule whose windows the scheduler can
compute and store (64-bit epoch milliseconds), that contain ``now``, and that only move forward."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from headwater.domain import specs
from headwater.domain.schedules import due_window
from headwater.errors import ValidationError
from headwater.services.flows import normalize_schedule

FLOW_SPEC = next(s for s in specs.flow_specs() if s["id"] == "14518937-270c-4525-bdec-c2ba7cce3860")
INT64 = 2**63
#: what ``ctx.clock()`` can say: epoch ms from 1970 to 2100
NOW = st.integers(0, 4_102_444_800_000)

integers = st.one_of(
    st.integers(-(2**40), 2**40),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, 1, 15, 2**53, 2**63, 10**20]),
)
numbers_as_clients_write_them = st.one_of(
    integers,
    integers.map(str),
    integers.map(lambda i: f"  {i} "),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["²", "--5", "-", "\uff11\uff12", "1e3", "0x10", "", " ", "٣", "1_000"]),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
)
raw_schedules = st.fixed_dictionaries(
    {},
    optional={
        "startTime": numbers_as_clients_write_them,
        "endTime": numbers_as_clients_write_them,
        "interval": numbers_as_clients_write_them,
        "frequency": st.sampled_from(["once", "minute", "hour", "day", "week", "Minute ", "year"]),
        "backfill": st.one_of(st.booleans(), st.sampled_from(["true", "FALSE", "yes"])),
    },
)


def stored(raw: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return normalize_schedule(FLOW_SPEC, raw)
    except ValidationError:
        return None


@given(raw_schedules, NOW)
@example({"startTime": "²", "frequency": "once"}, 0)
@example({"startTime": "--5", "frequency": "once"}, 0)
@example({"startTime": 0, "frequency": "week", "interval": 10**20}, 1_767_225_600_000)
@example({"startTime": 10**30, "frequency": "minute", "interval": 15}, 1_767_225_600_000)
def test_an_accepted_schedule_has_windows_the_run_store_can_hold(
    raw: dict[str, Any], now: int
) -> None:
    schedule = stored(raw)
    if schedule is None:
        return
    window = due_window(schedule, now)
    if window is None:
        return
    start, end = window
    assert start <= now < end
    assert -INT64 <= start < end < INT64  # runs.window_start / window_end are BIGINT


@given(raw_schedules, NOW, NOW)
def test_accepted_schedules_only_move_forward(raw: dict[str, Any], a: int, b: int) -> None:
    schedule = stored(raw)
    if schedule is None:
        return
    early, late = sorted((a, b))
    first, second = due_window(schedule, early), due_window(schedule, late)
    if first is not None and second is not None:
        assert first[0] <= second[0]
        assert second[0] == first[0] or second[0] >= first[1]  # the same window, or a later one
