"""Rule 2: a session may not start while a restriction blocking it is in force, both directions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from clinic.scheduling import CourseRules, ProcedureRules, ProposedSession, care_windows

from .builders import (
    LASER_COURSE,
    NO_ACTIVES_BEFORE_5D,
    PEEL_COURSE,
    TZ,
    booked,
    check,
    client,
    codes,
    d,
    local_at,
    one,
    plain,
)

# Aftercare only: pre-care begun before NOW is rule 11, not this one.
PEEL_WITH_NO_RESURFACING = plain(PEEL_COURSE, care=PEEL_COURSE.aftercare)  # 14 days no_resurfacing
LASER = plain(LASER_COURSE, care=LASER_COURSE.aftercare)


@pytest.mark.parametrize(
    ("peel_minute", "expected"),
    [(0, set()), (1, {"restriction_conflict"})],
)
def test_laser_after_a_peel_waits_until_no_resurfacing_ends(peel_minute, expected) -> None:
    # The peel's no_resurfacing runs 14 days: ending exactly at 10:00, or at 10:01.
    peel = booked(local_at(d("2026-01-13"), 10, peel_minute), PEEL_WITH_NO_RESURFACING)
    result = check(local_at(d("2026-01-27"), 10, 0), course=LASER, who=client(sessions=[peel]))
    assert codes(result) == expected
    if expected:
        violation = one(result, "restriction_conflict")
        assert violation.earliest == d("2026-01-27")
        assert "10:01" in violation.message


@pytest.mark.parametrize(
    ("laser_minute", "expected"),
    [(0, set()), (-1, {"restriction_conflict"})],
)
def test_new_peel_whose_no_resurfacing_covers_a_booked_laser_is_refused(
    laser_minute, expected
) -> None:
    laser = booked(local_at(d("2026-01-27"), 10, 0) + timedelta(minutes=laser_minute), LASER)
    result = check(
        local_at(d("2026-01-13"), 10, 0),
        course=PEEL_WITH_NO_RESURFACING,
        who=client(sessions=[laser]),
    )
    assert codes(result) == expected


def test_restriction_applies_across_courses_only_if_it_blocks_the_procedure() -> None:
    # The laser's no_uv and no_makeup do not block a peel; only no_resurfacing would.
    laser = booked(local_at(d("2026-01-13")), replace(LASER, care=LASER.care[:2]))
    result = check(
        local_at(d("2026-01-14")), course=PEEL_WITH_NO_RESURFACING, who=client(sessions=[laser])
    )
    assert codes(result) == set()


# Rule 2's clarification: a peel course 7 to 14 days apart whose aftercare says "no other
# resurfacing for 14 days". Its own sessions do not block each other; another enrolment's do.
CLOSE_PEELS = plain(
    PEEL_COURSE, care=PEEL_COURSE.aftercare, min_interval_days=7, max_interval_days=14
)
OWN, OTHER = 5, 6


def test_sessions_of_one_booking_never_block_each_other_through_their_own_windows() -> None:
    first, second = local_at(d("2026-01-13")), local_at(d("2026-01-20"))
    assert codes(check(first, second, course=CLOSE_PEELS)) == set()


@pytest.mark.parametrize("later", [False, True], ids=["earlier_session", "later_session"])
@pytest.mark.parametrize(
    ("enrolment", "expected"),
    [(OWN, set()), (OTHER, {"restriction_conflict"})],
    ids=["own_enrolment", "other_enrolment"],
)
def test_only_another_enrolments_windows_block_in_both_directions(
    later, enrolment, expected
) -> None:
    # Booked session 1 (or 2) of an enrolment, and session 2 (or 1) of enrolment OWN 7 days
    # after (or before) it: inside its 14 days of no_resurfacing, or covering it with ours.
    fixed_day, new_day = ("2026-01-20", "2026-01-13") if later else ("2026-01-13", "2026-01-20")
    fixed = booked(
        local_at(d(fixed_day)), CLOSE_PEELS, session=2 if later else 1, enrolment_id=enrolment
    )
    result = check(
        ProposedSession(1 if later else 2, local_at(d(new_day))),
        course=CLOSE_PEELS,
        who=client(sessions=[fixed]),
        enrolment_id=OWN,
    )
    assert codes(result) == expected


def test_a_second_enrolment_of_the_same_course_is_blocked_by_the_first() -> None:
    later = booked(local_at(d("2026-02-10")), PEEL_WITH_NO_RESURFACING, session=2, enrolment_id=5)
    result = check(
        local_at(d("2026-01-27"), 10, 15),  # 14 days minus 15 minutes before the later one
        course=PEEL_WITH_NO_RESURFACING,
        who=client(sessions=[later]),
    )
    assert codes(result) == {"restriction_conflict"}


# A procedure blocked by the retinoid stop that a booked peel needs before it.
ACID = ProcedureRules(
    code="acid",
    name="Acid facial",
    duration=timedelta(minutes=30),
    buffer=timedelta(0),
    qualification="peel",
    blocked_by=frozenset({"no_actives"}),
)
ACID_COURSE = CourseRules("acid1", "Acid facial", ACID, 1, 0, None)


@pytest.mark.parametrize(
    ("minutes_before_window", "expected"),
    [(15, set()), (0, {"restriction_conflict"})],
)
def test_session_may_not_start_inside_the_pre_care_window_of_a_booked_one(
    minutes_before_window, expected
) -> None:
    peel = booked(local_at(d("2026-01-20")), plain(PEEL_COURSE, care=(NO_ACTIVES_BEFORE_5D,)))
    window_start = local_at(d("2026-01-15"))
    result = check(
        window_start - timedelta(minutes=minutes_before_window),
        course=ACID_COURSE,
        who=client(sessions=[peel]),
    )
    assert codes(result) == expected


def test_care_windows_are_half_open_after_and_before_the_start() -> None:
    start = local_at(d("2026-01-20"))
    windows = {(w.code, w.phase): w.window for w in care_windows(start, PEEL_COURSE, TZ)}
    assert windows[("no_makeup", "after")].start == start
    assert windows[("no_makeup", "after")].end == start + timedelta(hours=24)
    assert windows[("no_actives", "before")].start == local_at(d("2026-01-15"))
    assert windows[("no_actives", "before")].end == start
    assert not windows[("no_actives", "before")].contains(start)
    assert windows[("no_uv", "before")].start == local_at(d("2026-01-06"))
