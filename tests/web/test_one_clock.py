"""One clock: with the clinic in America/New_York (its settings, not the config's
CLINIC_TIMEZONE), a page, an email and an .ics all show a 10:00 session at 10:00."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OutboxMessage, User
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.web.conftest import quick_user

NEW_YORK = ZoneInfo("America/New_York")


def test_a_clinic_in_new_york_shows_its_sessions_in_new_york_time_everywhere(app, client) -> None:
    assert app.config["CLINIC_TIMEZONE"] == "Europe/Berlin"  # the config says otherwise
    f.make_clinic(timezone="America/New_York")
    practitioner = f.make_practitioner(name="Dana Derm")
    course = f.make_course()
    user = quick_user("client", name="Anna Client")
    today = datetime.now(NEW_YORK).date()
    monday = today + timedelta(days=14 - today.weekday())
    start = datetime(monday.year, monday.month, monday.day, 10, 0, tzinfo=NEW_YORK)
    enrolment = enrol.book_course(
        actor=f.actor("receptionist"),
        course_code=course.code,
        client_id=user.client.id,
        sessions=[SessionRequest(start, practitioner.id)],
    )
    with client.session_transaction() as sess:
        f.log_in(sess, db.session.get(User, user.id).id)

    page = client.get("/my/sessions").get_data(as_text=True)
    assert f"{start:%a} {start.day} {start:%b %Y}, 10:00" in page
    assert ", 16:00" not in page  # 10:00 in New York is 16:00 in Berlin

    email = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")
    )
    assert email is not None and ", 10:00" in email.body and ", 16:00" not in email.body

    appointment = enrolment.appointments[0]
    ics = client.get(f"/my/appointments/{appointment.id}.ics").get_data(as_text=True)
    assert f"DTSTART;TZID=America/New_York:{start:%Y%m%d}T100000" in ics
