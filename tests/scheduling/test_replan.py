"""The attention list's re-plan: broken sessions move, as few as possible, within the rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clinic.scheduling import (
    BookedSession,
    ClientState,
    ConditionState,
    CourseRules,
    DeclaredPeriod,
    Equipment,
    Occupancy,
    PractitionerCalendar,
    Preferences,
    ProposedSession,
    Replan,
    ResourceBook,
    Slot,
    Snapshot,
    check_course,
    minimal_replan,
    precare_violation,
)
from clinic.scheduling import replan as replan_module
from clinic.scheduling.daysearch import DaySearch, kept_day_search
from clinic.scheduling.resources import DayResources, held_by

from .builders import (
    ANNA,
    BEN,
    MASSAGE_COURSE,
    NO_RESURFACING_14D,
    NO_UV_AFTER_7D,
    NO_UV_BEFORE_14D,
    NOW,
    PEEL,
    PEEL_COURSE,
    ROOM_1,
    ROOM_2,
    TZ,
    client,
    clinic_rules,
    d,
    local_at,
    plain,
    practitioner,
    snapshot,
)

ENROLMENT = 7
PEELS = plain(PEEL_COURSE)
PEEL_ONLY = ("peel",)


def course_sessions(
    days: list[date], course: CourseRules = PEELS, *, hh: int = 10, first_id: int = 101
) -> list[BookedSession]:
    """Sessions 1..n of ENROLMENT on `days` at hh:00, appointment ids from `first_id`."""
    return [
        BookedSession(
            first_id + i,
            ENROLMENT,
            i + 1,
            local_at(day, hh),
            local_at(day, hh) + course.procedure.duration,
            course,
        )
        for i, day in enumerate(days)
    ]


def held(
    sessions: list[BookedSession], practitioner_id: int = ANNA, room_id: int = ROOM_1
) -> list[Occupancy]:
    """The sessions as the resource book holds them."""
    return [
        Occupancy(
            s.appointment_id,
            practitioner_id,
            None,
            room_id,
            s.start,
            s.end + s.course.procedure.buffer,
        )
        for s in sessions
    ]


def replan(
    sessions: list[BookedSession],
    broken: set[int],
    *,
    snap: Snapshot,
    course: CourseRules = PEELS,
    who: ClientState | None = None,
    now: datetime = NOW,
    **kwargs: object,
) -> Replan:
    return minimal_replan(
        snapshot=snap,
        course=course,
        client=who or client(sessions=sessions),
        enrolment_id=ENROLMENT,
        broken=frozenset(broken),
        now=now,
        **kwargs,  # type: ignore[arg-type]
    )


def moved_to(result: Replan) -> dict[int, tuple[date, int, int]]:
    """appointment id -> (local day, hour, practitioner) of each move."""
    return {
        aid: (
            slot.start.astimezone(TZ).date(),
            slot.start.astimezone(TZ).hour,
            slot.practitioner_id,
        )
        for aid, slot in result.moves
    }


def final_check(
    snap: Snapshot,
    course: CourseRules,
    who: ClientState,
    sessions: list[BookedSession],
    result: Replan,
    now: datetime = NOW,
    broken: frozenset[int] = frozenset(),
) -> tuple[object, ...]:
    """Every violation of the final state: the moved sessions, and the broken ones that stay
    (with Anna, who holds them), judged together by the checker (pre-care confirmed when moved
    later, as a move does), the others fixed."""
    by_id = {s.appointment_id: s for s in sessions}
    moved = [(by_id[aid], slot) for aid, slot in result.moves]
    staying = [by_id[aid] for aid in broken - {aid for aid, _ in result.moves}]
    proposals = [ProposedSession(s.session, slot.start, slot.practitioner_id) for s, slot in moved]
    proposals += [ProposedSession(s.session, s.start, ANNA) for s in staying]
    checked = check_course(
        snapshot=snap,
        course=course,
        client=who,
        proposals=sorted(proposals, key=lambda p: p.session),
        now=now,
        enrolment_id=ENROLMENT,
        replacing=frozenset(aid for aid, _ in result.moves) | broken,
        by_staff=True,
        precare_confirmed=True,
    )
    earlier = [
        precare_violation(session=s.session, start=slot.start, course=course, now=now, tz=TZ)
        for s, slot in moved
        if slot.start < s.start
    ]
    return checked.violations + tuple(v for v in earlier if v is not None)


# Six peels three weeks apart (14 to 28 days allowed), Wednesdays at 10:00 with Anna.
SIX = [
    d("2026-01-07"),
    d("2026-01-28"),
    d("2026-02-18"),
    d("2026-03-11"),
    d("2026-04-01"),
    d("2026-04-22"),
]


def test_time_off_over_session_3_moves_only_session_3_to_the_next_day_with_her() -> None:
    sessions = course_sessions(SIX)
    snap = snapshot(
        held(sessions),
        practitioners=[
            practitioner(ANNA, time_off=((d("2026-02-18"), d("2026-02-18")),)),
            practitioner(BEN, qualifications=("massage",)),
        ],
    )
    result = replan(sessions, {103}, snap=snap)
    assert result.ok
    # The nearest day she is back, the later first between equals, at the same time.
    assert moved_to(result) == {103: (d("2026-02-19"), 10, ANNA)}
    assert final_check(snap, PEELS, client(sessions=sessions), sessions, result) == ()


def test_time_off_over_session_3_moves_it_to_another_practitioner_on_its_own_day() -> None:
    sessions = course_sessions(SIX)
    snap = snapshot(
        held(sessions),
        practitioners=[
            practitioner(ANNA, time_off=((d("2026-02-16"), d("2026-02-21")),)),
            practitioner(BEN),
        ],
    )
    result = replan(sessions, {103}, snap=snap)
    assert moved_to(result) == {103: (d("2026-02-18"), 10, BEN)}


def test_a_week_off_moves_session_3_to_the_nearest_day_she_is_back() -> None:
    sessions = course_sessions(SIX)
    snap = snapshot(
        held(sessions),
        practitioners=[
            practitioner(ANNA, time_off=((d("2026-02-16"), d("2026-02-20")),)),
            practitioner(BEN, qualifications=("massage",)),
        ],
    )
    result = replan(sessions, {103}, snap=snap)
    # Saturday 21 Feb is 3 days away, Saturday 14 Feb 4 (Sunday 15 the clinic is closed).
    assert moved_to(result) == {103: (d("2026-02-21"), 10, ANNA)}


def test_a_holiday_moves_the_session_to_the_nearest_open_day_at_its_time() -> None:
    sessions = course_sessions(SIX)
    # Someone else holds Anna at 10:00 on the day after: 10:15 is the nearest time then.
    busy = held(
        [
            replace(
                sessions[0],
                appointment_id=900,
                start=local_at(d("2026-02-19"), 9, 30),
                end=local_at(d("2026-02-19"), 10, 15),
            )
        ]
    )
    snap = snapshot(
        held(sessions) + busy,
        clinic=clinic_rules(holidays=frozenset({d("2026-02-18")})),
        practitioners=[practitioner(ANNA), practitioner(BEN, qualifications=("massage",))],
    )
    result = replan(sessions, {103}, snap=snap)
    assert [(s.start.astimezone(TZ).strftime("%d %H:%M")) for _, s in result.moves] == ["19 10:30"]


# Six peels two weeks apart, but sessions 4 and 5 three weeks apart.
TIGHT = [
    d("2026-01-07"),
    d("2026-01-21"),
    d("2026-02-04"),
    d("2026-02-18"),
    d("2026-03-11"),
    d("2026-04-01"),
]
ONLY_ANNA = [
    practitioner(ANNA, time_off=((d("2026-02-02"), d("2026-02-07")),)),
    practitioner(BEN, qualifications=("massage",)),
]


def test_a_move_that_cannot_keep_session_4_in_spacing_moves_3_and_4_but_not_5() -> None:
    sessions = course_sessions(TIGHT)
    snap = snapshot(held(sessions), practitioners=ONLY_ANNA)
    result = replan(sessions, {103}, snap=snap)
    assert result.ok
    # Session 3 fits only 4 Feb between 21 Jan and 18 Feb (14 days each way): she is off.
    # Monday 9 Feb is the nearest day after; session 4 then needs 23 Feb or later, and 5
    # (11 Mar) still holds from there.
    assert moved_to(result) == {
        103: (d("2026-02-09"), 10, ANNA),
        104: (d("2026-02-23"), 10, ANNA),
    }
    assert final_check(snap, PEELS, client(sessions=sessions), sessions, result) == ()


def test_a_session_kept_in_place_leaves_no_replan_when_it_had_to_move() -> None:
    sessions = course_sessions(TIGHT)
    snap = snapshot(held(sessions), practitioners=ONLY_ANNA)
    result = replan(sessions, {103}, snap=snap, keep=frozenset({104}))
    assert not result.ok
    assert result.moves == ()
    assert {v.code for v in result.violations} <= {
        "practitioner_unavailable",
        "spacing_too_close",
        "spacing_too_far",
    }


def test_nothing_broken_moves_nothing() -> None:
    sessions = course_sessions(SIX)
    result = replan(sessions, set(), snap=snapshot(held(sessions)))
    assert result == Replan(())
    assert result.ok


def test_a_broken_session_already_past_is_not_moved() -> None:
    sessions = course_sessions(SIX)
    result = replan(sessions, {101}, snap=snapshot(held(sessions)), now=local_at(d("2026-01-08")))
    assert result == Replan(())


def test_no_replan_names_the_rule_when_she_is_off_for_the_rest_of_the_season() -> None:
    sessions = course_sessions(SIX)
    snap = snapshot(
        held(sessions),
        practitioners=[
            practitioner(ANNA, time_off=((d("2026-02-01"), d("2026-12-31")),)),
            practitioner(BEN, qualifications=("massage",)),
        ],
    )
    result = replan(sessions, {103, 104, 105, 106}, snap=snap)
    assert not result.ok
    assert result.moves == ()
    assert [v.code for v in result.violations] == ["practitioner_unavailable"]
    assert result.violations[0].session == 3
    assert "session 3" in result.violations[0].message


def test_no_replan_while_a_present_condition_contraindicates_the_course() -> None:
    sessions = course_sessions(SIX, PEEL_COURSE)
    who = client(sessions=sessions, conditions={"pregnancy": ConditionState(present=True)})
    result = replan(
        sessions, {103, 104}, snap=snapshot(held(sessions)), course=PEEL_COURSE, who=who
    )
    assert [v.code for v in result.violations] == ["contraindicated"]


def test_a_new_lookback_moves_the_session_to_its_first_allowed_day() -> None:
    course = replace(
        PEELS,
        contraindications=(
            PEEL_COURSE.contraindications[0],
            replace(PEEL_COURSE.contraindications[1], lookback_days=30),
        ),
    )
    sessions = course_sessions(SIX, course)
    # Pregnancy ended 20 Jan: peels from 19 Feb on.
    who = client(
        sessions=sessions, conditions={"pregnancy": ConditionState(last_on=d("2026-01-20"))}
    )
    result = replan(sessions, {103}, snap=snapshot(held(sessions)), course=course, who=who)
    assert moved_to(result) == {103: (d("2026-02-19"), 10, ANNA)}


def test_a_session_moved_later_keeps_the_pre_care_the_client_has_begun() -> None:
    # Session 2 is in 3 days; its 14 days without sun began long ago.
    days = [d("2025-12-24"), d("2026-01-08"), d("2026-01-29")]
    sessions = course_sessions(days, PEEL_COURSE)
    snap = snapshot(
        held(sessions),
        practitioners=[
            practitioner(ANNA, time_off=((d("2026-01-08"), d("2026-01-08")),)),
            practitioner(BEN, qualifications=("massage",)),
        ],
    )
    result = replan(sessions, {102}, snap=snap, course=PEEL_COURSE)
    # Wednesday 7 Jan is as near, but its pre-care has begun without the client knowing.
    assert moved_to(result) == {102: (d("2026-01-09"), 10, ANNA)}
    assert final_check(snap, PEEL_COURSE, client(sessions=sessions), sessions, result) == ()


def test_a_client_cannot_replan_a_session_inside_the_change_notice() -> None:
    sessions = course_sessions([d("2026-01-06"), d("2026-01-27")])
    snap = snapshot(held(sessions), clinic=clinic_rules(holidays=frozenset({d("2026-01-06")})))
    result = replan(sessions, {101}, snap=snap, by_staff=False)
    assert [v.code for v in result.violations] == ["too_late_to_change"]
    assert replan(sessions, {101}, snap=snap, by_staff=True).ok


def test_the_replan_stays_within_the_season() -> None:
    course = replace(PEELS, months=frozenset({10, 11, 12, 1, 2, 3}), sessions=3)
    days = [d("2026-03-02"), d("2026-03-16"), d("2026-03-31")]
    sessions = course_sessions(days, course)
    snap = snapshot(
        held(sessions),
        practitioners=[
            practitioner(ANNA, time_off=((d("2026-03-31"), d("2026-03-31")),)),
            practitioner(BEN, qualifications=("massage",)),
        ],
    )
    result = replan(sessions, {103}, snap=snap, course=course)
    # 1 April is as near as 30 March, and later, but out of season.
    assert moved_to(result) == {103: (d("2026-03-30"), 10, ANNA)}


def test_two_broken_sessions_far_apart_move_independently() -> None:
    sessions = course_sessions(SIX)
    snap = snapshot(
        held(sessions),
        clinic=clinic_rules(holidays=frozenset({d("2026-01-28"), d("2026-04-01")})),
    )
    result = replan(sessions, {102, 105}, snap=snap)
    assert moved_to(result) == {
        102: (d("2026-01-29"), 10, ANNA),
        105: (d("2026-04-02"), 10, ANNA),
    }


def test_a_stricter_spacing_moves_the_later_sessions_and_keeps_the_first() -> None:
    # Booked 14 days apart; the course's rules now say 21 to 28 days: every session breaks
    # spacing with a neighbour, and the first one can stay where it is.
    sessions = course_sessions(TIGHT[:4])
    stricter = replace(PEELS, min_interval_days=21)
    snap = snapshot(held(sessions))
    every = frozenset(s.appointment_id for s in sessions)
    result = replan(sessions, set(every), snap=snap, course=stricter)
    assert moved_to(result) == {
        102: (d("2026-01-28"), 10, ANNA),
        103: (d("2026-02-18"), 10, ANNA),
        104: (d("2026-03-11"), 10, ANNA),
    }
    who = client(sessions=sessions)
    assert final_check(snap, stricter, who, sessions, result, broken=every) == ()


def test_a_stricter_spacing_grows_the_run_until_a_session_stays() -> None:
    # 21 days apart now; only the second gap is 14 days: sessions 2 and 3 break. Session 3
    # cannot fit between 2 and 4 (21 days apart), nor 2 and 3 between 1 and 4: session 4
    # moves too, and session 2 keeps its place.
    days = [d("2026-01-07"), d("2026-01-28"), d("2026-02-11"), d("2026-03-04")]
    sessions = course_sessions(days)
    stricter = replace(PEELS, min_interval_days=21)
    snap = snapshot(held(sessions))
    result = replan(sessions, {102, 103}, snap=snap, course=stricter)
    assert moved_to(result) == {
        103: (d("2026-02-18"), 10, ANNA),
        104: (d("2026-03-11"), 10, ANNA),
    }
    who = client(sessions=sessions)
    assert final_check(snap, stricter, who, sessions, result, broken=frozenset({102, 103})) == ()


def test_sessions_of_one_day_move_together_and_hold_each_other() -> None:
    # Two massages on Monday, 0 to 2 days apart; Monday becomes a holiday.
    course = replace(MASSAGE_COURSE, sessions=3, min_interval_days=0, max_interval_days=2)
    sessions = course_sessions([d("2026-01-12"), d("2026-01-12"), d("2026-01-14")], course)
    sessions[1] = replace(
        sessions[1], start=local_at(d("2026-01-12"), 11), end=local_at(d("2026-01-12"), 12)
    )
    snap = snapshot(
        held(sessions),
        clinic=clinic_rules(holidays=frozenset({d("2026-01-12")})),
        practitioners=[practitioner(ANNA)],
        rooms=[Equipment(ROOM_1, "Room 1")],
    )
    result = replan(sessions, {101, 102}, snap=snap, course=course)
    # Tuesday, the later of the nearest days; the second one right after the first.
    assert [s.start.astimezone(TZ).strftime("%a %H:%M") for _, s in result.moves] == [
        "Tue 10:00",
        "Tue 11:00",
    ]
    assert final_check(snap, course, client(sessions=sessions), sessions, result) == ()


def test_the_search_says_when_it_gave_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replan_module, "MAX_DAY_VISITS", 0)
    sessions = course_sessions(SIX)
    open_ended = replace(PEELS, max_interval_days=None)
    snap = snapshot(held(sessions), clinic=clinic_rules(holidays=frozenset({d("2026-02-18")})))
    result = replan(sessions, {103}, snap=snap, course=open_ended)
    assert not result.ok
    assert "within the search limit" in result.violations[0].message
    assert "at least 14 days" in result.violations[0].message


def test_the_replan_reads_only_the_days_around_the_broken_session() -> None:
    sessions = course_sessions(SIX)
    asked: list[tuple[date, date]] = []

    def loader(first: date, last: date) -> list[Occupancy]:
        asked.append((first, last))
        return [o for o in held(sessions) if first <= o.start.astimezone(TZ).date() < last]

    snap = replace(
        snapshot(clinic=clinic_rules(holidays=frozenset({d("2026-02-18")}))),
        book=ResourceBook(TZ, loader=loader),
    )
    result = replan(sessions, {103}, snap=snap)
    assert moved_to(result) == {103: (d("2026-02-19"), 10, ANNA)}
    # Only the days between the neighbours (28 Jan and 11 Mar) and a chunk after them.
    assert asked
    assert min(first for first, _ in asked) >= d("2026-01-28")
    assert max(last for _, last in asked) <= d("2026-03-11") + timedelta(days=7)


# --- properties -------------------------------------------------------------------------

CARED_PEELS = replace(PEEL_COURSE, care=(NO_UV_BEFORE_14D, NO_UV_AFTER_7D, NO_RESURFACING_14D))

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FIRST = d("2026-01-07")


@dataclass(frozen=True)
class World:
    course: CourseRules
    sessions: list[BookedSession]
    snap: Snapshot
    who: ClientState
    book: list[Occupancy]  # what `snap`'s book holds


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A small course booked within the rules, then a changed world: time off, holidays,
    another practitioner or not, other appointments, another course's restrictions, a
    declared sun holiday."""
    lo = draw(st.integers(1, 4))
    hi = lo + draw(st.integers(0, 3))
    n = draw(st.integers(2, 5))
    # Massages, or peels whose pre-care has begun for the first sessions (14 days without sun).
    base = draw(st.sampled_from([MASSAGE_COURSE, CARED_PEELS]))
    course = replace(base, sessions=n, min_interval_days=lo, max_interval_days=hi)
    days = [FIRST]
    for _ in range(n - 1):
        days.append(days[-1] + timedelta(days=draw(st.integers(lo, hi))))
    # A day that falls on a Sunday (closed) is one more session the world breaks.
    sessions = course_sessions(days, course, hh=draw(st.integers(9, 16)), first_id=101)
    span = (days[-1] - FIRST).days + 10
    offs = tuple(
        (start, start + timedelta(days=draw(st.integers(0, 6))))
        for start in (
            FIRST + timedelta(days=draw(st.integers(0, span)))
            for _ in range(draw(st.integers(0, 2)))
        )
    )
    holidays = frozenset(
        FIRST + timedelta(days=draw(st.integers(0, span))) for _ in range(draw(st.integers(0, 3)))
    )
    ben: PractitionerCalendar | None = None
    if draw(st.booleans()):
        ben = practitioner(BEN, time_off=draw(st.sampled_from([(), offs[:1]])))
    others = []
    for i in range(draw(st.integers(0, 8))):
        start = local_at(
            FIRST + timedelta(days=draw(st.integers(0, span))), draw(st.integers(9, 16))
        )
        others.append(
            Occupancy(
                800 + i,
                draw(st.sampled_from([ANNA, BEN])),
                None,
                draw(st.sampled_from([ROOM_1, ROOM_2])),
                start,
                start + PEEL.duration + PEEL.buffer,
            )
        )
    # Another course of the client: its "no other resurfacing" blocks peels for 14 days.
    elsewhere = [
        BookedSession(
            900 + i,
            99,
            1,
            start := local_at(FIRST + timedelta(days=draw(st.integers(0, span))), 17),
            start + PEEL.duration,
            CARED_PEELS,
        )
        for i in range(draw(st.integers(0, 1)))
    ]
    periods = [
        DeclaredPeriod("sun_exposure", start_on, start_on + timedelta(days=draw(st.integers(0, 5))))
        for start_on in (
            FIRST + timedelta(days=draw(st.integers(0, span)))
            for _ in range(draw(st.integers(0, 1)))
        )
    ]
    book = [*held(sessions), *held(elsewhere, BEN, ROOM_2), *others]
    snap = snapshot(
        book,
        clinic=clinic_rules(holidays=holidays, horizon_days=120),
        practitioners=[practitioner(ANNA, time_off=offs)] + ([ben] if ben else []),
    )
    who = client(sessions=[*sessions, *elsewhere], periods=periods)
    return World(course, sessions, snap, who, book)


def broken_of(
    snap: Snapshot,
    course: CourseRules,
    who: ClientState,
    sessions: list[BookedSession],
    practitioners: dict[int, int] | None = None,
) -> frozenset[int]:
    """The future sessions the changed world breaks: each judged where it is (with Anna,
    unless `practitioners` says who holds it)."""
    out = set()
    for s in sessions:
        if s.start <= NOW:
            continue
        practitioner_id = (practitioners or {}).get(s.appointment_id, ANNA)
        checked = check_course(
            snapshot=snap,
            course=course,
            client=who,
            proposals=[ProposedSession(s.session, s.start, practitioner_id)],
            now=NOW,
            enrolment_id=ENROLMENT,
            replacing=frozenset({s.appointment_id}),
            by_staff=True,
            precare_confirmed=True,
        )
        if not checked.ok:
            out.add(s.appointment_id)
    return frozenset(out)


@SETTINGS
@given(world=worlds())
def test_every_replan_passes_the_checker_and_moves_only_what_had_to_move(world) -> None:
    course, sessions, snap, who = world.course, world.sessions, world.snap, world.who
    broken = broken_of(snap, course, who, sessions)
    result = minimal_replan(
        snapshot=snap, course=course, client=who, enrolment_id=ENROLMENT, broken=broken, now=NOW
    )
    event("nothing broken" if not broken else ("re-plan" if result.ok else "no re-plan"))
    if not broken:
        assert result == Replan(())
        return
    if not result.ok:
        assert result.moves == ()
        assert all(v.code for v in result.violations)
        if len(broken) == 1:
            # The search missed nothing: not even the broken session alone has a place.
            (only,) = broken
            assert not any_slot_keeps_neighbours(snap, course, who, sessions, only)
        return
    moved = [aid for aid, _ in result.moves]
    # (a) the final state passes the checker, every broken session moved, in session order.
    assert final_check(snap, course, who, sessions, result, broken=broken) == ()
    # Time off, holidays and other appointments break a session wherever its neighbours are.
    assert broken <= set(moved)
    numbers = {s.appointment_id: s.session for s in sessions}
    assert [numbers[aid] for aid in moved] == sorted(numbers[aid] for aid in moved)
    # Applied, the re-plan leaves no session of the enrolment broken, judged one by one as
    # the attention list judges them.
    after = applied(world, result)
    assert broken_of(after[0], course, after[1], sessions_of(after[1]), after[2]) == frozenset()
    # (c) no more than the sessions from the first broken one to the end.
    first_broken = min(numbers[aid] for aid in broken)
    assert len(moved) <= len(sessions) - first_broken + 1
    # (b) each session moved that was not broken had to: kept in place, there is no re-plan.
    for aid in set(moved) - broken:
        event("moved a session that was not broken")
        pinned = minimal_replan(
            snapshot=snap,
            course=course,
            client=who,
            enrolment_id=ENROLMENT,
            broken=broken,
            now=NOW,
            keep=frozenset({aid}),
        )
        assert not pinned.ok
    if len(broken) == 1 and len(moved) > 1:
        # And, judged by the checker alone: no start of any day keeps the one broken session
        # between its neighbours where they are.
        (only,) = broken
        assert not any_slot_keeps_neighbours(snap, course, who, sessions, only)


def _straightforward_day_search(
    self: replan_module._Replanner, day: date, replacing: frozenset[int], held: list[Slot]
) -> DaySearch:
    """Every day worked out afresh for every question, nothing kept."""
    procedure = self.course.procedure
    same_day = [held_by(s, procedure) for s in held if s.start.astimezone(TZ).date() == day]
    return DaySearch(
        DayResources(self.snapshot, procedure, day, replacing, same_day), Preferences()
    )


@SETTINGS
@given(
    world=worlds(),
    warm=st.lists(st.tuples(st.integers(0, 120), st.integers(9 * 60, 18 * 60)), max_size=8),
)
def test_a_replan_on_days_other_questions_kept_is_the_replan_worked_out_afresh(world, warm) -> None:
    # A worker's book keeps what plans and re-plans worked out from its days between
    # questions (`kept_day_search`); a re-plan uses it where the sessions it sets aside hold
    # nothing. Its answer is the one worked out afresh, day by day, whatever came before it.
    course, sessions, who = world.course, world.sessions, world.who

    def fresh() -> Snapshot:
        return replace(world.snap, book=ResourceBook(TZ, world.book))

    broken = broken_of(fresh(), course, who, sessions)
    args = dict(course=course, client=who, enrolment_id=ENROLMENT, broken=broken, now=NOW)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replan_module._Replanner, "day_search", _straightforward_day_search)
        expected = minimal_replan(snapshot=fresh(), **args)  # type: ignore[arg-type]
    assert minimal_replan(snapshot=fresh(), **args) == expected  # type: ignore[arg-type]
    kept = fresh()
    for day, minutes in warm:  # plans' questions about some days, in their orders
        search = kept_day_search(kept, course.procedure, FIRST + timedelta(days=day), Preferences())
        search.earliest_first()
        search.anchored((minutes, ANNA))
    assert minimal_replan(snapshot=kept, **args) == expected  # type: ignore[arg-type]
    assert minimal_replan(snapshot=kept, **args) == expected  # type: ignore[arg-type]


def applied(world: World, result: Replan) -> tuple[Snapshot, ClientState, dict[int, int]]:
    """The world once the moves are written: the book, the client's sessions, and who holds
    each moved session."""
    moves = dict(result.moves)
    sessions = [
        replace(s, start=moves[s.appointment_id].start, end=moves[s.appointment_id].end)
        if s.appointment_id in moves
        else s
        for s in world.who.sessions
    ]
    procedure = world.course.procedure
    # A book keeps the first occupancy it is given for an appointment: the new ones first.
    written = [
        Occupancy(
            aid,
            slot.practitioner_id,
            slot.device_id,
            slot.room_id,
            slot.start,
            slot.end + procedure.buffer,
        )
        for aid, slot in result.moves
    ]
    book = ResourceBook(TZ, [*written, *world.book])
    return (
        replace(world.snap, book=book),
        replace(world.who, sessions=tuple(sessions)),
        {aid: slot.practitioner_id for aid, slot in result.moves},
    )


def sessions_of(who: ClientState) -> list[BookedSession]:
    return [s for s in who.sessions if s.enrolment_id == ENROLMENT]


def any_slot_keeps_neighbours(
    snap: Snapshot, course: CourseRules, who: ClientState, sessions: list[BookedSession], aid: int
) -> bool:
    """Brute force: a start on the grid (any practitioner) the checker accepts for session
    `aid` alone, the other sessions where they are."""
    s = next(s for s in sessions if s.appointment_id == aid)
    last_day = max(x.start for x in sessions).astimezone(TZ).date() + timedelta(days=8)
    day = NOW.astimezone(TZ).date()
    while day <= last_day:
        for minutes in range(9 * 60, 18 * 60, 15):
            start = local_at(day, minutes // 60, minutes % 60)
            for practitioner_id in (ANNA, BEN):
                checked = check_course(
                    snapshot=snap,
                    course=course,
                    client=who,
                    proposals=[ProposedSession(s.session, start, practitioner_id)],
                    now=NOW,
                    enrolment_id=ENROLMENT,
                    replacing=frozenset({aid}),
                    by_staff=True,
                    precare_confirmed=True,
                )
                earlier_precare = start < s.start and precare_violation(
                    session=s.session, start=start, course=course, now=NOW, tz=TZ
                )
                if checked.ok and not earlier_precare:
                    return True
        day += timedelta(days=1)
    return False
