"""API bearer tokens: random, stored as a SHA-256 hash, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from clinic.models import ApiToken, User, utcnow
from clinic.services import accounts, cache
from clinic.services.actors import Actor
from clinic.services.db import session, transaction
from clinic.services.errors import NotFound, PermissionDenied, ServiceError


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def user_for_token(token: str, *, now: datetime | None = None) -> User:
    """The active user a live token belongs to, or Unauthorized."""
    now = now or utcnow()
    # One statement: the token, its user and the user's client or practitioner record (which
    # `actor_for` reads next).
    found = (
        session()
        .execute(
            cache.with_counters(
                select(ApiToken)
                .options(
                    joinedload(ApiToken.user).options(
                        joinedload(User.client), joinedload(User.practitioner)
                    )
                )
                .where(ApiToken.token_hash == _digest(token))
            )
        )
        .first()
    )
    row: ApiToken | None = None
    if found is not None:
        row = found[0]
        cache.note_counters(found)
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        raise Unauthorized("The token is unknown, expired or revoked; ask for a new one.")
    return row.user


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
    if actor.role != "admin" and actor.user_id != user_id:
        raise PermissionDenied("Only an admin can revoke another user's tokens.")
    with transaction() as s:
        if s.get(User, user_id) is None:
            raise NotFound("There is no such user.")
        result = s.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
