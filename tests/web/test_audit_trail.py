"""The admin's audit trail: screening views and changes, overrides with their reasons."""

from __future__ import annotations

import pytest

from clinic.services.core import audit
from clinic.services.core.errors import PermissionDenied
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from clinic.services.people import client_records, health_screening, privacy
from tests import factories as f
from tests.clock import local, next_monday


@pytest.fixture
def trail(clinic):
    """A receptionist read a client's screening, the client changed it, and reception booked
    over the client's declared holiday with a reason."""
    desk = f.actor("receptionist")
    client_records.get_client_record(actor=desk, client_id=clinic.client.id)
    health_screening.save_screening(
        actor=f.client_actor(clinic.client),
        answers=[health_screening.ConditionAnswer("pregnancy", True, None)],
    )
    monday = next_monday(4)
    holiday = f.make_client(name="Holly Day", periods=[("sun_exposure", monday, monday)])
    enrol.book_course(
        actor=desk,
        course_code=clinic.course.code,
        client_id=holiday.id,
        sessions=[SessionRequest(local(monday, 10), clinic.practitioner.id)],
        override_reason="Stays in the shade all week",
    )
    return clinic


def test_admin_sees_screening_views_changes_and_overrides(trail, client, login_as) -> None:
    login_as("admin")
    page = client.get("/staff/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "view screening" in text
    assert "screening client" in text
    assert "Stays in the shade all week" in text


def test_audit_filter_shows_only_overrides(trail, client, login_as) -> None:
    login_as("admin")
    text = client.get("/staff/audit?kind=overrides").get_data(as_text=True)
    assert "Stays in the shade all week" in text
    assert "view screening" not in text


def test_audit_filter_refuses_an_unknown_kind(trail, client, login_as) -> None:
    login_as("admin")
    assert client.get("/staff/audit?kind=everything").status_code == 422


@pytest.mark.parametrize("role", ["receptionist", "practitioner", "client"])
def test_audit_trail_is_for_admins_only(trail, client, login_as, role) -> None:
    login_as(role)
    assert client.get("/staff/audit").status_code == 403
    with pytest.raises(PermissionDenied):
        audit.list_entries(actor=f.actor(role))


def test_privacy_requests_are_listed(trail) -> None:
    privacy.export_client_data(actor=f.client_actor(trail.client))
    entries = audit.list_entries(actor=f.actor("admin"), kind="privacy")
    assert [(e.action, e.client_id) for e in entries] == [("export", trail.client.id)]
