"""Rules as booked in the staff pages: the template editor says how many booked courses keep
their rules; reception moves a booked course to the current rules from the client record."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEntry, Enrolment
from clinic.services.catalogue import catalogue_admin
from tests import factories as f
from tests.clock import local, next_monday
from tests.web.test_staff_catalogue import course_data


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def edit_course(**changes: Any) -> None:
    values = catalogue_admin.as_values(catalogue_admin.get_record("course", "peel_course"))
    values.update(changes)
    catalogue_admin.save(actor=f.actor("admin"), kind="course", values=values, create=False)


def booked(clinic, weeks: int = 14) -> Enrolment:
    monday = next_monday()
    return clinic.book(*(local(monday + timedelta(days=weeks * k), 10) for k in range(3)))


def test_the_course_editor_says_how_many_booked_courses_keep_their_rules(
    client, login_as, clinic
) -> None:
    f.make_restriction("no_makeup", "makeup", "No makeup")
    booked(clinic)
    login_as("admin")

    page = text_of(client.get("/staff/catalogue/course/peel_course"))
    assert (
        "1 booked course keeps the rules it was booked under; this change applies to new "
        "bookings. Move a booked course to the new rules from its page." in page
    )

    response = client.post(
        "/staff/catalogue/course/peel_course", data=course_data(code="peel_course")
    )
    assert response.status_code == 302
    after = text_of(client.get(response.headers["Location"]))
    assert "1 booked course keeps the rules it was booked under" in after


def test_reception_moves_a_booked_course_to_the_current_rules(client, login_as, clinic) -> None:
    enrolment = booked(clinic)
    login_as("receptionist")
    record = f"/staff/clients/{clinic.client.id}"
    assert "Move to the current rules" not in text_of(client.get(record))

    edit_course(aftercare=[{"restriction": "no_uv", "hours": 240}])
    assert "Move to the current rules" in text_of(client.get(record))
    preview = text_of(client.get(f"/staff/enrolments/{enrolment.id}/rules"))
    assert "10 days" in preview and "7 days" in preview  # current, and as booked
    assert preview.count("Holds") == 3

    response = client.post(f"/staff/enrolments/{enrolment.id}/rules", data={})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).rules["care"][0]["hours"] == 240
    assert "Move to the current rules" not in text_of(client.get(record))


def test_moving_to_rules_a_session_would_break_is_refused_with_its_sentences(
    client, login_as, clinic
) -> None:
    enrolment = booked(clinic)
    kept = dict(enrolment.rules)
    login_as("receptionist")
    edit_course(min_interval_days=21)

    preview = text_of(client.get(f"/staff/enrolments/{enrolment.id}/rules"))
    assert "Would break" in preview and "would break under the current rules" in preview

    response = client.post(f"/staff/enrolments/{enrolment.id}/rules", data={})
    assert response.status_code == 422
    assert "21" in text_of(response) and "Not possible as it stands" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).rules == kept
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "adopt_rules")) is None


def test_moving_to_the_current_rules_refuses_a_post_without_csrf_token(
    client, login_as, clinic, csrf_on
) -> None:
    enrolment = booked(clinic)
    kept = dict(enrolment.rules)
    login_as("receptionist")
    edit_course(aftercare=[{"restriction": "no_uv", "hours": 240}])

    response = client.post(f"/staff/enrolments/{enrolment.id}/rules", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).rules == kept


@pytest.mark.parametrize(("role", "status"), [("practitioner", 403), ("client", 403)])
def test_only_reception_reaches_the_current_rules_page(
    client, login_as, clinic, role, status
) -> None:
    enrolment = booked(clinic)
    login_as(role)
    assert client.get(f"/staff/enrolments/{enrolment.id}/rules").status_code == status
    assert client.post(f"/staff/enrolments/{enrolment.id}/rules").status_code == status
