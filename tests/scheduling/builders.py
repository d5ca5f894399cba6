"""Small builders for engine tests: a clinic in Europe/Berlin open Mon-Sat 09:00-18:00, two
practitioners, two rooms, one CO2 laser, a peel course and a laser course, and a fixed `now`.

Every builder takes keyword overrides so that a test states only what its rule is about.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from clinic.scheduling import (
    BookedSession,
    CareRule,
    CheckResult,
    ClientState,
    ClinicRules,
    ConditionState,
    ContraRule,
    CourseRules,
    DeclaredPeriod,
    Equipment,
    Occupancy,
    PractitionerCalendar,
    ProcedureRules,
    ProposedSession,
    ResourceBook,
    Snapshot,
    check_course,
)
from tests.clock import BERLIN

TZ = BERLIN  # the engine tests keep their own NOW below (another year, no app)
MON_TO_SAT = range(6)
OPEN = (time(9, 0), time(18, 0))
ENROLMENT = 7
ANNA, BEN = 1, 2
LASER_DEVICE = 1
ROOM_1, ROOM_2 = 1, 2


def local_at(day: date, hh: int = 10, mm: int = 0) -> datetime:
    """The UTC instant of a Berlin wall-clock time."""
    return datetime.combine(day, time(hh, mm), tzinfo=TZ).astimezone(UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


# Monday 5 January 2026, 10:07 in Berlin.
NOW = local_at(d("2026-01-05"), 10, 7)

_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


def clinic_rules(**overrides: Any) -> ClinicRules:
    values: dict[str, Any] = dict(tz=TZ, opening={wd: (OPEN,) for wd in MON_TO_SAT})
    values.update(overrides)
    return ClinicRules(**values)


def practitioner(
    pid: int = ANNA,
    *,
    qualifications: Iterable[str] = ("peel", "laser", "massage"),
    hours: Mapping[int, tuple[tuple[time, time], ...]] | None = None,
    time_off: tuple[tuple[date, date], ...] = (),
    name: str | None = None,
) -> PractitionerCalendar:
    return PractitionerCalendar(
        id=pid,
        name=name or {ANNA: "Anna", BEN: "Ben"}.get(pid, f"P{pid}"),
        qualifications=frozenset(qualifications),
        hours=hours if hours is not None else {wd: (OPEN,) for wd in MON_TO_SAT},
        time_off=time_off,
    )


PEEL = ProcedureRules(
    code="glycolic",
    name="Glycolic peel",
    duration=timedelta(minutes=45),
    buffer=timedelta(minutes=15),
    qualification="peel",
    blocked_by=frozenset({"no_resurfacing"}),
)
LASER = ProcedureRules(
    code="co2",
    name="CO2 laser resurfacing",
    duration=timedelta(minutes=60),
    buffer=timedelta(minutes=30),
    qualification="laser",
    device_kind="co2_laser",
    blocked_by=frozenset({"no_resurfacing"}),
)
MASSAGE = ProcedureRules(
    code="massage",
    name="Facial massage",
    duration=timedelta(minutes=60),
    buffer=timedelta(minutes=0),
    qualification="massage",
)

NO_UV_AFTER_7D = CareRule("no_uv", "Avoid sun", "sun", 7 * 24)
NO_UV_BEFORE_14D = CareRule("no_uv", "Avoid sun", "sun", 14 * 24, "before")
NO_ACTIVES_BEFORE_5D = CareRule("no_actives", "Stop retinoids", "other", 5 * 24, "before")
NO_MAKEUP_24H = CareRule("no_makeup", "No makeup", "makeup", 24)
NO_RESURFACING_14D = CareRule("no_resurfacing", "No other resurfacing", "other", 14 * 24)
NO_RESURFACING_28D = CareRule("no_resurfacing", "No other resurfacing", "other", 28 * 24)

PEEL_COURSE = CourseRules(
    code="glycolic6",
    name="Glycolic peel course",
    procedure=PEEL,
    sessions=6,
    min_interval_days=14,
    max_interval_days=28,
    care=(
        NO_UV_AFTER_7D,
        NO_UV_BEFORE_14D,
        NO_ACTIVES_BEFORE_5D,
        NO_MAKEUP_24H,
        NO_RESURFACING_14D,
    ),
    contraindications=(ContraRule("active_herpes"), ContraRule("pregnancy")),
)
LASER_COURSE = CourseRules(
    code="co2x3",
    name="CO2 laser course",
    procedure=LASER,
    sessions=3,
    min_interval_days=28,
    max_interval_days=90,
    care=(
        CareRule("no_uv", "Avoid sun", "sun", 28 * 24),
        CareRule("no_uv", "Avoid sun", "sun", 28 * 24, "before"),
        CareRule("no_makeup", "No makeup", "makeup", 5 * 24),
        NO_RESURFACING_28D,
    ),
    contraindications=(ContraRule("isotretinoin", 180), ContraRule("active_herpes")),
    months=frozenset({10, 11, 12, 1, 2, 3}),
)
MASSAGE_COURSE = CourseRules(
    code="massage10",
    name="Facial massage course",
    procedure=MASSAGE,
    sessions=10,
    min_interval_days=2,
    max_interval_days=7,
)


def plain(course: CourseRules, **overrides: Any) -> CourseRules:
    """The course without aftercare, pre-care, contraindications or season, plus overrides."""
    values: dict[str, Any] = dict(care=(), contraindications=(), months=frozenset(range(1, 13)))
    values.update(overrides)
    return replace(course, **values)


def occupancy(
    start: datetime,
    procedure: ProcedureRules = PEEL,
    *,
    practitioner_id: int = ANNA,
    device_id: int | None = None,
    room_id: int = ROOM_1,
    appointment_id: int | None = None,
) -> Occupancy:
    """An existing appointment holding its resources until end + buffer."""
    return Occupancy(
        appointment_id=appointment_id if appointment_id is not None else next_id(),
        practitioner_id=practitioner_id,
        device_id=device_id,
        room_id=room_id,
        start=start,
        busy_until=start + procedure.duration + procedure.buffer,
    )


def snapshot(
    occupancies: Iterable[Occupancy] = (),
    *,
    clinic: ClinicRules | None = None,
    practitioners: Sequence[PractitionerCalendar] | None = None,
    devices: Sequence[Equipment] | None = None,
    rooms: Sequence[Equipment] | None = None,
) -> Snapshot:
    return Snapshot(
        clinic=clinic or clinic_rules(),
        practitioners=tuple(
            practitioners if practitioners is not None else (practitioner(ANNA), practitioner(BEN))
        ),
        devices=tuple(
            devices if devices is not None else (Equipment(LASER_DEVICE, "CO2 laser", "co2_laser"),)
        ),
        rooms=tuple(
            rooms
            if rooms is not None
            else (Equipment(ROOM_1, "Room 1"), Equipment(ROOM_2, "Room 2"))
        ),
        book=ResourceBook(TZ, occupancies),
    )


def booked(
    start: datetime,
    course: CourseRules = PEEL_COURSE,
    *,
    session: int = 1,
    enrolment_id: int = 99,
    appointment_id: int | None = None,
) -> BookedSession:
    """A live session of the client (by default in another enrolment than ENROLMENT)."""
    return BookedSession(
        appointment_id=appointment_id if appointment_id is not None else next_id(),
        enrolment_id=enrolment_id,
        session=session,
        start=start,
        end=start + course.procedure.duration,
        course=course,
    )


def client(
    *,
    sessions: Iterable[BookedSession] = (),
    periods: Iterable[DeclaredPeriod] = (),
    conditions: Mapping[str, ConditionState] | None = None,
    phototype: int | None = None,
) -> ClientState:
    return ClientState(
        id=1,
        conditions=dict(conditions or {}),
        periods=tuple(periods),
        sessions=tuple(sessions),
        phototype=phototype,
    )


def check(
    *starts: datetime | ProposedSession,
    course: CourseRules = PEEL_COURSE,
    snap: Snapshot | None = None,
    who: ClientState | None = None,
    now: datetime = NOW,
    **kwargs: Any,
) -> CheckResult:
    """check_course for sessions 1, 2, ... at `starts` (or explicit proposals)."""
    proposals = [
        s if isinstance(s, ProposedSession) else ProposedSession(i, s)
        for i, s in enumerate(starts, start=1)
    ]
    return check_course(
        snapshot=snap or snapshot(),
        course=course,
        client=who or client(),
        proposals=proposals,
        now=now,
        **kwargs,
    )


def codes(result: CheckResult) -> set[str]:
    return {v.code for v in result.violations}


def one(result: CheckResult, code: str) -> Any:
    """The single violation with `code`."""
    found = [v for v in result.violations if v.code == code]
    assert len(found) == 1, result.violations
    return found[0]


def local_times(starts: Iterable[datetime]) -> list[time]:
    return [s.astimezone(TZ).time() for s in starts]
