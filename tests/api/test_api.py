"""The JSON API v1 contract: shapes, status codes, permissions and rule codes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import (
    ApiToken,
    Appointment,
    Client,
    ClientCondition,
    ClinicSettings,
    Course,
    Procedure,
)
from clinic.models.catalogue import months_to_mask
from tests import clock
from tests import factories as f
from tests.api.conftest import Api, at, token_for
from tests.clock import next_monday


def book(api: Api, client_id: int | None, starts: list[str], course: str = "peel_course", **extra):
    body = {"course": course, "sessions": [{"start": s} for s in starts], **extra}
    if client_id is not None:
        body["client"] = client_id
    return api.post("/enrolments", body)


# --- auth ------------------------------------------------------------------------------------------


def test_token_is_refused_for_a_wrong_password(client, clinic) -> None:
    response = client.post(
        "/api/v1/token", json={"email": "desk@clinic.example", "password": "nope"}
    )
    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "unauthorized"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_calls_without_a_valid_token_are_401(client, clinic, header) -> None:
    headers = {"Authorization": header} if header else {}
    assert client.get("/api/v1/courses", headers=headers).status_code == 401


def test_token_is_stored_hashed_and_can_be_revoked(client, api_as) -> None:
    api = api_as("receptionist")
    assert db.session.query(ApiToken).filter_by(token_hash=api.token).count() == 0
    assert api.delete("/token").status_code == 204
    assert api.get("/courses").status_code == 401


def test_admin_revokes_every_token_of_a_user(client, api_as, clinic) -> None:
    desk = api_as("receptionist")
    admin = api_as("admin")
    assert admin.delete(f"/users/{clinic['desk'].id}/tokens").status_code == 204
    assert desk.get("/courses").status_code == 401
    assert api_as("client").delete(f"/users/{clinic['desk'].id}/tokens").status_code == 403


def test_expired_token_is_refused(client, api_as) -> None:
    api = api_as("receptionist")
    row = db.session.query(ApiToken).one()
    row.expires_at = datetime.now(row.expires_at.tzinfo) - timedelta(seconds=1)
    f.commit()
    assert api.get("/courses").status_code == 401


def test_token_of_a_deactivated_user_is_refused(client, api_as, clinic) -> None:
    api = api_as("receptionist")
    assert api.get("/courses").status_code == 200
    clinic["desk"].active = False
    f.commit()
    assert api.get("/courses").status_code == 401


# --- catalogue -------------------------------------------------------------------------------------


def test_courses_list_the_contract_fields(api_as) -> None:
    course = api_as("client").get("/courses").json[0]
    assert {
        "code",
        "name",
        "procedure",
        "sessions",
        "min_interval_days",
        "max_interval_days",
        "aftercare",
        "contraindications",
        "months",
    } <= course.keys()
    assert course["aftercare"][0] == {"restriction": "no_uv", "hours": 168}


def test_practitioners_filter_by_procedure(api_as) -> None:
    f.make_practitioner(email="lena@clinic.example", name="Lena", qualifications=["massage"])
    api = api_as("client")
    names = [p["name"] for p in api.get("/practitioners?procedure=peel").json]
    assert names == ["Anna"]
    assert len(api.get("/practitioners").json) == 2
    assert api.get("/practitioners?procedure=unknown").status_code == 404


def test_availability_answers_slots_with_offsets(api_as) -> None:
    day = next_monday()
    response = api_as("client").get(f"/availability?procedure=peel&date={day.isoformat()}")
    assert response.status_code == 200
    first = response.json["slots"][0]
    assert first["start"] == at(day, 9) and first["room"] == "R1" and first["device"] is None


@pytest.mark.parametrize(
    "query",
    [
        "procedure=peel",
        "procedure=peel&date=2026-13-01",
        "date=2026-12-01",
        "procedure=peel&date=2026-12-01&practitioner=x",
    ],
)
def test_availability_refuses_malformed_queries_with_the_field(api_as, query) -> None:
    response = api_as("client").get(f"/availability?{query}")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"]


# --- clients, screening, periods -------------------------------------------------------------------


def test_staff_create_a_client_and_a_duplicate_is_409(api_as) -> None:
    desk = api_as("receptionist")
    created = desk.post("/clients", {"email": "new@example.com", "name": "New Client"})
    assert created.status_code == 201 and created.json["has_login"] is False
    again = desk.post("/clients", {"email": "new@example.com", "name": "Again"})
    assert again.status_code == 409


@pytest.mark.parametrize("role", ["client", "practitioner"])
def test_only_desk_roles_create_clients(api_as, role) -> None:
    response = api_as(role).post("/clients", {"email": "x@example.com", "name": "X"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body,field",
    [
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "x@example.com"}, "name"),
        ({"email": "x@example.com", "name": "X", "password": "short"}, "password"),
        ({"email": "x@example.com", "name": "X", "extra": 1}, "extra"),
        ({"email": "x@example.com", "name": "X\r\nBcc: everyone@example.com"}, "name"),
        ({"email": "x@example.com", "name": "X", "phone": "0301\t234"}, "phone"),
    ],
)
def test_client_creation_names_the_bad_field(api_as, body, field) -> None:
    response = api_as("receptionist").post("/clients", body)
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == field
    assert db.session.scalar(select(Client).where(Client.email == "x@example.com")) is None


def test_a_name_with_a_line_break_is_refused_with_a_sentence(api_as) -> None:
    response = api_as("receptionist").post(
        "/clients", {"email": "x@example.com", "name": "X\nBcc: everyone@example.com"}
    )
    assert response.status_code == 400
    [error] = response.json["errors"]
    assert error["field"] == "name" and "one line of plain text" in error["message"]


def test_malformed_json_is_a_400_not_a_500(api_as) -> None:
    api = api_as("receptionist")
    response = api.http.post(
        "/api/v1/plans", headers=api.headers(), data="{oops", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["code"] == "malformed_json"


# --- plans and enrolments --------------------------------------------------------------------------


def test_plan_proposes_every_session_and_books_nothing(api_as, clinic) -> None:
    response = api_as("receptionist").post(
        "/plans",
        {
            "course": "peel_course",
            "client": clinic["client"].id,
            "earliest": next_monday().isoformat(),
        },
    )
    assert response.status_code == 200
    assert len(response.json["sessions"]) == 6
    assert len(response.json["aftercare"]) == 6 and response.json["aftercare"][0][0]["until"]
    assert db.session.query(Appointment).count() == 0


def test_plan_for_a_contraindicated_client_is_422_with_the_code(api_as, clinic) -> None:
    clinic["client"].conditions.append(ClientCondition(code="pregnancy", present=True))
    f.commit()
    response = api_as("client").post(
        "/plans", {"course": "peel_course", "earliest": next_monday().isoformat()}
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "contraindicated"


def test_plan_for_an_unknown_course_is_404(api_as) -> None:
    response = api_as("client").post(
        "/plans", {"course": "nope", "earliest": next_monday().isoformat()}
    )
    assert response.status_code == 404


def test_plan_with_bad_preferences_is_400(api_as) -> None:
    body = {
        "course": "peel_course",
        "earliest": next_monday().isoformat(),
        "preferences": {"weekdays": [9]},
    }
    response = api_as("client").post("/plans", body)
    assert (
        response.status_code == 400
        and response.json["errors"][0]["field"] == "preferences.weekdays"
    )


def test_courses_give_their_ideal_interval(api_as) -> None:
    f.make_course(
        code="massage_course",
        procedure=f.make_procedure(code="massage", qualification="massage"),
        sessions=10,
        min_interval_days=2,
        max_interval_days=7,
        ideal_interval_days=4,
    )
    courses = {c["code"]: c for c in api_as("client").get("/courses").json}
    assert courses["massage_course"]["ideal_interval_days"] == 4
    assert courses["peel_course"]["ideal_interval_days"] is None
    spec = api_as("client").get("/openapi.json").json
    assert "ideal_interval_days" in spec["components"]["schemas"]["CourseOut"]["properties"]


def _plan(api: Api, preferences=None, **body):
    body = {"course": "peel_course", "earliest": next_monday().isoformat(), **body}
    if preferences is not None:
        body["preferences"] = preferences
    return api.post("/plans", body)


@pytest.mark.parametrize(
    ("preferences", "message"),
    [
        ({"weekdays": [6]}, "The clinic is closed on Sundays."),
        (
            {"time_from": "20:00", "time_to": "21:00"},
            "The clinic is not open for a whole Glycolic peel session (45 minutes) "
            "between 20:00 and 21:00.",
        ),
    ],
)
def test_plan_outside_opening_hours_says_the_clinic_is_closed(api_as, preferences, message) -> None:
    response = _plan(api_as("client"), preferences)
    assert response.status_code == 422
    assert [(e["code"], e["message"]) for e in response.json["errors"]] == [
        ("clinic_closed", message)
    ]


def test_plan_with_an_unqualified_practitioner_names_them_and_nothing_else(api_as) -> None:
    jonas = f.make_practitioner(name="Jonas Becker", qualifications=["massage"])
    response = _plan(api_as("client"), {"practitioner": jonas.id})
    assert response.status_code == 422
    assert [(e["code"], e["message"]) for e in response.json["errors"]] == [
        ("not_qualified", "Jonas Becker is not qualified for Glycolic peel.")
    ]


def test_plan_that_cannot_finish_this_season_says_by_when_and_starts_next_season(
    api_as,
) -> None:
    # A one-month season; asked for its 20th, two sessions 14 days apart had to start by its
    # last day less 14 days to finish in it: the plan starts in next year's season.
    today = clock.today()
    month_start = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    earliest = month_start.replace(day=20)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    db.session.query(ClinicSettings).one().horizon_days = 800
    f.make_course(
        code="season_course",
        procedure=db.session.query(Procedure).filter_by(code="peel").one(),
        sessions=2,
        min_interval_days=14,
        max_interval_days=20,
        months_mask=months_to_mask([month_start.month]),
        contraindications=[],
    )
    response = _plan(api_as("client"), course="season_course", earliest=earliest.isoformat())
    assert response.status_code == 200, response.json
    next_season = month_start.replace(year=month_start.year + 1)
    assert response.json["sessions"][0]["start"][:10] >= next_season.isoformat()
    [note] = response.json["notes"]
    assert note["code"] == "out_of_season"
    latest = month_end - timedelta(days=14)
    assert f"must start by {latest.day} {latest:%B %Y}" in note["message"]
    assert note["earliest"] == response.json["sessions"][0]["start"][:10]


def test_enrolment_books_all_sessions_and_answers_them(api_as) -> None:
    day = next_monday()
    response = book(api_as("client"), None, [at(day, 10), at(day + timedelta(days=14), 10)])
    assert response.status_code == 201
    appointments = response.json["appointments"]
    assert [a["session"] for a in appointments] == [1, 2]
    assert [(a["room"], a["device"]) for a in appointments] == [("R1", None)] * 2
    assert appointments[0]["aftercare"][0]["restriction"] in ("no_uv", "no_resurfacing")


def test_enrolment_breaking_spacing_is_422_and_writes_nothing(api_as) -> None:
    day = next_monday()
    response = book(api_as("client"), None, [at(day, 10), at(day + timedelta(days=3), 10)])
    assert response.status_code == 422
    assert "spacing_too_close" in {e["code"] for e in response.json["errors"]}
    assert db.session.query(Appointment).count() == 0


def test_enrolment_in_a_taken_slot_is_409(api_as, clinic) -> None:
    day = next_monday()
    assert book(api_as("receptionist"), clinic["other"].id, [at(day, 10)]).status_code == 201
    response = book(api_as("client"), None, [at(day, 10)])
    assert response.status_code == 409
    assert db.session.query(Appointment).count() == 1


def test_client_cannot_book_for_another_client(api_as, clinic) -> None:
    response = book(api_as("client"), clinic["other"].id, [at(next_monday(), 10)])
    assert response.status_code == 404


def test_client_cannot_override_a_rule(api_as) -> None:
    response = book(api_as("client"), None, [at(next_monday(), 10)], override_reason="please")
    assert response.status_code == 403


def test_enrolment_in_the_past_is_422(api_as) -> None:
    response = book(api_as("client"), None, ["2020-01-06T10:00:00+01:00"])
    assert response.status_code == 422 and response.json["errors"][0]["code"] == "in_the_past"


def test_naive_times_are_refused(api_as) -> None:
    response = book(api_as("client"), None, ["2030-01-07T10:00:00"])
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "sessions.0.start"


# --- appointments ----------------------------------------------------------------------------------


def test_appointments_are_visible_to_their_client_practitioner_and_desk_only(
    api_as, clinic
) -> None:
    day = next_monday()
    booked = book(api_as("receptionist"), clinic["other"].id, [at(day, 10)]).json["appointments"][0]
    assert api_as("client").get("/appointments").json == []
    assert api_as("client").get(f"/appointments/{booked['id']}").status_code == 404
    assert api_as("client").get(f"/appointments?client={clinic['other'].id}").status_code == 404
    assert [a["id"] for a in api_as("other").get("/appointments").json] == [booked["id"]]
    assert [a["id"] for a in api_as("practitioner").get("/appointments").json] == [booked["id"]]
    window = f"/appointments?from={day.isoformat()}&to={day.isoformat()}"
    assert [a["id"] for a in api_as("receptionist").get(window).json] == [booked["id"]]
    later = (day + timedelta(days=1)).isoformat()
    assert api_as("receptionist").get(f"/appointments?from={later}").json == []


def test_moving_session_two_names_session_three_and_offers_a_replan(api_as) -> None:
    api = api_as("client")
    day = next_monday()
    starts = [at(day + timedelta(days=14 * i), 10) for i in range(3)]
    appointments = book(api, None, starts).json["appointments"]
    second, third = appointments[1], appointments[2]
    moved = at(day + timedelta(days=24), 10)
    response = api.patch(f"/appointments/{second['id']}", {"start": moved})
    assert response.status_code == 422
    assert response.json["affected"] == [third["id"]]
    assert response.json["replan"][0]["session"] == 3
    assert api.get(f"/appointments/{second['id']}").json["start"] == starts[1]
    accepted = api.patch(f"/appointments/{second['id']}", {"start": moved, "accept_replan": True})
    assert accepted.status_code == 200 and accepted.json["start"] == moved
    assert (
        api.get(f"/appointments/{third['id']}").json["start"] == response.json["replan"][0]["start"]
    )


def test_move_within_spacing_succeeds(api_as) -> None:
    api = api_as("client")
    day = next_monday()
    first = book(api, None, [at(day, 10)]).json["appointments"][0]
    response = api.patch(f"/appointments/{first['id']}", {"start": at(day, 14)})
    assert response.status_code == 200 and response.json["start"] == at(day, 14)


def test_practitioner_cannot_move_sessions(api_as, clinic) -> None:
    day = next_monday()
    booked = book(api_as("receptionist"), clinic["client"].id, [at(day, 10)]).json["appointments"][
        0
    ]
    assert (
        api_as("practitioner")
        .patch(f"/appointments/{booked['id']}", {"start": at(day, 14)})
        .status_code
        == 403
    )


def test_delete_cancels_and_a_second_delete_is_refused(api_as) -> None:
    api = api_as("client")
    booked = book(api, None, [at(next_monday(), 10)]).json["appointments"][0]
    assert api.delete(f"/appointments/{booked['id']}").status_code == 204
    assert api.get(f"/appointments/{booked['id']}").json["status"] == "cancelled"
    again = api.delete(f"/appointments/{booked['id']}")
    # 409: the session is no longer what the request was meant for (issue 13).
    assert again.status_code == 409
    assert again.json["errors"][0]["code"] == "appointment_changed"


def test_unknown_api_path_is_a_json_404(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["errors"][0]["code"] == "not_found"


def test_token_for_helper_rejects_a_bad_login(client, clinic) -> None:
    with pytest.raises(AssertionError):
        token_for(client, "desk@clinic.example", "wrong-password")


# --- screening, periods, calendars -----------------------------------------------------------------


def test_client_records_its_screening_and_staff_reading_it_is_audited(api_as, clinic) -> None:
    client_id = clinic["client"].id
    body = {
        "conditions": [
            {"code": "isotretinoin", "present": False, "last_date": "2026-09-01"},
            {"code": "pregnancy", "present": False},
        ]
    }
    response = api_as("client").put(f"/clients/{client_id}/screening", body)
    assert response.status_code == 200
    assert response.json["confirmed_at"] is not None
    assert response.json["conditions"] == [
        {"code": "isotretinoin", "present": False, "last_date": "2026-09-01"}
    ]
    read = api_as("receptionist").get(f"/clients/{client_id}/screening")
    assert read.status_code == 200
    from clinic.models import AuditEntry

    assert (
        db.session.query(AuditEntry).filter_by(action="view_screening", client_id=client_id).count()
        == 1
    )


def test_screening_of_another_client_is_404_for_a_client(api_as, clinic) -> None:
    other = clinic["other"].id
    assert api_as("client").get(f"/clients/{other}/screening").status_code == 404
    assert (
        api_as("client").put(f"/clients/{other}/screening", {"conditions": []}).status_code == 404
    )


def test_practitioner_sees_screening_only_of_its_own_clients(api_as, clinic) -> None:
    practitioner = api_as("practitioner")
    assert practitioner.get(f"/clients/{clinic['client'].id}/screening").status_code == 404
    book(api_as("receptionist"), clinic["client"].id, [at(next_monday(), 10)])
    assert practitioner.get(f"/clients/{clinic['client'].id}/screening").status_code == 200


@pytest.mark.parametrize(
    "condition", [{"code": "Bad Code", "present": True}, {"code": "x", "present": "maybe"}]
)
def test_screening_refuses_malformed_answers(api_as, clinic, condition) -> None:
    response = api_as("client").put(
        f"/clients/{clinic['client'].id}/screening", {"conditions": [condition]}
    )
    assert response.status_code == 400 and response.json["errors"][0]["field"].startswith(
        "conditions.0"
    )


def test_declared_holiday_is_created_and_respected_by_the_planner(api_as, clinic) -> None:
    api = api_as("client")
    client_id = clinic["client"].id
    start = next_monday()
    holiday = {
        "kind": "sun_exposure",
        "start": (start + timedelta(days=2)).isoformat(),
        "end": (start + timedelta(days=9)).isoformat(),
        "note": "Beach",
    }
    created = api.post(f"/clients/{client_id}/periods", holiday)
    assert created.status_code == 201 and created.json["kind"] == "sun_exposure"
    refused = book(api, None, [at(start, 10)])
    assert refused.status_code == 422
    assert refused.json["errors"][0]["code"] == "conflicts_with_client_plans"
    plan = api.post("/plans", {"course": "peel_course", "earliest": start.isoformat()}).json
    first = datetime.fromisoformat(plan["sessions"][0]["start"]).date()
    assert first > start + timedelta(days=9)


def test_period_with_end_before_start_is_refused_with_the_field(api_as, clinic) -> None:
    start = next_monday()
    body = {
        "kind": "needs_makeup",
        "start": start.isoformat(),
        "end": (start - timedelta(days=1)).isoformat(),
    }
    response = api_as("client").post(f"/clients/{clinic['client'].id}/periods", body)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "end"


def test_calendar_files_parse_back_with_the_booked_times(api_as) -> None:
    from icalendar import Calendar

    api = api_as("client")
    day = next_monday()
    booked = book(api, None, [at(day, 10)]).json["appointments"][0]
    one = api.get(f"/appointments/{booked['id']}.ics")
    assert one.status_code == 200 and one.mimetype == "text/calendar"
    events = [e for e in Calendar.from_ical(one.data).walk("VEVENT")]
    session = next(
        e for e in events if e.decoded("dtstart") == datetime.fromisoformat(booked["start"])
    )
    assert session.decoded("dtend") == datetime.fromisoformat(booked["end"])
    assert len(events) >= 2  # the session and its aftercare
    whole = api.get("/calendar.ics")
    assert whole.status_code == 200 and b"BEGIN:VEVENT" in whole.data
    assert api_as("other").get(f"/appointments/{booked['id']}.ics").status_code == 404


def test_a_second_enrolment_of_the_same_course_is_422_already_enrolled(api_as, clinic) -> None:
    # Two enrolments of one course the same day, 11:00 and 14:00, would dodge its spacing.
    day = next_monday()
    desk = api_as("receptionist")
    first = book(desk, clinic["client"].id, [at(day, 11)])
    assert first.status_code == 201
    second = book(desk, clinic["client"].id, [at(day, 14)])
    assert second.status_code == 422
    error = second.json["errors"][0]
    assert error["code"] == "already_enrolled"
    assert error["enrolment"] == first.json["id"]
    assert "already booked" in error["message"]
    assert db.session.query(Appointment).count() == 1


@pytest.fixture
def sun_peel(clinic):
    """A peel needing 14 days without sun before it."""
    f.make_course(
        code="sun_peel",
        name="Peel, no sun before",
        procedure=db.session.query(Course).filter_by(code="peel_course").one().procedure,
        sessions=2,
        precare=[("no_uv", "sun", 336)],
    )


@pytest.mark.parametrize(
    ("role", "confirmed", "status", "code"),
    [
        ("receptionist", False, 422, "precare_not_kept"),
        ("receptionist", True, 201, None),
        ("client", True, 403, "forbidden"),
    ],
)
def test_precare_already_begun_needs_staff_to_confirm_it(
    api_as, clinic, sun_peel, role, confirmed, status, code
) -> None:
    tomorrow = datetime.now().date() + timedelta(days=2)
    while tomorrow.weekday() == 6:
        tomorrow += timedelta(days=1)
    extra = {"precare_confirmed": True} if confirmed else {}
    client_id = clinic["client"].id if role == "receptionist" else None
    response = book(api_as(role), client_id, [at(tomorrow, 11)], course="sun_peel", **extra)
    assert response.status_code == status, response.json
    if code:
        error = response.json["errors"][0]
        assert error["code"] == code
        if code == "precare_not_kept":
            assert error["earliest"] > tomorrow.isoformat()
        assert db.session.query(Appointment).count() == 0
