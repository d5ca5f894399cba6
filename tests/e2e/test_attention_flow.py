"""Reception in a real browser works the attention list: a flagged session, its re-plan, one
click to accept; the client then sees the new date on My sessions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, TimeOff
from clinic.scheduling.wording import day_text
from clinic.services import booking
from clinic.services.actors import actor_for
from clinic.services.booking import SessionRequest
from tests import factories as f
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.e2e
BERLIN = ZoneInfo("Europe/Berlin")
PASSWORD = "staff password 1"


def next_monday(weeks: int) -> date:
    today = datetime.now(BERLIN).date()
    return today + timedelta(days=7 * weeks - today.weekday())


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def test_reception_accepts_a_replan_and_the_client_sees_the_new_date(live_server, tablet) -> None:
    first, second = next_monday(2), next_monday(4)
    with live_server.seed():
        f.make_clinic(name="Demo Skin Clinic")
        lena = f.make_practitioner(name="Lena Peel")
        f.make_course(code="peel_3", name="Glycolic peel, 3 sessions", sessions=3)
        desk = f.make_user("receptionist", email="desk@clinic.example", password=PASSWORD)
        client = f.make_client(name="Anna Client", email="anna@example.com", password=PASSWORD)
        enrolment = booking.book_course(
            actor=actor_for(desk),
            course_code="peel_3",
            client_id=client.id,
            sessions=[
                SessionRequest(at(first, 10), lena.id),
                SessionRequest(at(second, 10), lena.id),
            ],
        )
        flagged = max(enrolment.appointments, key=lambda a: a.session).id
        db.session.add(TimeOff(practitioner_id=lena.id, start_on=second, end_on=second))
        db.session.add(
            AttentionFlag(
                appointment_id=flagged,
                errors=[
                    {"code": "practitioner_unavailable", "message": "Lena Peel is off that day."}
                ],
                cause="Time off of Lena Peel",
            )
        )
        f.commit()
    base, page = live_server.url, tablet

    log_in(page, base, "desk@clinic.example", PASSWORD)
    page.get_by_role("link", name="Attention (1)").click()
    assert page.get_by_text("Lena Peel is off that day.").is_visible()
    assert page.get_by_text("Proposed re-plan:").is_visible()
    screenshot(page, "staff-attention")
    page.get_by_role("button", name="Accept re-plan for Anna Client").click()
    assert page.get_by_text("Re-plan accepted for Anna Client").is_visible()
    assert page.get_by_text("Nothing needs attention.").is_visible()
    assert page.get_by_role("link", name="Attention", exact=True).is_visible()

    with live_server.seed():
        moved = db.session.get(Appointment, flagged).start_at.astimezone(BERLIN).date()
    assert moved != second
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "anna@example.com", PASSWORD)
    page.goto(f"{base}/my/sessions")
    assert page.get_by_text(day_text(moved)).first.is_visible()
