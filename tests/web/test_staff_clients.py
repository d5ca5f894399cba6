"""The client record for staff: what it shows, who may see it, and the audit of viewing it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEntry
from tests import factories as f
from tests.clock import local, next_monday
from tests.web.conftest import ALL_ROLES

STAFF = {"admin", "receptionist", "practitioner"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_client_list_is_for_staff(client, login_as, clinic, role) -> None:
    login_as(role)
    assert client.get("/staff/clients").status_code == (200 if role in STAFF else 403)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_client_record_is_for_staff(client, login_as, clinic, role) -> None:
    clinic.book(local(next_monday(), 10))
    login_as(role, **({"practitioner": clinic.practitioner} if role == "practitioner" else {}))
    response = client.get(f"/staff/clients/{clinic.client.id}")
    assert response.status_code == (200 if role in STAFF else 403)


def test_search_finds_clients_by_name_fragment(client, login_as, clinic) -> None:
    f.make_client(name="Zoe Zimmer")
    login_as("receptionist")
    html = client.get("/staff/clients?q=zimm").get_data(as_text=True)
    assert "Zoe Zimmer" in html and "Anna Client" not in html


def test_search_refuses_an_overlong_query(client, login_as, clinic) -> None:
    login_as("receptionist")
    response = client.get("/staff/clients?q=" + "x" * 101)
    assert response.status_code == 422
    assert "Field cannot be longer than 100 characters." in response.get_data(as_text=True)


def test_practitioner_lists_only_their_own_clients(client, login_as, clinic) -> None:
    clinic.book(local(next_monday(), 10))
    f.make_client(name="Stranger Client")
    login_as("practitioner", practitioner=clinic.practitioner)
    html = client.get("/staff/clients").get_data(as_text=True)
    assert "Anna Client" in html and "Stranger Client" not in html


def test_practitioner_gets_not_found_for_a_client_they_never_treated(
    client, login_as, clinic
) -> None:
    login_as("practitioner")
    assert client.get(f"/staff/clients/{clinic.client.id}").status_code == 404


def test_unknown_client_is_not_found(client, login_as, clinic) -> None:
    login_as("receptionist")
    assert client.get("/staff/clients/9999").status_code == 404


def test_record_shows_contact_screening_plans_courses_and_restrictions(
    client, login_as, clinic
) -> None:
    monday = next_monday()
    person = f.make_client(
        name="Rita Record",
        conditions={"isotretinoin": (False, date(2025, 1, 10))},
        periods=[("needs_makeup", monday + timedelta(days=60), monday + timedelta(days=60))],
    )
    person.phone = "+49 30 1234"
    person.notes = "Prefers mornings"
    person.screening_confirmed_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    f.commit()
    clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10), client=person)
    login_as("receptionist")
    html = client.get(f"/staff/clients/{person.id}").get_data(as_text=True)
    assert "+49 30 1234" in html and "Prefers mornings" in html
    assert "Last confirmed Mon 5 Jan 2026" in html
    assert "isotretinoin (Roaccutane)" in html and "Fri 10 Jan 2025" in html
    assert "Needs makeup" in html
    assert "0 of 6 held, 2 booked, 4 to book" in html
    assert "Glycolic peel, 6 sessions" in html
    assert "No uv until" in html  # the aftercare of the booked sessions


def test_viewing_the_record_is_audited_and_the_audit_is_shown(client, login_as, clinic) -> None:
    user = login_as("receptionist", name="Rea Reception")
    client.get(f"/staff/clients/{clinic.client.id}")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "view_screening"))
    assert (entry.actor_id, entry.client_id) == (user.id, clinic.client.id)
    html = client.get(f"/staff/clients/{clinic.client.id}").get_data(as_text=True)
    assert "Rea Reception (receptionist)" in html and "view screening" in html
