"""Every page counts a session as the client does (issue 22, `progress.session_place`): a
make-up reads "session 2 of 2 (make-up for session 1)", never its stored number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g

from clinic.services.courses import course_rest, outcomes
from clinic.services.courses.enrol import SessionRequest
from tests import clock
from tests import factories as f
from tests.clock import local

MAKE_UP = "Session 2 of 2 (make-up for session 1)"


@pytest.fixture
def make_up(app):
    """A 2-session course: session 1 last week missed, session 2 next week, and a make-up
    booked after the no-show (stored as session 3)."""
    monday = clock.monday(-1)
    first, second = local(monday, 10), local(monday + timedelta(days=14), 10)
    booked = f.make_booked_course(
        first, second, course=dict(sessions=2), now=first - timedelta(days=1)
    )
    for appointment in booked.enrolment.appointments:  # booked then, not by the real clock
        appointment.created_at = first - timedelta(days=1)
    f.commit()
    outcomes.record_outcome(
        actor=booked.desk,
        appointment_id=booked.ids[0],
        status="no_show",
        now=first + timedelta(hours=1),
    )
    rest = course_rest.book_rest(
        actor=booked.desk,
        enrolment_id=booked.enrolment.id,
        sessions=[SessionRequest(second + timedelta(days=14), booked.practitioner.id)],
        now=first + timedelta(hours=2),
    )
    [appointment] = rest.appointments
    assert appointment.session == 3
    return booked, appointment.id


def as_user(client, user_id: int) -> None:
    with client.session_transaction() as sess:
        f.log_in(sess, user_id)
    g.pop("_login_user", None)


def test_the_client_pages_count_a_make_up_as_one_of_the_course(client, make_up) -> None:
    booked, make_up_id = make_up
    as_user(client, booked.client.user_id)
    mine = client.get("/my/sessions").get_data(as_text=True)
    assert f"<strong>{MAKE_UP}</strong>" in mine
    assert 'aria-label="Reschedule session 2 of 2 (make-up for session 1)"' in mine
    assert 'aria-label="Session 2 of 2"' not in mine  # session 2 is missed session 1's
    assert "Session 3" not in mine and "session 3" not in mine
    for page in ("move", "cancel"):
        html = client.get(f"/my/appointments/{make_up_id}/{page}").get_data(as_text=True)
        assert "session 2 of 2 (make-up for session 1)" in html
        assert "session 3" not in html.lower()


def test_the_staff_client_table_counts_a_make_up_as_one_of_the_course(
    client, login_as, make_up
) -> None:
    booked, make_up_id = make_up
    login_as("receptionist")
    html = client.get(f"/staff/clients/{booked.client.id}").get_data(as_text=True)
    assert f">{MAKE_UP}</a>" in html
    assert ">3 of" not in html and "Session 3" not in html
    page = client.get(f"/staff/appointments/{make_up_id}").get_data(as_text=True)
    assert "session 2 of 2 (make-up for session 1)</h1>" in page
