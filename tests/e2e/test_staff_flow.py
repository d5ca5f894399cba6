"""Staff in a real browser: a cosmetologist defines a course; reception books it for a client
from the calendar, moves session 2, sees the warning about session 3, and cancels."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, Enrolment
from tests import factories as f
from tests.clock import BERLIN, next_monday
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "staff password 1"


def seed(live_server) -> None:  # type: ignore[no-untyped-def]
    with live_server.seed():
        f.make_clinic(name="Demo Skin Clinic")
        f.make_restriction("no_uv", "sun", "Avoid sun and solarium")
        f.make_restriction("no_makeup", "makeup", "No makeup")
        f.make_procedure(code="peel", name="Glycolic peel", blocked_by=["no_resurfacing"])
        cosmetologist = f.make_user(
            "practitioner", email="cosmo@clinic.example", name="Clara Cosmo", password=PASSWORD
        )
        practitioner = f.make_practitioner(name="Clara Cosmo", email="cosmo@clinic.example")
        practitioner.user_id = cosmetologist.id
        f.make_user(
            "receptionist", email="desk@clinic.example", name="Rita Desk", password=PASSWORD
        )
        f.make_client(name="Anna Client", email="anna@example.com")
        f.commit()


def test_cosmetologist_defines_a_course_and_reception_books_moves_and_cancels_it(
    live_server, tablet
) -> None:
    seed(live_server)
    base, page = live_server.url, tablet

    # A cosmetologist defines a 3-session course.
    log_in(page, base, "cosmo@clinic.example", PASSWORD)
    page.get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name="New course template").click()
    page.get_by_label("Code").fill("peel_3")
    page.get_by_label("Name").fill("Glycolic peel, 3 sessions")
    page.get_by_label("Procedure").select_option("peel")
    page.get_by_label("Number of sessions").fill("3")
    page.get_by_label("Minimum days between sessions").fill("14")
    page.get_by_label("Maximum days between sessions (empty: no maximum)").fill("28")
    page.get_by_label("Aftercare restriction 1").select_option("no_makeup")
    page.get_by_label("Aftercare hours 1").fill("24")
    page.get_by_label("Aftercare restriction 2").select_option("no_uv")
    page.get_by_label("Aftercare hours 2").fill("168")
    page.get_by_label("Condition 1").fill("pregnancy")
    page.get_by_label("Look-back days 1").fill("0")
    page.get_by_role("button", name="Preview the rule").click()
    sentence = page.locator("#rule-sentence")
    assert sentence.inner_text() == (
        "3 sessions, 14 to 28 days apart; after each: no makeup 24 hours, "
        "avoid sun and solarium 7 days; not with pregnancy or breastfeeding"
    )
    screenshot(page, "staff-course-form")
    page.get_by_role("button", name="Save the course").click()
    assert page.get_by_text("Saved the course template peel_3.").is_visible()
    page.get_by_role("button", name="Log out").click()

    # Reception books the whole course for a client from the calendar.
    monday = next_monday()
    log_in(page, base, "desk@clinic.example", PASSWORD)
    page.goto(f"{base}/staff/calendar?day={monday.isoformat()}")
    page.get_by_role("link", name="Book a course or session").click()
    page.get_by_label("Client", exact=True).select_option(label="Anna Client (anna@example.com)")
    page.get_by_label("Course", exact=True).select_option("peel_3")
    page.get_by_label("Earliest date").fill(monday.isoformat())
    page.get_by_role("button", name="Propose sessions").click()
    assert page.get_by_label("Session 3 date").is_visible()
    page.get_by_role("button", name="Book these sessions").click()
    assert page.get_by_text(
        "Booked 3 sessions of Glycolic peel, 3 sessions for Anna Client."
    ).is_visible()
    cell = page.get_by_role("link", name=re.compile(r"Anna Client.*session 1 of 3"))
    assert cell.is_visible()
    screenshot(page, "staff-calendar-day")
    page.get_by_role("link", name="Next day →").click()
    page.goto(f"{base}/staff/calendar?day={monday.isoformat()}&view=week")
    screenshot(page, "staff-calendar-week")

    with live_server.seed():
        sessions = db.session.scalars(select(Appointment).order_by(Appointment.session)).all()
        third_start = sessions[2].start_at.astimezone(BERLIN)

    # Move session 2 to four days before session 3: the page names session 3 and offers a re-plan.
    page.goto(f"{base}/staff/calendar?day={monday.isoformat()}")
    cell.click()
    page.get_by_role("link", name=re.compile(r"^Session 2:")).click()
    page.get_by_label("New date").fill((third_start.date() - timedelta(days=4)).isoformat())
    page.get_by_label("New time").fill(third_start.strftime("%H:%M"))
    page.get_by_role("button", name="Move the session").click()
    assert page.get_by_role("heading", name="This move would break later sessions").is_visible()
    assert page.get_by_text(re.compile(r"^Session 3 on ")).is_visible()
    assert page.get_by_role("button", name="Accept the re-plan and move").is_visible()
    screenshot(page, "staff-move-warning")
    page.get_by_role("link", name="Keep things as they are").click()

    # Nothing moved; then reception cancels the whole course.
    with live_server.seed():
        assert (
            db.session.scalars(select(Appointment.start_at).where(Appointment.session == 3)).one()
            == sessions[2].start_at
        )
    page.get_by_role("button", name="Cancel the whole course").click()
    assert page.get_by_text(
        "Course cancelled: Glycolic peel, 3 sessions for Anna Client."
    ).is_visible()
    with live_server.seed():
        assert db.session.scalars(select(Enrolment.status)).one() == "cancelled"
        assert set(db.session.scalars(select(Appointment.status))) == {"cancelled"}
