"""A course booked in parts: the client, then reception, plan and book the rest of it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, Enrolment
from tests import factories as f
from tests.clock import local, next_monday


@pytest.fixture
def me(clinic, login_as):
    user = login_as("client", name="Mia Me")
    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()
    return user.client


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def proposed(html: str) -> list[str]:
    return re.findall(r'name="s" value="([^"]+)"', html)


def book_first_session_only(client) -> int:
    planned = client.post(
        "/courses/peel_course/plan",
        data={"earliest": next_monday().isoformat(), "practitioner": "0", "how_many": "first"},
    )
    assert planned.status_code == 302, planned.text
    review = client.get(planned.headers["Location"])
    values = proposed(review.text)
    assert len(values) == 1
    assert client.post("/courses/peel_course/book", data={"s": values}).status_code == 302
    return db.session.scalar(select(Enrolment.id))


def test_client_books_the_first_session_then_plans_and_books_the_rest(app, client, me) -> None:
    enrolment = book_first_session_only(client)
    page = unescape(client.get("/my/sessions").text)
    assert "0 of 6 held, 1 booked, 5 to book" in page
    assert "next: session 1 of" not in page
    assert f'href="/my/courses/{enrolment}/plan?count=1"' in page
    assert "Plan the rest (5 sessions)" in page

    proposal = client.get(f"/my/courses/{enrolment}/plan")
    assert proposal.status_code == 200
    values = proposed(proposal.text)
    assert len(values) == 5
    assert "Session 2 of 6" in proposal.text and "Session 6 of 6" in proposal.text
    assert "No uv until" in proposal.text  # each session's aftercare dates
    assert count(Appointment) == 1  # a proposal books nothing

    booked = client.post(f"/my/courses/{enrolment}/sessions", data={"s": values})
    assert booked.status_code == 302
    assert booked.headers["Location"].endswith(f"/my/sessions#enrolment-{enrolment}")
    sessions = db.session.scalars(
        select(Appointment.session).where(Appointment.enrolment_id == enrolment)
    ).all()
    assert sorted(sessions) == [1, 2, 3, 4, 5, 6]
    after = unescape(client.get("/my/sessions").text)
    assert "0 of 6 held, 6 booked, 0 to book" in after
    assert "Plan the next session" not in after


def test_plan_the_next_session_proposes_one(app, client, me) -> None:
    enrolment = book_first_session_only(client)
    proposal = client.get(f"/my/courses/{enrolment}/plan?count=1")
    assert proposal.status_code == 200
    assert len(proposed(proposal.text)) == 1
    assert "Your next session" in proposal.text


def test_a_past_start_date_is_refused_next_to_its_field(app, client, me) -> None:
    enrolment = book_first_session_only(client)
    response = client.get(f"/my/courses/{enrolment}/plan?earliest=2020-01-06")
    assert response.status_code == 422
    assert re.search(
        r'class="error" id="earliest-error">6 January 2020 has already passed', response.text
    )
    garbled = client.get(f"/my/courses/{enrolment}/plan?earliest=soon")
    assert garbled.status_code == 422 and "Give a date like" in garbled.text


def test_confirming_a_session_that_breaks_spacing_books_nothing(app, client, me) -> None:
    enrolment = book_first_session_only(client)
    too_close = local(next_monday() + timedelta(days=3), 10).astimezone(UTC)
    response = client.post(
        f"/my/courses/{enrolment}/sessions", data={"s": [f"{too_close:%Y%m%dT%H%MZ}-0"]}
    )
    assert response.status_code == 422
    assert "days after" in response.text or "at least" in response.text
    assert count(Appointment) == 1


def test_a_client_never_reaches_another_clients_course(app, client, clinic, me) -> None:
    theirs = clinic.book(local(next_monday(), 10))
    assert client.get(f"/my/courses/{theirs.id}/plan").status_code == 404
    start = local(next_monday() + timedelta(days=14), 10).astimezone(UTC)
    response = client.post(
        f"/my/courses/{theirs.id}/sessions", data={"s": [f"{start:%Y%m%dT%H%MZ}-0"]}
    )
    assert response.status_code == 404
    assert count(Appointment) == 1


def test_reception_books_the_rest_from_the_client_record(app, client, clinic, login_as) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("receptionist")
    record = unescape(client.get(f"/staff/clients/{clinic.client.id}").text)
    assert "0 of 6 held, 1 booked, 5 to book" in record
    assert f'href="/staff/enrolments/{enrolment.id}/plan"' in record

    proposal = client.get(f"/staff/enrolments/{enrolment.id}/plan?count=1")
    assert proposal.status_code == 200
    values = proposed(proposal.text)
    assert len(values) == 1 and "Session 2 of 6" in proposal.text
    booked = client.post(f"/staff/enrolments/{enrolment.id}/sessions", data={"s": values})
    assert booked.status_code == 302
    assert booked.headers["Location"].endswith(
        f"/staff/clients/{clinic.client.id}#enrolment-{enrolment.id}"
    )
    assert count(Appointment) == 2
    record = unescape(client.get(f"/staff/clients/{clinic.client.id}").text)
    assert "0 of 6 held, 2 booked, 4 to book" in record


def test_reception_sees_the_refusal_and_nothing_is_written(app, client, clinic, login_as) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("receptionist")
    too_close = local(next_monday() + timedelta(days=2), 10).astimezone(UTC)
    response = client.post(
        f"/staff/enrolments/{enrolment.id}/sessions", data={"s": [f"{too_close:%Y%m%dT%H%MZ}-0"]}
    )
    assert response.status_code == 422
    assert "Not possible as it stands" in response.text
    assert count(Appointment) == 1


def test_a_practitioner_cannot_book_the_rest(app, client, clinic, login_as) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("practitioner", practitioner=clinic.practitioner)
    assert client.get(f"/staff/enrolments/{enrolment.id}/plan").status_code == 403


def test_confirming_without_the_csrf_token_books_nothing(app, client, clinic, me, csrf_on) -> None:
    enrolment = clinic.book(local(next_monday(), 10), client=me)
    start = local(next_monday() + timedelta(days=14), 10).astimezone(UTC)
    response = client.post(
        f"/my/courses/{enrolment.id}/sessions", data={"s": [f"{start:%Y%m%dT%H%MZ}-0"]}
    )
    assert response.status_code in (400, 422)
    assert count(Appointment) == 1
