"""Consent pages (issue 21): a client signs online and returns to the booking it was making;
reception records a paper signature; errors are shown next to their fields."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import ClientConsent, User
from clinic.services.catalogue import import_catalogue
from tests import factories as f
from tests.clock import next_monday

TEXT = "A peel can cause redness.\nTell us about your medicines."


def setup_clinic() -> None:
    f.make_clinic()
    f.make_practitioner()
    f.make_course()
    import_catalogue(
        {
            "consent_forms": [
                {
                    "code": "peel_consent",
                    "title": "Chemical peel consent",
                    "text": TEXT,
                    "valid_days": 365,
                    "procedures": ["peel"],
                }
            ]
        }
    )


def signatures() -> list[ClientConsent]:
    db.session.expire_all()
    return list(db.session.scalars(select(ClientConsent)))


def screened(user: User) -> None:
    from datetime import UTC, datetime

    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()


def test_a_refused_plan_links_to_the_form_and_signing_returns_to_the_same_choices(
    app, client, login_as
) -> None:
    setup_clinic()
    screened(login_as("client"))
    earliest = next_monday().isoformat()

    refused = client.post(
        "/courses/peel_course/plan",
        data={"earliest": earliest, "weekdays": ["1", "3"], "how_many": "all", "practitioner": "0"},
    )
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "consent form “Chemical peel consent” signed" in page
    link = page.split('href="/my/consents/peel_consent/sign?next=')[1].split('"')[0]
    sign_page = client.get(f"/my/consents/peel_consent/sign?next={link}")
    assert "Tell us about your medicines." in sign_page.get_data(as_text=True)

    signed = client.post(
        f"/my/consents/peel_consent/sign?next={link}",
        data={"signed_name": "Carla Client", "agree": "y"},
    )
    back = client.get(signed.headers["Location"]).get_data(as_text=True)

    assert signed.status_code == 302 and signed.headers["Location"].startswith(
        "/courses/peel_course/plan?"
    )
    assert f'value="{earliest}"' in back
    ticked = set(
        re.findall(
            r'<input checked id="weekdays-\d" name="weekdays" type="checkbox" value="(\d)"', back
        )
    )
    assert ticked == {"1", "3"}
    [c] = signatures()
    assert (c.how, c.signed_name, c.version.text) == ("online", "Carla Client", TEXT)


def test_signing_without_a_name_or_the_tick_shows_the_errors_and_writes_nothing(
    app, client, login_as
) -> None:
    setup_clinic()
    login_as("client")
    no_name = client.post("/my/consents/peel_consent/sign", data={"agree": "y"})
    no_tick = client.post("/my/consents/peel_consent/sign", data={"signed_name": "Carla"})
    assert no_name.status_code == 422
    assert 'id="signed_name-error">Type your full name to sign.' in no_name.get_data(as_text=True)
    assert no_tick.status_code == 422
    assert 'id="agree-error">Tick the statement to sign.' in no_tick.get_data(as_text=True)
    assert signatures() == []


def test_a_signed_form_shows_the_text_as_signed_after_a_new_version(app, client, login_as) -> None:
    setup_clinic()
    login_as("client")
    client.post("/my/consents/peel_consent/sign", data={"signed_name": "Carla", "agree": "y"})
    import_catalogue(
        {
            "consent_forms": [
                {
                    "code": "peel_consent",
                    "title": "Chemical peel consent",
                    "text": "A different text.",
                    "valid_days": 365,
                    "procedures": ["peel"],
                }
            ]
        }
    )
    [c] = signatures()
    page = client.get(f"/my/consents/signed/{c.id}").get_data(as_text=True)
    assert "Tell us about your medicines." in page and "A different text." not in page
    assert "Read and sign again" in client.get("/my/consents").get_data(as_text=True)


def test_reception_records_a_paper_signature_on_the_client_page(app, client, login_as) -> None:
    setup_clinic()
    carla = f.make_client(name="Carla Client")
    desk = login_as("receptionist")

    page = client.get(f"/staff/clients/{carla.id}").get_data(as_text=True)
    missing = client.post(
        f"/staff/clients/{carla.id}/consents",
        data={"form": "peel_consent", "signed_name": "Carla Client"},
    )
    recorded = client.post(
        f"/staff/clients/{carla.id}/consents",
        data={"form": "peel_consent", "signed_name": "Carla Client", "agree": "y"},
    )

    assert "Record a paper signature" in page
    assert missing.status_code == 422
    assert "Tick that the client has signed the printed form." in missing.get_data(as_text=True)
    assert recorded.status_code == 302
    [c] = signatures()
    assert (c.how, c.recorded_by_id) == ("paper", desk.id)
    shown = client.get(f"/staff/clients/{carla.id}").get_data(as_text=True)
    assert f"paper, recorded by {desk.name}" in shown


def test_a_practitioner_reads_but_does_not_record(app, client, login_as) -> None:
    setup_clinic()
    carla = f.make_client()
    login_as("practitioner")
    answer = client.post(
        f"/staff/clients/{carla.id}/consents",
        data={"form": "peel_consent", "signed_name": "C", "agree": "y"},
    )
    assert answer.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ClientConsent)) == 0
