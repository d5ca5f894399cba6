"""Issue 15 hardening of input: far dates, request size, 405's Allow, OpenAPI statuses, names."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from clinic.api.registry import ENDPOINTS, Endpoint
from clinic.api.schemas import MAX_ID
from clinic.extensions import db
from clinic.models import Appointment, Client
from tests.api.conftest import Api, at
from tests.clock import next_monday, today


def _book_one(api: Api, client_id: int) -> int:
    day = next_monday()
    response = api.post(
        "/enrolments",
        {"course": "peel_course", "client": client_id, "sessions": [{"start": at(day, 10)}]},
    )
    assert response.status_code == 201, response.json
    return response.json["appointments"][0]["id"]


def _refused_date(response, field: str, code: str) -> None:
    """Refused with a sentence naming the field: 422, the clinic's policy (was a 500)."""
    assert response.status_code == 422, (response.status_code, response.json)
    [error] = response.json["errors"]
    assert (error["code"], error["field"]) == (code, field), response.json
    assert error["message"].endswith(".")


FAR = [("9999-12-31", "date_out_of_range"), ("0001-01-01", "in_the_past")]


@pytest.mark.parametrize(
    ("day", "code"), [*FAR, ("2000-01-01", "in_the_past"), ("beyond", "date_out_of_range")]
)
def test_availability_refuses_a_day_outside_the_bookable_range(api_as, day, code) -> None:
    if day == "beyond":  # the first day after the horizon (365 days)
        day = (today() + timedelta(days=366)).isoformat()
    response = api_as("receptionist").get(f"/availability?procedure=peel&date={day}")
    _refused_date(response, "date", code)


def test_availability_on_the_horizons_last_day_is_answered(api_as) -> None:
    last = today() + timedelta(days=365)
    response = api_as("receptionist").get(f"/availability?procedure=peel&date={last}")
    assert response.status_code == 200, response.json


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=9999-12-31", "from"), ("to=9999-12-31", "to"), ("from=0001-01-01", "from")],
)
def test_appointments_list_refuses_a_far_day(api_as, query, field) -> None:
    response = api_as("receptionist").get(f"/appointments?{query}")
    _refused_date(response, field, "date_out_of_range")


@pytest.mark.parametrize("query", ["to=0", "from=1700000000", "to=2026-1-1"])
def test_appointments_list_refuses_a_date_that_is_not_iso(api_as, query) -> None:
    response = api_as("receptionist").get(f"/appointments?{query}")
    assert response.status_code == 400, response.json
    assert response.json["errors"][0]["field"] == query.partition("=")[0]


def test_appointments_list_shows_last_years_sessions(api_as) -> None:
    last_year = (today() - timedelta(days=365)).isoformat()
    assert api_as("receptionist").get(f"/appointments?from={last_year}").status_code == 200


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("9999-12-31T23:59:00+00:00", "date_out_of_range"),
        ("0001-01-01T00:00:00+14:00", "in_the_past"),
        ("0001-01-01T00:00:00-14:00", "in_the_past"),
    ],
)
def test_booking_at_a_far_moment_is_refused_and_writes_nothing(api_as, clinic, start, code):
    response = api_as("receptionist").post(
        "/enrolments",
        {"course": "peel_course", "client": clinic["client"].id, "sessions": [{"start": start}]},
    )
    _refused_date(response, "sessions.0.start", code)
    assert db.session.query(Appointment).count() == 0


def test_booking_beyond_the_horizon_is_refused(api_as, clinic) -> None:
    day = today() + timedelta(days=366)
    response = api_as("receptionist").post(
        "/enrolments",
        {
            "course": "peel_course",
            "client": clinic["client"].id,
            "sessions": [{"start": at(day, 10)}],
        },
    )
    _refused_date(response, "sessions.0.start", "date_out_of_range")


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("9999-12-31T23:59:00+00:00", "date_out_of_range"),
        ("0001-01-01T00:00:00+14:00", "in_the_past"),
    ],
)
def test_moving_to_a_far_moment_is_refused(api_as, clinic, start, code) -> None:
    api = api_as("receptionist")
    appointment = _book_one(api, clinic["client"].id)
    response = api.patch(f"/appointments/{appointment}", {"start": start})
    _refused_date(response, "start", code)


@pytest.mark.parametrize(("earliest", "code"), FAR)
def test_planning_from_a_far_day_is_refused(api_as, clinic, earliest, code) -> None:
    response = api_as("client").post("/plans", {"course": "peel_course", "earliest": earliest})
    _refused_date(response, "earliest", code)


# --- request size -------------------------------------------------------------------------------


class Unreadable(io.BytesIO):
    """A request body that fails the test if anything reads it."""

    def read(self, *args) -> bytes:
        raise AssertionError("the body was read")

    readline = read  # type: ignore[assignment]


def test_an_over_limit_body_is_413_before_it_is_read(api_as, clinic) -> None:
    api = api_as("receptionist")
    response = api.http.post(
        "/api/v1/enrolments",
        input_stream=Unreadable(),
        headers={
            **api.headers(),
            "Content-Type": "application/json",
        },
        environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)},
    )
    assert response.status_code == 413
    [error] = response.json["errors"]
    assert error["code"] == "too_large"
    assert error["message"] == "The request is too large: this address accepts at most 1 MiB."


def test_a_body_just_over_the_limit_is_413_and_one_under_is_read(api_as, clinic) -> None:
    api = api_as("receptionist")
    limit = api.http.application.config["MAX_CONTENT_LENGTH"]
    pad = '{"course": "peel_course", "sessions": [], "override_reason": "%s"}'
    over = pad % ("x" * limit)
    refused = api.post("/enrolments", data=over, content_type="application/json")
    assert refused.status_code == 413, refused.json
    under = pad % ("x" * 1000)
    # Read and judged: a schema error, not a size error.
    assert api.post("/enrolments", data=under, content_type="application/json").status_code == 400


# --- 405, the document's statuses, names --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("put", "/api/v1/courses", {"GET"}), ("get", "/api/v1/token", {"POST", "DELETE"})],
)
def test_405_says_which_methods_are_allowed(client, method, path, allowed) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.json["errors"][0]["code"] == "method_not_allowed"


def _path(endpoint: Endpoint, ids: dict[str, int]) -> str:
    return "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), endpoint.path)


def _far_query(endpoint: Endpoint) -> str:
    """The endpoint's query with each date at 9999-12-31 (other required values filled)."""
    if endpoint.query is None:
        return ""
    schema = endpoint.query.model_json_schema()
    values = {"procedure": "peel"}
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        if any(o.get("format") == "date" for o in options):
            values[name] = "9999-12-31"
    return "&".join(f"{k}={v}" for k, v in values.items() if k in schema["properties"])


def test_every_status_an_operation_answers_is_in_the_document(api_as, clinic) -> None:
    """Walk every operation with the errors any call can meet: no token, a NUL in the query,
    an over-limit body, a malformed body, ids of nobody's, far dates, another role."""
    desk, me = api_as("receptionist"), api_as("client")
    appointment = _book_one(desk, clinic["client"].id)
    enrolment = db.session.get(Appointment, appointment).enrolment_id
    ids = {
        "appointment_id": appointment,
        "enrolment_id": enrolment,
        "client_id": clinic["client"].id,
        "user_id": clinic["desk"].id,
        # No treatment record or photo exists: their ids are nobody's here too.
        "record_id": 1,
        "photo_id": 1,
    }
    nobody = dict.fromkeys(ids, MAX_ID)
    doc = desk.get("/openapi.json").json
    undocumented = []
    for endpoint in [e for e in ENDPOINTS if e.path != "/token"]:
        documented = doc["paths"]["/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", endpoint.path)]
        documented = set(documented[endpoint.method.lower()]["responses"])
        path, method = _path(endpoint, ids), endpoint.method
        asks = [
            dict(path=path),
            dict(path=path + "?x=%00", headers=desk.headers()),
            dict(
                path=path,
                headers={**desk.headers(), "Content-Type": "application/json"},
                input_stream=Unreadable(),
                environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)},
            ),
            dict(path=path, headers=desk.headers(), data="{", content_type="application/json"),
            dict(path=path, headers=desk.headers(), json={}),
            dict(path=_path(endpoint, nobody), headers=desk.headers()),
            dict(path=path + "?" + _far_query(endpoint), headers=desk.headers()),
            dict(path=path, headers=me.headers()),
        ]
        for ask in asks:
            response = desk.http.open(method=method, **ask)
            assert response.status_code < 500, (method, ask["path"], response.text[:300])
            if str(response.status_code) not in documented:
                undocumented.append((method, endpoint.path, response.status_code))
    assert undocumented == []


BIDI = ["Anna\u202eeveR", "\u2066Mia\u2069", "Olga\u200f", "A\u202ab\u202c"]


@pytest.mark.parametrize("name", BIDI)
def test_a_client_name_with_a_direction_override_is_refused(api_as, name) -> None:
    response = api_as("receptionist").post("/clients", {"email": "new@example.com", "name": name})
    assert response.status_code == 400, response.json
    [error] = response.json["errors"]
    assert (error["code"], error["field"]) == ("control_character", "name")
    assert "direction-changing" in error["message"]
    assert db.session.query(Client).filter_by(email="new@example.com").count() == 0


def test_a_name_in_another_script_is_kept(api_as) -> None:
    response = api_as("receptionist").post("/clients", {"email": "n@example.com", "name": "נועה"})
    assert response.status_code == 201, response.json
