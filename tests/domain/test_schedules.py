"""Schedule windows (``due_window``): every instant after the start lies in exactly one window,
windows follow each other without a gap or an overlap, and they only move forward in time."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.schedules import PERIOD_MS, due_window

YEAR_MS = 366 * 86_400_000


@st.composite
def schedules(draw: st.DrawFn, *, with_end: bool | None = None) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "startTime": draw(st.integers(0, 4_000_000_000)),
        "frequency": draw(st.sampled_from(sorted(PERIOD_MS))),
    }
    interval = draw(st.one_of(st.none(), st.integers(0, 120)))
    if interval is not None:
        schedule["interval"] = interval
    end = draw(st.booleans()) if with_end is None else with_end
    if end:
        schedule["endTime"] = schedule["startTime"] + draw(st.integers(1, 20 * 365 * 86_400))
    return schedule


def period_of(schedule: dict[str, Any]) -> int:
    return PERIOD_MS[schedule["frequency"]] * max(1, int(schedule.get("interval") or 1))


def start_ms(schedule: dict[str, Any]) -> int:
    return int(schedule["startTime"]) * 1000


offsets = st.integers(0, 10 * YEAR_MS)


@given(schedules(with_end=False), offsets)
def test_the_window_holds_now_is_one_period_long_and_aligned_to_the_start(
    schedule: dict[str, Any], offset: int
) -> None:
    now = start_ms(schedule) + offset
    window = due_window(schedule, now)
    assert window is not None
    start, end = window
    assert start <= now < end
    assert end - start == period_of(schedule)
    assert (start - start_ms(schedule)) % period_of(schedule) == 0


@given(schedules(with_end=False), offsets, offsets)
def test_windows_are_monotone_and_never_overlap(schedule: dict[str, Any], a: int, b: int) -> None:
    early, late = sorted((a, b))
    first = due_window(schedule, start_ms(schedule) + early)
    second = due_window(schedule, start_ms(schedule) + late)
    assert first is not None and second is not None
    assert first[0] <= second[0]
    assert first == second or first[1] <= second[0]


@given(schedules(with_end=False), offsets)
def test_the_next_window_starts_where_the_last_one_ended(
    schedule: dict[str, Any], offset: int
) -> None:
    start, end = due_window(schedule, start_ms(schedule) + offset) or (0, 0)
    assert due_window(schedule, end - 1) == (start, end)
    following = due_window(schedule, end)
    assert following is not None and following[0] == end  # no gap: nothing is skipped


@given(schedules(with_end=True), st.integers(-10 * YEAR_MS, 30 * YEAR_MS))
def test_no_window_before_the_start_or_from_the_end_on(
    schedule: dict[str, Any], offset: int
) -> None:
    now = start_ms(schedule) + offset
    window = due_window(schedule, now)
    inside = start_ms(schedule) <= now < int(schedule["endTime"]) * 1000
    assert (window is not None) == inside


@given(schedules(), st.text(max_size=8).filter(lambda f: f not in PERIOD_MS), offsets)
def test_an_unknown_frequency_has_no_window(
    schedule: dict[str, Any], frequency: str, offset: int
) -> None:
    assert due_window({**schedule, "frequency": frequency}, start_ms(schedule) + offset) is None
