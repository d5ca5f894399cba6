"""Rule 1: consecutive sessions of one enrolment are min..max calendar days apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.scheduling import ProposedSession

from .builders import ENROLMENT, PEEL_COURSE, booked, check, client, codes, d, local_at, one, plain

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
