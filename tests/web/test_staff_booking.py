"""Booking from the calendar: propose a plan, edit it, book it; move, cancel, outcomes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, AuditEntry, Enrolment
from tests import factories as f
from tests.clock import local, next_monday
from tests.web.conftest import ALL_ROLES

DESK = {"admin", "receptionist"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def propose(http, clinic, **overrides):
    data = {
        "client": clinic.client.id,
        "course": clinic.course.code,
        "earliest": next_monday().isoformat(),
        "what": "course",
        "practitioner": 0,
        "propose": "Propose sessions",
    }
    data.update(overrides)
    return http.post("/staff/book", data=data)


def rows_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(sessions-\d+-(?:day|time))"[^>]*value="([^"]*)"', html))


def book_data(clinic, rows: dict[str, str], **overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "client": clinic.client.id,
        "course": clinic.course.code,
        "earliest": next_monday().isoformat(),
        "what": "course",
        "practitioner": 0,
        "book": "Book these sessions",
        **rows,
    }
    for key in rows:
        if key.endswith("-day"):
            data[key.replace("-day", "-practitioner")] = clinic.practitioner.id
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ALL_ROLES)
def test_booking_page_is_for_the_desk(client, login_as, clinic, role) -> None:
    login_as(role)
    assert client.get("/staff/book").status_code == (200 if role in DESK else 403)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_booking_post_is_for_the_desk(client, login_as, clinic, role) -> None:
    login_as(role)
    assert propose(client, clinic).status_code == (200 if role in DESK else 403)


def test_propose_shows_every_session_as_editable_rows(client, login_as, clinic) -> None:
    login_as("receptionist")
    html = propose(client, clinic).get_data(as_text=True)
    assert len(rows_of(html)) == 12  # 6 sessions, a date and a time each
    assert "Book these sessions" in html
    assert count(Enrolment) == 0


def test_propose_one_session_shows_one_row(client, login_as, clinic) -> None:
    login_as("receptionist")
    html = propose(client, clinic, what="one").get_data(as_text=True)
    assert len(rows_of(html)) == 2


def test_book_the_proposed_plan_writes_the_whole_course(client, login_as, clinic) -> None:
    login_as("receptionist")
    rows = rows_of(propose(client, clinic).get_data(as_text=True))
    response = client.post("/staff/book", data=book_data(clinic, rows))
    assert response.status_code == 302 and "/staff/calendar?day=" in response.headers["Location"]
    assert count(Enrolment) == 1 and count(Appointment) == 6
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booked 6 sessions of Glycolic peel, 6 sessions for Anna Client." in follow


def test_book_an_edited_row_that_breaks_spacing_shows_the_rule_and_writes_nothing(
    client, login_as, clinic
) -> None:
    login_as("receptionist")
    rows = rows_of(propose(client, clinic).get_data(as_text=True))
    first = datetime.fromisoformat(rows["sessions-0-day"]).date()
    rows["sessions-1-day"] = (first + timedelta(days=3)).isoformat()
    response = client.post("/staff/book", data=book_data(clinic, rows))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not possible as it stands" in html
    assert "14 days" in html
    assert count(Appointment) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client": "0"}, "Choose the client."),
        ({"course": ""}, "Choose a course."),
        ({"earliest": ""}, "Give the earliest date."),
        ({"earliest": "2026-13-40"}, "Not a valid date value."),
        (
            {"earliest": "2020-01-06"},
            "6 January 2020 has already passed; choose today or a later day.",
        ),
        ({"time_from": "12:00", "time_to": "11:00"}, "The latest time must be after the earliest"),
        ({"course": "no_such_course"}, "Not a valid choice."),
    ],
)
def test_booking_refuses_bad_input_next_to_the_field(
    client, login_as, clinic, overrides, message
) -> None:
    login_as("receptionist")
    response = propose(client, clinic, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_booking_row_with_malformed_time_is_refused(client, login_as, clinic) -> None:
    login_as("receptionist")
    rows = rows_of(propose(client, clinic).get_data(as_text=True))
    rows["sessions-0-time"] = "25:99"
    response = client.post("/staff/book", data=book_data(clinic, rows))
    assert response.status_code == 422
    assert "Not a valid time value." in response.get_data(as_text=True)
    assert count(Appointment) == 0


def test_soft_rule_is_refused_then_booked_with_a_written_reason(client, login_as, clinic) -> None:
    monday = next_monday()
    beach = f.make_client(
        name="Beach Client", periods=[("sun_exposure", monday, monday + timedelta(days=3))]
    )
    login_as("receptionist")
    rows = {"sessions-0-day": monday.isoformat(), "sessions-0-time": "10:00"}
    data = book_data(clinic, rows, client=beach.id, what="one")
    refused = client.post("/staff/book", data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "staff may override this with a written reason" in html
    assert count(Appointment) == 0
    booked = client.post("/staff/book", data={**data, "override_reason": "Client stays indoors"})
    assert booked.status_code == 302
    appointment = db.session.scalar(select(Appointment))
    assert appointment.override_reason == "Client stays indoors"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "book"))
    assert audit.detail["override_reason"] == "Client stays indoors"


def test_booking_refuses_a_post_without_csrf_token(client, login_as, clinic, csrf_on) -> None:
    login_as("receptionist")
    response = propose(client, clinic)
    assert response.status_code == 400
    assert count(Enrolment) == 0


# --- the appointment page: move, cancel, outcome ----------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_appointment_page_is_for_staff(client, login_as, clinic, role) -> None:
    monday = next_monday()
    enrolment = clinic.book(local(monday, 10))
    # a practitioner sees their own sessions only
    login_as(role, **({"practitioner": clinic.practitioner} if role == "practitioner" else {}))
    response = client.get(f"/staff/appointments/{enrolment.appointments[0].id}")
    assert response.status_code == (200 if role != "client" else 403)


def test_practitioner_gets_not_found_for_someone_elses_appointment(
    client, login_as, clinic
) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("practitioner")
    assert client.get(f"/staff/appointments/{enrolment.appointments[0].id}").status_code == 404


@pytest.mark.parametrize("number", [2**63, 2**64])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff/appointments/{}"),
        ("POST", "/staff/appointments/{}/cancel"),
        ("POST", "/staff/enrolments/{}/cancel"),
    ],
)
def test_id_too_large_for_the_database_is_a_not_found_page(
    client, login_as, clinic, method, path, number
) -> None:
    login_as("admin")
    response = client.open(path.format(number), method=method, data={"confirm": "1"})
    assert response.status_code == 404
    assert "There is no such record." in response.text


def test_appointment_page_shows_aftercare_dates(client, login_as, clinic) -> None:
    monday = next_monday()
    enrolment = clinic.book(local(monday, 10))
    login_as("receptionist")
    html = client.get(f"/staff/appointments/{enrolment.appointments[0].id}").get_data(as_text=True)
    assert "session 1 of 6" in html
    assert "until" in html and f"{(monday + timedelta(days=7)).day}" in html


@pytest.mark.parametrize("role", ["practitioner", "client"])
def test_move_is_forbidden_outside_the_desk(client, login_as, clinic, role) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as(role)
    response = client.post(
        f"/staff/appointments/{enrolment.appointments[0].id}/move",
        data={"day": next_monday().isoformat(), "time": "11:00", "practitioner": 0},
    )
    assert response.status_code == 403


def test_move_to_a_free_time_moves_the_session(client, login_as, clinic) -> None:
    monday = next_monday()
    enrolment = clinic.book(local(monday, 10))
    appointment_id = enrolment.appointments[0].id
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{appointment_id}/move",
        data={"day": monday.isoformat(), "time": "14:00", "practitioner": 0},
    )
    assert response.status_code == 302
    moved = db.session.get(Appointment, appointment_id)
    assert moved.start_at == local(monday, 14).astimezone(UTC)


def test_move_that_breaks_session_3_lists_it_and_offers_a_replan(client, login_as, clinic) -> None:
    monday = next_monday()
    starts = [local(monday + timedelta(days=14 * i), 10) for i in range(3)]
    enrolment = clinic.book(*starts)
    second, third = enrolment.appointments[1], enrolment.appointments[2]
    third_id, third_start = third.id, third.start_at
    login_as("receptionist")
    new_day = (monday + timedelta(days=24)).isoformat()  # 4 days before session 3
    data = {"day": new_day, "time": "10:00", "practitioner": 0}
    refused = client.post(f"/staff/appointments/{second.id}/move", data=data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "This move would break later sessions" in html
    assert re.search(r"<li>Session 3 on ", html)
    assert "Accept the re-plan and move" in html and "Keep things as they are" in html
    assert db.session.get(Appointment, third_id).start_at == third_start

    accepted = client.post(
        f"/staff/appointments/{second.id}/move", data={**data, "accept_replan": "y"}
    )
    assert accepted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, third_id).start_at > third_start


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"day": "", "time": "10:00"}, "Give the new date."),
        ({"day": "2027-02-30", "time": "10:00"}, "Not a valid date value."),
        ({"time": "10:61"}, "Not a valid time value."),
        ({"practitioner": "999"}, "Not a valid choice."),
    ],
)
def test_move_refuses_bad_input_next_to_the_field(client, login_as, clinic, data, message) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("receptionist")
    payload = {"day": next_monday().isoformat(), "time": "11:00", "practitioner": 0, **data}
    response = client.post(f"/staff/appointments/{enrolment.appointments[0].id}/move", data=payload)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_move_into_the_past_shows_the_rule(client, login_as, clinic) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{enrolment.appointments[0].id}/move",
        data={"day": "2024-01-08", "time": "10:00", "practitioner": 0},
    )
    assert response.status_code == 422
    assert "Not possible as it stands" in response.get_data(as_text=True)


def test_move_refuses_a_post_without_csrf_token(client, login_as, clinic, csrf_on) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{enrolment.appointments[0].id}/move",
        data={"day": next_monday().isoformat(), "time": "14:00", "practitioner": 0},
    )
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert db.session.get(Appointment, enrolment.appointments[0].id).start_at == local(
        next_monday(), 10
    )


def test_cancel_a_session_marks_it_cancelled(client, login_as, clinic) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    appointment_id = enrolment.appointments[0].id
    login_as("receptionist")
    response = client.post(f"/staff/appointments/{appointment_id}/cancel")
    assert response.status_code == 302
    assert db.session.get(Appointment, appointment_id).status == "cancelled"


def test_cancel_refuses_a_post_without_csrf_token(client, login_as, clinic, csrf_on) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as("receptionist")
    response = client.post(f"/staff/appointments/{enrolment.appointments[0].id}/cancel")
    assert response.status_code == 400
    assert db.session.get(Appointment, enrolment.appointments[0].id).status == "booked"


@pytest.mark.parametrize("role", ["practitioner", "client"])
def test_cancel_is_forbidden_outside_the_desk(client, login_as, clinic, role) -> None:
    enrolment = clinic.book(local(next_monday(), 10))
    login_as(role)
    assert (
        client.post(f"/staff/appointments/{enrolment.appointments[0].id}/cancel").status_code == 403
    )


def test_cancel_the_course_cancels_its_future_sessions(client, login_as, clinic) -> None:
    monday = next_monday()
    enrolment = clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10))
    login_as("receptionist")
    response = client.post(f"/staff/enrolments/{enrolment.id}/cancel")
    assert response.status_code == 302
    assert db.session.get(Enrolment, enrolment.id).status == "cancelled"
    statuses = db.session.scalars(select(Appointment.status)).all()
    assert statuses == ["cancelled", "cancelled"]


def _past_session(clinic):
    """A session that started yesterday or earlier (booked with the clock set back)."""
    now = datetime.now(UTC) - timedelta(days=30)
    day = now.date() + timedelta(days=(7 - now.date().weekday()))  # a Monday after `now`
    return clinic.book(local(day, 10), now=now).appointments[0]


@pytest.mark.parametrize("role", ["admin", "receptionist", "practitioner"])
def test_staff_mark_a_session_done_with_a_note(client, login_as, clinic, role) -> None:
    appointment = _past_session(clinic)
    login_as(role, **({"practitioner": clinic.practitioner} if role == "practitioner" else {}))
    response = client.post(
        f"/staff/appointments/{appointment.id}/outcome",
        data={"status": "done", "note": "Mild redness, resolved"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Appointment, appointment.id)
    assert (row.status, row.note) == ("done", "Mild redness, resolved")


def test_client_cannot_record_an_outcome(client, login_as, clinic) -> None:
    appointment = _past_session(clinic)
    login_as("client")
    response = client.post(f"/staff/appointments/{appointment.id}/outcome", data={"status": "done"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("data", "future", "message"),
    [
        ({}, False, "Choose done or no-show."),
        ({"status": "maybe"}, False, "Not a valid choice."),
        ({"status": "done", "note": "x" * 2001}, False, "Keep the note under 2000 characters."),
        ({"status": "no_show"}, True, "A session can be marked only once it has started."),
    ],
)
def test_outcome_refuses_bad_input(client, login_as, clinic, data, future, message) -> None:
    appointment = (
        clinic.book(local(next_monday(), 10)).appointments[0] if future else _past_session(clinic)
    )
    login_as("receptionist")
    response = client.post(f"/staff/appointments/{appointment.id}/outcome", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.get(Appointment, appointment.id).status == "booked"


def test_outcome_refuses_a_post_without_csrf_token(client, login_as, clinic, csrf_on) -> None:
    appointment = _past_session(clinic)
    login_as("receptionist")
    response = client.post(f"/staff/appointments/{appointment.id}/outcome", data={"status": "done"})
    assert response.status_code == 400
    assert db.session.get(Appointment, appointment.id).status == "booked"


def test_booking_a_course_the_client_already_has_links_to_it(client, login_as, clinic) -> None:
    login_as("receptionist")
    rows = rows_of(propose(client, clinic, what="one").get_data(as_text=True))
    assert client.post("/staff/book", data=book_data(clinic, rows)).status_code == 302
    enrolment = db.session.scalar(select(Enrolment.id))
    first = datetime.fromisoformat(rows["sessions-0-day"]).date()
    rows["sessions-0-day"] = (first + timedelta(days=1)).isoformat()
    response = client.post("/staff/book", data=book_data(clinic, rows))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "already booked on" in html
    assert f"/staff/clients/{clinic.client.id}#enrolment-{enrolment}" in html
    assert count(Enrolment) == 1


def test_a_session_whose_pre_care_has_begun_asks_the_desk_to_confirm_it(
    client, login_as, clinic
) -> None:
    f.make_course(
        code="sun_peel",
        name="Peel, no sun before",
        procedure=clinic.course.procedure,
        sessions=2,
        precare=[("no_uv", "sun", 336)],
    )
    login_as("receptionist")
    soon = datetime.now(UTC).date() + timedelta(days=2)
    while soon.weekday() > 4:  # the practitioner works Mon-Fri
        soon += timedelta(days=1)
    rows = {"sessions-0-day": soon.isoformat(), "sessions-0-time": "11:00"}
    data = book_data(clinic, rows, course="sun_peel")
    response = client.post("/staff/book", data=data)
    assert response.status_code == 422
    assert "that time has already begun" in response.text
    assert "The client has kept the pre-care" in response.text
    assert count(Appointment) == 0
    response = client.post("/staff/book", data=data | {"precare_confirmed": "y"})
    assert response.status_code == 302
    assert count(Appointment) == 1
    detail = db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "book"))
    assert detail["precare_confirmed"] == [1]


@pytest.mark.parametrize("weekdays", [["false"], ["9"], ["x"]])
def test_a_proposal_with_malformed_weekdays_is_refused_next_to_the_field(
    client, login_as, clinic, weekdays
) -> None:
    login_as("receptionist")
    response = propose(client, clinic, weekdays=weekdays)
    assert response.status_code == 422
    assert "Invalid choice" in response.text or "not a valid choice" in response.text
