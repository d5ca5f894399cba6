"""Consent forms in the staff catalogue pages: list, create, edit (a new version), errors."""

from __future__ import annotations

import html

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import ConsentForm
from tests import factories as f


def form_data(**overrides: str | list[str]) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "peel_consent",
        "title": "Chemical peel consent",
        "text": "First line.\r\nSecond line.",
        "valid_days": "365",
        "procedures": ["peel"],
        "submit": "Save the consent form",
    }
    data.update(overrides)
    return data


def stored(code: str = "peel_consent") -> ConsentForm | None:
    db.session.expire_all()
    return db.session.scalar(select(ConsentForm).where(ConsentForm.code == code))


def test_a_cosmetologist_creates_a_form_and_sees_it_in_the_catalogue(app, client, login_as) -> None:
    f.make_clinic()
    f.make_procedure()
    login_as("practitioner")

    saved = client.post("/staff/catalogue/consent_form/new", data=form_data())
    page = client.get("/staff/catalogue").get_data(as_text=True)

    assert saved.status_code == 302
    form = stored()
    assert form is not None and form.current is not None
    assert form.current.text == "First line.\nSecond line."
    assert "Chemical peel consent" in page and "version 1" in page
    assert "Glycolic peel needs this form signed before a session" in html.unescape(page)


def test_editing_the_text_saves_a_new_version_and_the_same_text_none(app, client, login_as) -> None:
    f.make_clinic()
    f.make_procedure()
    login_as("admin")
    client.post("/staff/catalogue/consent_form/new", data=form_data())

    client.post("/staff/catalogue/consent_form/peel_consent", data=form_data(title="Peel"))
    same = stored()
    versions_after_a_new_title = len(same.versions) if same is not None else 0
    client.post("/staff/catalogue/consent_form/peel_consent", data=form_data(text="A new text."))
    edited = stored()

    assert versions_after_a_new_title == 1
    assert edited is not None and [v.number for v in edited.versions] == [1, 2]
    assert edited.versions[0].text == "First line.\nSecond line."
    page = client.get("/staff/catalogue/consent_form/peel_consent").get_data(as_text=True)
    assert "Versions (2)" in page and "A new text." in page


def test_bad_values_are_shown_next_to_their_fields_and_nothing_is_saved(
    app, client, login_as
) -> None:
    f.make_clinic()
    f.make_procedure()
    login_as("admin")

    answer = client.post(
        "/staff/catalogue/consent_form/new", data=form_data(valid_days="0", text="a\tb")
    )

    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 422
    assert 'id="valid_days-error">Valid for (days) must be from 1 to 3650; got 0.' in page
    assert 'id="text-error">Use plain text in lines' in page
    assert stored() is None


def test_a_receptionist_may_not_edit_consent_forms(app, client, login_as) -> None:
    f.make_clinic()
    login_as("receptionist")
    assert client.get("/staff/catalogue/consent_form/new").status_code == 403
