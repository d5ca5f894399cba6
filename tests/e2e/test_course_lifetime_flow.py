"""A course over its lifetime, driven through the pages in a real browser.

The admin adds time off over a booked session: the page lists what it would break and saves
nothing; saved anyway, the session lands on the attention list with a re-plan, which one click
accepts, and the client sees the new date. And a client books the first session of a course,
then plans and books the rest from My sessions."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, Enrolment, TimeOff
from clinic.scheduling.wording import day_text
from clinic.services.core.actors import actor_for
from tests import factories as f
from tests.clock import BERLIN, local, next_monday
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "a good password"


def local_day(a: Appointment) -> date:
    return a.start_at.astimezone(BERLIN).date()


def test_time_off_over_a_booked_session_to_an_accepted_replan(
    live_server, tablet, chromium
) -> None:
    # Sessions 14-28 days apart: session 2 can move to any weekday from its own Monday to the
    # next Monday and still keep the spacing to sessions 1 and 3.
    days = [next_monday(2), next_monday(4), next_monday(7)]
    with live_server.seed():
        f.make_clinic(name="Demo Skin Clinic")
        lena = f.make_practitioner(name="Lena Fischer")
        f.make_course(code="peel_3", name="Glycolic peel, 3 sessions", sessions=3)
        admin = f.make_user("admin", email="admin@clinic.example", password=PASSWORD)
        client = f.make_client(name="Mia Klein", email="mia@example.com", password=PASSWORD)
        enrolment = f.book(
            *(local(d, 10) for d in days),
            client=client,
            practitioner=lena,
            by=actor_for(admin),
            course_code="peel_3",
        )
        second = next(a.id for a in enrolment.appointments if a.session == 2)
        lena_id, enrolment_id = lena.id, enrolment.id
        f.commit()
    base, page = live_server.url, tablet

    # Time off over session 2: the page lists the session it would break and saves nothing.
    log_in(page, base, "admin@clinic.example", PASSWORD)
    page.wait_for_url(re.compile(r"/staff"))
    page.goto(f"{base}/staff/admin/practitioners/{lena_id}")
    page.get_by_label("First day off").fill(days[1].isoformat())
    page.get_by_label("Last day off").fill(days[1].isoformat())
    page.get_by_label("Note (e.g. holiday, training)").fill("Training")
    page.get_by_role("button", name="Add the time off").click()
    warning = page.locator("#world-change")
    warning.wait_for()
    assert "This time off would break 1 booked session." in warning.inner_text()
    assert "Nothing has been saved yet." in warning.inner_text()
    listed = warning.locator("li").first.inner_text()
    assert "Mia Klein: Glycolic peel, 3 sessions, session 2" in listed
    assert day_text(days[1]) in listed
    assert f"Lena Fischer is off on {day_text(days[1])}." in listed
    screenshot(page, "lifetime-01-time-off-warning")
    with live_server.seed():
        assert db.session.scalars(select(TimeOff)).all() == []
        assert db.session.scalars(select(AttentionFlag)).all() == []

    # Saved anyway: the session is flagged, and the navigation counts it.
    page.get_by_role("button", name="Save anyway and flag 1 session").click()
    page.get_by_text(
        "Added the time off. 1 booked session is now on the attention list."
    ).wait_for()
    assert page.get_by_role("link", name="Attention (1)").is_visible()
    with live_server.seed():
        assert len(db.session.scalars(select(TimeOff)).all()) == 1
        flags = db.session.scalars(select(AttentionFlag)).all()
        assert [flag.appointment_id for flag in flags] == [second]

    # The attention list: the session, its sentence, the proposed re-plan; one click accepts.
    page.get_by_role("link", name="Attention (1)").click()
    page.wait_for_url(re.compile(r"/staff/attention"))
    row = page.locator(f"#enrolment-{enrolment_id}")
    assert row.get_by_role("link", name="Session 2 of 3").is_visible()
    assert row.get_by_text(f"Lena Fischer is off on {day_text(days[1])}.").is_visible()
    proposal = row.locator("p", has_text="Proposed re-plan:")
    assert proposal.is_visible()
    assert f"Session 2: {day_text(days[1])}, 10:00 with Lena Fischer" in proposal.inner_text()
    screenshot(page, "lifetime-02-attention-list")
    page.get_by_role("button", name="Accept re-plan for Mia Klein").click()
    done = page.get_by_text("Re-plan accepted for Mia Klein (Glycolic peel, 3 sessions)")
    done.wait_for()
    with live_server.seed():
        moved = db.session.get(Appointment, second)
        assert moved is not None
        new_day = local_day(moved)
        assert db.session.scalars(select(AttentionFlag)).all() == []
    assert new_day != days[1]
    assert days[1] < new_day <= days[1] + timedelta(days=7)
    assert f"session 2 now {day_text(new_day)}" in done.inner_text()
    assert page.get_by_text("Nothing needs attention.").is_visible()
    assert page.locator(f"#enrolment-{enrolment_id}").count() == 0
    assert page.get_by_role("link", name="Attention", exact=True).is_visible()

    # The client was told: the outbox (the admin's page) names the new date.
    page.goto(f"{base}/dev/outbox")
    told = page.locator("article", has_text="New dates for your Glycolic peel, 3 sessions")
    assert told.count() == 1
    assert "to mia@example.com" in told.inner_text()
    assert f"(session 2 of 3): now {day_text(new_day)}" in told.inner_text()

    # The client, in a fresh browser, sees the new date of session 2.
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    try:
        mine = context.new_page()
        log_in(mine, base, "mia@example.com", PASSWORD)
        mine.wait_for_url(re.compile(r"/my/sessions"))
        session_2 = mine.get_by_role("article", name="Session 2 of 3")
        assert day_text(new_day) in session_2.inner_text()
        assert day_text(days[1]) not in session_2.inner_text()
        assert "no longer fits" not in session_2.inner_text()
        screenshot(mine, "lifetime-03-client-sessions")
    finally:
        context.close()


def test_a_client_books_the_first_session_then_the_rest(live_server, phone) -> None:
    with live_server.seed():
        f.make_clinic(name="Demo Skin Clinic")
        f.make_practitioner(name="Lena Fischer")
        f.make_course(code="peel_3", name="Glycolic peel, 3 sessions", sessions=3)
        f.make_client(name="Mia Klein", email="mia@example.com", password=PASSWORD)
        f.commit()
    base, page = live_server.url, phone
    log_in(page, base, "mia@example.com", PASSWORD)
    page.wait_for_url(re.compile(r"/my/sessions"))

    # Plan the course, book only its first session.
    page.goto(f"{base}/courses/peel_3/plan")
    page.get_by_label("Earliest start").fill(next_monday(2).isoformat())
    page.get_by_label("What to book now").select_option("first")
    page.get_by_role("button", name="Show proposed dates").click()
    page.wait_for_url(re.compile(r"/review"))
    assert page.get_by_text("1 session.", exact=False).first.is_visible()
    page.get_by_role("button", name="Confirm and book").click()
    page.wait_for_url(re.compile(r"/my/sessions"))
    section = page.locator("section", has_text="Glycolic peel, 3 sessions").first
    assert "0 of 3 held, 1 booked, 2 to book" in section.inner_text()
    assert section.get_by_role("article").count() == 1
    with live_server.seed():
        (enrolment,) = db.session.scalars(select(Enrolment)).all()
        (first,) = enrolment.appointments
        first_day = local_day(first)

    # My sessions offers the rest; its page proposes two more dates, which one click books.
    section.get_by_role("link", name="Plan the rest (2 sessions)").click()
    page.get_by_role("heading", name="The rest of your course").wait_for()
    assert "1 booked, 2 to book" in page.locator("main").inner_text()
    assert page.get_by_text("Session 3 of 3", exact=True).first.is_visible()
    screenshot(page, "lifetime-04-client-rest-plan")
    page.get_by_role("button", name="Confirm and book").click()
    page.wait_for_url(re.compile(r"/my/sessions"))
    page.get_by_text("Booked.", exact=False).first.wait_for()
    section = page.locator("section", has_text="Glycolic peel, 3 sessions").first
    assert "0 of 3 held, 3 booked, 0 to book" in section.inner_text()
    assert section.get_by_role("link", name=re.compile("Plan the")).count() == 0

    # One enrolment holds all three sessions, spaced by the rules it was booked under.
    with live_server.seed():
        (enrolment,) = db.session.scalars(select(Enrolment)).all()
        sessions = sorted(enrolment.appointments, key=lambda a: a.session)
        days = [local_day(a) for a in sessions]
        rules = enrolment.rules
    assert [a.session for a in sessions] == [1, 2, 3]
    assert all(a.status == "booked" for a in sessions)
    assert days[0] == first_day
    for before, after in zip(days, days[1:], strict=False):
        assert rules["min_interval_days"] <= (after - before).days <= rules["max_interval_days"]
    for n, day in enumerate(days, start=1):
        article = page.get_by_role("article", name=f"Session {n} of 3")
        assert day_text(day) in article.inner_text()
    screenshot(page, "lifetime-05-client-rest-booked")
