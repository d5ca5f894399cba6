"""Issue 15 hardening of input: far dates, request size, 405's Allow, OpenAPI statuses, names."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from clinic.extensions import db
from clinic.models import Appointment
from tests.api.conftest import BERLIN, Api, at, next_monday


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
        day = (datetime.now(BERLIN).date() + timedelta(days=366)).isoformat()
    response = api_as("receptionist").get(f"/availability?procedure=peel&date={day}")
    _refused_date(response, "date", code)


def test_availability_on_the_horizons_last_day_is_answered(api_as) -> None:
    last = datetime.now(BERLIN).date() + timedelta(days=365)
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
    last_year = (datetime.now(BERLIN).date() - timedelta(days=365)).isoformat()
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
    day = datetime.now(BERLIN).date() + timedelta(days=366)
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
