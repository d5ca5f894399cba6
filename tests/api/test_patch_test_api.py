"""The patch test through the API (issue 21): POST /plans proposes it first, POST /enrolments
books it with the course in one transaction, and a reaction rules the course out and flags
its booked sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, Enrolment
from tests import factories as f
from tests.clock import next_monday


@pytest.fixture
def laser(clinic):
    """A CO2 laser course whose procedure needs a patch test 48 hours to 90 days before it, and
    the one-session course the test is booked as."""
    laser = f.make_procedure(code="co2", name="CO2 laser")
    f.make_patch_test(laser, "co2_patch")
    f.make_course(
        code="co2_course",
        name="CO2, 3 sessions",
        procedure=laser,
        sessions=3,
        min_interval_days=28,
        max_interval_days=90,
        aftercare=[],
        contraindications=[],
    )
    return clinic


def _plan(api_as, when) -> dict:
    answer = api_as("client").post("/plans", {"course": "co2_course", "earliest": when.isoformat()})
    assert answer.status_code == 200, answer.json
    return answer.json


def test_the_plan_proposes_the_patch_test_first(api_as, laser) -> None:
    plan = _plan(api_as, next_monday(2))
    test, first = plan["sessions"][0], plan["sessions"][1]
    assert test["patch_test"] is True and test["session"] is None
    assert [s["session"] for s in plan["sessions"][1:]] == [1, 2, 3]
    assert len(plan["aftercare"]) == 4
    gap = datetime.fromisoformat(first["start"]) - datetime.fromisoformat(test["start"])
    assert timedelta(hours=48) <= gap <= timedelta(days=90)


def test_the_course_without_its_patch_test_is_refused_and_with_it_booked_at_once(
    api_as, laser
) -> None:
    plan = _plan(api_as, next_monday(2))
    test, sessions = plan["sessions"][0], plan["sessions"][1:]
    body = {"course": "co2_course", "sessions": [{"start": s["start"]} for s in sessions]}

    refused = api_as("client").post("/enrolments", body)
    assert refused.status_code == 422, refused.json
    assert [e["code"] for e in refused.json["errors"]] == ["patch_test_required"]
    assert db.session.scalar(select(Enrolment.id)) is None

    booked = api_as("client").post("/enrolments", body | {"patch_test": {"start": test["start"]}})
    assert booked.status_code == 201, booked.json
    codes = db.session.scalars(select(Enrolment.course_id).order_by(Enrolment.id)).all()
    assert len(codes) == 2
    starts = sorted(a.start_at for a in db.session.scalars(select(Appointment)))
    assert (
        starts[0].isoformat()
        == datetime.fromisoformat(test["start"]).astimezone(starts[0].tzinfo).isoformat()
    )
    assert len(starts) == 4


def test_a_patch_test_the_course_refuses_writes_nothing(api_as, laser) -> None:
    plan = _plan(api_as, next_monday(2))
    sessions = plan["sessions"][1:]
    # A test the day before the first session: too late for its 48 hours.
    too_late = datetime.fromisoformat(sessions[0]["start"]) - timedelta(days=1)
    body = {
        "course": "co2_course",
        "sessions": [{"start": s["start"]} for s in sessions],
        "patch_test": {"start": too_late.isoformat()},
    }
    refused = api_as("client").post("/enrolments", body)
    assert refused.status_code == 422, refused.json
    assert "patch_test_required" in {e["code"] for e in refused.json["errors"]}
    assert db.session.scalar(select(Appointment.id)) is None


def test_a_reaction_rules_the_course_out_and_flags_its_booked_sessions(
    api_as, laser, monkeypatch
) -> None:
    plan = _plan(api_as, next_monday(2))
    test, sessions = plan["sessions"][0], plan["sessions"][1:]
    booked = api_as("receptionist").post(
        "/enrolments",
        {
            "course": "co2_course",
            "client": laser["client"].id,
            "sessions": [{"start": s["start"]} for s in sessions],
            "patch_test": {"start": test["start"]},
        },
    )
    assert booked.status_code == 201, booked.json
    course_ids = [a["id"] for a in booked.json["appointments"]]
    test_row = db.session.scalar(select(Appointment).where(Appointment.id.not_in(course_ids)))
    # The test was held (as staff would mark it once it has taken place).
    test_row.status = "done"
    db.session.commit()

    not_staff = api_as("client").post(f"/appointments/{test_row.id}/reaction", {"note": "Redness"})
    assert not_staff.status_code == 403
    empty = api_as("receptionist").post(f"/appointments/{test_row.id}/reaction", {"note": ""})
    assert empty.status_code == 400
    saved = api_as("practitioner").post(
        f"/appointments/{test_row.id}/reaction", {"note": "Redness and swelling for 2 days"}
    )

    assert saved.status_code == 200, saved.json
    assert sorted(saved.json["affected"]) == sorted(course_ids)
    assert set(db.session.scalars(select(AttentionFlag.appointment_id))) == set(course_ids)
    again = api_as("client").post(
        "/plans", {"course": "co2_course", "earliest": next_monday(20).isoformat()}
    )
    assert again.status_code == 422
    assert [e["code"] for e in again.json["errors"]] == ["contraindicated"]
    assert "Redness and swelling" in again.json["errors"][0]["message"]
