"""Logins: each browser's login is a row, so that the server can end it.

The session cookie is signed, not stored: without a row, a cookie saved before logging out
would open the account again, and a password change would leave every other browser in.
The browser's cookie carries the row's random id; the request's user is loaded only together
with a live row, in the statement that loads the user anyway (clinic/security.py).

Ending: logging out ends that login only (the user's other devices stay); a password change
ends every other login and every API token of the account, a password reset all of them
(clinic/services/passwords.py); an admin ends all of a staff member's, and deactivating an
account ends all of its (services/staffing); a user ends all of their own ("log out
everywhere"). A login also ends by age (`LoginAges`): idle for longer than the idle limit, or
begun longer ago than the maximum age, however busy (docs/DECISIONS.md). `prune` deletes the
rows of ended logins and of expired or revoked API tokens.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, delete, not_, update
from sqlalchemy.orm import Session

from clinic.models import LoginSession, User, utcnow
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import transaction
from clinic.services.core.errors import NotFound, PermissionDenied
from clinic.services.core.permissions import is_admin, is_staff
from clinic.services.people import tokens

# A request less than this after the login's last noted use writes nothing: noting every
# request would make every page a write. The idle limit is kept to within this.
NOTE_USE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class LoginAges:
    """How long a login lives: `idle` after its last use, `longest` after it began."""

    idle: timedelta
    longest: timedelta


def ages_from(config: Mapping[str, Any]) -> LoginAges:
    """The ages the app's config gives (LOGIN_IDLE_MINUTES, LOGIN_MAX_DAYS: config.py)."""
    return LoginAges(
        idle=timedelta(minutes=int(config["LOGIN_IDLE_MINUTES"])),
        longest=timedelta(days=int(config["LOGIN_MAX_DAYS"])),
    )


def is_live(ages: LoginAges, now: datetime) -> ColumnElement[bool]:
    """SQL: the login row is live (not ended, used within the idle limit, begun within the
    maximum age). The one definition: the request's user is loaded with it
    (clinic/security.py, through `is_live_bound`), and `prune` deletes what it is not."""
    bounds = live_bounds(ages, now)
    return _live(bounds["seen_after"], bounds["begun_after"])


def is_live_bound() -> ColumnElement[bool]:
    """`is_live` with its two moments as parameters, filled by `live_bounds`: for a statement
    built once and run by every request with that request's moments."""
    return _live(bindparam("seen_after"), bindparam("begun_after"))


def live_bounds(ages: LoginAges, now: datetime) -> dict[str, datetime]:
    """The moments a live login was last used and begun after, at `now`."""
    return {"seen_after": now - ages.idle, "begun_after": now - ages.longest}


def _live(
    seen_after: datetime | BindParameter[Any], begun_after: datetime | BindParameter[Any]
) -> ColumnElement[bool]:
    return and_(
        LoginSession.ended_at.is_(None),
        LoginSession.last_seen_at > seen_after,
        LoginSession.created_at > begun_after,
    )


def use_to_note(last_seen_at: datetime, now: datetime) -> bool:
    """Whether a request at `now` of a live login last noted at `last_seen_at` is noted."""
    return now - last_seen_at >= NOTE_USE_AFTER


def start_login(*, user_id: int, now: datetime | None = None) -> str:
    """A new login of the user; its id goes into the browser's signed session cookie."""
    login_id = secrets.token_urlsafe(32)
    now = now or utcnow()
    with transaction() as s:
        s.add(LoginSession(id=login_id, user_id=user_id, created_at=now, last_seen_at=now))
    return login_id


def note_use(login_id: str, *, now: datetime | None = None) -> None:
    """The login was used now (called at most every NOTE_USE_AFTER per login); an ended
    login stays ended."""
    with transaction() as s:
        s.execute(
            update(LoginSession)
            .where(LoginSession.id == login_id, LoginSession.ended_at.is_(None))
            .values(last_seen_at=now or utcnow())
        )


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
        if user is None or not is_staff(user):
            raise NotFound("There is no such staff account.")
        ended, revoked = end_user_logins(s, user_id=user_id, now=now or utcnow())
        record(s, actor, "end_logins", "user", user_id, logins=ended, tokens=revoked)
    return ended + revoked


def end_own_logins(*, actor: Actor, now: datetime | None = None) -> int:
    """ "Log out everywhere": the user ends every login (this browser's too) and every API
    token of their own account; audited. Returns how many logins and tokens were ended."""
    if actor.user_id is None:
        raise PermissionDenied("Only a logged-in user logs out everywhere.")
    with transaction() as s:
        ended, revoked = end_user_logins(s, user_id=actor.user_id, now=now or utcnow())
        record(
            s,
            actor,
            "end_logins",
            "user",
            actor.user_id,
            client_id=actor.client_id,
            logins=ended,
            tokens=revoked,
        )
    return ended + revoked


def prune(*, ages: LoginAges, now: datetime | None = None) -> tuple[int, int]:
    """Delete the rows of logins that are no longer live and of API tokens that expired or
    were revoked (run daily: README, "Command line"). Returns (logins, tokens) deleted."""
    now = now or utcnow()
    with transaction() as s:
        result = s.execute(delete(LoginSession).where(not_(is_live(ages, now))))
        deleted = int(result.rowcount)  # type: ignore[attr-defined]
        return deleted, tokens.delete_dead_tokens(s, now=now)
