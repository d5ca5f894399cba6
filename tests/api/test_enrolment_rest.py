"""The rest of a course over the API: GET /enrolments/{id}, its plan and more sessions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from clinic.extensions import db
from clinic.models import Appointment
from tests.api.conftest import at
from tests.clock import next_monday, today


def first_session(api, client_id=None):
    body = {"course": "peel_course", "sessions": [{"start": at(next_monday(), 10)}]}
    if client_id is not None:
        body["client"] = client_id
    response = api.post("/enrolments", body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_enrolment_says_what_is_held_booked_and_left(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    response = me.get(f"/enrolments/{enrolment}")
    assert response.status_code == 200
    body = response.json
    assert (body["id"], body["course"], body["status"]) == (enrolment, "peel_course", "active")
    assert (body["sessions_total"], body["held"], body["booked"], body["remaining"]) == (6, 0, 1, 5)
    assert body["next_session"] == 2
    [appointment] = body["appointments"]
    assert (appointment["session"], appointment["status"]) == (1, "booked")
    assert appointment["enrolment"] == enrolment


def test_another_clients_enrolment_is_404(api_as, clinic) -> None:
    enrolment = first_session(api_as("receptionist"), clinic["other"].id)
    me = api_as("client")
    assert me.get(f"/enrolments/{enrolment}").status_code == 404
    assert me.post(f"/enrolments/{enrolment}/plan", {}).status_code == 404
    sessions = {"sessions": [{"start": at(next_monday() + timedelta(days=14), 10)}]}
    assert me.post(f"/enrolments/{enrolment}/sessions", sessions).status_code == 404
    assert me.get("/enrolments/999999").status_code == 404


def test_plan_then_book_the_rest(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    plan = me.post(f"/enrolments/{enrolment}/plan", {})
    assert plan.status_code == 200, plan.json
    assert [s["session"] for s in plan.json["sessions"]] == [2, 3, 4, 5, 6]
    assert len(plan.json["aftercare"]) == 5
    first = date.fromisoformat(plan.json["sessions"][0]["start"][:10])
    assert 14 <= (first - next_monday()).days <= 28
    assert db.session.query(Appointment).count() == 1  # a plan books nothing

    sessions = [
        {"start": s["start"], "practitioner": s["practitioner"]} for s in plan.json["sessions"]
    ]
    booked = me.post(f"/enrolments/{enrolment}/sessions", {"sessions": sessions})
    assert booked.status_code == 201, booked.json
    assert booked.json["id"] == enrolment
    assert [a["session"] for a in booked.json["appointments"]] == [2, 3, 4, 5, 6]
    after = me.get(f"/enrolments/{enrolment}").json
    assert (after["booked"], after["remaining"], after["next_session"]) == (6, 0, None)
    again = me.post(f"/enrolments/{enrolment}/plan", {})
    assert again.status_code == 409 and again.json["errors"][0]["code"] == "nothing_to_book"


def test_plan_of_the_next_session_only(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    plan = me.post(f"/enrolments/{enrolment}/plan", {"count": 1})
    assert [s["session"] for s in plan.json["sessions"]] == [2]


def test_plan_refuses_bad_input_with_the_field(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    past = me.post(f"/enrolments/{enrolment}/plan", {"earliest": "2020-01-01"})
    # A past day is the clinic's policy (services/date_range.py), answered like rule 10.
    assert past.status_code == 422 and past.json["errors"][0]["field"] == "earliest"
    assert past.json["errors"][0]["code"] == "in_the_past"
    too_many = me.post(f"/enrolments/{enrolment}/plan", {"count": 6})
    assert too_many.status_code == 400 and too_many.json["errors"][0]["field"] == "count"
    zero = me.post(f"/enrolments/{enrolment}/plan", {"count": 0})
    assert zero.status_code == 400 and zero.json["errors"][0]["field"] == "count"


def test_sessions_too_close_are_422_and_write_nothing(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    day = next_monday()
    body = {
        "sessions": [
            {"start": at(day + timedelta(days=14), 10)},
            {"start": at(day + timedelta(days=17), 10)},
        ]
    }
    response = me.post(f"/enrolments/{enrolment}/sessions", body)
    assert response.status_code == 422
    assert [e["code"] for e in response.json["errors"]] == ["spacing_too_close"]
    assert response.json["errors"][0]["session"] == 3
    assert db.session.query(Appointment).count() == 1


def test_a_session_before_the_last_one_is_422_session_order(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    body = {"sessions": [{"start": at(next_monday() - timedelta(days=3), 10)}]}
    response = me.post(f"/enrolments/{enrolment}/sessions", body)
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "session_order"


def test_a_cancelled_enrolment_is_409(api_as) -> None:
    desk = api_as("receptionist")
    me = api_as("client")
    enrolment = first_session(me)
    [appointment] = me.get(f"/enrolments/{enrolment}").json["appointments"]
    assert desk.delete(f"/appointments/{appointment['id']}").status_code == 204
    response = me.post(f"/enrolments/{enrolment}/plan", {})
    assert response.status_code == 409
    assert response.json["errors"][0]["code"] == "enrolment_closed"


def test_a_practitioner_reads_but_does_not_book(api_as) -> None:
    enrolment = first_session(api_as("client"))
    practitioner = api_as("practitioner")
    assert practitioner.get(f"/enrolments/{enrolment}").status_code == 200
    assert practitioner.post(f"/enrolments/{enrolment}/plan", {}).status_code == 403


def test_a_client_cannot_override_or_confirm_precare(api_as) -> None:
    me = api_as("client")
    enrolment = first_session(me)
    start = {"start": at(next_monday() + timedelta(days=14), 10)}
    override = {"sessions": [start], "override_reason": "please"}
    assert me.post(f"/enrolments/{enrolment}/sessions", override).status_code == 403
    precare = {"sessions": [start], "precare_confirmed": True}
    assert me.post(f"/enrolments/{enrolment}/sessions", precare).status_code == 403
    assert db.session.query(Appointment).count() == 1


def lapsed_course(api, days: int = 400) -> int:
    """An enrolment whose session 1 was held `days` days ago (a course of 14 to 28 days)."""
    enrolment = first_session(api)
    [session_1] = db.session.query(Appointment).filter_by(enrolment_id=enrolment).all()
    held_on = today() - timedelta(days=days)
    session_1.start_at = datetime.fromisoformat(at(held_on, 10))
    session_1.end_at = session_1.start_at + timedelta(minutes=45)
    session_1.status = "done"
    db.session.commit()
    return enrolment


def test_the_rest_of_a_lapsed_course_is_422_then_booked_by_staff_with_a_reason(api_as) -> None:
    me = api_as("client")
    enrolment = lapsed_course(me)
    body = {"sessions": [{"start": at(next_monday(), 10)}]}

    refused = me.post(f"/enrolments/{enrolment}/sessions", body)
    assert refused.status_code == 422
    assert [(e["code"], e["session"]) for e in refused.json["errors"]] == [("spacing_too_far", 2)]
    plan = me.post(f"/enrolments/{enrolment}/plan", {})
    assert plan.status_code == 422
    assert [e["code"] for e in plan.json["errors"]] == ["spacing_too_far"]
    mine = me.post(f"/enrolments/{enrolment}/sessions", {**body, "override_reason": "I know"})
    assert mine.status_code == 403
    assert db.session.query(Appointment).count() == 1

    desk = api_as("receptionist")
    booked = desk.post(
        f"/enrolments/{enrolment}/sessions",
        {**body, "override_reason": "Back after a year: restarting the course knowingly"},
    )
    assert booked.status_code == 201, booked.json
    assert [a["session"] for a in booked.json["appointments"]] == [2]
    restart = db.session.get(Appointment, booked.json["appointments"][0]["id"])
    assert restart.override_reason == "Back after a year: restarting the course knowingly"
