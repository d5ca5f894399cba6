"""User accounts: creation and authentication."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.models import ROLES, Client, Practitioner, User
from clinic.services.db import session, transaction
from clinic.services.errors import Conflict, InvalidRequest


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user: User | None = session().scalar(
        select(User).where(func.lower(User.email) == email.strip().lower())
    )
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


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
    if len(password) < 8:
        raise InvalidRequest("The password needs at least 8 characters.", field="password")
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
