"""Plan preferences are validated by the schema: a malformed wish is 400 with its field,
never a 500, and never quietly read as another wish (issue 19, defect 6)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.api.conftest import Api, at
from tests.clock import next_monday

BAD = [
    ({"weekdays": []}, "preferences.weekdays"),
    ({"weekdays": [False]}, "preferences.weekdays"),
    ({"weekdays": [2, True]}, "preferences.weekdays"),
    ({"weekdays": ["1"]}, "preferences.weekdays"),
    ({"weekdays": [1.0]}, "preferences.weekdays"),
    ({"weekdays": [7]}, "preferences.weekdays"),
    ({"practitioner": True}, "preferences.practitioner"),
    ({"time_from": 0}, "preferences.time_from"),
]


def plan_body(client_id: int | None = None, **extra) -> dict:
    body = {"course": "peel_course", "earliest": next_monday().isoformat(), **extra}
    if client_id is not None:
        body["client"] = client_id
    return body


def first_session(api: Api, client_id: int) -> int:
    body = {
        "course": "peel_course",
        "client": client_id,
        "sessions": [{"start": at(next_monday(), 10)}],
    }
    response = api.post("/enrolments", body)
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def refused(response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.json)
    assert field in [e.get("field") for e in response.json["errors"]], response.json


@pytest.mark.parametrize(("preferences", "field"), BAD)
def test_a_plan_with_malformed_preferences_is_400_naming_the_field(
    api_as, clinic, preferences, field
) -> None:
    desk = api_as("receptionist")
    refused(desk.post("/plans", plan_body(clinic["client"].id, preferences=preferences)), field)
    enrolment = first_session(desk, clinic["client"].id)
    refused(desk.post(f"/enrolments/{enrolment}/plan", {"preferences": preferences}), field)


@pytest.mark.parametrize("role", ["client", "practitioner", "admin"])
def test_a_plan_with_no_weekday_is_400_for_every_role(api_as, clinic, role) -> None:
    client_id = None if role == "client" else clinic["client"].id
    api = api_as(role)
    no_day = {"weekdays": []}
    refused(api.post("/plans", plan_body(client_id, preferences=no_day)), "preferences.weekdays")
    enrolment = first_session(api_as("receptionist"), clinic["client"].id)
    answer = api.post(f"/enrolments/{enrolment}/plan", {"preferences": no_day})
    refused(answer, "preferences.weekdays")


def test_a_plan_on_the_weekdays_asked_keeps_to_them(api_as) -> None:
    response = api_as("client").post("/plans", plan_body(preferences={"weekdays": [2]}))
    assert response.status_code == 200, response.json
    starts = [datetime.fromisoformat(s["start"]) for s in response.json["sessions"]]
    assert {s.weekday() for s in starts} == {2}
