"""An appointment's care dates come from one place, whatever shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, OutboxMessage
from clinic.services.courses import cancellation, outcomes
from clinic.services.messages import calendar_files
from clinic.services.world import aftercare
from tests import factories as f
from tests.clock import BERLIN, NOW, local


def test_aftercare_for_gives_the_courses_windows_in_the_clinics_time_zone(app) -> None:
    start = datetime(2026, 12, 1, 10, tzinfo=BERLIN).astimezone(UTC)
    appointment = f.make_booked_course(start, now=NOW).sessions[0]

    windows = aftercare.aftercare_for(appointment)

    assert {(w.code, w.phase) for w in windows} == {("no_uv", "after"), ("no_resurfacing", "after")}
    by_code = {w.code: w.window for w in windows}
    assert by_code["no_uv"].start == start
    assert by_code["no_uv"].end == start + timedelta(hours=168)
    assert by_code["no_resurfacing"].end == start + timedelta(hours=336)


def test_aftercare_for_keeps_a_retired_courses_care(app) -> None:
    booked = f.make_booked_course(datetime(2026, 12, 1, 9, tzinfo=UTC), now=NOW)
    course, enrolment = booked.course, booked.enrolment
    before = aftercare.aftercare_for(enrolment.appointments[0])
    course.retired = True
    f.commit()

    assert aftercare.aftercare_for(enrolment.appointments[0]) == before


# --- which sessions carry aftercare: one answer for pages, API, emails and calendar files ---

AFTER_START = datetime(2026, 12, 1, 12, tzinfo=UTC)


def one_session(status: str):
    """A one-session peel booked for 1 Dec 10:00 Berlin, then left booked, marked done or
    no-show after it started, or cancelled before it, through the services."""
    booked = f.make_booked_course(local(2026, 12, 1, 10), now=NOW)
    desk, appointment = booked.desk, booked.sessions[0]
    if status in ("done", "no_show"):
        outcomes.record_outcome(
            actor=desk, appointment_id=appointment.id, status=status, now=AFTER_START
        )
    elif status == "cancelled":
        cancellation.cancel_appointment(actor=desk, appointment_id=appointment.id, now=NOW)
    db.session.expire_all()
    row = db.session.get(Appointment, appointment.id)
    assert row is not None and row.status == status
    return row


@pytest.mark.parametrize("status", ["booked", "done"])
def test_aftercare_for_gives_the_windows_of_a_session_that_restricts(app, status) -> None:
    assert {w.code for w in aftercare.aftercare_for(one_session(status))} == {
        "no_uv",
        "no_resurfacing",
    }


@pytest.mark.parametrize("status", ["no_show", "cancelled"])
def test_aftercare_for_gives_nothing_when_the_session_does_not_restrict(app, status) -> None:
    assert aftercare.aftercare_for(one_session(status)) == ()


def events(ics: bytes) -> list[Any]:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


@pytest.mark.parametrize(
    ("status", "ics_status"),
    [("booked", "CONFIRMED"), ("done", "CONFIRMED"), ("no_show", "CANCELLED")],
)
def test_a_sessions_calendar_file_carries_aftercare_only_when_it_restricts(
    app, status, ics_status
) -> None:
    found = events(calendar_files.appointment_ics(one_session(status)))
    [session] = [e for e in found if "categories" not in e]
    assert str(session["status"]) == ics_status
    # A missed session's file cancels its care events, as a cancelled one's does.
    care = [e for e in found if "categories" in e and e.get("status") != "CANCELLED"]
    assert bool(care) == (status != "no_show")


def test_a_cancelled_sessions_calendar_file_says_cancelled_and_carries_no_aftercare(app) -> None:
    found = events(calendar_files.appointment_ics(one_session("cancelled")))
    [session] = [e for e in found if "categories" not in e]
    assert str(session["status"]) == "CANCELLED"
    assert {str(e["status"]) for e in found} == {"CANCELLED"}


@pytest.mark.parametrize("status", ["no_show", "cancelled"])
def test_no_restriction_notice_is_queued_for_a_session_that_does_not_restrict(app, status) -> None:
    one_session(status)
    notices = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "care_timeline")
    ).all()
    assert notices == []


def test_restriction_notices_are_queued_for_a_session_done(app) -> None:
    one_session("done")
    notices = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "care_timeline")
    ).all()
    assert notices  # the guard above can fail: a done session's aftercare is told
