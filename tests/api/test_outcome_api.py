"""POST /api/v1/appointments/{id}/outcome: staff only, status codes and the answer's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Enrolment, OutboxMessage
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.clock import BERLIN, monday, next_monday


@pytest.fixture
def held(clinic):
    """Carla's peel course: session 1 four weeks ago, session 2 two weeks ago (both started,
    no outcome yet), session 3 in two weeks."""
    starts = [
        datetime.combine(monday(-4), datetime.min.time(), BERLIN) + timedelta(hours=10),
        datetime.combine(monday(-2), datetime.min.time(), BERLIN) + timedelta(hours=10),
        datetime.combine(next_monday(), datetime.min.time(), BERLIN) + timedelta(hours=10),
    ]
    enrolment = enrol.book_course(
        actor=f.actor("receptionist"),
        course_code="peel_course",
        client_id=clinic["client"].id,
        sessions=[SessionRequest(s.astimezone(UTC)) for s in starts],
        now=starts[0] - timedelta(days=2),
    )
    ids = [a.id for a in sorted(enrolment.appointments, key=lambda a: a.session)]
    return {"enrolment": enrolment.id, "ids": ids}


def test_staff_mark_a_session_done_and_get_the_appointment(api_as, held) -> None:
    api = api_as("receptionist")
    first = held["ids"][0]
    response = api.post(f"/appointments/{first}/outcome", {"outcome": "done", "note": "Fine."})
    assert response.status_code == 200, response.json
    assert response.json == api.get(f"/appointments/{first}").json
    assert response.json["status"] == "done" and response.json["id"] == first


def test_a_no_show_answers_the_appointment_and_tells_the_client(api_as, held) -> None:
    second = held["ids"][1]
    response = api_as("receptionist").post(
        f"/appointments/{second}/outcome", {"outcome": "no_show"}
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "no_show" and response.json["aftercare"] == []
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "missed_session"))
    assert message is not None and "make-up session" in message.body
    assert "http://localhost/my/sessions" in message.body
    assert db.session.get(Enrolment, held["enrolment"]).status == "active"


def test_the_practitioner_of_the_session_may_record_it(api_as, held) -> None:
    response = api_as("practitioner").post(
        f"/appointments/{held['ids'][0]}/outcome", {"outcome": "done"}
    )
    assert response.status_code == 200


def test_a_client_gets_403(api_as, held) -> None:
    response = api_as("client").post(f"/appointments/{held['ids'][0]}/outcome", {"outcome": "done"})
    assert response.status_code == 403
    assert response.json["errors"][0]["code"] == "forbidden"


def test_a_session_not_yet_started_is_422(api_as, held) -> None:
    response = api_as("receptionist").post(
        f"/appointments/{held['ids'][2]}/outcome", {"outcome": "done"}
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "not_started"


def test_a_cancelled_session_is_409_appointment_changed(api_as, held) -> None:
    api = api_as("receptionist")
    third = held["ids"][2]
    assert api.delete(f"/appointments/{third}").status_code == 204
    response = api.post(f"/appointments/{third}/outcome", {"outcome": "done"})
    assert response.status_code == 409
    assert response.json["errors"][0]["code"] == "appointment_changed"


@pytest.mark.parametrize(
    "body", [{"outcome": "cancelled"}, {"outcome": "DONE"}, {}, {"outcome": "done", "x": 1}]
)
def test_a_bad_outcome_is_400_with_the_field(api_as, held, body) -> None:
    response = api_as("receptionist").post(f"/appointments/{held['ids'][0]}/outcome", body)
    assert response.status_code == 400
    assert response.json["errors"][0]["code"] == "invalid_field"


def test_an_unknown_appointment_is_404(api_as, held) -> None:
    response = api_as("receptionist").post("/appointments/999999/outcome", {"outcome": "done"})
    assert response.status_code == 404


def test_the_openapi_document_describes_the_outcome_endpoint(client) -> None:
    doc = client.get("/api/v1/openapi.json").json
    operation = doc["paths"]["/api/v1/appointments/{appointment_id}/outcome"]["post"]
    assert {"200", "400", "403", "404", "409", "422"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    schema = (
        doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    )
    assert schema["properties"]["outcome"]["enum"] == ["done", "no_show"]


def test_a_missed_session_has_no_aftercare_in_the_api_or_its_calendar_file(
    api_as, clinic, held
) -> None:
    from icalendar import Calendar

    desk = api_as("receptionist")
    missed = held["ids"][1]
    assert desk.post(f"/appointments/{missed}/outcome", {"outcome": "no_show"}).status_code == 200
    carla = api_as("client")
    [row] = [a for a in carla.get("/appointments").json if a["id"] == missed]
    assert row["status"] == "no_show" and row["aftercare"] == []
    # The session and the care events it had, all cancelled in the client's calendar.
    events = Calendar.from_ical(carla.get(f"/appointments/{missed}.ics").data).walk("VEVENT")
    assert events and {str(e["status"]) for e in events} == {"CANCELLED"}


def test_a_cancelled_sessions_calendar_file_through_the_api_says_cancelled(
    api_as, clinic, held
) -> None:
    from icalendar import Calendar

    carla = api_as("client")
    coming = held["ids"][2]
    assert carla.delete(f"/appointments/{coming}").status_code == 204
    [row] = [a for a in carla.get("/appointments").json if a["id"] == coming]
    assert row["aftercare"] == []
    # The session and the care events it had, all cancelled in the client's calendar.
    events = Calendar.from_ical(carla.get(f"/appointments/{coming}.ics").data).walk("VEVENT")
    assert events and {str(e["status"]) for e in events} == {"CANCELLED"}


def test_a_no_show_corrected_to_done_through_the_api_tells_the_client_nothing(
    api_as, clinic, held
) -> None:
    desk = api_as("receptionist")
    second = held["ids"][1]
    assert desk.post(f"/appointments/{second}/outcome", {"outcome": "no_show"}).status_code == 200
    assert desk.post(f"/appointments/{second}/outcome", {"outcome": "done"}).status_code == 200
    missed = select(OutboxMessage).where(OutboxMessage.kind == "missed_session")
    assert db.session.scalars(missed).all() == []
