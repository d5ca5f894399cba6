"""`flask --app clinic logins prune`: ended and expired logins, and expired or revoked API
tokens, are deleted; live ones stay (issue 19, defect 12)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import ApiToken, LoginSession, utcnow
from tests import factories as f


def _login(user_id: int, name: str, *, begun: timedelta, used: timedelta, ended: bool = False):
    now = utcnow()
    db.session.add(
        LoginSession(
            id=name,
            user_id=user_id,
            created_at=now - begun,
            last_seen_at=now - used,
            ended_at=now if ended else None,
        )
    )


def _token(user_id: int, name: str, *, expires: timedelta, revoked: bool = False) -> None:
    now = utcnow()
    db.session.add(
        ApiToken(
            user_id=user_id,
            token_hash=hashlib.sha256(name.encode()).hexdigest(),
            created_at=now - timedelta(hours=1),
            expires_at=now + expires,
            revoked_at=now if revoked else None,
        )
    )


def _names() -> tuple[set[str], set[datetime]]:
    db.session.expire_all()
    logins = set(db.session.scalars(select(LoginSession.id)))
    tokens = set(db.session.scalars(select(ApiToken.expires_at)))
    return logins, tokens


def test_logins_prune_deletes_ended_and_expired_logins_and_tokens_and_says_how_many(
    runner,
) -> None:
    user = f.make_user("receptionist")
    _login(user.id, "live", begun=timedelta(days=2), used=timedelta(minutes=3))
    _login(user.id, "ended", begun=timedelta(hours=1), used=timedelta(minutes=3), ended=True)
    _login(user.id, "too-old", begun=timedelta(days=400), used=timedelta(minutes=3))
    _login(user.id, "idle", begun=timedelta(hours=9), used=timedelta(hours=8, minutes=5))
    _token(user.id, "live", expires=timedelta(hours=5))
    _token(user.id, "expired", expires=-timedelta(minutes=1))
    _token(user.id, "revoked", expires=timedelta(hours=5), revoked=True)
    f.commit()

    result = runner.invoke(args=["logins", "prune"])

    assert result.exit_code == 0, result.output
    assert "Deleted 3 ended or expired logins and 2 expired or revoked API tokens." in result.output
    logins, tokens = _names()
    assert logins == {"live"}
    assert len(tokens) == 1
    live = db.session.scalars(select(ApiToken)).one()
    assert live.revoked_at is None and live.expires_at > utcnow()

    again = runner.invoke(args=["logins", "prune"])
    assert "Deleted 0 ended or expired logins and 0 expired or revoked API tokens." in again.output


def test_logins_prune_follows_the_configured_ages(app, runner) -> None:
    user = f.make_user("client")
    _login(user.id, "an-hour-idle", begun=timedelta(hours=2), used=timedelta(hours=1))
    f.commit()
    assert "Deleted 0 ended" in runner.invoke(args=["logins", "prune"]).output
    app.config["LOGIN_IDLE_MINUTES"] = 30
    assert "Deleted 1 ended" in runner.invoke(args=["logins", "prune"]).output
    assert _names()[0] == set()
