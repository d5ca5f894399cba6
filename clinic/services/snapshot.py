"""Loading what the engine needs from the database: a handful of queries per question.

Resource occupancy is loaded lazily, a few days at a time (see `ResourceBook`): a question about
a few days reads the appointments of those days only, whatever the size of the database. The
catalogue is kept by the worker under the catalogue's version (clinic/services/cache.py);
appointments and clients are read by each question in its own transaction.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, bindparam, exists, inspect, literal, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from clinic.models import (
    HOLDING_STATUSES,
    LOOKBACK,
    RESTRICTING_STATUSES,
    Appointment,
    ClinicSettings,
    Course,
    CourseRestriction,
    Device,
    Enrolment,
    Holiday,
    OpeningHours,
    Practitioner,
    Procedure,
    Room,
)
from clinic.models import Client as ClientRow
from clinic.scheduling import (
    BookedSession,
    CareRule,
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
    ResourceBook,
    Snapshot,
    interned,
)
from clinic.scheduling.timeutil import day_start
from clinic.scheduling.types import WeeklyHours
from clinic.services import cache
from clinic.services.db import per_transaction, session
from clinic.services.errors import NotFound

T = TypeVar("T")


def settings() -> ClinicSettings:
    """The clinic's settings row, read once per transaction (a request asks for it often)."""
    return per_transaction("settings", _load_settings)


def _load_settings() -> ClinicSettings:
    row = session().scalar(select(ClinicSettings).limit(1))
    if row is None:
        row = ClinicSettings(
            name="Clinic",
            timezone=current_app.config["CLINIC_TIMEZONE"],
            slot_minutes=15,
            client_change_notice_hours=24,
            horizon_days=365,
            screening_valid_days=180,
        )
    return row


def clinic_tz() -> ZoneInfo:
    return clinic_rules().tz


def clinic_rules() -> ClinicRules:
    return _catalogue().rules


def _load_clinic_rules() -> ClinicRules:
    row = settings()
    opening: dict[int, list[tuple[time, time]]] = {}
    for oh in session().scalars(
        select(OpeningHours).order_by(OpeningHours.weekday, OpeningHours.opens)
    ):
        opening.setdefault(oh.weekday, []).append((oh.opens, oh.closes))
    holidays = frozenset(session().scalars(select(Holiday.day)))
    return ClinicRules(
        tz=ZoneInfo(row.timezone),
        opening={k: tuple(v) for k, v in opening.items()},
        holidays=holidays,
        slot_minutes=row.slot_minutes,
        change_notice=timedelta(hours=row.client_change_notice_hours),
        horizon_days=row.horizon_days,
    )


def procedure_rules(p: Procedure) -> ProcedureRules:
    return interned(
        ProcedureRules(
            code=p.code,
            name=p.name,
            duration=timedelta(minutes=p.duration_min),
            buffer=timedelta(minutes=p.buffer_min),
            qualification=p.qualification,
            device_kind=p.device_kind,
            blocked_by=frozenset(r.code for r in p.blocked_by),
        )
    )


def course_rules(c: Course) -> CourseRules:
    return interned(
        CourseRules(
            code=c.code,
            name=c.name,
            procedure=procedure_rules(c.procedure),
            sessions=c.sessions,
            min_interval_days=c.min_interval_days,
            max_interval_days=c.max_interval_days,
            care=tuple(
                CareRule(
                    cr.restriction.code,
                    cr.restriction.text,
                    cr.restriction.kind,
                    cr.hours,
                    cr.phase,
                )
                for cr in c.care
            ),
            contraindications=tuple(
                ContraRule(ci.code, ci.lookback_days) for ci in c.contraindications
            ),
            months=frozenset(c.months),
        )
    )


def _course_options() -> list[object]:
    return [
        joinedload(Course.procedure).selectinload(Procedure.blocked_by),
        selectinload(Course.care).joinedload(CourseRestriction.restriction),
        selectinload(Course.contraindications),
    ]


def get_course(code: str, *, include_retired: bool = False) -> Course:
    query = select(Course).options(*_course_options()).where(Course.code == code)  # type: ignore[arg-type]
    course: Course | None = session().scalar(query)
    # A retired procedure takes its courses out of the catalogue too.
    if course is None or ((course.retired or course.procedure.retired) and not include_retired):
        raise NotFound(f"There is no course {code!r}.", field="course")
    return course


def get_procedure(code: str) -> Procedure:
    procedure: Procedure | None = session().scalar(
        select(Procedure).options(selectinload(Procedure.blocked_by)).where(Procedure.code == code)
    )
    if procedure is None or procedure.retired:
        raise NotFound(f"There is no procedure {code!r}.", field="procedure")
    return procedure


def course(code: str) -> tuple[int, CourseRules]:
    """A course of the catalogue (not retired) as the engine sees it, with its id."""

    def load() -> tuple[int, CourseRules]:
        row = get_course(code)
        return row.id, course_rules(row)

    return from_catalogue(("course", code), load)


def procedure(code: str) -> ProcedureRules:
    """A procedure of the catalogue (not retired) as the engine sees it."""
    return from_catalogue(("procedure", code), lambda: procedure_rules(get_procedure(code)))


def from_catalogue(key: object, load: Callable[[], T]) -> T:
    """`load()`'s answer, which must read the catalogue tables only (clinic/models/versions.py),
    kept by the worker until the catalogue changes. A `load()` that raises keeps nothing."""
    return cache.derived(_catalogue(), key, load)


def resource_codes() -> dict[str, dict[int, str]]:
    """Codes of devices and rooms by id, for answers that name them."""

    def load() -> dict[str, dict[int, str]]:
        # One round trip for both.
        both = union_all(
            select(literal("devices").label("kind"), Device.id, Device.code),
            select(literal("rooms").label("kind"), Room.id, Room.code),
        )
        codes: dict[str, dict[int, str]] = {"devices": {}, "rooms": {}}
        for kind, i, code in session().execute(both):
            codes[kind][i] = code
        return codes

    return from_catalogue("resource_codes", load)


def _weekly(rows: Iterable[tuple[int, time, time]]) -> WeeklyHours:
    out: dict[int, list[tuple[time, time]]] = {}
    for weekday, a, b in rows:
        out.setdefault(weekday, []).append((a, b))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _occupancy_loader(tz: ZoneInfo) -> Callable[[date, date], list[Occupancy]]:
    table = Appointment.__table__
    columns = (
        table.c.id,
        table.c.practitioner_id,
        table.c.device_id,
        table.c.room_id,
        table.c.start_at,
        table.c.busy_until_at,
    )

    def load(first: date, last: date) -> list[Occupancy]:
        conn = session().connection()
        lo, hi = day_start(first, tz), day_start(last, tz)
        # Core, not ORM: these rows become plain values at once, and the ORM's per-row
        # bookkeeping was a third of a plan's time (bench/README.md).
        rows = conn.execute(
            select(*columns).where(
                table.c.start_at >= lo - timedelta(days=1),
                table.c.start_at < hi,
                table.c.busy_until_at > lo,
                table.c.status.in_(HOLDING_STATUSES),
            )
        )
        return [Occupancy(*r) for r in rows]

    return load


def _load_catalogue(version: int) -> cache.Catalogue:
    rules = _load_clinic_rules()
    practitioners = session().scalars(
        select(Practitioner)
        .options(
            selectinload(Practitioner.qualifications),
            selectinload(Practitioner.hours),
            selectinload(Practitioner.time_off),
        )
        .where(Practitioner.active.is_(True))
        .order_by(Practitioner.id)
    )
    calendars = tuple(
        PractitionerCalendar(
            id=p.id,
            name=p.name,
            qualifications=frozenset(p.qualification_codes),
            hours=_weekly((h.weekday, h.starts, h.ends) for h in p.hours),
            time_off=tuple((t.start_on, t.end_on) for t in p.time_off),
        )
        for p in practitioners
    )
    devices = tuple(
        Equipment(d.id, d.name, d.kind)
        for d in session().scalars(
            select(Device).where(Device.active.is_(True)).order_by(Device.id)
        )
    )
    rooms = tuple(
        Equipment(r.id, r.name)
        for r in session().scalars(select(Room).where(Room.active.is_(True)).order_by(Room.id))
    )
    return cache.Catalogue(version, rules, calendars, devices, rooms)


def _new_book(tz: ZoneInfo) -> ResourceBook:
    # Three days per load: the planner walks a few days in a row, then jumps two weeks or so
    # to the next session. One day per load cost a round trip per visited day (12 for a plan,
    # the most expensive part of a plan on PostgreSQL); a week per load read seven times the
    # rows a jump uses. Measured in bench/README.md ("Statements per request").
    return ResourceBook(tz, loader=_occupancy_loader(tz), chunk_days=3)


def _catalogue() -> cache.Catalogue:
    return cache.catalogue(_load_catalogue)


def load_snapshot() -> Snapshot:
    """Practitioners, devices and rooms (the worker's own while the catalogue has not
    changed) with an occupancy book of this transaction, filled lazily."""
    c = _catalogue()
    return Snapshot(c.rules, c.practitioners, c.devices, c.rooms, _new_book(c.rules.tz))


def _client_row(client_id: int) -> ClientRow | None:
    """The client's row, kept for the transaction: the session's identity map holds rows
    weakly, so without this the checks of one request would read the same row two or three
    times."""
    found = _client_found(client_id)
    row = found[0] if found is not None else None
    if row is not None and (inspect(row).deleted or inspect(row).detached):
        return session().get(ClientRow, client_id)
    return row


def _client_found(client_id: int) -> tuple[ClientRow, bool] | None:
    """The client's row and whether it has any session, read once per transaction."""
    return per_transaction(f"client:{client_id}", lambda: _load_client(client_id))


def _load_client(client_id: int) -> tuple[ClientRow, bool] | None:
    found = session().execute(_client_query(), {"client_id": client_id}).unique().first()
    return None if found is None else (found[0], bool(found[1]))


@functools.cache
def _client_query() -> Select[ClientRow, bool]:
    # With the screening and declared periods in the same statement (the checks read them),
    # and whether the client has any session that could restrict (a new client has none,
    # and then client_state need not look). Built once: building it cost as much as running it.
    has_sessions = (
        exists()
        .where(
            Appointment.client_id == ClientRow.id,
            Appointment.status.in_(RESTRICTING_STATUSES),
        )
        .label("has_sessions")
    )
    return (
        select(ClientRow, has_sessions)
        .options(joinedload(ClientRow.conditions), joinedload(ClientRow.periods))
        .where(ClientRow.id == bindparam("client_id"))
    )


def get_client(client_id: int) -> ClientRow:
    client = _client_row(client_id)
    if client is None or client.anonymised_at is not None:
        raise NotFound("There is no such client.", field="client")
    return client


@dataclasses.dataclass(frozen=True, slots=True)
class ClientFacts:
    """What planning needs of a client, as plain values."""

    id: int
    anonymised: bool
    conditions: dict[str, ConditionState]
    periods: tuple[DeclaredPeriod, ...]
    has_sessions: bool


def client_facts(client_id: int) -> ClientFacts | None:
    """The client's facts as this transaction reads them (None: there is no such client)."""
    return _read_facts(client_id)


def _read_facts(client_id: int) -> ClientFacts | None:
    found = _client_found(client_id)
    if found is None:
        return None
    row, has_sessions = found
    return ClientFacts(
        id=row.id,
        anonymised=row.anonymised_at is not None,
        conditions={c.code: ConditionState(c.present, c.last_on) for c in row.conditions},
        periods=tuple(DeclaredPeriod(p.kind, p.start_on, p.end_on, p.note) for p in row.periods),
        has_sessions=has_sessions,
    )


def require_client(client_id: int) -> None:
    """NotFound unless the client exists and is not anonymised."""
    facts = client_facts(client_id)
    if facts is None or facts.anonymised:
        raise NotFound("There is no such client.", field="client")


def client_state(client_id: int, now: datetime) -> ClientState:
    """The client's screening, declared periods and live sessions that can still matter."""
    facts = client_facts(client_id)
    if facts is None:
        raise NotFound("There is no such client.", field="client")
    appointments: Iterable[Appointment] = ()
    # A client with no session at all has none to look up.
    if facts.has_sessions:
        appointments = session().scalars(
            select(Appointment)
            .options(
                selectinload(Appointment.enrolment)
                .selectinload(Enrolment.course)
                .options(*_course_options())  # type: ignore[arg-type]
            )
            .where(
                Appointment.client_id == client_id,
                Appointment.status.in_(RESTRICTING_STATUSES),
                Appointment.start_at >= now - LOOKBACK,
            )
            .order_by(Appointment.start_at)
        )
    courses: dict[int, CourseRules] = {}
    sessions = []
    for a in appointments:
        course = a.enrolment.course
        if course.id not in courses:
            courses[course.id] = course_rules(course)
        sessions.append(
            BookedSession(a.id, a.enrolment_id, a.session, a.start_at, a.end_at, courses[course.id])
        )
    return ClientState(
        id=facts.id,
        conditions=dict(facts.conditions),
        periods=facts.periods,
        sessions=tuple(sessions),
    )


def price_text(value: Decimal) -> str:
    return f"{value:.2f}"
