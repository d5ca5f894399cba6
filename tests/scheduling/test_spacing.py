"""Rule 1: consecutive sessions of one enrolment are min..max calendar days apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.scheduling import ProposedSession, minimal_replan, plan_course
from clinic.scheduling.timeutil import local_date

from .builders import (
    ENROLMENT,
    LASER_COURSE,
    NOW,
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
    snapshot,
)

COURSE = plain(PEEL_COURSE)  # 14 to 28 days
PREVIOUS = d("2026-01-13")  # Tue: +13, +14, +28, +29 are all open days
FOLLOWING = d("2026-02-11")  # Wed: -13, -14, -28, -29 are all open days


def fixed(day, number):
    return booked(local_at(day), COURSE, session=number, enrolment_id=ENROLMENT)


@pytest.mark.parametrize(
    ("gap", "expected", "earliest"),
    [
        (13, {"spacing_too_close"}, d("2026-01-27")),
        (14, set(), None),
        (28, set(), None),
        (29, {"spacing_too_far"}, None),
    ],
)
def test_spacing_after_the_previous_session(gap, expected, earliest) -> None:
    who = client(sessions=[fixed(PREVIOUS, 1)])
    result = check(
        ProposedSession(2, local_at(PREVIOUS + timedelta(days=gap))),
        course=COURSE,
        who=who,
        enrolment_id=ENROLMENT,
    )
    assert codes(result) == expected
    if expected:
        assert one(result, expected.pop()).earliest == earliest
        assert result.slots == ()
    else:
        assert len(result.slots) == 1


@pytest.mark.parametrize(
    ("gap", "expected", "earliest"),
    [
        (13, {"spacing_too_close"}, None),
        (14, set(), None),
        (28, set(), None),
        (29, {"spacing_too_far"}, d("2026-01-14")),
    ],
)
def test_spacing_before_the_following_session(gap, expected, earliest) -> None:
    who = client(sessions=[fixed(FOLLOWING, 2)])
    result = check(
        ProposedSession(1, local_at(FOLLOWING - timedelta(days=gap))),
        course=COURSE,
        who=who,
        enrolment_id=ENROLMENT,
    )
    assert codes(result) == expected
    if expected:
        violation = one(result, expected.pop())
        assert violation.session == 1
        assert violation.earliest == earliest


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-26", {"spacing_too_close", "spacing_too_far"}),  # 13 after 1, 29 before 3
        ("2026-01-27", set()),
        ("2026-02-10", set()),  # 28 days after session 1, 14 before session 3
        ("2026-02-11", {"spacing_too_far", "spacing_too_close"}),
    ],
)
def test_moving_a_middle_session_is_checked_against_both_neighbours(day, expected) -> None:
    moving = fixed(d("2026-01-27"), 2)
    who = client(
        sessions=[fixed(PREVIOUS, 1), moving, fixed(d("2026-02-24"), 3)],
    )
    result = check(
        ProposedSession(2, local_at(d(day))),
        course=COURSE,
        who=who,
        enrolment_id=ENROLMENT,
        replacing=frozenset({moving.appointment_id}),
    )
    assert codes(result) == expected


def test_spacing_ignores_sessions_of_other_enrolments() -> None:
    who = client(sessions=[booked(local_at(PREVIOUS), COURSE, enrolment_id=ENROLMENT + 1)])
    result = check(
        ProposedSession(2, local_at(PREVIOUS + timedelta(days=1))),
        course=COURSE,
        who=who,
        enrolment_id=ENROLMENT,
    )
    assert codes(result) == set()


@pytest.mark.parametrize(
    ("gap", "expected"),
    [(13, {"spacing_too_close"}), (14, set()), (28, set()), (29, {"spacing_too_far"})],
)
def test_spacing_between_sessions_of_one_request(gap, expected) -> None:
    first = local_at(PREVIOUS)
    result = check(first, first + timedelta(days=gap), course=COURSE)
    assert codes(result) == expected
    assert all(v.session == 2 for v in result.violations)


def test_spacing_counts_local_dates_not_hours() -> None:
    # 13 days and 23 hours, but 14 calendar days: allowed.
    who = client(sessions=[fixed(PREVIOUS, 1)])
    later = local_at(PREVIOUS + timedelta(days=14), 9, 0)
    assert later - local_at(PREVIOUS) < timedelta(days=14)
    result = check(ProposedSession(2, later), course=COURSE, who=who, enrolment_id=ENROLMENT)
    assert codes(result) == set()


# --- a course's own sessions count whatever their age (issue 19, defect 4) --------------------

TODAY = local_date(NOW, TZ)  # Mon 5 January 2026
NEXT = local_at(d("2026-01-07"))  # the proposed next session, a Wednesday


def held_days_ago(days: int, number: int = 1):
    """Session `number` of the enrolment, held `days` local days before today at 10:00 (the
    count crosses the daylight-saving changes of 2025)."""
    return fixed(TODAY - timedelta(days=days), number)


@pytest.mark.parametrize("age", [300, 400])
def test_a_lapsed_course_is_refused_spacing_too_far_whatever_the_age(age) -> None:
    who = client(sessions=[held_days_ago(age)])
    result = check(ProposedSession(2, NEXT), course=COURSE, who=who, enrolment_id=ENROLMENT)
    assert codes(result) == {"spacing_too_far"}
    refused = one(result, "spacing_too_far")
    assert refused.session == 2 and refused.soft
    assert result.slots == ()


@pytest.mark.parametrize("age", [300, 400])
def test_a_lapsed_course_is_booked_with_a_staff_override(age) -> None:
    who = client(sessions=[held_days_ago(age)])
    result = check(
        ProposedSession(2, NEXT),
        course=COURSE,
        who=who,
        enrolment_id=ENROLMENT,
        by_staff=True,
        override_soft=True,
    )
    assert result.ok and len(result.slots) == 1


@pytest.mark.parametrize(
    ("previous", "lapsed"),
    [
        (TODAY - timedelta(days=28), False),  # the latest date is today: keep it
        (TODAY - timedelta(days=29), True),  # the latest date was yesterday
    ],
)
def test_spacing_too_far_is_overridable_only_once_the_course_has_lapsed(previous, lapsed) -> None:
    who = client(sessions=[fixed(previous, 1)])
    asked = dict(course=COURSE, who=who, enrolment_id=ENROLMENT, by_staff=True)
    refused = check(ProposedSession(2, NEXT), **asked)
    assert one(refused, "spacing_too_far").soft is lapsed
    overridden = check(ProposedSession(2, NEXT), override_soft=True, **asked)
    assert overridden.ok is lapsed


def test_an_old_restriction_of_another_course_does_not_matter() -> None:
    # A laser 400 days ago (28 days without resurfacing) in another enrolment, and this
    # course's session 1 fourteen days ago: only this course's spacing counts.
    laser = booked(local_at(TODAY - timedelta(days=400)), LASER_COURSE, enrolment_id=ENROLMENT + 1)
    who = client(sessions=[laser, held_days_ago(14)])
    assert check(ProposedSession(2, NEXT), course=COURSE, who=who, enrolment_id=ENROLMENT).ok


@pytest.mark.parametrize("age", [300, 400])
def test_the_plan_for_the_rest_of_a_lapsed_course_says_spacing_too_far(age) -> None:
    session_1 = held_days_ago(age)
    result = plan_course(
        snapshot=snapshot(),
        course=COURSE,
        client=client(sessions=[session_1]),
        earliest=TODAY,
        now=NOW,
        first_session=2,
        enrolment_id=ENROLMENT,
        previous_start=session_1.start,
    )
    assert [(v.code, v.session, v.soft) for v in result.violations] == [
        ("spacing_too_far", 2, True)
    ]


def test_a_plan_asked_to_start_after_the_latest_date_says_spacing_too_far() -> None:
    session_1 = held_days_ago(10)  # the latest date for session 2 is in 18 days
    result = plan_course(
        snapshot=snapshot(),
        course=COURSE,
        client=client(sessions=[session_1]),
        earliest=TODAY + timedelta(days=30),
        now=NOW,
        first_session=2,
        enrolment_id=ENROLMENT,
        previous_start=session_1.start,
    )
    assert [(v.code, v.soft) for v in result.violations] == [("spacing_too_far", False)]


def test_a_replan_after_a_lapse_says_spacing_too_far() -> None:
    # Session 2 restarted the course a year after session 1 (staff's override) and is now
    # broken: no date for it keeps 14 to 28 days after session 1.
    session_2 = fixed(d("2026-01-07"), 2)
    who = client(sessions=[held_days_ago(400), session_2])
    result = minimal_replan(
        snapshot=snapshot(),
        course=COURSE,
        client=who,
        enrolment_id=ENROLMENT,
        broken=frozenset({session_2.appointment_id}),
        now=NOW,
    )
    assert [(v.code, v.session) for v in result.violations] == [("spacing_too_far", 2)]
