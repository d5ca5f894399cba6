"""The attention list and accepting a re-plan through the JSON API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, AuditEntry, OutboxMessage
from clinic.services.core.actors import actor_for
from clinic.services.staffing import time_off
from tests.api.conftest import at
from tests.clock import next_monday


@pytest.fixture
def flagged(api_as, clinic):
    """Carla's two peels, the second on a day Anna has since taken off, flagged."""
    desk = api_as("receptionist")
    first, second = next_monday(2), next_monday(4)
    booked = desk.post(
        "/enrolments",
        json={
            "course": "peel_course",
            "client": clinic["client"].id,
            "sessions": [{"start": at(first, 10)}, {"start": at(second, 10)}],
        },
    )
    assert booked.status_code == 201, booked.json
    ids = [a["id"] for a in booked.json["appointments"]]
    # Anna's day off, through the service and confirmed: the session it breaks is flagged.
    change = time_off.add_time_off(
        actor=actor_for(clinic["admin"]),
        practitioner_id=clinic["practitioner"].id,
        start_on=second,
        end_on=second,
        confirm=True,
    )
    assert {b.appointment_id for b in change.broken} == {ids[1]}
    return {"desk": desk, "enrolment": booked.json["id"], "ids": ids, "second": second}


def test_attention_lists_the_flagged_session_with_its_replan(flagged, clinic) -> None:
    response = flagged["desk"].get("/attention")
    assert response.status_code == 200
    [item] = response.json
    assert item["appointment"] == flagged["ids"][1]
    assert item["enrolment"] == flagged["enrolment"]
    assert item["client"] == clinic["client"].id
    assert item["start"].endswith(("+01:00", "+02:00"))
    day = flagged["second"]
    assert item["errors"] == [
        {
            "code": "practitioner_unavailable",
            "message": f"Anna is off on {day:%a} {day.day} {day:%b %Y}.",
        }
    ]
    assert item["cause"] == f"Time off for Anna, {day:%a %d %b %Y}"
    assert [m["appointment"] for m in item["replan"]] == [flagged["ids"][1]]
    assert item["replan"][0]["practitioner"] == clinic["practitioner"].id
    assert item["replan"][0]["start"] != item["start"]
    # The session as the list saw it, to send back with the re-plan.
    assert item["replan"][0]["seen"] == {
        "status": "booked",
        "start": item["start"],
        "practitioner": clinic["practitioner"].id,
    }


def test_attention_filters_by_client(flagged, clinic) -> None:
    assert len(flagged["desk"].get(f"/attention?client={clinic['client'].id}").json) == 1
    assert flagged["desk"].get(f"/attention?client={clinic['other'].id}").json == []
    assert flagged["desk"].get("/attention?client=abc").status_code == 400


@pytest.mark.parametrize("role", ["client", "other"])
def test_clients_get_403_from_the_attention_list_and_replan(flagged, api_as, role) -> None:
    api = api_as(role)
    assert api.get("/attention").status_code == 403
    body = {"sessions": [{"appointment": flagged["ids"][1], "start": at(next_monday(4), 11)}]}
    response = api.post(f"/enrolments/{flagged['enrolment']}/replan", json=body)
    assert response.status_code == 403
    assert response.json["errors"][0]["code"] == "forbidden"


def test_accepting_the_replan_moves_the_session_and_clears_the_flag(flagged) -> None:
    desk = flagged["desk"]
    [item] = desk.get("/attention").json
    body = {"sessions": item["replan"]}
    response = desk.post(f"/enrolments/{flagged['enrolment']}/replan", json=body)
    assert response.status_code == 200, response.json
    [moved] = response.json
    assert moved["id"] == flagged["ids"][1]
    assert moved["start"] == item["replan"][0]["start"]
    assert {"enrolment", "session", "end", "status", "aftercare"} <= moved.keys()
    assert desk.get("/attention").json == []
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 0


def test_a_replan_that_breaks_a_rule_is_422_and_writes_nothing(flagged) -> None:
    desk = flagged["desk"]
    before = db.session.get(Appointment, flagged["ids"][1]).start_at
    too_close = at(next_monday(2) + timedelta(days=2), 10)
    body = {"sessions": [{"appointment": flagged["ids"][1], "start": too_close}]}
    response = desk.post(f"/enrolments/{flagged['enrolment']}/replan", json=body)
    assert response.status_code == 422
    assert "spacing_too_close" in {e["code"] for e in response.json["errors"]}
    db.session.expire_all()
    assert db.session.get(Appointment, flagged["ids"][1]).start_at == before
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 1


def test_a_replan_onto_a_taken_slot_is_409(flagged, api_as, clinic) -> None:
    desk = flagged["desk"]
    taken = at(next_monday(4) + timedelta(days=1), 10)
    other = desk.post(
        "/enrolments",
        json={
            "course": "peel_course",
            "client": clinic["other"].id,
            "sessions": [{"start": taken}],
        },
    )
    assert other.status_code == 201
    body = {
        "sessions": [
            {
                "appointment": flagged["ids"][1],
                "start": taken,
                "practitioner": clinic["practitioner"].id,
            }
        ]
    }
    response = desk.post(f"/enrolments/{flagged['enrolment']}/replan", json=body)
    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 1


def test_replan_of_an_unknown_enrolment_is_404_and_bad_bodies_400(flagged) -> None:
    desk = flagged["desk"]
    body = {"sessions": [{"appointment": flagged["ids"][1], "start": at(next_monday(4), 11)}]}
    assert desk.post("/enrolments/999999/replan", json=body).status_code == 404
    url = f"/enrolments/{flagged['enrolment']}/replan"
    assert desk.post(url, json={}).status_code == 400
    naive = {"sessions": [{"appointment": flagged["ids"][1], "start": "2030-01-01T10:00"}]}
    assert desk.post(url, json=naive).status_code == 400


def test_openapi_document_describes_the_attention_endpoints(client) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    listing = paths["/api/v1/attention"]["get"]
    assert {"200", "401", "403"} <= listing["responses"].keys()
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    replan = paths["/api/v1/enrolments/{enrolment_id}/replan"]["post"]
    assert {"200", "403", "404", "409", "422"} <= replan["responses"].keys()
    assert "requestBody" in replan


def test_accepting_no_moves_keeps_the_flag_of_a_session_still_broken(flagged) -> None:
    url = f"/enrolments/{flagged['enrolment']}/replan"
    response = flagged["desk"].post(url, json={"sessions": []})
    assert response.status_code == 200 and response.json == []
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 1


def test_a_stale_replan_is_409_when_the_client_moved_the_session_since(flagged, api_as) -> None:
    """Reception reads the list; the client moves the flagged session herself (its flag
    goes); reception accepts the re-plan it read: 409 naming what changed, her move stays."""
    desk = flagged["desk"]
    [item] = desk.get("/attention").json
    hers = at(flagged["second"] + timedelta(days=1), 12)
    moved = api_as("client").patch(f"/appointments/{flagged['ids'][1]}", json={"start": hers})
    assert moved.status_code == 200, moved.json
    assert desk.get("/attention").json == []
    response = desk.post(
        f"/enrolments/{flagged['enrolment']}/replan", json={"sessions": item["replan"]}
    )
    assert response.status_code == 409, response.json
    [error] = response.json["errors"]
    assert error["code"] == "appointment_changed"
    assert error["message"].startswith("Session 2 was just moved to ")
    assert response.json["affected"] == [flagged["ids"][1]]
    db.session.expire_all()
    assert db.session.get(Appointment, flagged["ids"][1]).start_at == datetime.fromisoformat(hers)
    # Only her own move is told (issue 22: every change, whoever made it); the re-plan is not.
    told = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.kind == "sessions_moved")
    ).all()
    assert len(told) == 1 and "moved as you asked" in told[0]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "replan")) is None


def test_a_replan_without_what_was_seen_takes_the_sessions_as_they_are(flagged) -> None:
    """An API caller that sends no `seen` (the shape API.md first gave) moves the sessions as
    they are when the request arrives, as PATCH does (docs/DECISIONS.md)."""
    desk = flagged["desk"]
    [item] = desk.get("/attention").json
    bare = [{k: m[k] for k in ("appointment", "start", "practitioner")} for m in item["replan"]]
    response = desk.post(f"/enrolments/{flagged['enrolment']}/replan", json={"sessions": bare})
    assert response.status_code == 200, response.json
    assert response.json[0]["start"] == item["replan"][0]["start"]


def test_a_replan_with_a_malformed_seen_is_400(flagged) -> None:
    desk = flagged["desk"]
    [item] = desk.get("/attention").json
    move = {**item["replan"][0], "seen": {"status": "booked", "start": "2030-01-01T10:00"}}
    url = f"/enrolments/{flagged['enrolment']}/replan"
    assert desk.post(url, json={"sessions": [move]}).status_code == 400
