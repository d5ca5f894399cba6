"""The API's changes of the world: a client's new screening answers or declared period are
kept, flag the booked sessions they break and name them in `affected`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AttentionFlag
from tests.api.conftest import at
from tests.clock import next_monday


def _book(api_as, clinic) -> tuple[list[int], object]:
    monday = next_monday(3)
    starts = [at(monday + timedelta(days=14 * i), 10) for i in range(2)]
    response = api_as("receptionist").post(
        "/enrolments",
        {
            "course": "peel_course",
            "client": clinic["client"].id,
            "sessions": [{"start": s} for s in starts],
        },
    )
    assert response.status_code == 201, response.json
    return [a["id"] for a in response.json["appointments"]], monday


def flagged() -> set[int]:
    return set(db.session.scalars(select(AttentionFlag.appointment_id)))


def test_new_screening_answers_flag_and_name_the_sessions_they_break(api_as, clinic) -> None:
    ids, _ = _book(api_as, clinic)
    client_id = clinic["client"].id
    body = {"conditions": [{"code": "pregnancy", "present": True}]}
    response = api_as("client").put(f"/clients/{client_id}/screening", body)

    assert response.status_code == 200, response.json
    assert response.json["affected"] == ids
    assert flagged() == set(ids)

    cleared = api_as("client").put(f"/clients/{client_id}/screening", {"conditions": []})
    assert cleared.json["affected"] == [] and flagged() == set()


def test_a_declared_period_flags_the_session_whose_aftercare_it_meets(api_as, clinic) -> None:
    ids, monday = _book(api_as, clinic)
    beach = (monday + timedelta(days=2)).isoformat()
    response = api_as("receptionist").post(
        f"/clients/{clinic['client'].id}/periods",
        {"kind": "sun_exposure", "start": beach, "end": beach},
    )

    assert response.status_code == 201, response.json
    assert response.json["affected"] == [ids[0]]
    assert flagged() == {ids[0]}


def test_a_period_breaking_nothing_has_nothing_affected(api_as, clinic) -> None:
    _book(api_as, clinic)
    far = (next_monday(30)).isoformat()
    response = api_as("client").post(
        f"/clients/{clinic['client'].id}/periods",
        {"kind": "needs_makeup", "start": far, "end": far},
    )
    assert response.status_code == 201 and response.json["affected"] == []
