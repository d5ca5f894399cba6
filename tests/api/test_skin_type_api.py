"""The skin phototype (issue 21): the screening records it, a course lists the phototypes it
may treat, and a client outside the list is `contraindicated` in plans, bookings and when a
new answer rules out sessions already booked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AttentionFlag, AuditEntry, Course, phototypes_to_mask
from clinic.services.core.cache import catalogue_changed
from tests.api.conftest import at
from tests.clock import next_monday


def _light_skin_only() -> None:
    """The clinic's peel course treats skin types I to IV only, from now on."""
    course = db.session.scalar(select(Course).where(Course.code == "peel_course"))
    course.phototypes_mask = phototypes_to_mask([1, 2, 3, 4])
    catalogue_changed()
    db.session.commit()


def test_the_screening_records_the_skin_type_and_keeps_it_when_left_out(api_as, clinic) -> None:
    client_id = clinic["client"].id
    api = api_as("client")

    saved = api.put(f"/clients/{client_id}/screening", {"conditions": [], "phototype": 3})
    assert saved.status_code == 200, saved.json
    assert saved.json["phototype"] == 3
    assert api.get(f"/clients/{client_id}/screening").json["phototype"] == 3
    kept = api.put(f"/clients/{client_id}/screening", {"conditions": []})
    assert kept.json["phototype"] == 3
    audit = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "screening").order_by(AuditEntry.id)
    ).first()
    assert audit.detail["changes"]["phototype"] == {"before": None, "after": 3}


def test_a_skin_type_out_of_range_is_refused_and_nothing_is_written(api_as, clinic) -> None:
    client_id = clinic["client"].id
    for wrong in (0, 7, "III", True):
        refused = api_as("client").put(
            f"/clients/{client_id}/screening", {"conditions": [], "phototype": wrong}
        )
        assert refused.status_code == 400, (wrong, refused.json)
        assert [e["field"] for e in refused.json["errors"]] == ["phototype"]
    assert api_as("client").get(f"/clients/{client_id}/screening").json["phototype"] is None


def test_courses_say_which_skin_types_they_treat(api_as, clinic) -> None:
    assert api_as("client").get("/courses").json[0]["phototypes"] == [1, 2, 3, 4, 5, 6]
    _light_skin_only()
    assert api_as("client").get("/courses").json[0]["phototypes"] == [1, 2, 3, 4]


def test_a_skin_type_the_course_does_not_treat_is_contraindicated(api_as, clinic) -> None:
    _light_skin_only()
    client_id = clinic["client"].id
    api_as("client").put(f"/clients/{client_id}/screening", {"conditions": [], "phototype": 5})
    monday = next_monday(3)

    plan = api_as("client").post(
        "/plans", {"course": "peel_course", "earliest": monday.isoformat()}
    )
    assert plan.status_code == 422, plan.json
    assert [e["code"] for e in plan.json["errors"]] == ["contraindicated"]
    assert "skin type V" in plan.json["errors"][0]["message"]
    booking = api_as("receptionist").post(
        "/enrolments",
        {"course": "peel_course", "client": client_id, "sessions": [{"start": at(monday, 10)}]},
    )
    assert booking.status_code == 422, booking.json
    assert {e["code"] for e in booking.json["errors"]} == {"contraindicated"}

    api_as("client").put(f"/clients/{client_id}/screening", {"conditions": [], "phototype": 4})
    plan = api_as("client").post(
        "/plans", {"course": "peel_course", "earliest": monday.isoformat()}
    )
    assert plan.status_code == 200, plan.json


def test_a_new_skin_type_flags_the_booked_sessions_it_rules_out(api_as, clinic) -> None:
    _light_skin_only()
    client_id = clinic["client"].id
    api_as("client").put(f"/clients/{client_id}/screening", {"conditions": [], "phototype": 2})
    monday = next_monday(3)
    starts = [at(monday + timedelta(days=14 * i), 10) for i in range(2)]
    booked = api_as("receptionist").post(
        "/enrolments",
        {"course": "peel_course", "client": client_id, "sessions": [{"start": s} for s in starts]},
    )
    assert booked.status_code == 201, booked.json
    ids = [a["id"] for a in booked.json["appointments"]]

    changed = api_as("client").put(
        f"/clients/{client_id}/screening", {"conditions": [], "phototype": 6}
    )

    assert changed.status_code == 200, changed.json
    assert changed.json["affected"] == ids
    assert set(db.session.scalars(select(AttentionFlag.appointment_id))) == set(ids)
