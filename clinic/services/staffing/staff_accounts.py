"""Staff accounts and their roles (DOMAIN.md "Who uses it": the admin keeps staff accounts and
roles)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from clinic.models import STAFF_ROLES, Practitioner, User, utcnow
from clinic.services.core import permissions
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidRequest, NotFound
from clinic.services.people import accounts, logins
from clinic.services.staffing.common import require_admin


def list_staff() -> list[User]:
    return list(
        db_session().scalars(
            select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.role, User.name)
        )
    )


def create_staff_user(*, actor: Actor, email: str, name: str, role: str, password: str) -> User:
    """A staff account; a practitioner's is linked to the practitioner with the same email."""
    require_admin(actor)
    if role not in STAFF_ROLES:
        raise InvalidRequest(f"Choose one of {', '.join(STAFF_ROLES)}.", field="role")
    user = accounts.create_user(email=email, role=role, password=password, name=name)
    with transaction() as s:
        record(s, actor, "create", "user", user.id, role=role, email=user.email)
    return user


def update_staff_user(
    *, actor: Actor, user_id: int, role: str, active: bool, now: datetime | None = None
) -> User:
    """An admin changes a staff account's role or deactivates it; deactivating ends every
    login and API token of the account, so that activating it again revives none of them."""
    require_admin(actor)
    if role not in STAFF_ROLES:
        raise InvalidRequest(f"Choose one of {', '.join(STAFF_ROLES)}.", field="role")
    with transaction() as s:
        user = s.get(User, user_id)
        if user is None or not permissions.is_staff(user):
            raise NotFound("There is no such staff account.")
        if user.id == actor.user_id and (role != "admin" or not active):
            raise InvalidRequest(
                "You cannot take away your own admin access; ask another admin.", field="role"
            )
        user.role, user.active = role, active
        if role == "practitioner" and user.practitioner is None:
            practitioner = s.scalar(
                select(Practitioner).where(func.lower(Practitioner.email) == user.email.lower())
            )
            if practitioner is not None and practitioner.user_id is None:
                practitioner.user_id = user.id
        ended: dict[str, int] = {}
        if not active:
            ended["logins"], ended["tokens"] = logins.end_user_logins(
                s, user_id=user.id, now=now or utcnow()
            )
        record(s, actor, "update", "user", user.id, role=role, active=active, **ended)
    return user
