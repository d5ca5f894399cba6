"""A client's data: the export holds everything, erasure anonymises and keeps the history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import (
    ApiToken,
    Appointment,
    AuditEntry,
    Client,
    ClientCondition,
    ClientPeriod,
    Enrolment,
    MessageChoice,
    OutboxMessage,
)
from clinic.services.core.errors import NotFound, PermissionDenied
from clinic.services.courses import enrol, outcomes
from clinic.services.courses.placing import SessionRequest
from clinic.services.people import accounts, clients, privacy
from clinic.services.world import client_reads
from tests import factories as f
from tests.clock import NOW, local

LATER = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # after session 1, before session 2


@pytest.fixture
def history(app):
    """A client with screening answers, a declared holiday, a login with an API token,
    one session done and one to come, and a queued reminder."""
    booked = f.make_booked_course(
        local(2026, 12, 1, 10),
        local(2026, 12, 15, 10),
        client=dict(
            name="Erika Mustermann",
            password="erika-secret-1",
            conditions={"isotretinoin": (False, date(2025, 1, 10)), "pregnancy": (False, None)},
            periods=[("sun_exposure", date(2027, 7, 1), date(2027, 7, 14))],
        ),
        now=NOW,
    )
    client, practitioner, desk, enrolment = (
        booked.client,
        booked.practitioner,
        booked.desk,
        booked.enrolment,
    )
    # A profile change is audited with the values before and after.
    clients.update_profile(
        actor=f.client_actor(client), name="Erika Mustermann", phone="+49 30 1234567"
    )
    client.notes = "Prefers mornings"
    first, second = enrolment.appointments
    outcomes.record_outcome(
        actor=desk,
        appointment_id=first.id,
        status="done",
        note="Mild redness",
        now=local(2026, 12, 1, 12),
    )
    db.session.add_all(
        [
            MessageChoice(client_id=client.id, topic="reminders", email=False, text=True,
                          alarm_hours=2),
            MessageChoice(client_id=client.id, topic="changes", email=True, text=True),
        ]
    )  # fmt: skip
    db.session.add(
        ApiToken(user_id=client.user_id, token_hash="0" * 64, expires_at=LATER + timedelta(days=1))
    )
    db.session.add(
        OutboxMessage(
            client_id=client.id,
            appointment_id=second.id,
            kind="reminder",
            to_email=client.email,
            subject="Your peel on Tue 15 Dec",
            body="Dear Erika Mustermann, ...",
            due_at=local(2026, 12, 14, 10),
        )
    )
    f.commit()
    return {
        "client": client,
        "email": client.email,
        "enrolment": enrolment.id,
        "first": first.id,
        "second": second.id,
        "practitioner": practitioner.id,
        "desk": desk,
    }


def test_export_holds_everything_about_the_client_and_is_audited(history) -> None:
    client = history["client"]
    data = privacy.export_client_data(actor=f.client_actor(client), now=LATER)
    json.dumps(data)  # JSON-ready as it is
    assert data["client"]["name"] == "Erika Mustermann"
    assert data["client"]["phone"] == "+49301234567"  # stored in E.164
    assert data["account"]["email"] == history["email"]
    assert "password_hash" not in json.dumps(data)
    assert {"update_profile", "book", "done"} <= {e["action"] for e in data["access_log"]}
    assert {c["code"]: c["last_date"] for c in data["screening"]} == {
        "isotretinoin": "2025-01-10",
        "pregnancy": None,
    }
    assert data["periods"] == [
        {"kind": "sun_exposure", "start": "2027-07-01", "end": "2027-07-14", "note": ""}
    ]
    [enrolment] = data["enrolments"]
    assert [(a["session"], a["status"]) for a in enrolment["appointments"]] == [
        (1, "done"),
        (2, "booked"),
    ]
    assert enrolment["appointments"][0]["note"] == "Mild redness"
    assert data["message_choices"] == {
        "reminders": {"email": False, "text": True, "calendar_alarm_hours": 2},
        "care": {"email": True, "text": False},  # the default: never chosen
        "changes": {"email": True, "text": True},
    }
    subjects = {m["subject"] for m in data["messages"]}
    assert {"Your peel on Tue 15 Dec", "Your booking: Glycolic peel, 6 sessions"} <= subjects
    assert len(data["api_tokens"]) == 1
    exported = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export", AuditEntry.client_id == client.id)
    ).all()
    assert len(exported) == 1


@pytest.mark.parametrize("role", ["receptionist", "practitioner"])
def test_only_the_client_and_the_admin_may_export_or_erase(history, role) -> None:
    staff = f.actor(role)
    with pytest.raises(PermissionDenied):
        privacy.export_client_data(actor=staff, client_id=history["client"].id)
    with pytest.raises(PermissionDenied):
        privacy.erase_client(actor=staff, client_id=history["client"].id)
    admin = f.actor("admin")
    assert privacy.export_client_data(actor=admin, client_id=history["client"].id)["client"]


def test_a_client_cannot_export_or_erase_another_client(history) -> None:
    other = f.make_client()
    with pytest.raises(NotFound):
        privacy.export_client_data(actor=f.client_actor(other), client_id=history["client"].id)
    with pytest.raises(NotFound):
        privacy.erase_client(actor=f.client_actor(other), client_id=history["client"].id)
    assert db.session.get(Client, history["client"].id).anonymised_at is None


def test_erasure_anonymises_the_person_and_keeps_the_appointment_history(history) -> None:
    client_id = history["client"].id
    user_id = history["client"].user_id
    privacy.erase_client(actor=f.client_actor(history["client"]), now=LATER)
    db.session.expire_all()

    client = db.session.get(Client, client_id)
    assert client.anonymised_at == LATER
    assert "Mustermann" not in client.name and client.phone == "" and client.notes == ""
    assert client.email.endswith("@erased.invalid")
    assert db.session.scalars(select(ClientCondition)).all() == []
    assert db.session.scalars(select(ClientPeriod)).all() == []

    # The clinic's history stays; the session to come is cancelled and its slot freed.
    first = db.session.get(Appointment, history["first"])
    second = db.session.get(Appointment, history["second"])
    assert (first.status, first.note, first.client_id) == ("done", "Mild redness", client_id)
    assert second.status == "cancelled"
    assert db.session.get(Enrolment, history["enrolment"]).status == "cancelled"

    # The login is gone: no password works, tokens are revoked.
    assert accounts.authenticate(history["email"], "erika-secret-1") is None
    assert db.session.get(type(client.user), user_id).active is False
    assert db.session.scalar(select(ApiToken.revoked_at)) == LATER

    message = db.session.scalar(select(OutboxMessage))
    assert message.status == "failed" and "Erika" not in message.body + message.to_email

    details = db.session.scalars(select(AuditEntry.detail).where(AuditEntry.client_id == client_id))
    assert "1234567" not in json.dumps(list(details))
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "erase"

    with pytest.raises(NotFound):
        client_reads.get_client(client_id)
    with pytest.raises(NotFound):
        privacy.export_client_data(actor=f.actor("admin"), client_id=client_id)


def test_the_slot_of_an_erased_clients_future_session_can_be_booked_again(history) -> None:
    privacy.erase_client(actor=f.actor("admin"), client_id=history["client"].id, now=LATER)
    other = f.make_client()
    enrolment = enrol.book_course(
        actor=history["desk"],
        course_code="peel_course",
        client_id=other.id,
        sessions=[SessionRequest(local(2026, 12, 15, 10), history["practitioner"])],
        now=LATER,
    )
    assert enrolment.appointments[0].status == "booked"
