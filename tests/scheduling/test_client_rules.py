"""Rules 3, 4, 5, 9 and 10: the client's plans, screening, season, overlap and policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.scheduling import ConditionState, DeclaredPeriod, ProposedSession

from .builders import (
    LASER_COURSE,
    MASSAGE_COURSE,
    NO_MAKEUP_24H,
    NO_RESURFACING_14D,
    NO_UV_AFTER_7D,
    NOW,
    PEEL_COURSE,
    booked,
    check,
    client,
    codes,
    d,
    local_at,
    one,
    plain,
)

BEACH = DeclaredPeriod("sun_exposure", d("2026-01-27"), d("2026-01-28"), "beach")
WEDDING = DeclaredPeriod("needs_makeup", d("2026-01-17"), d("2026-01-17"), "wedding")


# Rule 3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-01-19", set()),  # no sun until 26 Jan 10:00
        ("2026-01-20", {"conflicts_with_client_plans"}),  # until 27 Jan 10:00
        ("2026-02-11", {"conflicts_with_client_plans"}),  # sun stop from 28 Jan 10:00
        ("2026-02-12", set()),  # sun stop from 29 Jan 10:00
    ],
)
def test_sun_windows_may_not_overlap_declared_sun_exposure(day, expected) -> None:
    result = check(local_at(d(day)), who=client(periods=[BEACH]), precare_confirmed=True)
    assert codes(result) == expected
    if expected:
        violation = one(result, "conflicts_with_client_plans")
        assert violation.soft is True
        assert violation.conflict is False
        assert "beach" in violation.message


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2026-01-15", set()), ("2026-01-16", {"conflicts_with_client_plans"})],
)
def test_no_makeup_may_not_overlap_an_event_that_needs_makeup(day, expected) -> None:
    result = check(local_at(d(day)), who=client(periods=[WEDDING]), precare_confirmed=True)
    assert codes(result) == expected


@pytest.mark.parametrize(
    ("care", "period_kind", "expected"),
    [
        ((NO_MAKEUP_24H,), "sun_exposure", set()),
        ((NO_MAKEUP_24H,), "needs_makeup", {"conflicts_with_client_plans"}),
        ((NO_UV_AFTER_7D,), "needs_makeup", set()),
        ((NO_UV_AFTER_7D,), "sun_exposure", {"conflicts_with_client_plans"}),
        ((NO_RESURFACING_14D,), "sun_exposure", set()),
    ],
)
def test_periods_only_clash_with_restrictions_of_their_kind(care, period_kind, expected) -> None:
    period = DeclaredPeriod(period_kind, d("2026-01-14"), d("2026-01-14"))
    course = plain(PEEL_COURSE, care=care)
    result = check(local_at(d("2026-01-13")), course=course, who=client(periods=[period]))
    assert codes(result) == expected


def test_staff_override_drops_client_plan_conflicts_only() -> None:
    who = client(periods=[BEACH], conditions={"pregnancy": ConditionState(present=True)})
    result = check(local_at(d("2026-01-20")), who=who, override_soft=True)
    assert codes(result) == {"contraindicated"}
    result = check(local_at(d("2026-01-20")), who=client(periods=[BEACH]), override_soft=True)
    assert result.ok
    assert len(result.slots) == 1


# Rule 4 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2026-01-13", "2027-01-12"])
def test_present_condition_always_contraindicates(day) -> None:
    who = client(conditions={"active_herpes": ConditionState(present=True)})
    result = check(local_at(d(day)), who=who, precare_confirmed=True)
    violation = one(result, "contraindicated")
    assert violation.earliest is None
    assert codes(result) == {"contraindicated"}


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2026-02-27", {"contraindicated"}), ("2026-02-28", set())],
)
def test_lookback_refuses_sessions_before_the_earliest_date(day, expected) -> None:
    # Isotretinoin last taken on 1 Sep 2025; the laser needs 180 days: 28 Feb 2026.
    who = client(conditions={"isotretinoin": ConditionState(last_on=d("2025-09-01"))})
    result = check(local_at(d(day)), course=LASER_COURSE, who=who)
    assert codes(result) == expected
    if expected:
        violation = one(result, "contraindicated")
        assert violation.earliest == d("2026-02-28")
        assert "28 February 2026" in violation.message


def test_condition_the_course_does_not_list_is_ignored() -> None:
    who = client(conditions={"rosacea": ConditionState(present=True)})
    assert check(local_at(d("2026-01-13")), who=who, precare_confirmed=True).ok


# Rule 4: the skin phototypes a course may treat --------------------------------------------

# An ablative laser for skin types I to IV (the demo's CO2 course).
LIGHT_SKIN_LASER = plain(LASER_COURSE, phototypes=frozenset({1, 2, 3, 4}))


@pytest.mark.parametrize(("phototype", "allowed"), [(1, True), (4, True), (5, False), (6, False)])
def test_a_phototype_outside_the_course_list_contraindicates(phototype, allowed) -> None:
    result = check(
        local_at(d("2026-01-13")), course=LIGHT_SKIN_LASER, who=client(phototype=phototype)
    )
    if allowed:
        assert codes(result) == set()
        return
    violation = one(result, "contraindicated")
    # No date helps: the skin type does not change with time.
    assert violation.earliest is None
    assert "I to IV" in violation.message
    assert f"skin type {'V' if phototype == 5 else 'VI'} (" in violation.message


def test_a_course_listing_phototypes_needs_the_client_phototype_recorded() -> None:
    result = check(local_at(d("2026-01-13")), course=LIGHT_SKIN_LASER, who=client())
    violation = one(result, "contraindicated")
    assert "does not say your skin type" in violation.message
    # A course for every skin type asks nothing of it.
    assert check(local_at(d("2026-01-13")), course=plain(LASER_COURSE), who=client()).ok


# Rule 5 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "earliest"),
    [("2026-03-31", None), ("2026-04-01", d("2026-10-01")), ("2026-09-30", d("2026-10-01"))],
)
def test_season_is_the_local_date_in_the_allowed_months(day, earliest) -> None:
    result = check(local_at(d(day)), course=plain(LASER_COURSE, months=LASER_COURSE.months))
    if earliest is None:
        assert codes(result) == set()
    else:
        assert codes(result) == {"out_of_season"}
        assert one(result, "out_of_season").earliest == earliest


def test_season_earliest_crosses_the_year_end() -> None:
    winter_only = plain(PEEL_COURSE, months=frozenset({1, 2}))
    result = check(local_at(d("2026-11-03")), course=winter_only)
    assert one(result, "out_of_season").earliest == d("2027-01-01")


def test_season_uses_the_local_date_at_midnight_utc() -> None:
    # 1 April 00:30 in Berlin is still 31 March in UTC.
    start = local_at(d("2026-04-01"), 0, 30)
    assert start.date() == d("2026-03-31")
    result = check(start, course=plain(LASER_COURSE, months=LASER_COURSE.months))
    assert "out_of_season" in codes(result)


# Rule 9 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minute", "expected"),
    [(0, {"client_double_booked"}), (45, {"client_double_booked"}), (60, set())],
)
def test_client_is_never_in_two_sessions_at_once(minute, expected) -> None:
    massage = booked(local_at(d("2026-01-13")), MASSAGE_COURSE)  # 10:00-11:00
    start = local_at(d("2026-01-13")) + timedelta(minutes=minute)
    result = check(start, course=plain(PEEL_COURSE), who=client(sessions=[massage]))
    assert codes(result) == expected
    if expected:
        assert one(result, "client_double_booked").conflict is True


def test_client_ending_a_session_when_the_other_starts_is_not_double_booked() -> None:
    massage = booked(local_at(d("2026-01-13"), 10, 45), MASSAGE_COURSE)
    result = check(
        local_at(d("2026-01-13")), course=plain(PEEL_COURSE), who=client(sessions=[massage])
    )
    assert result.ok


# Rule 10 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (local_at(d("2026-01-05"), 10, 0), {"in_the_past"}),
        (local_at(d("2026-01-05"), 10, 15), set()),
    ],
)
def test_nothing_is_booked_in_the_past(start, expected) -> None:
    assert codes(check(start, course=plain(PEEL_COURSE))) == expected


@pytest.mark.parametrize(
    ("notice", "by_staff", "expected"),
    [
        (timedelta(hours=24), False, set()),
        (timedelta(hours=24) - timedelta(minutes=1), False, {"too_late_to_change"}),
        (timedelta(hours=24) - timedelta(minutes=1), True, set()),
        (timedelta(hours=1), True, set()),
    ],
)
def test_client_changes_only_within_the_notice_staff_any_time(notice, by_staff, expected) -> None:
    current = booked(NOW + notice, plain(PEEL_COURSE), enrolment_id=3)
    result = check(
        ProposedSession(1, local_at(d("2026-01-13"))),
        course=plain(PEEL_COURSE),
        who=client(sessions=[current]),
        enrolment_id=3,
        replacing=frozenset({current.appointment_id}),
        current_starts={1: current.start},
        by_staff=by_staff,
    )
    assert codes(result) == expected
