"""User accounts: creation and authentication."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.models import ROLES, Client, Practitioner, User
from clinic.services.actors import Actor
from clinic.services.audit import record
from clinic.services.db import session, transaction
from clinic.services.errors import Conflict, InvalidRequest, PermissionDenied


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user: User | None = session().scalar(
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


def create_user(*, email: str, role: str, password: str, name: str | None = None) -> User:
    """Create an account. A practitioner's email links it to the catalogue's practitioner;
    a client account gets its client record."""
    email = email.strip().lower()
    if role not in ROLES:
        raise InvalidRequest(
            f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role"
        )
    if "@" not in email or len(email) > 254:
        raise InvalidRequest("Give a valid email address.", field="email")
    check_password_rules(password)
    with transaction() as s:
        if s.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
            raise Conflict(f"An account for {email} exists already.")
        user = User(email=email, role=role, name=(name or email.split("@")[0]).strip())
        user.set_password(password)
        s.add(user)
        s.flush()
        if role == "practitioner":
            practitioner = s.scalar(
                select(Practitioner).where(func.lower(Practitioner.email) == email)
            )
            if practitioner is not None:
                practitioner.user_id = user.id
        elif role == "client":
            client = s.scalar(select(Client).where(func.lower(Client.email) == email))
            if client is None:
                s.add(Client(user_id=user.id, name=user.name, email=email))
            else:
                client.user_id = user.id
    return user


def create_client(
    *, actor: Actor, email: str, name: str, password: str | None = None, phone: str = ""
) -> Client:
    """Staff create a client record, with a login if a password is given."""
    if not actor.is_desk:
        raise PermissionDenied("Only reception and admins create clients.")
    email = email.strip().lower()
    if not name.strip():
        raise InvalidRequest("Give the client's name.", field="name")
    if password is not None:
        user = create_user(email=email, role="client", password=password, name=name)
        assert user.client is not None
        return user.client
    with transaction() as s:
        if s.scalar(select(Client.id).where(func.lower(Client.email) == email)) is not None:
            raise Conflict(f"A client with {email} exists already.")
        client = Client(name=name.strip(), email=email, phone=phone.strip())
        s.add(client)
        s.flush()
        record(s, actor, "create", "client", client.id, client_id=client.id)
    return client
