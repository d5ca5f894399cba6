"""care_stretches: a restriction's windows across sessions joined where they overlap or touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinic.scheduling import CareWindow, TimeRange, care_stretches

T0 = datetime(2031, 3, 3, 10, tzinfo=UTC)


def window(code: str, phase: str, start_day: float, days: float) -> CareWindow:
    start = T0 + timedelta(days=start_day)
    return CareWindow(code, code, "other", phase, TimeRange(start, start + timedelta(days=days)))


@pytest.mark.parametrize(
    ("gap_minutes", "stretches"),
    [(-1, 1), (0, 1), (1, 2)],  # overlapping, touching (a window ending exactly at a start), apart
)
def test_windows_of_one_restriction_join_when_they_overlap_or_touch(gap_minutes, stretches) -> None:
    first = window("no_uv", "after", 0, 7)
    second_start = 7 + gap_minutes / (24 * 60)
    second = window("no_uv", "before", second_start, 14)

    found = care_stretches(windows=[(1, first), (2, second)])

    assert len(found) == stretches
    if stretches == 1:
        [one] = found
        assert one.window == TimeRange(first.window.start, second.window.end)
        assert one.phases == {"before", "after"}
        assert one.sessions == (1, 2)


def test_other_restrictions_are_never_joined_and_come_in_order_of_start() -> None:
    found = care_stretches(
        windows=[(2, window("no_makeup", "after", 21, 1)), (1, window("no_uv", "after", 0, 30))]
    )

    assert [(s.code, s.sessions) for s in found] == [("no_uv", (1,)), ("no_makeup", (2,))]


def test_a_window_inside_a_longer_one_adds_its_session_but_not_its_end() -> None:
    found = care_stretches(
        windows=[(1, window("no_uv", "after", 0, 30)), (2, window("no_uv", "after", 5, 2))]
    )

    [one] = found
    assert one.window.end == T0 + timedelta(days=30)
    assert one.sessions == (1, 2)
