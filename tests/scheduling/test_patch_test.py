"""The patch test (issue 21): a course's procedure may need one at least `min_hours_before` and
at most `max_days_before` before the first session, planned with the course; a reaction rules
the course out."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.scheduling import (
    CourseRules,
    PatchTestRule,
    Preferences,
    ProcedureRules,
    ProposedSession,
    check_course,
    plan_course,
    plan_with_patch_test,
)

from .builders import (
    ANNA,
    LASER_COURSE,
    NOW,
    TZ,
    booked,
    check,
    client,
    d,
    local_at,
    plain,
    snapshot,
)

PATCH = ProcedureRules(
    code="patch_test",
    name="Patch test",
    duration=timedelta(minutes=15),
    buffer=timedelta(minutes=0),
    qualification="laser",
)
PATCH_COURSE = CourseRules(
    code="patch_test_single",
    name="Patch test",
    procedure=PATCH,
    sessions=1,
    min_interval_days=0,
    max_interval_days=None,
)
# A CO2 laser course that needs a patch test 48 hours to 90 days before it (no season or
# care, so that only the patch test is judged).
RULE = PatchTestRule("patch_test", min_hours_before=48, max_days_before=90)
GUARDED = plain(LASER_COURSE, procedure=replace(LASER_COURSE.procedure, patch_test=RULE))
FIRST = local_at(d("2026-02-02"), 10)  # a Monday, weeks after NOW


def patch_test(start, reaction=None):
    return replace(booked(start, PATCH_COURSE, enrolment_id=50), reaction=reaction)


@pytest.mark.parametrize(
    ("before", "ok"),
    [
        (timedelta(hours=48), True),
        (timedelta(hours=48) - timedelta(minutes=1), False),
        (timedelta(days=90), True),
        (timedelta(days=90, minutes=1), False),
    ],
)
def test_the_patch_test_must_lie_inside_its_window_before_the_first_session(before, ok) -> None:
    result = check(FIRST, course=GUARDED, who=client(sessions=[patch_test(FIRST - before)]))
    if ok:
        assert result.ok, result.violations
        return
    assert [v.code for v in result.violations] == ["patch_test_required"]
    violation = result.violations[0]
    assert "at least 2 days and at most 90 days before the first session" in violation.message
    if before < timedelta(hours=48):
        # The test is too recent: the earliest first session is 48 hours after it.
        assert violation.earliest == (FIRST - before + timedelta(hours=48)).astimezone(TZ).date()


def test_without_a_patch_test_the_first_session_is_refused_with_the_earliest_date() -> None:
    result = check(FIRST, course=GUARDED)
    assert [v.code for v in result.violations] == ["patch_test_required"]
    assert result.violations[0].earliest == (NOW + timedelta(hours=48)).astimezone(TZ).date()
    # Only the first session needs it: the rest of a course is spaced from the first.
    second = check(ProposedSession(2, FIRST), course=GUARDED, enrolment_id=3)
    assert "patch_test_required" not in {v.code for v in second.violations}


def test_a_patch_test_with_a_reaction_rules_the_course_out() -> None:
    who = client(sessions=[patch_test(FIRST - timedelta(days=7), reaction="redness and swelling")])
    result = check(FIRST, course=GUARDED, who=who)
    assert [v.code for v in result.violations] == ["contraindicated"]
    assert result.violations[0].earliest is None
    assert "redness and swelling" in result.violations[0].message
    planned = plan_course(
        snapshot=snapshot(), course=GUARDED, client=who, earliest=d("2026-01-06"), now=NOW
    )
    assert [v.code for v in planned.violations] == ["contraindicated"]
    # Every session of the course, not only the first.
    later = check(ProposedSession(3, FIRST), course=GUARDED, who=who, enrolment_id=3)
    assert "contraindicated" in {v.code for v in later.violations}


def test_the_planner_alone_says_a_patch_test_is_needed() -> None:
    planned = plan_course(
        snapshot=snapshot(), course=GUARDED, client=client(), earliest=d("2026-01-06"), now=NOW
    )
    assert not planned.ok
    assert [v.code for v in planned.violations] == ["patch_test_required"]


def test_the_patch_test_is_planned_first_and_the_course_after_its_wait() -> None:
    slot, planned = plan_with_patch_test(
        snapshot=snapshot(),
        course=GUARDED,
        test_course=PATCH_COURSE,
        client=client(),
        earliest=d("2026-01-06"),
        now=NOW,
    )
    assert slot is not None and planned.ok, planned.violations
    first = planned.slots[0].start
    assert slot.start.astimezone(TZ).date() == d("2026-01-06")
    assert timedelta(hours=48) <= first - slot.start <= timedelta(days=90)


def test_a_season_far_away_puts_the_patch_test_within_its_longest_wait() -> None:
    # October to March only, planned from April: the test must not be 6 months early.
    winter = replace(GUARDED, months=frozenset({10, 11, 12, 1, 2, 3}))
    slot, planned = plan_with_patch_test(
        snapshot=snapshot(),
        course=winter,
        test_course=PATCH_COURSE,
        client=client(),
        earliest=d("2026-04-06"),
        now=NOW,
    )
    assert slot is not None and planned.ok, planned.violations
    first = planned.slots[0].start
    assert first.astimezone(TZ).month == 10
    assert timedelta(hours=48) <= first - slot.start <= timedelta(days=90)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offset=st.integers(min_value=0, max_value=200), hours=st.sampled_from([1, 24, 48, 72]))
def test_every_plan_with_a_patch_test_passes_the_checker(offset, hours) -> None:
    course = replace(
        GUARDED,
        procedure=replace(GUARDED.procedure, patch_test=replace(RULE, min_hours_before=hours)),
    )
    snap = snapshot()
    slot, planned = plan_with_patch_test(
        snapshot=snap,
        course=course,
        test_course=PATCH_COURSE,
        client=client(),
        earliest=d("2026-01-06") + timedelta(days=offset),
        now=NOW,
    )
    assert slot is not None and planned.ok, planned.violations
    taken = booked(slot.start, PATCH_COURSE, enrolment_id=50)
    result = check_course(
        snapshot=snap,
        course=course,
        client=client(sessions=[taken]),
        proposals=[
            ProposedSession(i, s.start, s.practitioner_id) for i, s in enumerate(planned.slots, 1)
        ],
        now=NOW,
    )
    assert result.ok, result.violations


def test_the_patch_test_keeps_the_clients_days_and_hours() -> None:
    wishes = Preferences(weekdays=frozenset({1, 3}), time_from=time(14), practitioner_id=ANNA)
    slot, planned = plan_with_patch_test(
        snapshot=snapshot(),
        course=GUARDED,
        test_course=PATCH_COURSE,
        client=client(),
        earliest=d("2026-01-06"),
        now=NOW,
        prefs=wishes,
    )
    assert slot is not None and planned.ok, planned.violations
    local = slot.start.astimezone(TZ)
    assert local.weekday() in {1, 3} and local.time() >= time(14)
    assert all(s.start.astimezone(TZ).weekday() in {1, 3} for s in planned.slots)
