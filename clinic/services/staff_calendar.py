"""The reception calendar: who does what, where, over a few days, in a handful of queries.

One query loads the appointments of the window (with their course, client, practitioner,
device and room), a few more the practitioners with their hours and time off, the devices,
the opening hours and holidays. Nothing is queried per day, per column or per appointment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import (
    Appointment,
    Course,
    Device,
    Enrolment,
    Holiday,
    OpeningHours,
    Practitioner,
    Procedure,
    Room,
)
from clinic.models import Client as ClientRow
from clinic.scheduling.timeutil import day_start
from clinic.services import booking
from clinic.services import snapshot as snap
from clinic.services.actors import Actor
from clinic.services.db import session
from clinic.services.errors import InvalidRequest, PermissionDenied

BY_CHOICES = ("practitioner", "device")
MAX_DAYS = 14


@dataclass(frozen=True, slots=True)
class Column:
    """A practitioner or a device: one column of the calendar."""

    id: int
    name: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """An appointment as the calendar shows it, in the clinic's local time."""

    appointment_id: int
    column_id: int
    start: datetime
    end: datetime
    busy_until: datetime
    client_id: int
    client_name: str
    procedure: str
    course: str
    session: int
    sessions: int
    status: str
    practitioner: str
    device: str
    room: str
    note: str

    @property
    def day(self) -> date:
        return self.start.date()

    @property
    def has_buffer(self) -> bool:
        return self.busy_until > self.end


@dataclass(slots=True)
class CalendarWindow:
    by: str
    days: list[date]
    columns: list[Column]
    tz: ZoneInfo
    slot_minutes: int
    entries: dict[tuple[int, date], list[Entry]] = field(default_factory=dict)
    # Local working (practitioners) or opening (devices) intervals per column and day.
    hours: dict[tuple[int, date], list[tuple[time, time]]] = field(default_factory=dict)
    off: dict[tuple[int, date], str] = field(default_factory=dict)
    holidays: dict[date, str] = field(default_factory=dict)
    opening: dict[date, list[tuple[time, time]]] = field(default_factory=dict)

    def cell(self, column_id: int, day: date) -> list[Entry]:
        return self.entries.get((column_id, day), [])


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def load_calendar(
    *, actor: Actor, first: date, days: int, by: str = "practitioner"
) -> CalendarWindow:
    """Appointments from local date `first` for `days` days, in columns by practitioner or
    device. A practitioner sees only their own column."""
    if not actor.is_staff:
        raise PermissionDenied("The calendar is for clinic staff.")
    if by not in BY_CHOICES:
        raise InvalidRequest("Show the calendar by practitioner or by device.", field="by")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"Show 1 to {MAX_DAYS} days.", field="days")
    settings = snap.settings()
    tz = ZoneInfo(settings.timezone)
    window_days = [first + timedelta(days=i) for i in range(days)]
    start, end = day_start(first, tz), day_start(first + timedelta(days=days), tz)

    opening_rows = session().scalars(select(OpeningHours).order_by(OpeningHours.opens)).all()
    holidays = {
        h.day: h.name or "Holiday"
        for h in session().scalars(
            select(Holiday).where(Holiday.day >= first, Holiday.day < first + timedelta(days=days))
        )
    }
    opening: dict[date, list[tuple[time, time]]] = {}
    for d in window_days:
        opening[d] = (
            []
            if d in holidays
            else [(o.opens, o.closes) for o in opening_rows if o.weekday == d.weekday()]
        )

    window = CalendarWindow(
        by=by,
        days=window_days,
        columns=[],
        tz=tz,
        slot_minutes=settings.slot_minutes,
        holidays=holidays,
        opening=opening,
    )
    if by == "practitioner":
        _practitioner_columns(actor, window)
    else:
        _device_columns(window)

    for entry in _entries(actor, start, end, by, tz):
        window.entries.setdefault((entry.column_id, entry.day), []).append(entry)
    return window


def _entries(actor: Actor, start: datetime, end: datetime, by: str, tz: ZoneInfo) -> list[Entry]:
    """The live appointments of the window as entries, in one statement: only the columns the
    page shows, joined, no ORM objects (building ~450 appointments with five eager loads
    was most of the week page's time, bench/README.md)."""
    a = Appointment
    column = a.practitioner_id if by == "practitioner" else a.device_id
    query = (
        select(
            a.id,
            column,
            a.start_at,
            a.end_at,
            a.busy_until_at,
            a.client_id,
            ClientRow.name,
            Procedure.name,
            Course.name,
            a.session,
            Course.sessions,
            a.status,
            Practitioner.name,
            Device.name,
            Room.name,
            a.note,
        )
        .join(Enrolment, Enrolment.id == a.enrolment_id)
        .join(Course, Course.id == Enrolment.course_id)
        .join(Procedure, Procedure.id == Course.procedure_id)
        .join(ClientRow, ClientRow.id == a.client_id)
        .join(Practitioner, Practitioner.id == a.practitioner_id)
        .join(Room, Room.id == a.room_id)
        .outerjoin(Device, Device.id == a.device_id)
        .where(
            # The same window as booking.list_appointments (the lower bound on start_at lets
            # the index bound the scan), live appointments only.
            a.end_at > start,
            a.start_at > start - booking.LONGEST_SESSION,
            a.start_at < end,
            a.status != "cancelled",
            column.is_not(None),
        )
        .order_by(a.start_at, a.id)
    )
    if actor.role == "practitioner":
        query = query.where(a.practitioner_id == actor.practitioner_id)
    entries = []
    for (
        appointment_id,
        column_id,
        start_at,
        end_at,
        busy_until_at,
        client_id,
        client_name,
        procedure,
        course,
        number,
        sessions,
        status,
        practitioner,
        device,
        room,
        note,
    ) in session().execute(query):
        if column_id is None:  # excluded by the query; tells the type checker
            continue
        entries.append(
            Entry(
                appointment_id=appointment_id,
                column_id=column_id,
                start=start_at.astimezone(tz),
                end=end_at.astimezone(tz),
                busy_until=busy_until_at.astimezone(tz),
                client_id=client_id,
                client_name=client_name,
                procedure=procedure,
                course=course,
                session=number,
                sessions=sessions,
                status=status,
                practitioner=practitioner,
                device=device or "",
                room=room,
                note=note,
            )
        )
    return entries


def _practitioner_columns(actor: Actor, window: CalendarWindow) -> None:
    query = (
        select(Practitioner)
        .options(
            selectinload(Practitioner.hours),
            selectinload(Practitioner.time_off),
            selectinload(Practitioner.qualifications),
        )
        .where(Practitioner.active.is_(True))
        .order_by(Practitioner.name)
    )
    if actor.role == "practitioner":
        query = query.where(Practitioner.id == (actor.practitioner_id or 0))
    for p in session().scalars(query):
        window.columns.append(Column(p.id, p.name, ", ".join(p.qualification_codes)))
        for d in window.days:
            off = next((t for t in p.time_off if t.start_on <= d <= t.end_on), None)
            if off is not None:
                window.off[(p.id, d)] = off.note or "Time off"
            window.hours[(p.id, d)] = (
                []
                if off is not None or d in window.holidays
                else [(h.starts, h.ends) for h in p.hours if h.weekday == d.weekday()]
            )


def _device_columns(window: CalendarWindow) -> None:
    for d in session().scalars(
        select(Device).where(Device.active.is_(True)).order_by(Device.kind, Device.name)
    ):
        window.columns.append(Column(d.id, d.name, d.kind))
        for day in window.days:
            window.hours[(d.id, day)] = window.opening[day]
