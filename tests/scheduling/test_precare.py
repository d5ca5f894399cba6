"""Rule 11: a session whose pre-care has already begun when it is booked is refused, unless the
client says they kept it; the planner never proposes one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.scheduling import care_windows, describe_window, plan_course, precare_violation

from .builders import (
    NO_UV_BEFORE_14D,
    NOW,
    PEEL_COURSE,
    TZ,
    check,
    client,
    codes,
    d,
    local_at,
    one,
    plain,
    snapshot,
)

# A glycolic peel needing 14 days without sun before it.
PEEL = plain(PEEL_COURSE, sessions=2, care=(NO_UV_BEFORE_14D,))
SLOT = timedelta(minutes=15)
# NOW is Mon 5 Jan 2026, 10:07; the first on-grid start whose pre-care begins at or after it.
FIRST_KEEPABLE = local_at(d("2026-01-19"), 10, 15)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (FIRST_KEEPABLE, set()),  # pre-care begins 8 minutes from now
        (FIRST_KEEPABLE - SLOT, {"precare_not_kept"}),  # it began 7 minutes ago
        (local_at(d("2026-01-06")), {"precare_not_kept"}),  # tomorrow
    ],
    ids=["begins_after_now", "one_slot_earlier", "tomorrow"],
)
def test_a_session_whose_pre_care_has_begun_is_refused_with_the_earliest_date(
    start, expected
) -> None:
    result = check(start, course=PEEL)
    assert codes(result) == expected
    if expected:
        violation = one(result, "precare_not_kept")
        assert violation.earliest == d("2026-01-19")
        assert "Avoid sun\u201d for 2 weeks" in violation.message
        assert "19 January 2026" in violation.message


def test_pre_care_beginning_exactly_now_is_allowed() -> None:
    # Windows are half-open: [start - 14 days, start) beginning at `now` is keepable.
    now = local_at(d("2026-01-05"), 10, 15)
    assert codes(check(FIRST_KEEPABLE, course=PEEL, now=now)) == set()
    assert codes(check(FIRST_KEEPABLE, course=PEEL, now=now + timedelta(seconds=1))) == {
        "precare_not_kept"
    }


def test_a_client_who_kept_the_pre_care_may_book_it() -> None:
    result = check(local_at(d("2026-01-06")), course=PEEL, precare_confirmed=True)
    assert codes(result) == set()


def test_a_session_in_the_past_is_only_in_the_past() -> None:
    result = check(local_at(d("2026-01-05"), 9, 0), course=PEEL)
    assert codes(result) == {"in_the_past"}


def test_the_planner_never_proposes_a_session_whose_pre_care_has_begun() -> None:
    result = plan_course(
        snapshot=snapshot(), course=PEEL, client=client(), earliest=d("2026-01-06"), now=NOW
    )
    assert result.ok, result.violations
    assert result.slots[0].start == FIRST_KEEPABLE


@settings(max_examples=40, deadline=None)
@given(days=st.integers(min_value=0, max_value=30), hours=st.integers(min_value=24, max_value=600))
def test_planned_sessions_always_have_keepable_pre_care(days, hours) -> None:
    course = plain(PEEL_COURSE, sessions=2, care=(replace(NO_UV_BEFORE_14D, hours=hours),))
    earliest = d("2026-01-05") + timedelta(days=days)
    result = plan_course(
        snapshot=snapshot(), course=course, client=client(), earliest=earliest, now=NOW
    )
    assert result.ok, result.violations
    for slot in result.slots:
        assert precare_violation(session=1, start=slot.start, course=course, now=NOW, tz=TZ) is None
        assert codes(check(slot.start, course=course)) == set()


def test_a_begun_pre_care_window_is_described_without_its_past_date() -> None:
    start = local_at(d("2026-01-06"))
    (window,) = care_windows(start, PEEL, TZ)
    assert describe_window(window, TZ) == "Avoid sun from Tue 23 Dec 2025"
    assert describe_window(window, TZ, NOW) == "Avoid sun until the session"
