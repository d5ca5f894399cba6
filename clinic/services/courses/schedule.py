"""The reception calendar: who does what, where, over a few days, in a handful of queries.

One query loads the live appointments of the window with their client's name and their
enrolment's course and kept number of sessions. The rest (practitioners with their hours and
time off, devices, opening hours, holidays, and the names of practitioners, devices and
procedures) is catalogue, kept by the worker until the catalogue changes. Nothing is queried
per day, per column or per appointment.

The week page shows about 400 appointments at the busy bench clinic, so the rows are read as
plain columns straight from the driver (no ORM objects, no type processing), and each entry's
local times and the week view's line are worked out once here, not per entry in the template
(bench/README.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select, text

from clinic.models import (
    HOLDING_STATUSES,
    Appointment,
    Course,
    Device,
    Enrolment,
    Holiday,
    OpeningHours,
    Practitioner,
    PractitionerQualification,
    Procedure,
    TimeOff,
    WorkingHours,
)
from clinic.models import Client as ClientRow
from clinic.models.calendar import status_in
from clinic.models.types import raw_timestamp, utc_from_driver
from clinic.scheduling.timeutil import day_start
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidRequest, PermissionDenied
from clinic.services.core.permissions import is_practitioner, is_staff
from clinic.services.courses import placing

BY_CHOICES = ("practitioner", "device")
MAX_DAYS = 14

# "HH:MM" for every minute of a day: a list look-up instead of a strftime per time shown.
_CLOCK = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]


def clock(moment: datetime | time) -> str:
    """The local time as "HH:MM", as `strftime('%H:%M')` gives it."""
    return _CLOCK[moment.hour * 60 + moment.minute]


@dataclass(frozen=True, slots=True)
class Column:
    """A practitioner or a device: one column of the calendar."""

    id: int
    name: str
    detail: str = ""


@dataclass(slots=True)
class Entry:
    """An appointment as the calendar shows it, in the clinic's local time.

    Not frozen: a frozen dataclass sets each field through object.__setattr__, six times the
    cost of building one, and the week page builds hundreds."""

    appointment_id: int
    column_id: int
    start: datetime
    end: datetime
    busy_until: datetime
    client_name: str
    procedure: str
    session: int
    sessions: int
    status: str
    practitioner: str
    device: str

    @property
    def day(self) -> date:
        return self.start.date()

    @property
    def has_buffer(self) -> bool:
        return self.busy_until > self.end

    @property
    def summary(self) -> str:
        """The week view's second line: procedure, session, buffer and any outcome."""
        text = f"{self.procedure} · {self.session}/{self.sessions}"
        if self.busy_until > self.end:
            text += f" · buffer to {_CLOCK[self.busy_until.hour * 60 + self.busy_until.minute]}"
        if self.status != "booked":
            text += f" · {self.status.replace('_', '-')}"
        return text


# One appointment in a cell of the week view, as the template prints it:
# (status, link to the appointment, "HH:MM client", summary, outcome form's URL or "").
WeekLine = tuple[str, str, str, str, str]


class WeekCell(NamedTuple):
    """One column's day in the week view: `off` is the time-off note, `open` whether the
    practitioner works (or the clinic is open) that day."""

    off: str | None
    open: bool
    lines: list[WeekLine]


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

    def week_rows(
        self,
        appointment_url: str,
        outcome_url: tuple[str, str] | None = None,
        now: datetime | None = None,
    ) -> list[tuple[Column, list[WeekCell]]]:
        """Each column with its cells, one per day, ready to print: the week view's table.
        `appointment_url` is the appointment page's URL without the id that ends it.
        `outcome_url`, the outcome form's URL before and after the id, gives each booked
        session that has started by `now` its form (every session in the calendar is one
        the viewer may see, and so, being staff, record: permissions.can_record_outcome)."""
        rows = []
        before, after = outcome_url or ("", "")
        for column in self.columns:
            cells = []
            for day in self.days:
                key = (column.id, day)
                lines = [
                    (
                        e.status,
                        f"{appointment_url}{e.appointment_id}",
                        f"{_CLOCK[e.start.hour * 60 + e.start.minute]} {e.client_name}",
                        e.summary,
                        f"{before}{e.appointment_id}{after}"
                        if outcome_url and now and e.status == "booked" and e.start <= now
                        else "",
                    )
                    for e in self.entries.get(key, ())
                ]
                cells.append(WeekCell(self.off.get(key), bool(self.hours.get(key)), lines))
            rows.append((column, cells))
        return rows


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def load_calendar(
    *, actor: Actor, first: date, days: int, by: str = "practitioner"
) -> CalendarWindow:
    """Appointments from local date `first` for `days` days, in columns by practitioner or
    device. A practitioner sees only their own column."""
    if not is_staff(actor):
        raise PermissionDenied("The calendar is for clinic staff.")
    if by not in BY_CHOICES:
        raise InvalidRequest("Show the calendar by practitioner or by device.", field="by")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"Show 1 to {MAX_DAYS} days.", field="days")
    rules = clinic_setup.clinic_rules()
    tz = rules.tz
    window_days = [first + timedelta(days=i) for i in range(days)]
    last = window_days[-1]
    kept = _catalogue_rows()
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, opens, closes in kept.opening:
        by_weekday[weekday].append((opens, closes))
    holidays = {day: name for day, name in kept.holidays.items() if first <= day <= last}
    opening = {d: [] if d in holidays else by_weekday.get(d.weekday(), []) for d in window_days}

    window = CalendarWindow(
        by=by,
        days=window_days,
        columns=[],
        tz=tz,
        slot_minutes=rules.slot_minutes,
        holidays=holidays,
        opening=opening,
    )
    if by == "practitioner":
        _practitioner_columns(actor, window)
    else:
        _device_columns(window)

    start = day_start(first, tz)
    end = day_start(last + timedelta(days=1), tz)
    entries = window.entries
    for entry in _entries(actor, start, end, by, tz):
        key = (entry.column_id, entry.start.date())
        cell = entries.get(key)
        if cell is None:
            entries[key] = [entry]
        else:
            cell.append(entry)
    return window


# The live statuses as literals, the very text of `ix_appointments_holding`'s WHERE (qualified:
# enrolments have a status too): SQLite then reads the window from that partial index and never
# visits the cancelled rows (59% of the bench clinic's table), as world/snapshot.py does.
_LIVE = text(f"{Appointment.__tablename__}.{status_in(HOLDING_STATUSES)}")


class _Queries:
    """The calendar's statements, built once: building a select with six joins, and
    SQLAlchemy's cache key for it, cost more than running it on a small window."""

    def __init__(self) -> None:
        p, q, h, t = Practitioner, PractitionerQualification, WorkingHours, TimeOff
        self.opening = select(OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes)
        self.opening = self.opening.order_by(OpeningHours.opens)
        self.holidays = select(Holiday.day, Holiday.name)
        self.devices = (
            select(Device.id, Device.name, Device.kind)
            .where(Device.active.is_(True))
            .order_by(Device.kind, Device.name)
        )
        # Active practitioners with their qualifications, weekly hours and time off.
        self.people = (
            select(p.id, p.name, q.qualification)
            .outerjoin(q, q.practitioner_id == p.id)
            .where(p.active.is_(True))
            .order_by(p.name, p.id, q.qualification)
        )
        self.hours = (
            select(h.practitioner_id, h.weekday, h.starts, h.ends)
            .join(p, p.id == h.practitioner_id)
            .where(p.active.is_(True))
            .order_by(h.weekday, h.starts)
        )
        self.time_off = (
            select(t.practitioner_id, t.start_on, t.end_on, t.note)
            .join(p, p.id == t.practitioner_id)
            .where(p.active.is_(True))
            .order_by(t.start_on, t.id)
        )
        # Every practitioner, device and course, active or not: what an appointment names.
        self.practitioner_names = select(p.id, p.name)
        self.device_names = select(Device.id, Device.name)
        self.procedure_names = select(Course.id, Procedure.name).join(
            Procedure, Procedure.id == Course.procedure_id
        )
        self.entries = {
            (by, mine): _entries_query(by, mine) for by in BY_CHOICES for mine in (False, True)
        }


def _entries_query(by: str, own: bool) -> Select[*tuple[Any, ...]]:
    """The live appointments of a window, only the columns the page shows and only the tables
    that are not catalogue (the procedure's, practitioner's and device's names come from the
    worker's memory, `_CatalogueRows`): no ORM objects, times as the driver gives them, in no
    particular order (`_entries` sorts them; an ORDER BY on the start and the id made SQLite
    scan the start index, cancelled rows included, instead of `ix_appointments_holding`)."""
    a, stored = Appointment, Appointment.__table__.c
    column = a.practitioner_id if by == "practitioner" else a.device_id
    query = (
        select(
            a.id,
            column,
            a.practitioner_id,
            a.device_id,
            raw_timestamp(stored.start_at),
            raw_timestamp(stored.end_at),
            raw_timestamp(stored.busy_until_at),
            ClientRow.name,
            Enrolment.course_id,
            a.session,
            # As booked: the enrolment's kept rules, not the template's (aftercare.py).
            Enrolment.rules["sessions"].as_integer(),
            a.status,
        )
        .join(Enrolment, Enrolment.id == a.enrolment_id)
        .join(ClientRow, ClientRow.id == a.client_id)
        .where(
            # The same window as reads.list_appointments (the lower bound on start_at lets
            # the index bound the scan), live appointments only.
            a.end_at > bindparam("start"),
            a.start_at > bindparam("lower"),
            a.start_at < bindparam("end"),
            _LIVE,
            column.is_not(None),
        )
    )
    if own:
        query = query.where(a.practitioner_id == bindparam("practitioner_id"))
    return query


_queries = cache(_Queries)


# How many converted timestamps `_LocalTimes` keeps before it starts again (a few hundred
# kilobytes): a busy week has about 260 distinct times, so this holds months of weeks.
_LOCAL_TIMES_KEPT = 4096


class _LocalTimes(dict[datetime | str, datetime]):
    """Timestamps as the driver gives them (`utc_from_driver`) in the clinic's time zone, each
    distinct one converted once by the worker, not once a request (`_local_times`): sessions
    start and end on a grid, so a busy week has about 260 distinct times for its ~1,200, and
    the same week is asked for again and again. Converting them was most of the time it took
    to turn the week's rows into entries (bench/README.md). A timestamp's local time never
    changes in a given zone, so nothing needs forgetting; the dict only starts again when
    it is full. Filling it from two threads at once stores the same value twice, harmlessly."""

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__()
        self.tz = tz

    def __missing__(self, stored: datetime | str) -> datetime:
        if len(self) >= _LOCAL_TIMES_KEPT:
            self.clear()
        local = self[stored] = utc_from_driver(stored).astimezone(self.tz)
        return local


_local_times = cache(_LocalTimes)


def _in_order(entry: Entry) -> tuple[datetime, int]:
    return entry.start, entry.appointment_id


def _entries(actor: Actor, start: datetime, end: datetime, by: str, tz: ZoneInfo) -> list[Entry]:
    """The live appointments of the window as entries, by start, in one statement."""
    own = is_practitioner(actor)
    values = {
        "start": start,
        "lower": start - placing.LONGEST_SESSION,
        "end": end,
        "practitioner_id": actor.practitioner_id,
    }
    kept = _catalogue_rows()
    practitioners, devices, procedures = kept.practitioners, kept.devices_by_id, kept.procedures
    local = _local_times(tz)
    entries = [
        Entry(
            appointment_id,
            column_id,
            local[start_at],
            local[end_at],
            local[busy_until_at],
            client_name,
            procedures[course_id],
            number,
            sessions,
            status,
            practitioners[practitioner_id],
            devices[device_id] if device_id is not None else "",
        )
        for (
            appointment_id,
            column_id,
            practitioner_id,
            device_id,
            start_at,
            end_at,
            busy_until_at,
            client_name,
            course_id,
            number,
            sessions,
            status,
        ) in db_session().connection().execute(_queries().entries[(by, own)], values).all()
    ]
    entries.sort(key=_in_order)
    return entries


class _CatalogueRows(NamedTuple):
    """What the calendar reads from the catalogue tables, kept by the worker until one of
    them changes (clinic_setup.from_catalogue): the page then reads only its appointments."""

    opening: Sequence[Any]
    holidays: dict[date, str]
    people: Sequence[Any]
    hours: Sequence[Any]
    time_off: Sequence[Any]
    devices: Sequence[Any]
    # Names by id of every practitioner and device, and of each course's procedure.
    practitioners: dict[int, str]
    devices_by_id: dict[int, str]
    procedures: dict[int, str]


def _catalogue_rows() -> _CatalogueRows:
    return clinic_setup.from_catalogue("staff_calendar", _load_catalogue_rows)


def _load_catalogue_rows() -> _CatalogueRows:
    db, q = db_session().connection(), _queries()
    return _CatalogueRows(
        opening=db.execute(q.opening).all(),
        holidays={day: name or "Holiday" for day, name in db.execute(q.holidays)},
        people=db.execute(q.people).all(),
        hours=db.execute(q.hours).all(),
        time_off=db.execute(q.time_off).all(),
        devices=db.execute(q.devices).all(),
        practitioners={i: name for i, name in db.execute(q.practitioner_names)},
        devices_by_id={i: name for i, name in db.execute(q.device_names)},
        procedures={i: name for i, name in db.execute(q.procedure_names)},
    )


def _practitioner_columns(actor: Actor, window: CalendarWindow) -> None:
    """Active practitioners (only the actor, for a practitioner) with their qualifications,
    weekly hours and the time off that touches the window."""
    kept = _catalogue_rows()
    only = actor.practitioner_id if is_practitioner(actor) else None
    first, last = window.days[0], window.days[-1]
    names: dict[int, str] = {}
    qualifications: dict[int, list[str]] = defaultdict(list)
    for pid, name, qualification in kept.people:
        if only is not None and pid != only:
            continue
        names[pid] = name
        if qualification is not None:
            qualifications[pid].append(qualification)
    weekly: dict[tuple[int, int], list[tuple[time, time]]] = defaultdict(list)
    for pid, weekday, starts, ends in kept.hours:
        weekly[(pid, weekday)].append((starts, ends))
    away: dict[int, list[tuple[date, date, str]]] = defaultdict(list)
    for pid, start_on, end_on, note in kept.time_off:
        if start_on <= last and end_on >= first:
            away[pid].append((start_on, end_on, note))

    for pid, name in names.items():
        window.columns.append(Column(pid, name, ", ".join(qualifications.get(pid, ()))))
        spells = away.get(pid, ())
        for d in window.days:
            # The first spell of time off that holds the day, in the order they start.
            off = next((note for s, e, note in spells if s <= d <= e), None) if spells else None
            if off is not None:
                window.off[(pid, d)] = off or "Time off"
            window.hours[(pid, d)] = (
                []
                if off is not None or d in window.holidays
                else weekly.get((pid, d.weekday()), [])
            )


def _device_columns(window: CalendarWindow) -> None:
    for device_id, name, kind in _catalogue_rows().devices:
        window.columns.append(Column(device_id, name, kind))
        for day in window.days:
            window.hours[(device_id, day)] = window.opening[day]
