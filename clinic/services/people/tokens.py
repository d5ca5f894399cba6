"""API bearer tokens: random, stored as a SHA-256 hash, expiring, revocable."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from clinic.models import ApiToken, User, utcnow
from clinic.services.core import cache
from clinic.services.core.actors import Actor, actor_from_row, with_actor_ids
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import NotFound, PermissionDenied, ServiceError
from clinic.services.core.permissions import is_admin
from clinic.services.people import accounts
from clinic.services.world import day_memory


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def digest(token: str) -> str:
    """What is stored of a secret token (an API token's, a calendar feed's): its SHA-256."""
    return _digest(token)


def issue_token(*, email: str, password: str, hours: int = 24, now: datetime | None = None) -> str:
    """A new token for the user with these credentials; the plain token is returned once."""
    now = now or utcnow()
    user = accounts.authenticate(email, password)
    if user is None:
        raise Unauthorized("Email or password is not right.")
    token = secrets.token_urlsafe(32)
    with transaction() as s:
        s.add(
            ApiToken(
                user_id=user.id,
                token_hash=_digest(token),
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
    return token


@functools.cache
def _token_query() -> Select[*tuple[Any, ...]]:
    # Built once: building it cost as much as running it. With the catalogue's version and
    # whether the worker's memory of days is up to date (the two memories a plan uses).
    query = cache.with_version(
        with_actor_ids(
            select(ApiToken.revoked_at, ApiToken.expires_at, User.id, User.role, User.active)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == bindparam("digest"))
        )
    )
    return day_memory.with_log_check(query)


def actor_for_token(token: str, *, now: datetime | None = None) -> Actor:
    """Who acts with a live token of an active user, or Unauthorized."""
    now = now or utcnow()
    # One statement of plain columns, which also reads the catalogue's version: the token, its
    # user and the user's client or practitioner record (every API request starts here).
    params = {"digest": _digest(token), **day_memory.log_check_params()}
    found = db_session().execute(_token_query(), params).first()
    if found is not None:
        cache.note_version(found)
        day_memory.note_log_check(found)
    if found is None or found.revoked_at is not None or found.expires_at <= now or not found.active:
        raise Unauthorized("The token is unknown, expired or revoked; ask for a new one.")
    return actor_from_row(found)


def revoke_token(token: str, *, now: datetime | None = None) -> None:
    """Revoke the token given (a user logging out of the API)."""
    with transaction() as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )


def revoke_user_tokens(*, actor: Actor, user_id: int, now: datetime | None = None) -> int:
    """An admin (or the user) revokes every live token of a user; returns how many."""
    if not is_admin(actor) and actor.user_id != user_id:
        raise PermissionDenied("Only an admin can revoke another user's tokens.")
    with transaction() as s:
        if s.get(User, user_id) is None:
            raise NotFound("There is no such user.")
        return revoke_live_tokens(s, user_id=user_id, now=now or utcnow())


def revoke_live_tokens(s: Session, *, user_id: int, now: datetime) -> int:
    """In the caller's transaction: revoke every live token of the user; returns how many."""
    result = s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_dead_tokens(s: Session, *, now: datetime) -> int:
    """In the caller's transaction: delete every expired or revoked token (they open nothing
    any more: `actor_for_token`); returns how many."""
    result = s.execute(
        delete(ApiToken).where(or_(ApiToken.revoked_at.is_not(None), ApiToken.expires_at <= now))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
