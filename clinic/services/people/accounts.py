"""User accounts: creation and authentication."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from clinic.models import ROLES, Client, Practitioner, User
from clinic.services.core import phones, text
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_changed
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import Conflict, InvalidRequest, PermissionDenied
from clinic.services.core.permissions import is_desk

MAX_NAME = 120
MAX_PHONE = 40
MAX_NOTES = 2000


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user: User | None = db_session().scalar(
        select(User).where(func.lower(User.email) == email.strip().lower())
    )
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def check_password_rules(password: str) -> None:
    """The one place that says what a password must be."""
    if len(password) < 8:
        raise InvalidRequest("The password needs at least 8 characters.", field="password")
    if len(password) > 200:
        raise InvalidRequest("Keep the password under 200 characters.", field="password")


def check_email(email: str) -> str:
    """The email as stored (trimmed, lower case), or a refusal."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidRequest("Give a valid email address.", field="email")
    return email


def contact_problems(
    *, name: str, phone: str, notes: str | None = None, name_message: str
) -> tuple[tuple[str, str, str | None], list[dict[str, str]]]:
    """A client's name, phone and (staff's) notes as stored, with every field error found,
    as {code, message, field}. The one place that says what contact details must be."""
    errors: list[dict[str, str]] = []

    def err(field: str, code: str, message: str) -> None:
        errors.append({"code": code, "message": message, "field": field})

    name = " ".join(name.split())
    if not name:
        err("name", "required", name_message)
    elif len(name) > MAX_NAME:
        err("name", "too_long", f"Keep the name under {MAX_NAME} characters.")
    phone = " ".join(phone.split())
    if len(phone) > MAX_PHONE:
        err("phone", "too_long", f"Keep the phone number under {MAX_PHONE} characters.")
    elif phone:
        # Stored in E.164, as texts and the client search use it.
        e164 = phones.to_e164(phone)
        if e164 is None:
            err(
                "phone",
                "invalid",
                f"{phone} is not a phone number we can call: give it as you would dial it, "
                f"or with its country code, such as {phones.example_number()}.",
            )
        else:
            phone = e164
    if notes is not None:
        notes = "\n".join(line.rstrip() for line in notes.strip().splitlines())
        if len(notes) > MAX_NOTES:
            err("notes", "too_long", f"Keep the notes under {MAX_NOTES} characters.")
    return (name, phone, notes), errors


def refuse(errors: list[dict[str, str]]) -> None:
    """Refuse with the first field error found (a 400, as the JSON API documents)."""
    if errors:
        raise InvalidRequest(errors[0]["message"], field=errors[0]["field"])


def _refuse_known_client(email: str) -> None:
    if db_session().scalar(select(Client.id).where(func.lower(Client.email) == email)) is not None:
        raise Conflict(f"A client with {email} exists already.", code="email_taken", field="email")


def create_user(*, email: str, role: str, password: str, name: str | None = None) -> User:
    """Create an account. A practitioner's email links it to the catalogue's practitioner;
    a client account gets its client record."""
    if role not in ROLES:
        raise InvalidRequest(
            f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role"
        )
    email = check_email(email)
    check_password_rules(password)
    # The command line is an input too: a name is one line of plain text (services.text).
    if name and (problem := text.one_line_problem(name)):
        raise InvalidRequest(problem, field="name", code=text.CODE)
    with transaction() as s:
        if s.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
            raise Conflict(
                f"An account for {email} exists already.", code="email_taken", field="email"
            )
        user = User(email=email, role=role, name=(name or email.split("@")[0]).strip())
        user.set_password(password)
        s.add(user)
        s.flush()
        if role == "practitioner":
            practitioner = s.scalar(
                select(Practitioner).where(func.lower(Practitioner.email) == email)
            )
            if practitioner is not None:
                catalogue_changed()  # the practitioner row changes (its login)
                practitioner.user_id = user.id
        elif role == "client":
            client = s.scalar(select(Client).where(func.lower(Client.email) == email))
            if client is None:
                s.add(Client(user_id=user.id, name=user.name, email=email))
            else:
                client.user_id = user.id
    return user


def create_client(
    *,
    actor: Actor,
    email: str,
    name: str,
    password: str | None = None,
    phone: str = "",
    notes: str = "",
) -> Client:
    """Staff create a client record (a new caller on the phone, someone at the desk), with a
    login if a password is given. Audited; an email already on file is a Conflict."""
    if not is_desk(actor):
        raise PermissionDenied("Only reception and admins create clients.")
    (name, phone, clean_notes), errors = contact_problems(
        name=name, phone=phone, notes=notes, name_message="Give the client's name."
    )
    try:
        email = check_email(email)
    except InvalidRequest as exc:
        errors.insert(0, {"code": "invalid", "message": exc.message, "field": "email"})
    refuse(errors)
    with transaction() as s:
        _refuse_known_client(email)
        if password is None:
            client = Client(email=email)
            s.add(client)
        else:  # the account comes with its client record, in the same transaction
            user = create_user(email=email, role="client", password=password, name=name)
            client = s.get_one(Client, s.scalar(select(Client.id).where(Client.user_id == user.id)))
        client.name, client.phone, client.notes = name, phone, clean_notes or ""
        s.flush()
        record(
            s,
            actor,
            "create",
            "client",
            client.id,
            client_id=client.id,
            name=name,
            email=email,
            phone=phone,
            has_login=password is not None,
        )
    return client


def login_for_client(*, email: str) -> User | None:
    """A login, with no usable password yet, for a client record made at the desk; None if
    there is no such record. The password is set through the emailed reset link."""
    email = email.strip().lower()
    with transaction() as s:
        client = s.scalar(
            select(Client).where(
                func.lower(Client.email) == email,
                Client.user_id.is_(None),
                Client.anonymised_at.is_(None),
            )
        )
        if client is None:
            return None
        user = User(email=email, role="client", name=client.name)
        user.set_password(secrets.token_urlsafe(32))
        s.add(user)
        s.flush()
        client.user_id = user.id
    return user
