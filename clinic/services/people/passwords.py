"""Password reset by an emailed link: a signed, timed token; no table needed.

The token carries the user's id and a piece of the current password hash, so it stops working
as soon as the password changes: each link can be used once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from clinic.models import User, utcnow
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidRequest
from clinic.services.messages import notices
from clinic.services.people import accounts, logins

SALT = "password-reset"
MAX_AGE_SECONDS = 3600
INVALID = "This reset link is not valid any more (it was used or is older than an hour); ask for a new one."


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def _fingerprint(user: User) -> str:
    return user.password_hash[-16:]


def reset_token(user: User, secret: str) -> str:
    return _serializer(secret).dumps({"u": user.id, "p": _fingerprint(user)})


def request_password_reset(
    *, email: str, secret: str, link_for: Callable[[str], str], now: datetime | None = None
) -> None:
    """Queue a reset link for the account with this email. Says nothing about whether such an
    account exists (the page answers the same either way)."""
    user = db_session().scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        # A client record made at the desk has no login yet: the mailbox's owner sets one.
        user = accounts.login_for_client(email=email)
    if user is None or not user.active:
        return
    notices.queue_password_reset(user=user, link=link_for(reset_token(user, secret)), now=now)


def user_for_token(token: str, secret: str) -> User:
    """The user a reset link is for; InvalidRequest when it is forged, expired or used."""
    try:
        data: Any = _serializer(secret).loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise InvalidRequest(INVALID, field="token") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise InvalidRequest(INVALID, field="token")
    user = db_session().get(User, data["u"])
    if user is None or not user.active or data.get("p") != _fingerprint(user):
        raise InvalidRequest(INVALID, field="token")
    return user


def reset_password(*, token: str, password: str, secret: str, now: datetime | None = None) -> User:
    """Set a new password through a reset link; the link is spent by it. Every login and API
    token of the account ends: whoever knew the old password is out."""
    accounts.check_password_rules(password)
    with transaction() as s:
        user = user_for_token(token, secret)
        user.set_password(password)
        logins.end_user_logins(s, user_id=user.id, now=now or utcnow())
        record(s, Actor(user.id, user.role), "reset_password", "user", user.id)
    return user


def change_password(
    *,
    user_id: int,
    current: str,
    password: str,
    keep_login: str | None,
    now: datetime | None = None,
) -> None:
    """A logged-in user sets a new password, giving the current one. Every other login and
    every API token of the account ends; `keep_login`, the login making the change, stays."""
    accounts.check_password_rules(password)
    # Checked before the transaction: scrypt takes a tenth of a second, not to be spent
    # holding SQLite's write lock.
    user = db_session().get(User, user_id)
    if user is None or not user.active or not user.check_password(current):
        raise InvalidRequest("The current password is not right.", field="current")
    with transaction() as s:
        user = s.get_one(User, user_id)
        user.set_password(password)
        logins.end_user_logins(s, user_id=user.id, now=now or utcnow(), keep=keep_login)
        record(s, Actor(user.id, user.role), "change_password", "user", user.id)
