"""Logins: each browser's login is a row, so that the server can end it.

The session cookie is signed, not stored: without a row, a cookie saved before logging out
would open the account again, and a password change would leave every other browser in.
The browser's cookie carries the row's random id; the request's user is loaded only together
with a live row, in the statement that loads the user anyway (clinic/security.py).

Ending: logging out ends that login only (the user's other devices stay); a password change
ends every other login and every API token of the account, a password reset all of them
(clinic/services/passwords.py); an admin ends all of a staff member's (docs/DECISIONS.md).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from clinic.models import STAFF_ROLES, LoginSession, User, utcnow
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import transaction
from clinic.services.core.errors import NotFound, PermissionDenied
from clinic.services.core.permissions import is_admin
from clinic.services.people import tokens


def start_login(*, user_id: int, now: datetime | None = None) -> str:
    """A new login of the user; its id goes into the browser's signed session cookie."""
    login_id = secrets.token_urlsafe(32)
    with transaction() as s:
        s.add(LoginSession(id=login_id, user_id=user_id, created_at=now or utcnow()))
    return login_id


def end_login(login_id: str, *, now: datetime | None = None) -> None:
    """Log out: end this login; the user's other logins stay."""
    with transaction() as s:
        s.execute(
            update(LoginSession)
            .where(LoginSession.id == login_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now or utcnow())
        )


def end_user_logins(
    s: Session, *, user_id: int, now: datetime, keep: str | None = None
) -> tuple[int, int]:
    """In the caller's transaction: end every live login of the user but `keep`, and revoke
    every live API token of the user. Returns (logins ended, tokens revoked)."""
    query = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    ended = int(s.execute(query.values(ended_at=now)).rowcount)  # type: ignore[attr-defined]
    return ended, tokens.revoke_live_tokens(s, user_id=user_id, now=now)


def end_staff_logins(*, actor: Actor, user_id: int, now: datetime | None = None) -> int:
    """An admin ends every login and API token of a staff account (a lost laptop, someone
    leaving); audited. Returns how many logins and tokens were ended."""
    if not is_admin(actor):
        raise PermissionDenied("Only an admin ends someone's sessions.")
    with transaction() as s:
        user = s.get(User, user_id)
        if user is None or user.role not in STAFF_ROLES:
            raise NotFound("There is no such staff account.")
        ended, revoked = end_user_logins(s, user_id=user_id, now=now or utcnow())
        record(s, actor, "end_logins", "user", user_id, logins=ended, tokens=revoked)
    return ended + revoked
