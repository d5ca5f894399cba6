"""Reception creates clients, keeps their contact details and notes, and records the screening a
client gives on the phone or at the desk; practitioners read the screening but do not change it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEntry, Client
from clinic.services.core.actors import actor_for
from clinic.services.core.errors import Conflict, PermissionDenied
from clinic.services.people import accounts, clients, health_screening
from tests import factories as f
from tests.clock import local, next_monday, today
from tests.web.conftest import ALL_ROLES

DESK = {"admin", "receptionist"}
NEW = {"name": "Nora New", "email": "Nora@Example.com", "phone": "+49 30 555", "notes": "Calls"}


def _audit(action: str, client_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.client_id == client_id)
        )
    )


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def _login(login_as, clinic, role: str):
    """Log in; a practitioner is the one who treats the clinic's client."""
    if role == "practitioner":
        clinic.book(local(next_monday(), 10))
        return login_as(role, practitioner=clinic.practitioner)
    return login_as(role)


# --- who may reach the pages ------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("page", ["/staff/clients/new", "/edit", "/screening"])
def test_client_pages_are_for_reception_and_admins(client, login_as, clinic, role, page) -> None:
    _login(login_as, clinic, role)
    url = page if page.startswith("/staff") else f"/staff/clients/{clinic.client.id}{page}"
    assert client.get(url).status_code == (200 if role in DESK else 403)
    assert client.post(url, data={}).status_code in ((422,) if role in DESK else (403,))


@pytest.mark.parametrize("role", ["admin", "receptionist", "practitioner"])
def test_links_to_the_new_pages_are_shown_to_the_desk_only(client, login_as, clinic, role) -> None:
    _login(login_as, clinic, role)
    listing = _text(client.get("/staff/clients"))
    record = _text(client.get(f"/staff/clients/{clinic.client.id}"))
    desk = role in DESK
    assert ('href="/staff/clients/new"' in listing) is desk
    assert (f'href="/staff/clients/{clinic.client.id}/edit"' in record) is desk
    assert (f'href="/staff/clients/{clinic.client.id}/screening"' in record) is desk


def test_booking_page_links_to_the_new_client_page(client, login_as, clinic) -> None:
    login_as("receptionist")
    assert 'href="/staff/clients/new"' in _text(client.get("/staff/book"))


@pytest.mark.parametrize(
    "url", ["/staff/clients/new", "/staff/clients/{id}/edit", "/staff/clients/{id}/screening"]
)
def test_client_forms_refuse_a_post_without_csrf_token(
    client, login_as, clinic, csrf_on, url
) -> None:
    login_as("receptionist")
    data = {**NEW, "confirm": "y"}
    assert client.post(url.format(id=clinic.client.id), data=data).status_code == 400
    assert db.session.scalar(select(Client).where(Client.email == "nora@example.com")) is None


def test_unknown_client_pages_are_not_found(client, login_as, clinic) -> None:
    login_as("receptionist")
    assert client.get("/staff/clients/9999/edit").status_code == 404
    assert client.get("/staff/clients/9999/screening").status_code == 404


# --- a new client ------------------------------------------------------------------------------


def test_reception_creates_a_client_and_lands_on_its_record(client, login_as, clinic) -> None:
    user = login_as("receptionist")
    response = client.post("/staff/clients/new", data=NEW)
    created = db.session.scalar(select(Client).where(Client.email == "nora@example.com"))
    assert created is not None
    assert (created.name, created.phone, created.notes, created.user_id) == (
        "Nora New",
        "+4930555",  # stored in E.164
        "Calls",
        None,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/clients/{created.id}")
    page = _text(client.get(response.headers["Location"]))
    assert "Created the client record of Nora New." in page and "Calls" in page
    (entry,) = _audit("create", created.id)
    assert entry.actor_id == user.id and entry.detail["email"] == "nora@example.com"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Give the client's name."),
        ({"name": "   "}, "name", "Give the client's name."),
        ({"name": "x" * 121}, "name", "Keep the name under 120 characters."),
        ({"email": ""}, "email", "Give the client's email"),
        ({"email": "nora.example.com"}, "email", "Give a valid email address."),
        ({"email": "x" * 250 + "@example.com"}, "email", "Keep the email under 254 characters."),
        ({"phone": "call me"}, "phone", "call me is not a phone number we can call"),
        ({"phone": "+49 1"}, "phone", "+49 1 is not a phone number we can call: give it as you"),
        ({"phone": "1" * 41}, "phone", "Keep the phone number under 40 characters."),
        ({"notes": "x" * 2001}, "notes", "Keep the notes under 2000 characters."),
    ],
)
def test_new_client_refuses_bad_input_next_to_the_field(
    client, login_as, clinic, change, field, message
) -> None:
    login_as("receptionist")
    response = client.post("/staff/clients/new", data={**NEW, **change})
    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}' in _text(response)
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "create")).all() == []


def test_new_client_with_an_email_on_file_is_refused_next_to_the_email(
    client, login_as, clinic
) -> None:
    login_as("receptionist")
    response = client.post("/staff/clients/new", data={**NEW, "email": clinic.client.email.upper()})
    assert response.status_code == 422
    assert (
        f'<p class="error" id="email-error">A client with {clinic.client.email} exists already.'
        in _text(response)
    )
    assert db.session.query(Client).filter(Client.name == "Nora New").count() == 0


def test_create_client_service_refuses_a_known_email_with_a_conflict(app, clinic) -> None:
    with pytest.raises(Conflict) as refused:
        accounts.create_client(actor=clinic.desk, email=clinic.client.email, name="Twin")
    assert refused.value.status == 409
    with pytest.raises(Conflict):  # with a login as well
        accounts.create_client(
            actor=clinic.desk, email=clinic.client.email, name="Twin", password="long enough"
        )


def test_create_client_with_a_password_keeps_phone_and_notes_and_is_audited(app, clinic) -> None:
    made = accounts.create_client(
        actor=clinic.desk,
        email="login@example.com",
        name="Lea Login",
        password="long enough",
        phone="030 1234567",
        notes="VIP",
    )
    assert made.user_id is not None and (made.phone, made.notes) == ("+49301234567", "VIP")
    assert _audit("create", made.id)[0].detail["has_login"] is True


# --- contact and notes -------------------------------------------------------------------------


def test_edit_page_shows_the_current_contact_and_the_fixed_email(client, login_as, clinic) -> None:
    clinic.client.phone, clinic.client.notes = "0301", "Prefers mornings"
    f.commit()
    login_as("admin")
    page = _text(client.get(f"/staff/clients/{clinic.client.id}/edit"))
    assert 'value="Anna Client"' in page and 'value="0301"' in page
    assert "Prefers mornings</textarea>" in page
    assert f'value="{clinic.client.email}" readonly' in page


def test_reception_edits_contact_and_notes_and_the_change_is_audited(
    client, login_as, clinic
) -> None:
    user = login_as("receptionist")
    email = clinic.client.email
    response = client.post(
        f"/staff/clients/{clinic.client.id}/edit",
        data={
            "name": "Anna  Changed",
            "phone": "+49 151 23456789",
            "notes": "Allergic to latex gloves",
            "email": "hijack@example.com",
        },
    )
    assert response.status_code == 302
    db.session.refresh(clinic.client)
    assert (clinic.client.name, clinic.client.phone, clinic.client.notes, clinic.client.email) == (
        "Anna Changed",
        "+4915123456789",
        "Allergic to latex gloves",
        email,
    )
    assert clinic.client.user is not None and clinic.client.user.name == "Anna Changed"
    assert "Saved the contact details and notes." in _text(client.get(response.headers["Location"]))
    (entry,) = _audit("update_profile", clinic.client.id)
    assert entry.actor_id == user.id
    assert entry.detail["before"] == {"name": "Anna Client", "phone": "", "notes": ""}
    assert entry.detail["after"]["notes"] == "Allergic to latex gloves"


def test_saving_unchanged_contact_writes_no_audit_entry(client, login_as, clinic) -> None:
    login_as("receptionist")
    data = {"name": "Anna Client", "phone": "", "notes": ""}
    assert client.post(f"/staff/clients/{clinic.client.id}/edit", data=data).status_code == 302
    assert _audit("update_profile", clinic.client.id) == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Give the client's name."),
        ({"name": "x" * 121}, "name", "Keep the name under 120 characters."),
        ({"phone": "0301; DROP"}, "phone", "0301; DROP is not a phone number we can call"),
        ({"phone": "1" * 41}, "phone", "Keep the phone number under 40 characters."),
        ({"notes": "x" * 2001}, "notes", "Keep the notes under 2000 characters."),
    ],
)
def test_edit_refuses_bad_input_next_to_the_field(
    client, login_as, clinic, change, field, message
) -> None:
    login_as("receptionist")
    data = {"name": "Anna Client", "phone": "", "notes": "", **change}
    response = client.post(f"/staff/clients/{clinic.client.id}/edit", data=data)
    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}' in _text(response)
    db.session.refresh(clinic.client)
    assert clinic.client.name == "Anna Client" and _audit("update_profile", clinic.client.id) == []


def test_only_the_desk_changes_contact_details_and_notes(app, clinic) -> None:
    clinic.book(local(next_monday(), 10))
    from tests.web.conftest import quick_user

    practitioner_user = quick_user("practitioner")
    clinic.practitioner.user_id = practitioner_user.id
    f.commit()
    practitioner = actor_for(practitioner_user)
    with pytest.raises(PermissionDenied):
        clients.update_profile(
            actor=practitioner, client_id=clinic.client.id, name="X", phone="", notes=""
        )
    assert clinic.client.user is not None
    with pytest.raises(PermissionDenied):  # a client keeps its name and phone, not the notes
        clients.update_profile(actor=actor_for(clinic.client.user), name="X", phone="", notes="")


# --- the screening taken at the desk --------------------------------------------------------------


def test_screening_page_shows_the_answers_on_file(client, login_as, clinic) -> None:
    health_screening.save_screening(
        actor=clinic.desk,
        client_id=clinic.client.id,
        answers=[health_screening.ConditionAnswer("isotretinoin", False, date(2025, 3, 1))],
    )
    login_as("receptionist")
    page = _text(client.get(f"/staff/clients/{clinic.client.id}/screening"))
    assert 'name="isotretinoin_last" type="date" value="2025-03-01"' in page
    assert "Takes isotretinoin (Roaccutane) now" in page and "Last confirmed" in page


def test_reception_records_the_screening_a_client_gives(client, login_as, clinic) -> None:
    user = login_as("receptionist")
    last = today() - timedelta(days=30)
    response = client.post(
        f"/staff/clients/{clinic.client.id}/screening",
        data={"confirm": "y", "pregnancy_present": "y", "isotretinoin_last": last.isoformat()},
    )
    assert response.status_code == 302
    db.session.refresh(clinic.client)
    answers = {c.code: (c.present, c.last_on) for c in clinic.client.conditions}
    assert answers == {"pregnancy": (True, None), "isotretinoin": (False, last)}
    assert clinic.client.screening_confirmed_at is not None
    record = _text(client.get(response.headers["Location"]))
    assert f"Saved and confirmed the health screening of {clinic.client.name}." in record
    (entry,) = _audit("screening", clinic.client.id)
    assert entry.actor_id == user.id and set(entry.detail["changes"]) == {
        "pregnancy",
        "isotretinoin",
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "confirm", "Tick the box once the client has confirmed the answers."),
        ({"confirm": "y", "rosacea_last": "31.12.2024"}, "rosacea_last", "Give a date like"),
        (
            {"confirm": "y", "rosacea_last": "2999-01-01"},
            "rosacea_last",
            "This date is in the future",
        ),
        (
            {"confirm": "y", "rosacea_last": "1900-01-01"},
            "rosacea_last",
            "This date is too long ago",
        ),
    ],
)
def test_screening_refuses_bad_answers_next_to_the_question(
    client, login_as, clinic, data, field, message
) -> None:
    login_as("receptionist")
    response = client.post(f"/staff/clients/{clinic.client.id}/screening", data=data)
    assert response.status_code == 422
    text = _text(response)
    assert message in text
    assert text.index(f'id="{field}"') < text.index(message)
    db.session.refresh(clinic.client)
    assert clinic.client.conditions == [] and _audit("screening", clinic.client.id) == []


def test_practitioner_reads_the_screening_on_the_record_but_cannot_change_it(
    client, login_as, clinic
) -> None:
    health_screening.save_screening(
        actor=clinic.desk,
        client_id=clinic.client.id,
        answers=[health_screening.ConditionAnswer("rosacea", True, None)],
    )
    user = _login(login_as, clinic, "practitioner")
    page = _text(client.get(f"/staff/clients/{clinic.client.id}"))
    assert "<td>rosacea</td><td>yes</td>" in page and "Record the screening" not in page
    with pytest.raises(PermissionDenied):
        health_screening.save_screening(
            actor=actor_for(user), client_id=clinic.client.id, answers=[]
        )
    assert [c.code for c in clinic.client.conditions] == ["rosacea"]
