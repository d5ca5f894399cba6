"""Daylight-saving changes in Europe/Berlin: wall-clock times, calendar days, restrictions."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from clinic.scheduling import CareRule, ProposedSession, care_windows, plan_course

from .builders import (
    NO_RESURFACING_14D,
    NOW,
    PEEL_COURSE,
    TZ,
    booked,
    check,
    client,
    codes,
    d,
    local_at,
    local_times,
    plain,
    snapshot,
)

WEEK_NO_RESURFACING = CareRule("no_resurfacing", "No other resurfacing", "other", 7 * 24)
WEEKLY = plain(PEEL_COURSE, sessions=4, min_interval_days=7, max_interval_days=7)


@pytest.mark.parametrize(
    ("monday", "hours"),
    [("2026-03-23", 167), ("2026-10-19", 169)],
)
def test_seven_day_restriction_ends_next_monday_same_local_time(monday, hours) -> None:
    course = plain(PEEL_COURSE, care=(WEEK_NO_RESURFACING,))
    start = local_at(d(monday), 10, 0)
    (window,) = care_windows(start, course, TZ)
    end = window.window.end.astimezone(TZ)
    assert (end.date(), end.time()) == (d(monday) + timedelta(days=7), time(10, 0))
    assert window.window.end - start == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("monday", "minute", "expected"),
    [
        ("2026-03-23", 0, set()),
        ("2026-03-23", -15, {"restriction_conflict"}),
        ("2026-10-19", 0, set()),
        ("2026-10-19", -15, {"restriction_conflict"}),
    ],
)
def test_restriction_across_dst_blocks_until_the_local_time(monday, minute, expected) -> None:
    earlier = booked(local_at(d(monday)), plain(PEEL_COURSE, care=(WEEK_NO_RESURFACING,)))
    start = local_at(d(monday) + timedelta(days=7)) + timedelta(minutes=minute)
    result = check(start, course=plain(PEEL_COURSE), who=client(sessions=[earlier]))
    assert codes(result) == expected


@pytest.mark.parametrize("monday", ["2026-03-23", "2026-10-19"])
def test_a_week_across_dst_is_seven_calendar_days(monday) -> None:
    first = local_at(d(monday))
    second = local_at(d(monday) + timedelta(days=7))
    assert second - first != timedelta(days=7)  # 167 or 169 hours
    result = check(first, second, course=WEEKLY)
    assert result.ok


@pytest.mark.parametrize("earliest", ["2026-03-16", "2026-10-12"])
def test_course_across_dst_keeps_its_local_time(earliest) -> None:
    snap = snapshot()
    result = plan_course(
        snapshot=snap, course=WEEKLY, client=client(), earliest=d(earliest), now=NOW
    )
    assert result.ok
    local_starts = [s.start.astimezone(TZ) for s in result.slots]
    assert [s.date() - local_starts[0].date() for s in local_starts] == [
        timedelta(days=7 * i) for i in range(4)
    ]
    assert set(local_times(s.start for s in result.slots)) == {time(9, 0)}
    # The UTC hour does change across the switch: the plan is not a fixed 168-hour step.
    assert len({s.start.astimezone(TZ).utcoffset() for s in result.slots}) == 2


def test_course_with_restrictions_across_dst_keeps_its_local_time() -> None:
    # no_resurfacing 14 days blocks the same course: a UTC-stepped plan would clash or drift.
    course = plain(PEEL_COURSE, sessions=3, care=(NO_RESURFACING_14D,))
    result = plan_course(
        snapshot=snapshot(), course=course, client=client(), earliest=d("2026-03-16"), now=NOW
    )
    assert result.ok
    assert set(local_times(s.start for s in result.slots)) == {time(9, 0)}
    recheck = check(
        *(ProposedSession(i, s.start, s.practitioner_id) for i, s in enumerate(result.slots, 1)),
        course=course,
    )
    assert recheck.ok
