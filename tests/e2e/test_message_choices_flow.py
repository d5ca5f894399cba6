"""Issue 22 in a real browser, on a phone: a client with a course booked by reception sees on My
sessions what the clinic will tell them and when (the day-before reminders and the care
timeline's mornings), switches the care messages off on their profile, sees the
choice saved, and My sessions then lists only the reminders. Every page fits the phone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests import factories as f
from tests.clock import local, next_monday
from tests.e2e.conftest import log_in
from tests.e2e.test_consent_patch_test_flow import assert_fits_phone

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/i22")
COURSE = "Glycolic peel, 3 sessions"


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def scheduled(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The lines of My sessions' list of messages the clinic will send."""
    section = page.get_by_role("region", name="Messages we will send you")
    return [line.strip() for line in section.get_by_role("listitem").all_inner_texts()]


def test_a_client_switches_care_messages_off_and_my_sessions_follows(live_server, phone) -> None:
    first = local(next_monday(4), 10)
    with live_server.seed():
        f.make_booked_course(
            first,
            first + timedelta(days=14),
            first + timedelta(days=28),
            clinic=dict(name="Demo Skin Clinic"),
            course=dict(
                name=COURSE,
                sessions=3,
                precare=[("no_retinoids", "other", 120)],
            ),
            client=dict(email="ada@example.com", name="Ada Lovelace"),
        )
    base, page = live_server.url, phone
    log_in(page, base, "ada@example.com", "password123")
    page.goto(f"{base}/my/sessions")
    assert_fits_phone(page)
    shot(page, "01-my-sessions")

    # What the client will be told, and when: a reminder the day before each session and
    # the morning each session's pre-care (no retinoids for five days) opens.
    lines = scheduled(page)
    reminders = [line for line in lines if "Tomorrow:" in line]
    opening = [line for line in lines if "Your pre-care starts today" in line]
    ending = [line for line in lines if "Your aftercare ends today" in line]
    assert len(reminders) == 3, lines
    assert len(opening) == 3, lines
    assert len(ending) >= 1, lines  # no sun, and no resurfacing, ended for good at last
    day_before = (first - timedelta(days=1)).strftime("%-d %b")
    assert any(day_before in line for line in reminders), lines

    page.goto(f"{base}/profile")
    care_email = page.get_by_label("Care timeline by email")
    assert care_email.is_checked()
    care_email.uncheck()
    page.get_by_role("button", name="Save my message choices").click()
    page.wait_for_url(re.compile(r"/profile"))
    assert page.get_by_text("Your message choices are saved.").is_visible()
    assert_fits_phone(page)
    shot(page, "02-profile-saved")
    # Saved, not merely shown: a fresh load of the page says the same.
    page.goto(f"{base}/profile")
    assert not page.get_by_label("Care timeline by email").is_checked()
    assert page.get_by_label("Reminders by email").is_checked()
    assert page.get_by_label("Changes and cancellations by email").is_checked()

    page.goto(f"{base}/my/sessions")
    after = scheduled(page)
    # The care timeline is gone; the reminders and the booking's confirmation stay.
    assert [line.split(": ", 1)[1] for line in after] == [
        f"Your booking: {COURSE}",
        *["Tomorrow: Glycolic peel at 10:00"] * 3,
    ]
    assert_fits_phone(page)
    shot(page, "03-my-sessions-after")
