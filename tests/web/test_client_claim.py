"""A client record made at the desk is claimed only by the owner of its mailbox."""

from __future__ import annotations

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Client, User
from clinic.services.people import accounts
from tests import factories as f
from tests.web.test_client_account import reset_link


def desk_record(email: str = "walkin@example.com") -> Client:
    return accounts.create_client(actor=f.actor("receptionist"), email=email, name="Walk In")


def test_sign_up_does_not_take_over_a_record_made_at_the_desk(app, client) -> None:
    record = desk_record()
    form = {
        "email": "walkin@example.com",
        "name": "Someone",
        "password": "long enough",
        "confirm": "long enough",
    }
    page = client.post("/signup", data=form)
    assert page.status_code == 422 and "Forgot your" in page.text
    db.session.expire_all()
    assert db.session.get(Client, record.id).user_id is None
    assert db.session.scalar(select(User).where(User.email == "walkin@example.com")) is None


def test_the_mailbox_owner_claims_the_record_through_the_emailed_link(app, client) -> None:
    record = desk_record()
    page = client.post("/password/forgot", data={"email": "walkin@example.com"})
    assert page.status_code == 200
    link = reset_link("walkin@example.com")
    done = client.post(link, data={"password": "brand new pw", "confirm": "brand new pw"})
    assert done.status_code == 302
    login = client.post("/login", data={"email": "walkin@example.com", "password": "brand new pw"})
    assert login.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, record.id).user is not None


def test_after_the_screening_next_never_leaves_the_site(app, client, login_as) -> None:
    login_as("client")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        page = client.post(f"/my/screening?next={target}", data={})
        assert "evil" not in page.headers.get("Location", "")
