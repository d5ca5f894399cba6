"""Which sessions carry aftercare, on the pages: only those whose status restricts
(DOMAIN.md "Changing a plan": a no-show starts no restriction, a cancellation lifts them)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from icalendar import Calendar

from clinic.models import Appointment
from clinic.services.courses import cancellation, outcomes
from tests import factories as f
from tests.clock import local, next_monday
from tests.web.conftest import Clinic


def one_session(clinic: Clinic, status: str) -> Appointment:
    """Anna's one peel session two Mondays ahead, left booked, cancelled, or marked by the
    desk as if the hour had come."""
    start = local(next_monday(), 10)
    [appointment] = clinic.book(start).appointments
    if status == "cancelled":
        cancellation.cancel_appointment(actor=clinic.desk, appointment_id=appointment.id)
    elif status != "booked":
        outcomes.record_outcome(
            actor=clinic.desk,
            appointment_id=appointment.id,
            status=status,
            now=start + timedelta(hours=2),
        )
    return appointment


@pytest.fixture
def anna(client, clinic):
    """The test client logged in as the clinic's client Anna."""
    with client.session_transaction() as sess:
        f.log_in(sess, clinic.client.user_id)
    return clinic.client


@pytest.mark.parametrize(
    ("status", "shown"), [("booked", True), ("done", True), ("no_show", False)]
)
def test_my_sessions_show_aftercare_only_for_a_session_that_restricts(
    client, clinic, anna, status, shown
) -> None:
    one_session(clinic, status)
    page = unescape(client.get("/my/sessions").text)
    assert ("No uv until" in page) is shown
    assert ("No resurfacing until" in page) is shown


@pytest.mark.parametrize("status", ["no_show", "cancelled"])
def test_my_session_calendar_file_carries_no_aftercare_when_the_session_does_not_restrict(
    client, clinic, anna, status
) -> None:
    appointment = one_session(clinic, status)
    response = client.get(f"/my/appointments/{appointment.id}.ics")
    assert response.status_code == 200
    # The session and the care events it had, all cancelled in the client's calendar.
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert events and {str(e["status"]) for e in events} == {"CANCELLED"}


@pytest.mark.parametrize(("status", "shown"), [("booked", True), ("no_show", False)])
def test_the_staff_session_page_shows_aftercare_only_for_a_session_that_restricts(
    client, clinic, login_as, status, shown
) -> None:
    appointment = one_session(clinic, status)
    login_as("receptionist")
    page = unescape(client.get(f"/staff/appointments/{appointment.id}").text)
    assert ("No uv until" in page) is shown
