"""GET /availability?client=: only the starts that client's rules accept; a client names only
themselves."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinic.services.core.actors import actor_for
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.api.conftest import at
from tests.clock import local, next_monday


def starts(response) -> list[str]:
    assert response.status_code == 200, response.json
    return sorted({s["start"] for s in response.json["slots"]})


def book(clinic, course_code: str, *sessions: datetime, practitioner=None) -> None:
    enrol.book_course(
        actor=actor_for(clinic["desk"]),
        course_code=course_code,
        client_id=clinic["client"].id,
        sessions=[SessionRequest(s, (practitioner or clinic["practitioner"]).id) for s in sessions],
    )


def test_with_client_the_next_session_of_their_course_keeps_its_spacing(api_as, clinic) -> None:
    monday = next_monday()
    book(clinic, "peel_course", local(monday, 10))  # session 1 of 6 only
    api = api_as("client")
    me = clinic["client"].id
    too_close = (monday + timedelta(days=7)).isoformat()
    assert starts(api.get(f"/availability?procedure=peel&date={too_close}"))
    assert starts(api.get(f"/availability?procedure=peel&date={too_close}&client={me}")) == []
    in_time = monday + timedelta(days=14)
    offered = starts(api.get(f"/availability?procedure=peel&date={in_time}&client={me}"))
    assert offered and offered[0] == at(in_time, 9)


def test_with_client_no_start_inside_another_sessions_restriction(api_as, clinic) -> None:
    laser = f.make_procedure(code="laser", name="Laser", qualification="laser", blocked_by=[])
    f.make_course(
        code="laser_course",
        name="Laser",
        procedure=laser,
        sessions=1,
        aftercare=[("no_resurfacing", "other", 72)],
        contraindications=[],
    )
    f.make_practitioner(name="Lena", qualifications=["laser"])
    monday = next_monday()
    book(clinic, "laser_course", local(monday, 10))
    thursday = monday + timedelta(days=3)
    query = f"/availability?procedure=peel&date={thursday.isoformat()}"
    everyone = starts(api_as("receptionist").get(query))
    theirs = starts(api_as("receptionist").get(f"{query}&client={clinic['client'].id}"))
    assert at(thursday, 9) in everyone and at(thursday, 9) not in theirs
    assert theirs[0] == at(thursday, 10)  # the 72 hours end at 10:00


def test_with_client_no_start_that_overlaps_their_own_session(api_as, clinic) -> None:
    massage = f.make_procedure(code="massage", name="Massage", qualification="massage")
    f.make_course(
        code="massage_course",
        name="Massage",
        procedure=massage,
        sessions=1,
        aftercare=[],
        contraindications=[],
    )
    lena = f.make_practitioner(name="Lena", qualifications=["massage"])
    monday = next_monday()
    book(clinic, "massage_course", local(monday, 12), practitioner=lena)
    query = f"/availability?procedure=peel&date={monday.isoformat()}"
    everyone = starts(api_as("client").get(query))
    theirs = starts(api_as("client").get(f"{query}&client={clinic['client'].id}"))
    assert at(monday, 12) in everyone and at(monday, 12) not in theirs
    # Both last 45 minutes: a peel may end as the massage begins, or begin as it ends.
    assert at(monday, 11, 30) in everyone and at(monday, 11, 30) not in theirs
    assert at(monday, 11, 15) in theirs and at(monday, 12, 45) in theirs


@pytest.mark.parametrize(
    ("role", "whose", "status"),
    [
        ("client", "client", 200),
        ("client", "other", 404),
        ("client", "unknown", 404),
        ("receptionist", "other", 200),
        ("receptionist", "unknown", 404),
        ("admin", "client", 200),
        ("practitioner", "other", 404),  # not a client of theirs
    ],
)
def test_a_client_names_only_themselves_and_unknown_clients_are_404(
    api_as, clinic, role, whose, status
) -> None:
    client_id = 999_999 if whose == "unknown" else clinic[whose].id
    day = next_monday().isoformat()
    response = api_as(role).get(f"/availability?procedure=peel&date={day}&client={client_id}")
    assert response.status_code == status
    if status == 404:
        assert response.json["errors"][0]["field"] == "client"


@pytest.mark.parametrize("value", ["x", "0", "-3"])
def test_a_malformed_client_is_400_with_the_field(api_as, value) -> None:
    response = api_as("client").get(
        f"/availability?procedure=peel&date={next_monday().isoformat()}&client={value}"
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "client"
