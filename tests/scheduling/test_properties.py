"""Properties over random clinics and clients: plans pass the checker, appointments only take
availability away, and an accepted move leaves the whole course valid."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from clinic.scheduling import (
    BookedSession,
    ClientState,
    ConditionState,
    CourseRules,
    DeclaredPeriod,
    Occupancy,
    ProposedSession,
    Slot,
    available_slots,
    check_course,
    plan_course,
)

from .builders import (
    ANNA,
    BEN,
    LASER,
    LASER_COURSE,
    LASER_DEVICE,
    MASSAGE,
    MASSAGE_COURSE,
    NOW,
    PEEL,
    PEEL_COURSE,
    ROOM_1,
    ROOM_2,
    TZ,
    client,
    local_at,
    snapshot,
)

START = date(2026, 1, 6)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COURSES = [
    replace(PEEL_COURSE, sessions=3),
    replace(LASER_COURSE, sessions=2),
    replace(MASSAGE_COURSE, sessions=4),
    # Several sessions a day: they must hold resources against each other too.
    replace(LASER_COURSE, sessions=3, min_interval_days=0, max_interval_days=2, care=()),
]
PROCEDURES = [PEEL, LASER, MASSAGE]


def moment(day_offset: int, quarter: int) -> datetime:
    """A start on the grid between 08:00 and 18:45 (some outside opening hours on purpose)."""
    minutes = 8 * 60 + 15 * quarter
    return local_at(START + timedelta(days=day_offset), minutes // 60, minutes % 60)


quarters = st.integers(min_value=0, max_value=43)


@st.composite
def occupancies(draw: st.DrawFn, first_id: int = 1) -> list[Occupancy]:
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=25))):
        procedure = draw(st.sampled_from(PROCEDURES))
        start = moment(draw(st.integers(0, 60)), draw(quarters))
        out.append(
            Occupancy(
                appointment_id=first_id + i,
                practitioner_id=draw(st.sampled_from([ANNA, BEN])),
                device_id=LASER_DEVICE if procedure is LASER else None,
                room_id=draw(st.sampled_from([ROOM_1, ROOM_2])),
                start=start,
                busy_until=start + procedure.duration + procedure.buffer,
            )
        )
    return out


@st.composite
def clients(draw: st.DrawFn) -> ClientState:
    periods = [
        DeclaredPeriod(
            draw(st.sampled_from(["sun_exposure", "needs_makeup"])),
            start := START + timedelta(days=draw(st.integers(-20, 90))),
            start + timedelta(days=draw(st.integers(0, 10))),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    conditions: dict[str, ConditionState] = {}
    if draw(st.booleans()):
        conditions["isotretinoin"] = ConditionState(
            last_on=START - timedelta(days=draw(st.integers(0, 250)))
        )
    if draw(st.integers(0, 9)) == 0:
        conditions["active_herpes"] = ConditionState(present=True)
    sessions = []
    for i in range(draw(st.integers(0, 2))):
        course = draw(st.sampled_from(COURSES))
        start = moment(draw(st.integers(-10, 60)), draw(quarters))
        sessions.append(
            BookedSession(500 + i, 90 + i, 1, start, start + course.procedure.duration, course)
        )
    return client(sessions=sessions, periods=periods, conditions=conditions)


def assert_no_shared_resources(slots, course: CourseRules) -> None:
    held = [(s, s.end + course.procedure.buffer) for s in slots]
    for i, (a, a_until) in enumerate(held):
        for b, b_until in held[i + 1 :]:
            if a.start < b_until and b.start < a_until:
                assert a.practitioner_id != b.practitioner_id
                assert a.room_id != b.room_id
                assert a.device_id is None or a.device_id != b.device_id


def check_plan(snap, course: CourseRules, who: ClientState, slots, **kwargs):
    proposals = [
        ProposedSession(n, s.start, s.practitioner_id) for n, s in enumerate(slots, start=1)
    ]
    return check_course(
        snapshot=snap, course=course, client=who, proposals=proposals, now=NOW, **kwargs
    )


@SETTINGS
@given(
    busy=occupancies(),
    who=clients(),
    course=st.sampled_from(COURSES),
    earliest=st.integers(0, 30),
)
def test_every_plan_passes_the_checker(busy, who, course, earliest) -> None:
    snap = snapshot(busy)
    result = plan_course(
        snapshot=snap,
        course=course,
        client=who,
        earliest=START + timedelta(days=earliest),
        now=NOW,
    )
    event("plan found" if result.ok else "no plan")
    if not result.ok:
        assert result.violations
        return
    assert len(result.slots) == course.sessions
    assert_no_shared_resources(result.slots, course)
    checked = check_plan(snap, course, who, result.slots)
    assert checked.violations == ()
    assert checked.slots == result.slots


def slot_keys(slots: list[Slot]) -> set[tuple[datetime, int]]:
    return {(s.start, s.practitioner_id) for s in slots}


@SETTINGS
@given(
    busy=occupancies(),
    extra=occupancies(first_id=1000),
    procedure=st.sampled_from(PROCEDURES),
    day=st.integers(0, 60),
)
def test_adding_appointments_never_adds_availability(busy, extra, procedure, day) -> None:
    on = START + timedelta(days=day)
    before = available_slots(snapshot=snapshot(busy), procedure=procedure, day=on)
    after = available_slots(snapshot=snapshot(busy + extra), procedure=procedure, day=on)
    assert slot_keys(after) <= slot_keys(before)
    for slot in after:
        assert slot.start.astimezone(TZ).time() >= time(9, 0)
        assert slot.end.astimezone(TZ).time() <= time(18, 0)


ENROLMENT = 42


@SETTINGS
@given(
    busy=occupancies(),
    who=clients(),
    course=st.sampled_from(COURSES),
    earliest=st.integers(0, 20),
    which=st.integers(0, 3),
    shift=st.integers(-6, 6),
    quarter=quarters,
)
def test_an_accepted_move_keeps_every_rule_for_the_whole_course(
    busy, who, course, earliest, which, shift, quarter
) -> None:
    planned = plan_course(
        snapshot=snapshot(busy),
        course=course,
        client=who,
        earliest=START + timedelta(days=earliest),
        now=NOW,
    )
    assume(planned.ok)
    # Book the plan: the client's sessions and the resources' occupancies.
    ids = [2000 + n for n in range(len(planned.slots))]
    own = [
        BookedSession(ids[n], ENROLMENT, n + 1, s.start, s.end, course)
        for n, s in enumerate(planned.slots)
    ]
    slots = list(planned.slots)

    def state(slots: list[Slot]):
        occ = [
            Occupancy(
                ids[n],
                s.practitioner_id,
                s.device_id,
                s.room_id,
                s.start,
                s.end + course.procedure.buffer,
            )
            for n, s in enumerate(slots)
        ]
        sessions = [replace(b, start=s.start, end=s.end) for b, s in zip(own, slots, strict=True)]
        return snapshot(busy + occ), replace(who, sessions=who.sessions + tuple(sessions))

    k = which % len(slots)
    current = slots[k].start.astimezone(TZ)
    target = moment((current.date() - START).days + shift, quarter)
    snap, booked_client = state(slots)
    moved = check_course(
        snapshot=snap,
        course=course,
        client=booked_client,
        proposals=[ProposedSession(k + 1, target)],
        now=NOW,
        enrolment_id=ENROLMENT,
        replacing=frozenset({ids[k]}),
    )
    event("move accepted" if moved.ok else "move refused")
    if not moved.ok:
        return
    slots[k] = moved.slots[0]
    snap, booked_client = state(slots)
    for n, s in enumerate(slots):
        again = check_course(
            snapshot=snap,
            course=course,
            client=booked_client,
            proposals=[ProposedSession(n + 1, s.start, s.practitioner_id)],
            now=NOW,
            enrolment_id=ENROLMENT,
            replacing=frozenset({ids[n]}),
        )
        assert again.violations == (), (n + 1, again.violations)
