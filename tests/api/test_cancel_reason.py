"""DELETE /appointments/{id} with the reason staff give (issue 22): in the query or a JSON
body, told to the client; over 500 characters is a 400 and nothing is cancelled."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.api.openapi import document
from clinic.extensions import db
from clinic.models import Appointment, OutboxMessage
from tests.api.conftest import at
from tests.clock import next_monday


def booked(api, client_id: int) -> int:
    body = {
        "course": "peel_course",
        "client": client_id,
        "sessions": [{"start": at(next_monday(), 10)}],
    }
    response = api.post("/enrolments", body)
    assert response.status_code == 201, response.json
    return response.json["appointments"][0]["id"]


def told() -> list[str]:
    kind = OutboxMessage.kind == "sessions_cancelled"
    return [m.body for m in db.session.scalars(select(OutboxMessage).where(kind))]


@pytest.mark.parametrize("where", ["query", "body"])
def test_a_cancel_with_a_reason_tells_the_client_the_reason(api_as, clinic, where) -> None:
    desk = api_as("receptionist")
    appointment = booked(desk, clinic["client"].id)
    reason = "Our laser is being repaired"
    if where == "query":
        response = desk.delete(f"/appointments/{appointment}", query_string={"reason": reason})
    else:
        response = desk.delete(f"/appointments/{appointment}", json={"reason": reason})
    assert response.status_code == 204
    assert db.session.get(Appointment, appointment).status == "cancelled"
    [body] = told()
    assert reason in body


def test_a_cancel_without_a_reason_still_works(api_as, clinic) -> None:
    desk = api_as("receptionist")
    appointment = booked(desk, clinic["client"].id)
    assert desk.delete(f"/appointments/{appointment}").status_code == 204
    assert db.session.get(Appointment, appointment).status == "cancelled"


@pytest.mark.parametrize("where", ["query", "body"])
def test_a_reason_over_500_characters_is_400(api_as, clinic, where) -> None:
    desk = api_as("receptionist")
    appointment = booked(desk, clinic["client"].id)
    reason = "x" * 501
    if where == "query":
        response = desk.delete(f"/appointments/{appointment}", query_string={"reason": reason})
    else:
        response = desk.delete(f"/appointments/{appointment}", json={"reason": reason})
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "reason"
    db.session.expire_all()
    assert db.session.get(Appointment, appointment).status == "booked"
    assert told() == []


def test_the_openapi_document_describes_the_optional_reason(app) -> None:
    op = document()["paths"]["/api/v1/appointments/{appointment_id}"]["delete"]
    [query] = [p for p in op["parameters"] if p["in"] == "query"]
    assert (query["name"], query["required"]) == ("reason", False)
    assert op["requestBody"]["required"] is False
    assert "400" in op["responses"]
