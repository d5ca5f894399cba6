"""Client accounts through the pages: sign-up, log in, password reset by emailed link, profile."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEntry, Client, OutboxMessage, User
from clinic.services.people import passwords
from tests import factories as f

SIGN_UP = {
    "email": "new@example.com",
    "name": "Nora New",
    "password": "long enough",
    "confirm": "long enough",
}


def test_sign_up_creates_a_client_logs_in_and_asks_for_the_screening(app, client) -> None:
    response = client.post("/signup", data=SIGN_UP)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my/screening")
    row = db.session.scalar(select(Client).where(Client.email == "new@example.com"))
    assert row is not None and row.name == "Nora New" and row.user is not None
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.client_id == row.id)) == (
        "sign_up"
    )
    assert client.get("/my/screening").status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-email"}, "Give a valid email address"),
        ({"email": ""}, "Give your email address."),
        ({"name": ""}, "Tell us your name."),
        ({"name": "   "}, "Tell us your name."),
        ({"password": "short", "confirm": "short"}, "The password needs at least 8 characters."),
        ({"confirm": "something else"}, "The two passwords differ."),
        # A name reaches emails: one line of plain text (issue 15).
        ({"name": "Nora\r\nBcc: everyone@example.com"}, "Use one line of plain text"),
        ({"name": "Nora \u202eweN"}, "Use one line of plain text"),
    ],
)
def test_sign_up_refuses_bad_input_with_its_message(app, client, change, message) -> None:
    response = client.post("/signup", data=SIGN_UP | change)
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(User).where(User.email == "new@example.com")) is None


def test_sign_up_refuses_an_email_that_has_an_account(app, client) -> None:
    f.make_client(email="new@example.com")
    response = client.post("/signup", data=SIGN_UP | {"email": "NEW@example.com"})
    assert response.status_code == 422
    assert "exists already" in response.text


def test_login_sends_a_client_to_its_sessions_and_refuses_a_wrong_password(app, client) -> None:
    f.make_client(email="ada@example.com", password="password123")
    wrong = client.post("/login", data={"email": "ada@example.com", "password": "nope-nope"})
    assert wrong.status_code == 422 and "Email or password is not right." in wrong.text
    right = client.post("/login", data={"email": "ada@example.com", "password": "password123"})
    assert right.headers["Location"].endswith("/my/sessions")
    assert client.post("/logout").status_code == 302
    assert client.get("/my/sessions").status_code == 302  # to the login page


def reset_link(email: str) -> str:
    body = db.session.scalar(
        select(OutboxMessage.body).where(
            OutboxMessage.kind == "password_reset", OutboxMessage.to_email == email
        )
    )
    assert body is not None
    found = re.search(r"http://localhost(/password/reset/\S+)", body)
    assert found is not None
    return found.group(1)


def test_a_password_reset_link_is_emailed_works_once_and_changes_the_password(app, client) -> None:
    f.make_client(email="ada@example.com", password="password123")
    page = client.post("/password/forgot", data={"email": "ada@example.com"})
    assert page.status_code == 200 and "we have emailed it a link" in page.text
    link = reset_link("ada@example.com")
    assert client.get(link).status_code == 200
    mismatch = client.post(link, data={"password": "brand new pw", "confirm": "other"})
    assert mismatch.status_code == 422 and "The two passwords differ." in mismatch.text
    short = client.post(link, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.text
    done = client.post(link, data={"password": "brand new pw", "confirm": "brand new pw"})
    assert done.status_code == 302
    login = client.post("/login", data={"email": "ada@example.com", "password": "brand new pw"})
    assert login.status_code == 302
    again = client.get(link)
    assert again.status_code == 400 and "not valid any more" in again.text


def test_a_reset_for_an_unknown_email_answers_the_same_and_queues_nothing(app, client) -> None:
    page = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert page.status_code == 200 and "we have emailed it a link" in page.text
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_a_forged_reset_link_is_refused(app, client) -> None:
    response = client.get("/password/reset/eyJ1IjoxfQ.forged.signature")
    assert response.status_code == 400 and "not valid any more" in response.text


def test_profile_changes_name_and_phone_and_refuses_a_bad_phone(app, client, login_as) -> None:
    user = login_as("client")
    assert user.email in client.get("/profile").text
    bad = client.post("/profile", data={"name": "Ada L", "phone": "call me maybe"})
    assert bad.status_code == 422 and "not a phone number we can call" in bad.text
    empty = client.post("/profile", data={"name": "", "phone": ""})
    assert empty.status_code == 422 and "Tell us your name." in empty.text
    ok = client.post("/profile", data={"name": "Ada Lovelace", "phone": "+49 30 1234"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert (user.client.name, user.client.phone, user.name) == (
        "Ada Lovelace",
        "+49301234",  # stored in E.164
        "Ada Lovelace",
    )


CLIENT_PAGES = ["/my/sessions", "/my/screening", "/my/periods", "/profile", "/my/calendar.ics"]


@pytest.mark.parametrize("url", CLIENT_PAGES)
def test_client_pages_send_a_visitor_to_log_in(app, client, url) -> None:
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["admin", "receptionist", "practitioner"])
@pytest.mark.parametrize("url", CLIENT_PAGES)
def test_client_pages_are_not_for_staff_accounts(app, client, login_as, role, url) -> None:
    login_as(role)
    assert client.get(url).status_code == 403


def queue_a_reset() -> None:
    # Through the service: a request before login_as would leave an anonymous user in the app
    # context that the test client shares between requests.
    f.make_client(email="ada@example.com")
    passwords.request_password_reset(
        email="ada@example.com", secret="test-secret", link_for=lambda t: f"/password/reset/{t}"
    )


def test_the_outbox_page_shows_the_admin_every_message(app, client, login_as) -> None:
    queue_a_reset()
    login_as("admin")
    page = client.get("/dev/outbox")
    assert page.status_code == 200 and "Reset your password" in page.text


@pytest.mark.parametrize("role", ["client", "receptionist"])
def test_the_outbox_page_is_refused_to_others_outside_development(
    app, client, login_as, role
) -> None:
    queue_a_reset()
    login_as(role)
    assert client.get("/dev/outbox").status_code == 403


def test_the_outbox_page_is_open_in_development(app, client, login_as) -> None:
    queue_a_reset()
    login_as("client")
    app.debug = True
    try:
        assert "Reset your password" in client.get("/dev/outbox").text
    finally:
        app.debug = False
