"""Reception cancels a session or a course from its page, with a reason told to the client."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OutboxMessage
from tests.clock import local, next_monday


def told() -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sessions_cancelled"))
    )


def test_reception_cancels_a_session_with_a_reason_and_the_client_is_told(
    client, login_as, clinic
) -> None:
    monday = next_monday() + timedelta(days=7)
    enrolment = clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10))
    first = min(enrolment.appointments, key=lambda a: a.session)
    login_as("receptionist")
    page = client.get(f"/staff/appointments/{first.id}").get_data(as_text=True)
    assert "Why this session is cancelled, told to the client (optional)" in page
    response = client.post(
        f"/staff/appointments/{first.id}/cancel", data={"reason": "  The laser is in repair. "}
    )
    assert response.status_code == 302
    [message] = told()
    assert message.to_email == clinic.client.email
    assert "The reason given: The laser is in repair." in message.body


def test_a_reason_too_long_is_said_next_to_the_form_and_nothing_is_cancelled(
    client, login_as, clinic
) -> None:
    monday = next_monday() + timedelta(days=7)
    enrolment = clinic.book(local(monday, 10))
    [only] = enrolment.appointments
    login_as("receptionist")
    response = client.post(f"/staff/appointments/{only.id}/cancel", data={"reason": "x" * 501})
    assert response.status_code == 422
    assert "at most 500" in response.get_data(as_text=True)
    assert told() == []
