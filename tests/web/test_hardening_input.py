"""Issue 15 hardening of the pages' input: far dates, request size, 405's Allow, names."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from clinic.extensions import db
from clinic.models import Appointment, Client, Course, Practitioner, Room, User
from tests import factories as f
from tests.clock import local, next_monday, today

FAR_DAYS = ["9999-12-31", "0001-01-01"]


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment))


def _beyond() -> str:
    """The first day after the booking horizon (365 days)."""
    return (today() + timedelta(days=366)).isoformat()


# --- far dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["day", "week"])
@pytest.mark.parametrize("day", FAR_DAYS)
def test_calendar_on_a_far_day_shows_today_and_says_why(client, login_as, clinic, view, day):
    login_as("receptionist")
    response = client.get(f"/staff/calendar?day={day}&view={view}")
    assert response.status_code == 422
    page = unescape(response.text)
    assert "Calendars and lists show" in page and "Showing today instead." in page


@pytest.mark.parametrize("day", FAR_DAYS)
def test_outcome_from_a_far_calendar_week_is_not_a_500(client, login_as, clinic, day):
    appointment = clinic.book(local(next_monday(), 10)).appointments[0]
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{appointment.id}/outcome",
        data={"status": "done", "week": day, "by": "practitioner"},
    )
    assert response.status_code < 500


@pytest.fixture
def my_session(clinic, login_as):
    user = login_as("client", name="Mia Me")
    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()
    return clinic.book(local(next_monday(), 10), client=user.client).appointments[0]


@pytest.mark.parametrize(
    ("day", "sentence"),
    [
        ("9999-12-31", "The clinic takes bookings up to"),
        ("0001-01-01", "has already passed"),
        ("beyond", "The clinic takes bookings up to"),
    ],
)
def test_client_move_page_refuses_a_far_day_next_to_the_field(client, my_session, day, sentence):
    day = _beyond() if day == "beyond" else day
    response = client.get(f"/my/appointments/{my_session.id}/move?day={day}")
    assert response.status_code == 422
    assert sentence in unescape(response.text)


@pytest.mark.parametrize("start", ["9999-12-31T23:59:00+00:00", "0001-01-01T00:00:00+14:00"])
def test_client_move_to_a_far_time_is_refused(client, my_session, start):
    before = my_session.start_at
    response = client.post(f"/my/appointments/{my_session.id}/move", data={"start": start})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Appointment, my_session.id).start_at == before


@pytest.mark.parametrize("day", [*FAR_DAYS, "beyond"])
def test_staff_move_to_a_far_day_is_refused(client, login_as, clinic, day):
    appointment = clinic.book(local(next_monday(), 10)).appointments[0]
    before = appointment.start_at
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{appointment.id}/move",
        data={"day": _beyond() if day == "beyond" else day, "time": "10:00", "practitioner": 0},
    )
    assert response.status_code == 422
    page = unescape(response.text)
    assert "has already passed" in page or "The clinic takes bookings up to" in page
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).start_at == before


@pytest.mark.parametrize("day", [*FAR_DAYS, "beyond"])
def test_staff_booking_on_a_far_day_is_refused(client, login_as, clinic, day):
    login_as("receptionist")
    day = _beyond() if day == "beyond" else day
    base = {"client": clinic.client.id, "course": clinic.course.code, "practitioner": 0}
    proposed = client.post(
        "/staff/book", data={**base, "earliest": day, "what": "one", "propose": "Propose"}
    )
    assert proposed.status_code == 422
    booked = client.post(
        "/staff/book",
        data={
            **base,
            "earliest": next_monday().isoformat(),
            "what": "one",
            "book": "Book these sessions",
            "sessions-0-day": day,
            "sessions-0-time": "10:00",
            "sessions-0-practitioner": clinic.practitioner.id,
        },
    )
    assert booked.status_code == 422
    assert _count() == 0


@pytest.mark.parametrize("day", FAR_DAYS)
def test_client_planning_from_a_far_day_is_refused(client, my_session, day):
    response = client.post(
        "/courses/peel_course/plan",
        data={"earliest": day, "practitioner": "0", "how_many": "all"},
    )
    assert response.status_code == 422


@pytest.mark.parametrize("stamp", ["99991231T2359Z", "00010102T0000Z"])
@pytest.mark.parametrize("page", ["review", "swap", "book", "rest"])
def test_a_proposal_at_a_far_time_is_refused(client, my_session, stamp, page):
    count = _count()
    if page == "book":
        response = client.post("/courses/peel_course/book", data={"s": [f"{stamp}-0"]})
    elif page == "rest":
        url = f"/my/courses/{my_session.enrolment_id}/sessions"
        response = client.post(url, data={"s": [f"{stamp}-0"]})
    else:
        response = client.get(f"/courses/peel_course/{page}?s={stamp}-0&k=1&day=9999-12-31")
    assert 400 <= response.status_code < 500
    assert _count() == count


# --- request size -------------------------------------------------------------------------------


class Unreadable(io.BytesIO):
    """A request body that fails the test if anything reads it."""

    def read(self, *args) -> bytes:
        raise AssertionError("the body was read")

    readline = read  # type: ignore[assignment]


def test_an_over_limit_form_is_a_413_page_before_it_is_read(client) -> None:
    response = client.post(
        "/login",
        input_stream=Unreadable(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
        },
        environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "this address accepts at most 1 MiB" in response.text


def _upload(client, content: bytes):
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), "catalogue.json")})
    return client.post(
        "/staff/admin/catalogue",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_the_catalogue_upload_takes_a_file_over_the_ordinary_limit(client, login_as, clinic):
    login_as("admin")
    data = json.loads(client.get("/staff/admin/catalogue.json").get_data())
    data["courses"][0]["sessions"] = 4
    # 2 MiB of JSON (whitespace pads it): over the 1 MiB of every other request.
    content = json.dumps(data).encode() + b" " * (2 * 1024 * 1024)
    response = _upload(client, content)
    assert response.status_code == 302, response.text[:500]
    assert db.session.scalar(select(Course.sessions)) == 4


def test_the_catalogue_upload_limit_is_raised_before_csrf_reads_the_form(
    client, login_as, clinic, csrf_on
):
    login_as("admin")
    response = _upload(client, b"{}" + b" " * (2 * 1024 * 1024))
    assert response.status_code == 400  # the missing CSRF token, not 413
    assert "CSRF" in response.text


def test_the_catalogue_upload_refuses_a_file_over_its_own_limit(client, login_as, clinic):
    login_as("admin")
    limit = client.application.config["CATALOGUE_MAX_BYTES"]
    response = _upload(client, b"{}" + b" " * (limit + 100 * 1024))
    assert response.status_code == 413
    assert "this address accepts at most" in response.text


# --- 405 and names ------------------------------------------------------------------------------


def test_405_page_says_which_methods_are_allowed(client) -> None:
    response = client.put("/login")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


OVERRIDE = "Anna\u202eeveR"
REFUSED = "no line breaks, tabs or other control or direction-changing characters"


def test_signing_up_with_a_direction_override_in_the_name_is_refused(client) -> None:
    response = client.post(
        "/signup",
        data={
            "email": "new@example.com",
            "name": OVERRIDE,
            "password": "long enough",
            "confirm": "long enough",
        },
    )
    assert response.status_code == 422
    assert REFUSED in unescape(response.text)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("url", "data", "model"),
    [
        (
            "/staff/admin/practitioners/new",
            {"name": OVERRIDE, "email": "nia@x.com", "qualifications": "peel"},
            Practitioner,
        ),
        (
            "/staff/admin/users",
            {"name": OVERRIDE, "email": "r@x.com", "role": "receptionist", "password": "pw123456"},
            User,
        ),
        ("/staff/admin/rooms", {"code": "R9", "name": "Room\u2067 9"}, Room),
    ],
)
def test_staff_forms_refuse_a_name_with_a_direction_override(
    client, login_as, clinic, url, data, model
) -> None:
    login_as("admin")
    before = db.session.scalar(select(func.count()).select_from(model))
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert REFUSED in unescape(response.text)
    assert db.session.scalar(select(func.count()).select_from(model)) == before


def test_a_client_name_with_a_direction_override_is_refused_at_the_desk(
    client, login_as, clinic
) -> None:
    login_as("receptionist")
    response = client.post(
        f"/staff/clients/{clinic.client.id}/edit",
        data={"name": OVERRIDE, "email": clinic.client.email},
    )
    assert response.status_code == 422
    assert REFUSED in unescape(response.text)
    db.session.expire_all()
    assert db.session.get(Client, clinic.client.id).name == "Anna Client"


def test_the_catalogue_import_refuses_a_course_name_with_a_direction_override(
    client, login_as, clinic
) -> None:
    login_as("admin")
    data = json.loads(client.get("/staff/admin/catalogue.json").get_data())
    data["courses"][0]["name"] = "Peel \u202e6 sessions"
    response = _upload(client, json.dumps(data).encode())
    assert response.status_code == 422
    assert "courses[0].name: Use one line of plain text: " + REFUSED in unescape(response.text)
    assert db.session.scalar(select(Course.name)) == clinic.course.name
