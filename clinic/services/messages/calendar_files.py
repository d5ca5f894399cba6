"""Calendar files (RFC 5545): a client's sessions and their aftercare, for a phone's calendar.

Written once here; the client pages, the booking confirmation email and the JSON API all use
these two functions. Times carry the clinic's time zone (TZID with its VTIMEZONE), so a phone
in another zone still shows the session at the clinic's wall-clock time.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import RESTRICTING_STATUSES, Appointment, Enrolment, utcnow
from clinic.scheduling import CareWindow
from clinic.services.core import clinic_setup
from clinic.services.core.db import db_session
from clinic.services.messages.wording import session_title
from clinic.services.world.aftercare import aftercare_for, restricts
from clinic.services.world.progress import session_place

PRODID = "-//Clinic Scheduler//Client calendar//EN"


def _uid(appointment: Appointment, suffix: str = "") -> str:
    return f"appointment-{appointment.id}{suffix}@clinic-scheduler"


# A session that does not restrict did not or will not take place for the client: its
# event is cancelled (RFC 5545 STATUS) and says why; it carries no care windows.
_NOT_HELD = {"no_show": "Missed: ", "cancelled": "Cancelled: "}


def _events(
    appointment: Appointment, tz: ZoneInfo, stamp: datetime, care: tuple[CareWindow, ...]
) -> list[Event]:
    course = appointment.enrolment.course
    name = course.procedure.name
    held = restricts(appointment)
    session_event = Event()
    session_event.add("uid", _uid(appointment))
    session_event.add("dtstamp", stamp)
    session_event.add("dtstart", appointment.start_at.astimezone(tz))
    session_event.add("dtend", appointment.end_at.astimezone(tz))
    why = "" if held else _NOT_HELD.get(appointment.status, "")
    session_event.add("summary", f"{why}{session_title(appointment)}")
    session_event.add(
        "description",
        f"{course.name}. With {appointment.practitioner.name}, {appointment.room.name}.",
    )
    session_event.add("location", appointment.room.name)
    session_event.add("status", "CONFIRMED" if held else "CANCELLED")
    out = [session_event]
    for window in care:
        event = Event()
        event.add("uid", _uid(appointment, f"-{window.phase}-{window.code}"))
        event.add("dtstamp", stamp)
        event.add("dtstart", window.window.start.astimezone(tz))
        event.add("dtend", window.window.end.astimezone(tz))
        when = "after" if window.phase == "after" else "before"
        number = session_place(appointment).number
        event.add("summary", f"{window.text} ({when} {name} session {number})")
        event.add("categories", ["Aftercare" if window.phase == "after" else "Pre-care"])
        # A restriction does not make the client busy.
        event.add("transp", "TRANSPARENT")
        out.append(event)
    return out


def _calendar(
    appointments: Iterable[Appointment],
    name: str,
    care: Mapping[int, tuple[CareWindow, ...]] | None = None,
) -> bytes:
    """`care`: the sessions' care windows by appointment id, where the caller has them."""
    tz = clinic_setup.clinic_tz()
    stamp = utcnow()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    care = care or {}
    for appointment in appointments:
        windows = care.get(appointment.id)
        if windows is None:
            windows = aftercare_for(appointment)
        for event in _events(appointment, tz, stamp, windows):
            cal.add_component(event)
    # As `cal.add_missing_timezones()`, with each zone's VTIMEZONE worked out once per worker:
    # it is the same for every calendar, and working it out was a quarter of a booking's CPU.
    for tzid in sorted(cal.get_missing_tzids()):
        with contextlib.suppress(ValueError):  # a zone icalendar does not know: none, as before
            cal.subcomponents.insert(len(cal.timezones), _vtimezone(tzid))
    data: bytes = cal.to_ical()
    return data


@functools.cache
def _vtimezone(tzid: str) -> Timezone:
    return Timezone.from_tzid(tzid)


def appointment_ics(appointment: Appointment) -> bytes:
    """One session with its pre-care and aftercare windows as events. The caller has checked
    that the reader may see this appointment (booking.get_appointment)."""
    return _calendar([appointment], f"{appointment.enrolment.course.name}")


def _client_appointments(client_id: int, enrolment_id: int | None = None) -> list[Appointment]:
    query = (
        select(Appointment)
        .options(
            selectinload(Appointment.enrolment).selectinload(Enrolment.course),
            selectinload(Appointment.practitioner),
            selectinload(Appointment.room),
        )
        .where(
            Appointment.client_id == client_id,
            Appointment.status.in_(RESTRICTING_STATUSES),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    if enrolment_id is not None:
        query = query.where(Appointment.enrolment_id == enrolment_id)
    return list(db_session().scalars(query))


def client_calendar_ics(client_id: int) -> bytes:
    """Every live or completed session of a client with its care windows. The caller has
    resolved `client_id` for the reader (booking.resolve_client_id)."""
    return _calendar(_client_appointments(client_id), "My clinic sessions")


def enrolment_ics(client_id: int, enrolment_id: int) -> bytes:
    """The sessions of one course booking, as attached to its confirmation email."""
    return _calendar(_client_appointments(client_id, enrolment_id), "My clinic sessions")


def sessions_ics(
    appointments: Iterable[Appointment], care: Mapping[int, tuple[CareWindow, ...]] | None = None
) -> bytes:
    """Sessions of a course booking just booked, as attached to their confirmation email;
    `care`: their care windows by appointment id, as the booking computed them."""
    return _calendar(appointments, "My clinic sessions", care)
