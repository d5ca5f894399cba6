"""Planning a course: as early as possible, same practitioner and time, preferences, reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from itertools import pairwise

import pytest

from clinic.scheduling import (
    ConditionState,
    DeclaredPeriod,
    PlanResult,
    Preferences,
    ProposedSession,
    plan_course,
)

from .builders import (
    ANNA,
    BEN,
    ENROLMENT,
    LASER,
    LASER_COURSE,
    LASER_DEVICE,
    MASSAGE_COURSE,
    NOW,
    PEEL,
    PEEL_COURSE,
    TZ,
    booked,
    check,
    client,
    clinic_rules,
    d,
    local_at,
    local_times,
    occupancy,
    plain,
    practitioner,
    snapshot,
)

COURSE = plain(PEEL_COURSE, sessions=3)  # 14 to 28 days


def plan(course=COURSE, *, snap=None, who=None, earliest="2026-01-06", **kwargs) -> PlanResult:
    return plan_course(
        snapshot=snap or snapshot(),
        course=course,
        client=who or client(),
        earliest=d(earliest),
        now=NOW,
        **kwargs,
    )


def days(result: PlanResult) -> list[date]:
    return [s.start.astimezone(TZ).date() for s in result.slots]


def test_plan_is_as_early_as_the_rules_allow() -> None:
    result = plan()
    assert result.ok
    assert days(result) == [d("2026-01-06"), d("2026-01-20"), d("2026-02-03")]
    assert local_times(s.start for s in result.slots) == [time(9, 0)] * 3


def test_plan_starting_today_skips_times_already_past() -> None:
    result = plan(earliest="2026-01-05")
    assert result.slots[0].start == local_at(d("2026-01-05"), 10, 15)


def test_plan_never_starts_before_today() -> None:
    result = plan(earliest="2025-12-01")
    assert days(result)[0] == d("2026-01-05")


def test_plan_skips_sundays_and_holidays() -> None:
    snap = snapshot(clinic=clinic_rules(holidays=frozenset({d("2026-01-19")})))
    result = plan(snap=snap, earliest="2026-01-04")  # a Sunday, before today's Monday
    assert days(result) == [d("2026-01-05"), d("2026-01-20"), d("2026-02-03")]


def test_plan_prefers_the_same_practitioner_over_an_earlier_time() -> None:
    # On the second date Anna is busy until 11:00; Ben is free at 09:00.
    busy = occupancy(local_at(d("2026-01-20"), 9, 0), PEEL, practitioner_id=ANNA)
    busy2 = occupancy(local_at(d("2026-01-20"), 10, 0), PEEL, practitioner_id=ANNA)
    result = plan(snap=snapshot([busy, busy2]))
    assert [s.practitioner_id for s in result.slots] == [ANNA] * 3
    assert result.slots[1].start == local_at(d("2026-01-20"), 11, 0)
    assert local_times(s.start for s in result.slots)[2] == time(9, 0)


def test_plan_keeps_the_time_of_day_of_the_first_session() -> None:
    # Only Anna; on the first day she is busy until 14:00, so the course runs at 14:00.
    busy = [
        occupancy(local_at(d("2026-01-06"), h, 0), PEEL, practitioner_id=ANNA) for h in range(9, 14)
    ]
    result = plan(snap=snapshot(busy, practitioners=[practitioner(ANNA)]))
    assert days(result) == [d("2026-01-06"), d("2026-01-20"), d("2026-02-03")]
    assert local_times(s.start for s in result.slots) == [time(14, 0)] * 3


def test_plan_respects_preferred_weekdays_times_and_practitioner() -> None:
    prefs = Preferences(
        weekdays=frozenset({1, 3}), time_from=time(13, 0), time_to=time(15, 0), practitioner_id=BEN
    )
    result = plan(prefs=prefs, course=plain(PEEL_COURSE, sessions=4))
    assert result.ok
    for slot in result.slots:
        start, end = slot.start.astimezone(TZ), slot.end.astimezone(TZ)
        assert start.weekday() in {1, 3}
        assert start.time() >= time(13, 0)
        assert end.time() <= time(15, 0)
        assert slot.practitioner_id == BEN
    assert days(result)[0] == d("2026-01-06")
    assert local_times(s.start for s in result.slots) == [time(13, 0)] * 4


def test_plan_shares_the_device_with_other_practitioners() -> None:
    # Ben holds the only laser 09:00-10:30 on the first day: the plan starts at 10:30.
    busy = occupancy(
        local_at(d("2026-01-06"), 9), LASER, practitioner_id=BEN, device_id=LASER_DEVICE
    )
    # Aftercare only: the laser's 28 days of pre-care would push it past the first day.
    result = plan(replace(LASER_COURSE, care=LASER_COURSE.aftercare), snap=snapshot([busy]))
    assert result.slots[0].start == local_at(d("2026-01-06"), 10, 30)
    assert {s.device_id for s in result.slots} == {LASER_DEVICE}


@pytest.mark.parametrize(
    ("course", "expected"),
    [
        # Two sessions fit the rest of the season after 28 Feb.
        (plain(LASER_COURSE, sessions=2, months=LASER_COURSE.months), ["2026-02-28", "2026-03-28"]),
        # Three do not (the third would fall in April, and 90 days cannot bridge the summer):
        # the course waits for October.
        (
            plain(LASER_COURSE, months=LASER_COURSE.months),
            ["2026-10-01", "2026-10-29", "2026-11-26"],
        ),
    ],
)
def test_plan_waits_for_a_contraindication_lookback_and_the_season(course, expected) -> None:
    who = client(conditions={"isotretinoin": ConditionState(last_on=d("2025-09-01"))})
    course = replace(course, contraindications=LASER_COURSE.contraindications)
    result = plan(course, who=who, earliest="2026-01-06")
    assert days(result) == [d(x) for x in expected]


def test_plan_avoids_restriction_conflicts_with_other_courses() -> None:
    # A peel done on 2 Jan 10:00 forbids resurfacing for 14 days: laser from 16 Jan 10:00.
    peel = booked(local_at(d("2026-01-02")), PEEL_COURSE)
    result = plan(plain(LASER_COURSE, sessions=1), who=client(sessions=[peel]))
    assert result.slots[0].start == local_at(d("2026-01-16"), 10, 0)


def test_plan_keeps_its_own_restrictions_off_booked_sessions() -> None:
    # Before a peel booked on 20 Jan 10:00, the laser's 28 days of no_resurfacing would cover
    # it; after it, the peel's 14 days hold the laser off until 3 Feb 10:00.
    peel = booked(local_at(d("2026-01-20")), PEEL_COURSE)
    laser = plain(LASER_COURSE, sessions=1, care=LASER_COURSE.care)
    result = plan(laser, who=client(sessions=[peel]))
    assert result.slots[0].start == local_at(d("2026-02-03"), 10, 0)


def test_plan_avoids_the_clients_declared_plans() -> None:
    beach = DeclaredPeriod("sun_exposure", d("2026-01-10"), d("2026-01-31"))
    course = plain(PEEL_COURSE, sessions=2, care=PEEL_COURSE.care)
    result = plan(course, who=client(periods=[beach]))
    assert result.ok
    # 14 days no sun before: the first session is on 15 Feb at the earliest (a Sunday).
    assert days(result)[0] == d("2026-02-16")


def test_impossible_plan_when_a_contraindication_is_present() -> None:
    who = client(conditions={"pregnancy": ConditionState(present=True)})
    result = plan(PEEL_COURSE, who=who)
    assert not result.ok
    assert result.slots == ()
    assert [v.code for v in result.violations] == ["contraindicated"]
    assert "pregnancy" in result.violations[0].message


def test_impossible_plan_when_the_skin_type_is_outside_the_course_list() -> None:
    light_skin_only = plain(LASER_COURSE, phototypes=frozenset({1, 2, 3, 4}))
    result = plan(light_skin_only, who=client(phototype=6))
    assert result.slots == ()
    assert [v.code for v in result.violations] == ["contraindicated"]
    assert "skin type VI" in result.violations[0].message
    assert plan(light_skin_only, who=client(phototype=2)).ok


def test_impossible_plan_when_the_interval_cannot_bridge_the_season() -> None:
    january_only = plain(PEEL_COURSE, sessions=2, min_interval_days=42, max_interval_days=60)
    january_only = plain(january_only, months=frozenset({1}))
    result = plan(january_only)
    assert not result.ok
    assert "out_of_season" in {v.code for v in result.violations}
    assert all(v.session == 2 for v in result.violations)


def test_impossible_plan_when_the_client_is_in_the_sun_all_year() -> None:
    summer = DeclaredPeriod("sun_exposure", d("2026-01-01"), d("2027-12-31"), "living abroad")
    result = plan(replace(PEEL_COURSE, care=PEEL_COURSE.aftercare), who=client(periods=[summer]))
    assert not result.ok
    assert [v.code for v in result.violations] == ["conflicts_with_client_plans"]
    assert result.violations[0].soft is True
    assert "living abroad" in result.violations[0].message


def test_impossible_plan_when_nobody_is_qualified() -> None:
    snap = snapshot(practitioners=[practitioner(ANNA, qualifications={"massage"})])
    result = plan(snap=snap)
    assert [v.code for v in result.violations] == ["not_qualified"]


def test_impossible_plan_when_the_chosen_practitioner_is_not_qualified() -> None:
    snap = snapshot(practitioners=[practitioner(ANNA), practitioner(BEN, qualifications={"x"})])
    result = plan(snap=snap, prefs=Preferences(practitioner_id=BEN))
    assert [v.code for v in result.violations] == ["not_qualified"]
    assert plan(snap=snap, prefs=Preferences(practitioner_id=ANNA)).ok


def test_impossible_plan_outside_the_season_for_the_whole_horizon() -> None:
    never = plain(PEEL_COURSE, months=frozenset())
    result = plan(never)
    assert [v.code for v in result.violations] == ["out_of_season"]


def test_replan_of_the_rest_follows_the_fixed_previous_session() -> None:
    previous = local_at(d("2026-01-13"), 15, 0)
    fixed = [
        booked(local_at(d("2025-12-30"), 15, 0), COURSE, session=1, enrolment_id=ENROLMENT),
        booked(previous, COURSE, session=2, enrolment_id=ENROLMENT),
    ]
    course = plain(PEEL_COURSE, sessions=4)
    result = plan(
        course,
        who=client(sessions=fixed),
        earliest="2026-01-06",
        first_session=3,
        enrolment_id=ENROLMENT,
        previous_start=previous,
    )
    assert result.ok
    assert days(result) == [d("2026-01-27"), d("2026-02-10")]
    recheck = check(
        *(
            ProposedSession(n, s.start, s.practitioner_id)
            for n, s in zip((3, 4), result.slots, strict=True)
        ),
        course=course,
        who=client(sessions=fixed),
        enrolment_id=ENROLMENT,
    )
    assert recheck.ok


def test_replan_of_the_rest_is_impossible_when_max_interval_is_blocked() -> None:
    previous = local_at(d("2026-01-13"))
    off = ((d("2026-01-20"), d("2026-03-31")),)
    snap = snapshot(practitioners=[practitioner(ANNA, time_off=off)])
    result = plan(
        plain(PEEL_COURSE, sessions=3),
        snap=snap,
        first_session=2,
        previous_start=previous,
    )
    assert not result.ok
    assert [(v.code, v.session) for v in result.violations] == [("practitioner_unavailable", 2)]


@pytest.mark.parametrize("sessions", [1, 6])
def test_plan_places_every_session_of_the_course(sessions) -> None:
    result = plan(plain(PEEL_COURSE, sessions=sessions))
    assert len(result.slots) == sessions
    assert [(b - a).days for a, b in pairwise(days(result))] == [14] * (sessions - 1)
    assert result.slots[0].start - local_at(d("2026-01-06"), 9) == timedelta(0)


def test_plan_of_same_day_sessions_leaves_the_buffer_between_them() -> None:
    same_day = plain(PEEL_COURSE, sessions=2, min_interval_days=0, max_interval_days=3)
    result = plan(same_day, snap=snapshot(practitioners=[practitioner(ANNA)]))
    assert local_times(s.start for s in result.slots) == [time(9, 0), time(10, 0)]
    assert days(result) == [d("2026-01-06")] * 2


def test_plans_on_one_book_share_days_but_not_preferences_or_what_was_set_aside() -> None:
    # A worker plans many times on one book; what a day offers is kept between plans. Anna
    # alone, busy 09:00-10:00 and from 14:00 to closing on the first day.
    first_day = d("2026-01-06")
    busy = occupancy(local_at(first_day, 9, 0), PEEL, practitioner_id=ANNA)
    afternoon_busy = [
        occupancy(local_at(first_day, h, 0), PEEL, practitioner_id=ANNA) for h in range(14, 18)
    ]
    snap = snapshot([busy, *afternoon_busy], practitioners=[practitioner(ANNA)])

    afternoon = plan(snap=snap, prefs=Preferences(time_from=time(14, 0)))
    assert afternoon.slots[0].start == local_at(d("2026-01-07"), 14, 0)
    anytime = plan(snap=snap)
    assert anytime.slots[0].start == local_at(first_day, 10, 0)
    # Moving that appointment: set aside, its hour is free for this plan only.
    moving = plan(snap=snap, replacing=frozenset({busy.appointment_id}))
    assert moving.slots[0].start == local_at(first_day, 9, 0)
    assert plan(snap=snap).slots[0].start == local_at(first_day, 10, 0)


def test_a_full_day_is_stepped_over_with_its_reason_for_every_plan() -> None:
    # Anna alone and busy all of the first day: every plan starts the next day, and one that
    # cannot go further says why.
    first_day = d("2026-01-06")
    busy = [occupancy(local_at(first_day, h, 0), PEEL, practitioner_id=ANNA) for h in range(9, 18)]
    snap = snapshot(busy, practitioners=[practitioner(ANNA)])
    for _ in range(2):
        assert days(plan(snap=snap))[0] == d("2026-01-07")
    previous = local_at(d("2025-12-30"))
    stuck = plan(
        plain(PEEL_COURSE, sessions=2, min_interval_days=7, max_interval_days=7),
        snap=snap,
        first_session=2,
        previous_start=previous,
    )
    assert [(v.code, v.session) for v in stuck.violations] == [("practitioner_unavailable", 2)]


# --- the reason named is the rule that bound the search (issue 14) ---------------------------


def test_impossible_plan_on_weekdays_the_clinic_is_closed_says_so() -> None:
    # Sundays only, for a seasonal course: the clinic's hours bind, not the season.
    result = plan(LASER_COURSE, prefs=Preferences(weekdays=frozenset({6})))
    assert [(v.code, v.message) for v in result.violations] == [
        ("clinic_closed", "The clinic is closed on Sundays.")
    ]


def test_a_plan_wishing_for_no_weekday_is_refused_saying_so_not_crashing() -> None:
    result = plan(prefs=Preferences(weekdays=frozenset()))
    assert [v.code for v in result.violations] == ["no_weekday"]
    assert "choose at least one" in result.violations[0].message


def test_impossible_plan_with_an_unqualified_practitioner_names_them() -> None:
    snap = snapshot(
        practitioners=[practitioner(ANNA), practitioner(BEN, qualifications={"massage"})]
    )
    result = plan(LASER_COURSE, snap=snap, prefs=Preferences(practitioner_id=BEN))
    assert [(v.code, v.message) for v in result.violations] == [
        ("not_qualified", "Ben is not qualified for CO2 laser resurfacing.")
    ]


@pytest.mark.parametrize(
    ("time_from", "time_to", "weekdays", "words"),
    [
        (time(20, 0), time(21, 0), None, "between 20:00 and 21:00"),
        # Open until 18:00: a 45-minute peel does not fit 17:30 to 18:30.
        (time(17, 30), time(18, 30), None, "between 17:30 and 18:30"),
        (time(9, 0), time(12, 0), frozenset({5}), None),  # Saturday mornings: possible
    ],
)
def test_impossible_plan_outside_opening_hours_says_the_clinic_is_closed(
    time_from, time_to, weekdays, words
) -> None:
    prefs = Preferences(weekdays=weekdays, time_from=time_from, time_to=time_to)
    result = plan(prefs=prefs)
    if words is None:
        assert result.ok
        return
    assert [v.code for v in result.violations] == ["clinic_closed"]
    assert words in result.violations[0].message


OPEN_SHORT = (time(9, 0), time(13, 0))


def test_a_day_outside_the_wished_time_of_day_is_closed_not_busy() -> None:
    # Saturdays close at 13:00 here: afternoons fit on weekdays only, so a re-plan bound to
    # a Saturday says the clinic is closed then.
    opening = {wd: (OPEN_SHORT if wd == 5 else (time(9, 0), time(18, 0)),) for wd in range(6)}
    snap = snapshot(clinic=clinic_rules(opening=opening))
    previous = local_at(d("2026-01-03"))  # a Saturday
    result = plan(
        plain(PEEL_COURSE, sessions=2, min_interval_days=7, max_interval_days=7),
        snap=snap,
        first_session=2,
        previous_start=previous,
        prefs=Preferences(time_from=time(15, 0)),
    )
    assert [v.code for v in result.violations] == ["clinic_closed"]


def test_plan_that_cannot_finish_this_season_says_by_when_it_must_start() -> None:
    # CO2, 3 sessions at least 28 days apart, October to March: to finish by 31 March the
    # course must start by 3 February; asked for 25 February it starts on 1 October.
    result = plan(plain(LASER_COURSE, months=LASER_COURSE.months), earliest="2026-02-25")
    assert result.ok
    assert days(result)[0] == d("2026-10-01")
    assert [(n.code, n.earliest) for n in result.notes] == [("out_of_season", d("2026-10-01"))]
    assert result.notes[0].message == (
        "CO2 laser resurfacing is only done from October to March, and 3 sessions at least 28 "
        "days apart must start by 3 February 2026 to finish by 31 March 2026: the plan starts "
        "in the next season, on 1 October 2026."
    )


def test_plan_that_fits_this_season_has_no_note() -> None:
    result = plan(plain(LASER_COURSE, months=LASER_COURSE.months), earliest="2026-02-02")
    assert days(result)[0] == d("2026-02-02")
    assert result.notes == ()
    # Out of season when asked: starting in October is no surprise.
    summer = plan(plain(LASER_COURSE, months=LASER_COURSE.months), earliest="2026-06-01")
    assert days(summer)[0] == d("2026-10-01") and summer.notes == ()


# --- ideal spacing (issue 14) -----------------------------------------------------------------

MASSAGE_IDEAL_4 = replace(MASSAGE_COURSE, ideal_interval_days=4)


def gaps(result: PlanResult) -> list[int]:
    return [(b - a).days for a, b in pairwise(days(result))]


def test_plan_aims_for_the_ideal_interval_not_the_minimum() -> None:
    # Ten massages 2 to 7 days apart, ideally 4: not packed two days apart. A Sunday (closed)
    # on the ideal day falls back to the nearest day, the earlier first between equals.
    result = plan(MASSAGE_IDEAL_4, earliest="2026-01-06")
    assert result.ok
    assert gaps(result) == [4, 4, 3, 4, 3, 4, 3, 4, 3]
    assert all(2 <= g <= 7 for g in gaps(result))
    assert gaps(plan(MASSAGE_COURSE, earliest="2026-01-06")) == [2, 2, 2, 2, 2, 3, 2, 2, 3]


def test_plan_without_a_free_ideal_day_falls_back_to_the_nearest_day() -> None:
    # Anna alone, busy all of the ideal day (Sat 10 Jan): Fri 9 Jan is as near as Mon 12 Jan
    # (Sun 11 is closed) and earlier.
    busy = [occupancy(local_at(d("2026-01-10"), h), PEEL) for h in range(9, 18)]
    snap = snapshot(busy, practitioners=[practitioner(ANNA)])
    result = plan(replace(MASSAGE_IDEAL_4, sessions=2), snap=snap, earliest="2026-01-06")
    assert days(result) == [d("2026-01-06"), d("2026-01-09")]


def test_plan_keeps_the_practitioner_a_day_off_the_ideal_rather_than_change() -> None:
    # Anna is off on the ideal day of session 2 (Sat 10 Jan) and Ben is free then: the course
    # stays with Anna on Fri 9 Jan, one day off the ideal.
    off = ((d("2026-01-10"), d("2026-01-10")),)
    snap = snapshot(practitioners=[practitioner(ANNA, time_off=off), practitioner(BEN)])
    result = plan(replace(MASSAGE_IDEAL_4, sessions=3), snap=snap, earliest="2026-01-06")
    assert [s.practitioner_id for s in result.slots] == [ANNA] * 3
    assert days(result) == [d("2026-01-06"), d("2026-01-09"), d("2026-01-13")]


def test_plan_changes_practitioner_only_when_the_first_has_no_day_within_spacing() -> None:
    off = ((d("2026-01-07"), d("2026-01-20")),)
    snap = snapshot(practitioners=[practitioner(ANNA, time_off=off), practitioner(BEN)])
    result = plan(replace(MASSAGE_IDEAL_4, sessions=2), snap=snap, earliest="2026-01-06")
    assert [s.practitioner_id for s in result.slots] == [ANNA, BEN]
    assert days(result) == [d("2026-01-06"), d("2026-01-10")]


def test_replan_of_the_rest_aims_for_the_ideal_interval_from_the_previous_session() -> None:
    previous = local_at(d("2026-01-13"))
    course = replace(plain(PEEL_COURSE, sessions=3), ideal_interval_days=21)
    result = plan(course, first_session=2, previous_start=previous, earliest="2026-01-06")
    assert days(result) == [d("2026-02-03"), d("2026-02-24")]


def test_an_ideal_interval_never_breaks_the_spacing_rule() -> None:
    # Aftercare only: a pre-care window begun before the fixed now would delay the start
    # (rule 11) and the season would then squeeze the gaps.
    aftercare = tuple(c for c in LASER_COURSE.care if c.phase == "after")
    course = replace(LASER_COURSE, ideal_interval_days=42, care=aftercare)
    result = plan(course, earliest="2026-01-06")
    assert result.ok
    assert gaps(result) == [42, 42]
    recheck = check(*(s.start for s in result.slots), course=course)
    assert recheck.ok, recheck.violations


def test_plan_spaces_a_course_by_its_own_interval_not_by_its_own_aftercare() -> None:
    # "No other resurfacing for 14 days" after each peel of a course 7 to 14 days apart
    # (rule 2's clarification): the sessions go 7 days apart.
    course = plain(PEEL_COURSE, sessions=3, min_interval_days=7, max_interval_days=14)
    course = replace(course, care=(PEEL_COURSE.care[-1],))
    result = plan(course)
    assert result.ok, result.violations
    assert days(result) == [d("2026-01-06"), d("2026-01-13"), d("2026-01-20")]


def test_plan_still_keeps_clear_of_another_enrolments_windows() -> None:
    course = plain(PEEL_COURSE, sessions=1, care=(PEEL_COURSE.care[-1],))
    other = booked(local_at(d("2026-01-06"), 9, 0), course, enrolment_id=ENROLMENT + 1)
    result = plan(course, who=client(sessions=[other]))
    assert days(result) == [d("2026-01-20")]
