"""Issue 21 in a real browser. On a phone: a new client of the demo clinic plans the CO2 laser
course, is refused until they sign its consent form, signs it and comes back to the same
booking, whose proposal starts with the patch test; confirming books the test and the three
sessions. Every page fits the phone's width."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from clinic.demo import load_demo
from clinic.extensions import db
from clinic.models import Appointment, Client, ClientConsent
from tests.clock import next_monday
from tests.e2e.conftest import PHONE, screenshot
from tests.e2e.test_client_booking_flow import sign_up

pytestmark = pytest.mark.e2e
CO2 = "Fractional CO2 laser resurfacing, 3 sessions"


def assert_fits_phone(page) -> None:  # type: ignore[no-untyped-def]
    """No horizontal scrolling: the page is no wider than the phone."""
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a {PHONE['width']} px phone"


def test_a_client_signs_the_consent_and_books_the_co2_course_with_its_patch_test(
    live_server, phone
) -> None:
    with live_server.seed():
        load_demo(datetime.now(UTC))
    base, page = live_server.url, phone
    sign_up(page, base, "lena@example.com")

    # The screening asks for the skin type in plain words; type II is one the CO2 laser treats.
    page.get_by_label("Type II: usually burns, tans with difficulty").check()
    page.get_by_label("I confirm these answers are true and complete today.").check()
    assert_fits_phone(page)
    screenshot(page, "clinical-01-screening")
    page.get_by_role("button", name="Save and confirm").click()
    page.wait_for_url(re.compile(r"/courses"))
    assert_fits_phone(page)

    # Planning is refused until the consent form is signed, with a link to sign it.
    page.get_by_role("button", name=f"Plan {CO2}").click()
    earliest = next_monday(3).isoformat()
    page.get_by_label("Earliest start").fill(earliest)
    page.get_by_label("Tuesday").check()
    page.get_by_label("Thursday").check()
    page.get_by_role("button", name="Show proposed dates").click()
    refusal = page.get_by_role("alert")
    assert "consent form" in refusal.inner_text()
    assert_fits_phone(page)
    screenshot(page, "clinical-02-consent-required")

    # Sign it: the text, the full name typed, the statement ticked.
    page.get_by_role("link", name="Read and sign the consent form").click()
    page.wait_for_url(re.compile(r"/my/consents/co2_laser_consent/sign"))
    assert page.get_by_role(
        "heading", name="Fractional CO2 laser resurfacing: informed consent"
    ).is_visible()
    assert_fits_phone(page)
    screenshot(page, "clinical-03-sign-consent")
    page.get_by_label("Your full name").fill("Lena Phone")
    page.get_by_label("I have read and understood this consent form").check()
    page.get_by_role("button", name="Sign the consent form").click()

    # Back on the same booking, with what the client had chosen.
    page.wait_for_url(re.compile(r"/courses/co2_course/plan\?"))
    assert page.get_by_label("Earliest start").input_value() == earliest
    assert page.get_by_label("Tuesday").is_checked() and page.get_by_label("Thursday").is_checked()
    assert not page.get_by_label("Monday").is_checked()
    assert_fits_phone(page)
    page.get_by_role("button", name="Show proposed dates").click()

    # The proposal starts with the patch test.
    page.wait_for_url(re.compile(r"/courses/co2_course/review"))
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings[0] == "First, a patch test", headings
    assert page.get_by_text("Session 3 of 3", exact=True).is_visible()
    assert_fits_phone(page)
    screenshot(page, "clinical-04-proposal")
    page.get_by_role("button", name="Confirm and book").click()

    # Booked: the patch test and the three sessions, all shown on My sessions.
    page.wait_for_url(re.compile(r"/my/sessions"))
    assert_fits_phone(page)
    screenshot(page, "clinical-05-my-sessions")
    with live_server.seed():
        lena = db.session.scalar(select(Client).where(Client.email == "lena@example.com"))
        assert lena is not None and lena.phototype == 2
        [signed] = db.session.scalars(
            select(ClientConsent).where(ClientConsent.client_id == lena.id)
        ).all()
        assert (signed.how, signed.signed_name) == ("online", "Lena Phone")
        booked = db.session.scalars(
            select(Appointment)
            .where(Appointment.client_id == lena.id)
            .order_by(Appointment.start_at)
        ).all()
        courses = [(a.enrolment.course.code, a.session) for a in booked]
    assert courses == [
        ("co2_patch_test", 1),
        ("co2_course", 1),
        ("co2_course", 2),
        ("co2_course", 3),
    ]
    assert page.get_by_text(CO2).first.is_visible()
    assert page.get_by_text("CO2 laser patch test, one test spot").first.is_visible()
    assert page.get_by_text("0 of 3 held", exact=False).first.is_visible()
