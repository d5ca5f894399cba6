"""Calendar files (RFC 5545, with RFC 5546's methods): a client's sessions and their care, for a
phone's calendar, written so that the calendar follows every change.

Written once here; the client pages, the emails, the JSON API and the client's feed all use
these functions. Times carry the clinic's time zone (TZID with its VTIMEZONE), so a phone in
another zone still shows the session at the clinic's wall-clock time.

How a calendar app follows a change (docs/DECISIONS.md, "Calendar files that update"):
- a session's UID is derived from its appointment and the clinic's random `calendar_key`, never
  from its time, so it stays the same for the life of the session; its SEQUENCE is the
  appointment's `sequence`, raised by every change (`Appointment.revise`);
- files sent by email are `METHOD:REQUEST` (a move: the same UID with a higher SEQUENCE
  replaces the event), a cancelled session's file is `METHOD:CANCEL` with `STATUS:CANCELLED`;
  a download or the feed is `METHOD:PUBLISH`;
- care is told as few events: per course and restriction, the windows that overlap or touch
  are one event (`care_stretches`), and an aftercare window of two days or less is said in
  its session's event instead; a stretch's UID is derived from its first session and the
  restriction, its SEQUENCE is the sum of the course's sessions' sequences (it grows with
  every change of the course);
- a session to come rings the evening before (18:00, the clinic's time), and again at the
  hours before it the client chose with their message choices (`choices.alarm_hours_of`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vDuration, vText
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import RESTRICTING_STATUSES, Appointment, Enrolment, utcnow
from clinic.scheduling import CareStretch, CareWindow, care_stretches
from clinic.scheduling.timeutil import local
from clinic.services.core import clinic_setup
from clinic.services.core.db import db_session
from clinic.services.messages import calendar_wording as say
from clinic.services.messages.choices import alarm_hours_of
from clinic.services.world.aftercare import aftercare_for, restricts

PRODID = "-//Clinic Scheduler//Client calendar//EN"
# The alarm of a session to come rings at this time the evening before, the clinic's time.
EVENING = time(18)
# An aftercare window this short is said in its session's event, not as an event of its own.
SHORT_CARE = timedelta(hours=48)
# How often a subscribed calendar asks the feed again (a hint; apps choose for themselves).
FEED_REFRESH = timedelta(hours=1)

Care = Mapping[int, tuple[CareWindow, ...]]


def _uid(appointment_id: int, suffix: str = "") -> str:
    """Stable for the life of the session, different for every clinic, and telling nothing
    (not the row's id, not the time)."""
    key = clinic_setup.settings().calendar_key or ""
    digest = hmac.new(
        key.encode(), f"appointment-{appointment_id}{suffix}".encode(), hashlib.sha256
    )
    return f"{digest.hexdigest()[:32]}@clinic-scheduler"


@dataclass
class _Course:
    """One enrolment's part of a file: its care as stretches over all its live sessions, the
    short aftercare said in a session's event, and the SEQUENCE of its care events."""

    stretches: list[CareStretch]
    short: dict[int, list[CareWindow]]
    sequence: int
    numbers: dict[int, int]  # appointment id -> session number


def _course(enrolment: Enrolment, care: Care) -> _Course:
    live = [a for a in enrolment.appointments if restricts(a)]
    pairs = [(a.id, w) for a in live for w in (care[a.id] if a.id in care else aftercare_for(a))]
    stretches: list[CareStretch] = []
    short: dict[int, list[CareWindow]] = {}
    for stretch in care_stretches(windows=pairs):
        is_short = stretch.phases == {"after"} and len(stretch.sessions) == 1
        if is_short and stretch.window.end - stretch.window.start <= SHORT_CARE:
            windows = [w for k, w in pairs if k == stretch.sessions[0] and w.code == stretch.code]
            short.setdefault(stretch.sessions[0], []).extend(windows)
        else:
            stretches.append(stretch)
    return _Course(
        stretches,
        short,
        sum(a.sequence or 0 for a in enrolment.appointments),
        {a.id: a.session for a in enrolment.appointments},
    )


def _alarm(appointment: Appointment, tz: ZoneInfo, trigger: timedelta) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", say.alarm_text(appointment, tz))
    # Relative to the start: the form every calendar app reads.
    alarm.add("trigger", trigger)
    return alarm


def _session_event(
    appointment: Appointment,
    tz: ZoneInfo,
    stamp: datetime,
    short: Sequence[CareWindow],
    alarm_hours: int | None = None,
) -> Event:
    held = restricts(appointment)
    settings = clinic_setup.settings()
    event = Event()
    event.add("uid", _uid(appointment.id))
    event.add("dtstamp", stamp)
    event.add("sequence", appointment.sequence or 0)
    event.add("dtstart", appointment.start_at.astimezone(tz))
    event.add("dtend", appointment.end_at.astimezone(tz))
    event.add("summary", say.session_summary(appointment))
    event.add("description", say.session_description(appointment, short if held else (), tz))
    event.add("location", say.location(settings.name, settings.address))
    event.add("status", "CONFIRMED" if held else "CANCELLED")
    if appointment.status == "booked":
        start = local(appointment.start_at, tz)
        evening = datetime.combine(start.date() - timedelta(days=1), EVENING, tzinfo=tz)
        event.add_component(_alarm(appointment, tz, evening.astimezone(tz) - start))
        if alarm_hours is not None:
            event.add_component(_alarm(appointment, tz, -timedelta(hours=alarm_hours)))
    return event


def _care_event(
    stretch: CareStretch, course: _Course, procedure: str, tz: ZoneInfo, stamp: datetime
) -> Event:
    event = Event()
    event.add("uid", _uid(stretch.sessions[0], f"-care-{stretch.code}"))
    event.add("dtstamp", stamp)
    event.add("sequence", course.sequence)
    event.add("dtstart", stretch.window.start.astimezone(tz))
    event.add("dtend", stretch.window.end.astimezone(tz))
    numbers = [course.numbers[k] for k in stretch.sessions]
    event.add("summary", say.care_summary(stretch, procedure, numbers))
    event.add("description", say.care_description(stretch, tz))
    event.add("categories", say.care_category(stretch))
    # A restriction does not make the client busy.
    event.add("transp", "TRANSPARENT")
    return event


def _attendance(event: Event, appointment: Appointment) -> None:
    """ORGANIZER and ATTENDEE, which a REQUEST or CANCEL carries (RFC 5546): the clinic asks
    nothing back (RSVP=FALSE), the client has accepted by booking."""
    organizer = vCalAddress(f"mailto:{current_app.config['MAIL_SENDER']}")
    organizer.params["cn"] = vText(clinic_setup.settings().name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{appointment.client.email}")
    attendee.params["cn"] = vText(appointment.client.name)
    attendee.params["partstat"] = vText("ACCEPTED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)


def _new_calendar(method: str, name: str, tz: ZoneInfo) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    return cal


def _calendar(
    appointments: Iterable[Appointment],
    name: str,
    care: Care | None = None,
    method: str = "PUBLISH",
    refresh: timedelta | None = None,
) -> bytes:
    """`care`: the sessions' care windows by appointment id, where the caller has them. Each
    session's care stretches come with it, worked out over its course's live sessions.
    `refresh`: how often a subscribed calendar should read the file again (a feed's)."""
    tz = clinic_setup.clinic_tz()
    stamp = utcnow()
    cal = _new_calendar(method, name, tz)
    if refresh is not None:
        # RFC 7986, and the older name most calendar apps still read.
        cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(refresh))
    courses: dict[int, _Course] = {}
    told: set[tuple[int, str, int]] = set()
    appointments = list(appointments)
    alarms = alarm_hours_of(db_session(), (a.client_id for a in appointments))
    for appointment in appointments:
        enrolment = appointment.enrolment
        if enrolment.id not in courses:
            courses[enrolment.id] = _course(enrolment, care or {})
        course = courses[enrolment.id]
        event = _session_event(
            appointment,
            tz,
            stamp,
            course.short.get(appointment.id, ()),
            alarms.get(appointment.client_id),
        )
        if method != "PUBLISH":
            _attendance(event, appointment)
        cal.add_component(event)
        if not restricts(appointment):
            continue
        for stretch in course.stretches:
            key = (enrolment.id, stretch.code, stretch.sessions[0])
            if appointment.id in stretch.sessions and key not in told:
                told.add(key)
                care_event = _care_event(
                    stretch, course, enrolment.course.procedure.name, tz, stamp
                )
                if method != "PUBLISH":
                    _attendance(care_event, appointment)
                cal.add_component(care_event)
    return _with_timezones(cal)


def _with_timezones(cal: Calendar) -> bytes:
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
    """One session with its care stretches, as sent or downloaded: `METHOD:REQUEST`, or
    `METHOD:CANCEL` for a session cancelled or missed. The caller has checked that the reader
    may see this appointment (booking.get_appointment)."""
    if not restricts(appointment):
        return cancelled_ics([appointment])
    return _calendar([appointment], f"{appointment.enrolment.course.name}", method="REQUEST")


def cancelled_ics(appointments: Sequence[Appointment]) -> bytes:
    """Cancelled (or missed) sessions as `METHOD:CANCEL`: each session's event as
    `STATUS:CANCELLED` with its higher SEQUENCE, and the care events first caused by it, so a
    calendar app takes them all away (a course's remaining care comes with its next file)."""
    tz = clinic_setup.clinic_tz()
    stamp = utcnow()
    cal = _new_calendar("CANCEL", "My clinic sessions", tz)
    sequences: dict[int, int] = {}
    for appointment in appointments:
        enrolment = appointment.enrolment
        event = _session_event(appointment, tz, stamp, ())
        event["status"] = vText("CANCELLED")  # a session booked again later has a new row
        _attendance(event, appointment)
        cal.add_component(event)
        if enrolment.id not in sequences:
            sequences[enrolment.id] = sum(a.sequence or 0 for a in enrolment.appointments)
        for rule in enrolment.rules.get("care", []):
            care = Event()
            care.add("uid", _uid(appointment.id, f"-care-{rule['code']}"))
            care.add("dtstamp", stamp)
            care.add("sequence", sequences[enrolment.id])
            care.add("dtstart", appointment.start_at.astimezone(tz))
            care.add("summary", say.cancelled_care_summary(rule["text"], appointment))
            care.add("status", "CANCELLED")
            care.add("categories", ["Pre-care" if rule["phase"] == "before" else "Aftercare"])
            _attendance(care, appointment)
            cal.add_component(care)
    return _with_timezones(cal)


def method_of(ics: str) -> str:
    """The METHOD a calendar file says (REQUEST, CANCEL, PUBLISH), which its email part must
    repeat (RFC 6047: `text/calendar; method=...`)."""
    for line in ics.splitlines():
        if line.upper().startswith("METHOD:"):
            return line.split(":", 1)[1].strip().upper()
        if line.upper().startswith("BEGIN:V") and line.upper() != "BEGIN:VCALENDAR":
            break
    return "PUBLISH"


def _client_appointments(client_id: int, enrolment_id: int | None = None) -> list[Appointment]:
    query = (
        select(Appointment)
        .options(
            selectinload(Appointment.enrolment).selectinload(Enrolment.course),
            selectinload(Appointment.enrolment).selectinload(Enrolment.appointments),
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
    """Every live or completed session of a client with its care, as a download
    (`METHOD:PUBLISH`). The caller has resolved `client_id` for the reader
    (booking.resolve_client_id)."""
    return _calendar(_client_appointments(client_id), "My clinic sessions")


def feed_ics(client_id: int) -> bytes:
    """The client's subscribed calendar: every live or completed session with its care, read
    again by the phone every so often; a cancelled session is simply no longer in it."""
    return _calendar(
        _client_appointments(client_id),
        say.feed_name(clinic_setup.settings().name),
        refresh=FEED_REFRESH,
    )


def enrolment_ics(client_id: int, enrolment_id: int) -> bytes:
    """The live sessions of one course booking with their care, as sent by email after a
    booking or a change (`METHOD:REQUEST`: a moved session replaces its earlier event)."""
    return _calendar(
        _client_appointments(client_id, enrolment_id), "My clinic sessions", method="REQUEST"
    )


def sessions_ics(appointments: Iterable[Appointment], care: Care | None = None) -> bytes:
    """Sessions of a course booking just booked, as attached to their confirmation email
    (`METHOD:REQUEST`); `care`: their care windows by appointment id, as the booking
    computed them."""
    return _calendar(appointments, "My clinic sessions", care, method="REQUEST")
