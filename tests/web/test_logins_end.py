"""Logins that end (issue 19, defect 12): an idle and an absolute maximum age, deactivation
ends an account's logins and tokens, and a client logs out everywhere from the profile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask, g
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEntry, LoginSession, utcnow
from tests import factories as f
from tests.web.test_auth_hardening import PASSWORD, _api_status, _cookie, _log_in, _opens, _token


def _login_of(user_id: int) -> LoginSession:
    db.session.expire_all()
    row = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)).one()
    return row


def _age(user_id: int, *, begun: timedelta, last_used: timedelta) -> None:
    """Move the user's one login back in time: begun and last used that long ago."""
    row = _login_of(user_id)
    now = utcnow()
    row.created_at, row.last_seen_at = now - begun, now - last_used
    f.commit()


@pytest.mark.parametrize("begun", [timedelta(days=400), timedelta(days=7, minutes=1)])
def test_a_login_older_than_its_maximum_age_opens_nothing_however_recently_used(
    app: Flask, begun: timedelta
) -> None:
    user = f.make_user("client", password=PASSWORD)
    saved = _cookie(_log_in(app, user.email))
    _age(user.id, begun=begun, last_used=timedelta(minutes=1))
    assert not _opens(app, saved)


def test_a_login_idle_longer_than_the_idle_limit_opens_nothing(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    saved = _cookie(_log_in(app, user.email))
    _age(user.id, begun=timedelta(hours=9), last_used=timedelta(hours=8, minutes=1))
    assert not _opens(app, saved)


def test_the_idle_and_maximum_ages_come_from_the_config(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    saved = _cookie(_log_in(app, user.email))
    _age(user.id, begun=timedelta(hours=2), last_used=timedelta(minutes=40))
    app.config["LOGIN_IDLE_MINUTES"] = 30
    assert not _opens(app, saved)
    app.config["LOGIN_IDLE_MINUTES"] = 60
    assert _opens(app, saved)
    _age(user.id, begun=timedelta(days=2), last_used=timedelta(minutes=1))
    app.config["LOGIN_MAX_DAYS"] = 1
    assert not _opens(app, saved)
    app.config["LOGIN_MAX_DAYS"] = 3
    assert _opens(app, saved)


def test_a_login_in_use_is_kept_past_the_idle_limit_and_its_use_noted(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    saved = _cookie(_log_in(app, user.email))
    _age(user.id, begun=timedelta(hours=20), last_used=timedelta(hours=7))
    assert _opens(app, saved)
    seen = _login_of(user.id).last_seen_at
    assert utcnow() - seen < timedelta(minutes=1)  # noted: the login stays for 8 more hours
    _age(user.id, begun=timedelta(hours=20), last_used=timedelta(hours=8, minutes=1))
    assert not _opens(app, saved)


def test_a_login_used_a_minute_ago_is_not_written_again(app: Flask) -> None:
    # Noting every request would be a write per page: only after a few minutes.
    user = f.make_user("client", password=PASSWORD)
    saved = _cookie(_log_in(app, user.email))
    _age(user.id, begun=timedelta(hours=1), last_used=timedelta(minutes=1))
    before = _login_of(user.id).last_seen_at
    assert _opens(app, saved)
    assert _login_of(user.id).last_seen_at == before


def test_deactivating_a_staff_account_ends_its_logins_so_reactivating_revives_no_cookie(
    app: Flask,
) -> None:
    admin = f.make_user("admin", password=PASSWORD)
    desk = f.make_user("receptionist", password=PASSWORD)
    desk_cookie = _cookie(_log_in(app, desk.email))
    desk_token = _token(app.test_client(), desk.email)
    assert _opens(app, desk_cookie, "/staff/calendar")
    web = _log_in(app, admin.email)
    form = f"u{desk.id}"
    g.pop("_login_user", None)
    off = web.post(f"/staff/admin/users/{desk.id}", data={f"{form}-role": "receptionist"})
    assert off.status_code == 302
    g.pop("_login_user", None)
    on = web.post(
        f"/staff/admin/users/{desk.id}",
        data={f"{form}-role": "receptionist", f"{form}-active": "y"},
    )
    assert on.status_code == 302
    assert not _opens(app, desk_cookie, "/staff/calendar")
    assert _api_status(app, desk_token) == 401
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_id == desk.id, AuditEntry.action == "update")
        .order_by(AuditEntry.id)
    ).first()
    assert entry is not None and entry.detail["logins"] == 1 and entry.detail["tokens"] == 1
    # The account works again with a new login.
    assert _opens(app, _cookie(_log_in(app, desk.email)), "/staff/calendar")


def test_a_client_logs_out_everywhere_from_the_profile_page(app: Flask) -> None:
    user = f.make_client(password=PASSWORD).user
    assert user is not None
    phone = _cookie(_log_in(app, user.email))
    token = _token(app.test_client(), user.email)
    web = _log_in(app, user.email)
    other = f.make_client(password=PASSWORD).user
    assert other is not None
    others = _cookie(_log_in(app, other.email))
    g.pop("_login_user", None)
    page = web.get("/profile").get_data(as_text=True)
    assert 'action="/profile/logout-everywhere"' in page
    g.pop("_login_user", None)
    response = web.post("/profile/logout-everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not _opens(app, phone)
    g.pop("_login_user", None)
    assert web.get("/my/sessions").status_code == 302  # this browser is logged out too
    assert _api_status(app, token) == 401
    assert _opens(app, others)  # another client's login stays
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "end_logins", AuditEntry.entity_id == user.id)
    ).one()
    assert entry.actor_id == user.id
    assert entry.detail == {"logins": 2, "tokens": 1}
