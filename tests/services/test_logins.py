"""Logins the server can end (clinic/services/logins.py, passwords.change_password)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import ApiToken, AuditEntry, LoginSession
from clinic.services.core.actors import actor_for
from clinic.services.core.errors import InvalidRequest, NotFound, PermissionDenied
from clinic.services.people import logins, passwords, privacy, tokens
from clinic.services.staffing import staff_accounts
from tests import factories as f

PASSWORD = "password123"


def _live(user_id: int) -> set[str]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(LoginSession.id).where(
                LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
            )
        )
    )


def _live_tokens(user_id: int) -> int:
    db.session.expire_all()
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    )
    return len(list(rows))


def test_end_login_ends_that_login_only(app) -> None:
    user = f.make_user("client")
    phone, laptop = logins.start_login(user_id=user.id), logins.start_login(user_id=user.id)
    assert phone != laptop and _live(user.id) == {phone, laptop}
    logins.end_login(laptop)
    assert _live(user.id) == {phone}


def test_change_password_ends_every_other_login_and_every_token(app) -> None:
    user = f.make_user("client", password=PASSWORD)
    other_user = f.make_user("client", password=PASSWORD)
    here, there = logins.start_login(user_id=user.id), logins.start_login(user_id=user.id)
    elsewhere = logins.start_login(user_id=other_user.id)
    tokens.issue_token(email=user.email, password=PASSWORD)
    tokens.issue_token(email=other_user.email, password=PASSWORD)
    passwords.change_password(
        user_id=user.id, current=PASSWORD, password="a-new-password", keep_login=here
    )
    assert _live(user.id) == {here}
    assert _live_tokens(user.id) == 0
    assert _live(other_user.id) == {elsewhere} and _live_tokens(other_user.id) == 1
    assert there not in _live(user.id)
    assert (
        db.session.scalar(select(AuditEntry.action).where(AuditEntry.entity_id == user.id))
        == "change_password"
    )


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [("wrong-password", "a-new-password", "current"), (PASSWORD, "short", "password")],
)
def test_change_password_refused_changes_nothing(app, current: str, new: str, field: str) -> None:
    user = f.make_user("client", password=PASSWORD)
    here, there = logins.start_login(user_id=user.id), logins.start_login(user_id=user.id)
    with pytest.raises(InvalidRequest) as refused:
        passwords.change_password(user_id=user.id, current=current, password=new, keep_login=here)
    assert refused.value.field == field
    assert _live(user.id) == {here, there}
    db.session.expire_all()
    assert db.session.get(type(user), user.id).check_password(PASSWORD)


def test_an_admin_ends_a_staff_members_logins_and_tokens_and_it_is_audited(app) -> None:
    admin = f.actor("admin")
    desk = f.make_user("receptionist", password=PASSWORD)
    logins.start_login(user_id=desk.id)
    tokens.issue_token(email=desk.email, password=PASSWORD)
    assert logins.end_staff_logins(actor=admin, user_id=desk.id) == 2
    assert _live(desk.id) == set() and _live_tokens(desk.id) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "end_logins"))
    assert entry is not None and entry.entity_id == desk.id
    assert entry.detail == {"logins": 1, "tokens": 1}


def test_only_an_admin_ends_logins_and_only_of_staff_accounts(app) -> None:
    desk = f.make_user("receptionist")
    client = f.make_user("client")
    with pytest.raises(PermissionDenied):
        logins.end_staff_logins(actor=actor_for(desk), user_id=client.id)
    with pytest.raises(NotFound):
        logins.end_staff_logins(actor=f.actor("admin"), user_id=client.id)
    with pytest.raises(NotFound):
        logins.end_staff_logins(actor=f.actor("admin"), user_id=10_000)


def test_the_data_export_lists_the_logins_and_erasure_ends_them(app) -> None:
    client = f.make_client()
    assert client.user_id is not None
    logins.start_login(user_id=client.user_id)
    me = f.client_actor(client)
    data = privacy.export_client_data(actor=me)
    assert [x["ended_at"] for x in data["logins"]] == [None]
    assert data["logins"][0]["last_seen_at"] == data["logins"][0]["created_at"]
    privacy.erase_client(actor=me)
    assert _live(client.user_id) == set()


def test_a_user_ends_every_own_login_and_token_and_it_is_audited(app) -> None:
    client = f.make_client(password=PASSWORD)
    other = f.make_client(password=PASSWORD)
    assert client.user_id is not None and other.user_id is not None
    logins.start_login(user_id=client.user_id)
    logins.start_login(user_id=client.user_id)
    kept = logins.start_login(user_id=other.user_id)
    tokens.issue_token(email=client.email, password=PASSWORD)
    assert logins.end_own_logins(actor=f.client_actor(client)) == 3
    assert _live(client.user_id) == set() and _live_tokens(client.user_id) == 0
    assert _live(other.user_id) == {kept}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "end_logins"))
    assert entry is not None
    assert (entry.actor_id, entry.entity_id, entry.client_id) == (
        client.user_id,
        client.user_id,
        client.id,
    )
    assert entry.detail == {"logins": 2, "tokens": 1}


def test_deactivating_a_staff_account_ends_its_logins_and_tokens_and_a_role_change_does_not(
    app,
) -> None:
    admin = f.actor("admin")
    desk = f.make_user("receptionist", password=PASSWORD)
    login = logins.start_login(user_id=desk.id)
    tokens.issue_token(email=desk.email, password=PASSWORD)
    staff_accounts.update_staff_user(actor=admin, user_id=desk.id, role="practitioner", active=True)
    assert _live(desk.id) == {login} and _live_tokens(desk.id) == 1
    staff_accounts.update_staff_user(
        actor=admin, user_id=desk.id, role="practitioner", active=False
    )
    assert _live(desk.id) == set() and _live_tokens(desk.id) == 0
    staff_accounts.update_staff_user(actor=admin, user_id=desk.id, role="practitioner", active=True)
    assert _live(desk.id) == set()  # activating again revives nothing


def test_a_login_is_live_until_idle_or_too_old(app) -> None:
    ages = logins.LoginAges(idle=timedelta(hours=8), longest=timedelta(days=7))
    user = f.make_user("client")
    begun = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    login = logins.start_login(user_id=user.id, now=begun)

    def live(at: datetime) -> bool:
        db.session.expire_all()
        query = select(LoginSession.id).where(LoginSession.id == login, logins.is_live(ages, at))
        return db.session.scalar(query) is not None

    assert live(begun + timedelta(hours=7, minutes=59))
    assert not live(begun + timedelta(hours=8))
    logins.note_use(login, now=begun + timedelta(days=6, hours=20))
    assert live(begun + timedelta(days=6, hours=23))
    assert not live(begun + timedelta(days=7))  # however recently used
    logins.end_login(login, now=begun + timedelta(days=6, hours=21))
    assert not live(begun + timedelta(days=6, hours=21, minutes=1))


@pytest.mark.parametrize(
    ("since", "noted"),
    [(timedelta(minutes=4, seconds=59), False), (timedelta(minutes=5), True)],
)
def test_a_use_is_noted_only_a_few_minutes_after_the_last(since: timedelta, noted: bool) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert logins.use_to_note(now - since, now) is noted
