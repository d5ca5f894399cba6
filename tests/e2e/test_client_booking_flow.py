"""A new client on a phone: sign up, screening, beach holiday, plan and book the 6-session peel,
see the aftercare calendar, download the .ics, move session 2 and see the warning for session 3."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment
from tests.clock import BERLIN, next_monday
from tests.e2e.client_fixtures import client_live_server  # noqa: F401 - a fixture
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def overlaps(a: tuple[date, date], b: tuple[date, date]) -> bool:
    """Closed date ranges."""
    return a[0] <= b[1] and b[0] <= a[1]


def sign_up(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Lena Phone")
    page.get_by_label("Password (at least 8 characters)").fill("a good password")
    page.get_by_label("Password again").fill("a good password")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(re.compile(r"/my/screening"))


def test_a_new_client_books_a_peel_course_from_a_phone(client_live_server, phone) -> None:  # noqa: F811
    base, page = client_live_server.url, phone
    sign_up(page, base, "lena@example.com")

    # The health screening, in plain words, confirmed.
    assert page.get_by_label("I am pregnant or breastfeeding now").is_visible()
    page.get_by_label("I confirm these answers are true and complete today.").check()
    screenshot(page, "client-01-screening")
    page.get_by_role("button", name="Save and confirm").click()
    page.wait_for_url(re.compile(r"/courses"))

    # A beach holiday that the first plan would run into: session 2 would fall 14 days in.
    monday = next_monday()
    holiday = (monday + timedelta(days=17), monday + timedelta(days=24))
    page.get_by_role("link", name="Profile").click()
    page.get_by_role("link", name="My holidays and events").click()
    page.get_by_label("What is it?").select_option("sun_exposure")
    page.get_by_label("First day").fill(holiday[0].isoformat())
    page.get_by_label("Last day").fill(holiday[1].isoformat())
    page.get_by_label("Note (optional)").fill("Crete")
    page.get_by_role("button", name="Add this period").click()
    assert page.get_by_text("(Crete)").is_visible()

    # Plan the whole course.
    page.get_by_role("link", name="Courses").first.click()
    page.get_by_role("button", name="Plan Glycolic peel, 6 sessions").click()
    page.get_by_label("Earliest start").fill(monday.isoformat())
    page.get_by_role("button", name="Show proposed dates").click()
    page.wait_for_url(re.compile(r"/review"))
    assert page.get_by_text("Session 6 of 6", exact=True).is_visible()
    assert page.locator("table.month").count() >= 2
    screenshot(page, "client-02-proposal")
    page.get_by_role("button", name="Confirm and book").click()
    page.wait_for_url(re.compile(r"/my/sessions"))

    # The aftercare calendar with concrete dates, and the .ics download.
    assert page.get_by_role("heading", name="Aftercare calendar").is_visible()
    assert page.get_by_text("Avoid sun and solarium, use SPF 50 until").first.is_visible()
    assert page.get_by_text("0 of 6 held", exact=False).first.is_visible()
    screenshot(page, "client-03-my-sessions")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all my sessions (.ics)").click()
    calendar = Calendar.from_ical(Path(download_info.value.path()).read_bytes())
    events = list(calendar.walk("VEVENT"))
    sessions = sorted(
        (e for e in events if "categories" not in e), key=lambda e: e.decoded("dtstart")
    )
    assert len(sessions) == 6
    assert sessions[0]["dtstart"].params["TZID"] == "Europe/Berlin"
    no_sun = [e for e in events if str(e["summary"]).startswith("Avoid sun")]
    assert len(no_sun) == 6
    for e in no_sun:
        window = (e.decoded("dtstart").date(), e.decoded("dtend").date())
        assert not overlaps(window, holiday), f"no-sun {window} runs into the holiday {holiday}"

    # Move session 2 to a day that keeps session 1's spacing but crowds session 3.
    with client_live_server.app.app_context():
        rows = db.session.scalars(select(Appointment).order_by(Appointment.session)).all()
        starts = [a.start_at.astimezone(BERLIN) for a in rows]
        db.session.remove()
    target = None
    for offset in range(14, 29):
        day = starts[0].date() + timedelta(days=offset)
        if (
            day.weekday() < 5
            and day != starts[1].date()
            and (starts[2].date() - day).days < 14
            and not overlaps((day, day + timedelta(days=7)), holiday)
        ):
            target = day
            break
    assert target is not None, f"no day to move session 2 to among {starts}"
    page.get_by_role("link", name="Reschedule session 2").click()
    page.get_by_label("Day").fill(target.isoformat())
    page.get_by_role("button", name="Show free times").click()
    page.get_by_role("button", name=re.compile(r"^Move to .*, 09:00$")).click()
    warning = page.get_by_role("alert")
    assert "affects later sessions" in warning.inner_text()
    assert re.search(r"Session 3 of 6 on \w{3} \d+ \w{3} \d{4}", warning.inner_text())
    assert page.get_by_role("button", name="Move and re-plan the later sessions").is_visible()
    screenshot(page, "client-04-move-warning")
    page.get_by_role("button", name="Move and re-plan the later sessions").click()
    page.wait_for_url(re.compile(r"/my/sessions"))
    assert page.get_by_text("later session(s) were re-planned").is_visible()
