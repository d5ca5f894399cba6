"""Calendar files that update (issue 22): parsed back with `icalendar`, as a phone reads them.

A 6-session course three weeks apart with the demo glycolic peel's care (five aftercare and
two pre-care windows) gave 8 events per session, 48 for the course, all `METHOD:PUBLISH` /
`STATUS:CONFIRMED`, no SEQUENCE, no alarm, and a room's name as LOCATION.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, ClinicSettings, OutboxMessage
from clinic.services.courses import cancellation, moves
from clinic.services.messages import calendar_files, sending
from tests import factories as f
from tests.clock import BERLIN, NOW, local

# The demo catalogue's glycolic course (clinic/demo/catalogue.json).
GLYCOLIC_CARE = {
    "aftercare": [
        ("no_uv", "sun", 168),
        ("no_makeup", "other", 24),
        ("no_actives", "other", 168),
        ("no_sauna", "other", 48),
        ("no_resurfacing", "other", 336),
    ],
    "precare": [("no_uv", "sun", 336), ("no_retinoids", "other", 120)],
}
ADDRESS = "Hauptstrasse 1\n10115 Berlin"
FIRST = local(2027, 1, 5, 10)  # a Tuesday; the next sessions three weeks apart


def book_glycolic() -> f.BookedCourse:
    starts = [FIRST + timedelta(days=21 * i) for i in range(6)]
    return f.make_booked_course(
        *starts,
        clinic={"name": "Skin Studio", "address": ADDRESS},
        course=GLYCOLIC_CARE,
        now=NOW,
    )


def parsed(ics: bytes) -> Calendar:
    return Calendar.from_ical(ics)


def sessions_of(cal: Calendar) -> list[Any]:
    return [e for e in cal.walk("VEVENT") if "categories" not in e]


def care_of(cal: Calendar) -> list[Any]:
    return [e for e in cal.walk("VEVENT") if "categories" in e]


def reread(appointment_id: int) -> Appointment:
    db.session.expire_all()
    row = db.session.get(Appointment, appointment_id)
    assert row is not None
    return row


def test_a_course_file_has_far_fewer_events_than_one_per_window_per_session(app) -> None:
    booked = book_glycolic()

    cal = parsed(calendar_files.enrolment_ics(booked.client.id, booked.enrolment.id))

    assert len(sessions_of(cal)) == 6
    # Per session: the session, no actives, no resurfacing and no retinoids (a window of two
    # days or less is said in the session's own event); no sun runs from 14 days before the
    # first session to 7 days after the last, one event.
    assert len(cal.walk("VEVENT")) == 6 + 1 + 3 * 6
    [no_sun] = [e for e in care_of(cal) if "no uv" in str(e["summary"]).lower()]
    assert no_sun.decoded("dtstart") == (FIRST - timedelta(days=14)).astimezone(BERLIN)
    assert no_sun.decoded("dtend") == (FIRST + timedelta(days=21 * 5 + 7)).astimezone(BERLIN)
    first = sessions_of(cal)[0]
    assert "No makeup until" in str(first["description"])
    assert "No sauna until" in str(first["description"])


def test_a_session_is_at_the_clinics_name_and_address_with_an_alarm_the_evening_before(
    app,
) -> None:
    booked = book_glycolic()

    [event] = sessions_of(parsed(calendar_files.appointment_ics(booked.sessions[0])))

    assert str(event["location"]) == "Skin Studio, Hauptstrasse 1, 10115 Berlin"
    [alarm] = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    rings = event.decoded("dtstart") + alarm.decoded("trigger")
    assert rings == datetime(2027, 1, 4, 18, tzinfo=BERLIN)


def test_a_moved_session_keeps_its_uid_with_a_higher_sequence(app) -> None:
    booked = book_glycolic()
    first = booked.sessions[0]
    before = parsed(calendar_files.appointment_ics(first))
    [was] = sessions_of(before)

    moves.move_appointment(
        actor=booked.desk, appointment_id=first.id, start=FIRST + timedelta(days=1), now=NOW
    )
    after = parsed(calendar_files.appointment_ics(reread(first.id)))
    [now_] = sessions_of(after)

    assert str(after["method"]) == "REQUEST"
    assert str(now_["uid"]) == str(was["uid"])
    assert int(now_["sequence"]) > int(was["sequence"])
    assert now_.decoded("dtstart") == (FIRST + timedelta(days=1)).astimezone(BERLIN)
    assert str(now_["status"]) == "CONFIRMED"


def test_the_uid_is_derived_from_the_clinics_key_not_the_row_or_time(app) -> None:
    booked = book_glycolic()
    first = booked.sessions[0]
    [event] = sessions_of(parsed(calendar_files.appointment_ics(first)))
    uid = str(event["uid"])

    assert re.fullmatch(r"[0-9a-f]{32}@clinic-scheduler", uid)
    # Another clinic (another key) gives the same appointment row another UID.
    settings = db.session.scalar(select(ClinicSettings))
    assert settings is not None and len(settings.calendar_key) == 32
    settings.calendar_key = "another-clinic"
    f.commit()
    [other] = sessions_of(parsed(calendar_files.appointment_ics(reread(first.id))))
    assert str(other["uid"]) != uid


def test_a_cancelled_session_is_sent_as_a_cancel(app) -> None:
    booked = book_glycolic()
    first = booked.sessions[0]
    [was] = sessions_of(parsed(calendar_files.appointment_ics(first)))

    cancellation.cancel_appointment(actor=booked.desk, appointment_id=first.id, now=NOW)
    cal = parsed(calendar_files.appointment_ics(reread(first.id)))

    assert str(cal["method"]) == "CANCEL"
    [event] = sessions_of(cal)
    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == str(was["uid"])
    assert int(event["sequence"]) > int(was["sequence"])


def test_a_cancelled_course_is_sent_as_a_cancel_of_each_session(app) -> None:
    booked = book_glycolic()
    ids = booked.ids

    cancellation.cancel_enrolment(actor=booked.desk, enrolment_id=booked.enrolment.id, now=NOW)
    cal = parsed(calendar_files.cancelled_ics([reread(i) for i in ids]))

    assert str(cal["method"]) == "CANCEL"
    assert [str(e["status"]) for e in sessions_of(cal)] == ["CANCELLED"] * 6
    assert all(int(e["sequence"]) == 1 for e in sessions_of(cal))


def test_the_confirmation_emails_calendar_part_says_the_files_method(app) -> None:
    booked = book_glycolic()
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")
    )
    assert message is not None and message.ics is not None

    email = sending._email(message, "clinic@example.com")
    [part] = [p for p in email.walk() if p.get_content_type() == "text/calendar"]

    assert part.get_param("method") == "REQUEST"
    cal = parsed(part.get_payload(decode=True))
    assert str(cal["method"]) == "REQUEST"
    assert len(sessions_of(cal)) == len(booked.sessions)
    assert all(int(e["sequence"]) == 0 for e in sessions_of(cal))
