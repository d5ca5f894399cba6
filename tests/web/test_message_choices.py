"""The client's message choices on the web: the link in every email and RFC 8058's one-click
unsubscribe work without logging in; the profile's form puts its errors next to the fields."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import MessageChoice
from clinic.services.people import message_choices
from tests import factories as f

MOBILE = "+4915123456789"


def token_for(app, client_id: int) -> str:  # type: ignore[no-untyped-def]
    return message_choices.choices_token(client_id, app.config["SECRET_KEY"])


def choices_of(client_id: int) -> dict[str, tuple[bool, bool]]:
    db.session.expire_all()
    rows = db.session.scalars(select(MessageChoice).where(MessageChoice.client_id == client_id))
    return {r.topic: (r.email, r.text) for r in rows}


@pytest.fixture
def csrf_on(app):  # type: ignore[no-untyped-def]
    """CSRF checks on, as in production: the one-click POST must pass without a token."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_one_click_unsubscribe_switches_that_topics_emails_off_without_login(
    app, client, csrf_on
) -> None:
    person = f.make_client()
    response = client.post(
        f"/messages/unsubscribe/{token_for(app, person.id)}/reminders",
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200 and "no more emails of this kind" in response.text
    assert choices_of(person.id) == {"reminders": (False, False)}


def test_opening_the_unsubscribe_address_changes_nothing(app, client) -> None:
    person = f.make_client()
    token = token_for(app, person.id)
    response = client.get(f"/messages/unsubscribe/{token}/care")
    assert response.status_code == 200 and "Stop these emails</button>" in response.text
    assert f'href="/messages/choices/{token}"' in response.text
    assert choices_of(person.id) == {}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("{token}/changes", 400),  # changes and cancellations always reach the client
        ("{token}/everything", 404),
        ("forged.token/reminders", 400),
    ],
)
def test_one_click_refuses_what_cannot_be_switched_off_and_forged_links(
    app, client, path: str, status: int
) -> None:
    person = f.make_client()
    url = "/messages/unsubscribe/" + path.format(token=token_for(app, person.id))
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == status
    assert choices_of(person.id) == {}


def test_the_link_page_shows_and_saves_the_choices_without_login(app, client) -> None:
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"
    person = f.make_client(phone=MOBILE)
    url = f"/messages/choices/{token_for(app, person.id)}"
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="reminders_email" name="reminders_email" type="checkbox" value="y"' in page.text
    assert "Reminders by text message" in page.text
    saved = client.post(url, data={"reminders_text": "y", "care_email": "y", "changes_email": "y"})
    assert saved.status_code == 302
    assert choices_of(person.id) == {
        "reminders": (False, True),
        "care": (True, False),
        "changes": (True, False),
    }


def test_a_forged_link_opens_no_choices(client) -> None:
    response = client.get("/messages/choices/eyJjIjoxfQ.forged")
    assert response.status_code == 404 and "This link is not valid" in response.text


def test_the_profile_form_puts_each_error_next_to_its_field(app, client, login_as) -> None:
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"
    user = login_as("client")  # no phone number yet
    response = client.post("/profile/messages", data={"care_text": "y", "reminders_email": "y"})
    assert response.status_code == 422
    assert (
        '<p class="error" id="changes_email-error">Changes and cancellations always reach you'
        in response.text
    )
    assert (
        '<p class="error" id="care_text-error">Text messages need a mobile phone number'
        in response.text
    )
    assert choices_of(user.client.id) == {}


def test_the_profile_saves_choices_and_offers_no_texts_without_a_gateway(
    app, client, login_as
) -> None:
    app.config["SMS_GATEWAY_URL"] = ""
    user = login_as("client")
    page = client.get("/profile")
    assert "Reminders by email" in page.text and "by text message" not in page.text
    response = client.post("/profile/messages", data={"changes_email": "y", "reminders_text": "y"})
    assert response.status_code == 302
    # Texts are not offered: a forged field does not choose them.
    assert choices_of(user.client.id) == {
        "reminders": (False, False),
        "care": (False, False),
        "changes": (True, False),
    }


def test_a_bad_phone_number_is_refused_with_a_clear_message(client, login_as) -> None:
    login_as("client")
    response = client.post("/profile", data={"name": "Ada", "phone": "0151 234"})
    assert response.status_code == 422
    assert (
        '<p class="error" id="phone-error">0151 234 is not a phone number we can call: give it as '
        "you would dial it, or with its country code, such as +49 1512 3456789." in response.text
    )


def test_the_profile_saves_a_calendar_alarm_and_shows_it_chosen(client, login_as) -> None:
    user = login_as("client")
    assert "Also remind me in my calendar" in client.get("/profile").text
    data = {"changes_email": "y", "reminders_email": "y", "alarm_hours": "24"}
    assert client.post("/profile/messages", data=data).status_code == 302
    db.session.expire_all()
    row = db.session.get(MessageChoice, (user.client.id, "reminders"))
    assert row is not None and row.alarm_hours == 24
    assert '<option selected value="24">24 hours before</option>' in client.get("/profile").text


def test_a_forged_calendar_alarm_is_refused_next_to_its_field(client, login_as) -> None:
    user = login_as("client")
    data = {"changes_email": "y", "alarm_hours": "5"}
    response = client.post("/profile/messages", data=data)
    assert response.status_code == 422
    assert '<p class="error" id="alarm_hours-error">Choose a calendar alarm' in response.text
    assert choices_of(user.client.id) == {}
