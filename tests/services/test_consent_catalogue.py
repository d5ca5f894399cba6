"""Consent forms in the catalogue file: import, versions, export, bad input (issue 21)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import ConsentForm, ConsentFormVersion
from clinic.services.catalogue import export_catalogue, import_catalogue
from clinic.services.core.errors import InvalidData
from tests import factories as f

TEXT = "I understand that a peel can cause redness.\nI have told the clinic about my medicines."


def peel_form(**overrides: Any) -> dict[str, Any]:
    form = {
        "code": "peel_consent",
        "title": "Chemical peel consent",
        "text": TEXT,
        "valid_days": 365,
        "procedures": ["peel"],
    }
    form.update(overrides)
    return form


@pytest.fixture
def catalogue(app):
    f.make_clinic()
    f.make_procedure()
    f.commit()


def form_row(code: str = "peel_consent") -> ConsentForm:
    db.session.expire_all()
    return db.session.scalar(select(ConsentForm).where(ConsentForm.code == code))


def test_import_writes_a_form_with_its_first_version(catalogue) -> None:
    report = import_catalogue({"consent_forms": [peel_form()]})
    form = form_row()
    assert report.counts["consent_forms"].created == 1
    assert (form.title, form.valid_days, [p.code for p in form.procedures]) == (
        "Chemical peel consent",
        365,
        ["peel"],
    )
    [version] = form.versions
    assert (version.number, version.text) == (1, TEXT)
    assert version.sha256 == hashlib.sha256(TEXT.encode()).hexdigest()


def test_import_of_the_same_form_again_changes_nothing(catalogue) -> None:
    import_catalogue({"consent_forms": [peel_form()]})
    report = import_catalogue({"consent_forms": [peel_form(text=TEXT.replace("\n", "\r\n"))]})
    assert report.counts["consent_forms"].unchanged == 1
    assert len(form_row().versions) == 1


def test_a_new_text_makes_a_new_version_and_keeps_the_old_one(catalogue) -> None:
    import_catalogue({"consent_forms": [peel_form()]})
    report = import_catalogue({"consent_forms": [peel_form(text=TEXT + "\nNew risk.")]})
    form = form_row()
    assert report.counts["consent_forms"].updated == 1
    assert [(v.number, v.text) for v in form.versions] == [(1, TEXT), (2, TEXT + "\nNew risk.")]
    assert form.current is not None and form.current.number == 2


def test_a_new_title_alone_makes_no_new_version(catalogue) -> None:
    import_catalogue({"consent_forms": [peel_form()]})
    import_catalogue({"consent_forms": [peel_form(title="Peel consent", valid_days=180)]})
    form = form_row()
    assert (form.title, form.valid_days, len(form.versions)) == ("Peel consent", 180, 1)


def test_export_writes_the_current_text_and_reimports_to_the_same_state(catalogue) -> None:
    import_catalogue({"consent_forms": [peel_form()]})
    import_catalogue({"consent_forms": [peel_form(text="Second text.")]})
    exported = export_catalogue()
    assert exported["consent_forms"] == [peel_form(text="Second text.")]
    report = import_catalogue(exported)
    assert report.counts["consent_forms"].unchanged == 1


@pytest.mark.parametrize(
    ("form", "field", "code"),
    [
        (peel_form(procedures=["laser"]), "consent_forms[0].procedures[0]", "unknown_procedure"),
        (peel_form(procedures=["peel", "peel"]), "consent_forms[0].procedures[1]", "duplicate"),
        (peel_form(valid_days=0), "consent_forms[0].valid_days", "out_of_range"),
        (peel_form(valid_days="365"), "consent_forms[0].valid_days", "wrong_type"),
        (peel_form(text="  "), "consent_forms[0].text", "wrong_type"),
        (peel_form(text="a\tb"), "consent_forms[0].text", "control_character"),
        (peel_form(text="x" * 20_001), "consent_forms[0].text", "too_long"),
        (peel_form(title="a\nb"), "consent_forms[0].title", "control_character"),
        ({**peel_form(), "colour": "red"}, "consent_forms[0].colour", "unknown_field"),
        (
            {k: v for k, v in peel_form().items() if k != "text"},
            "consent_forms[0].text",
            "required",
        ),
    ],
)
def test_a_bad_form_is_refused_with_its_path_and_nothing_written(
    catalogue, form: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(InvalidData) as refused:
        import_catalogue({"consent_forms": [form]})
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [(field, code)]
    assert db.session.scalar(select(func.count()).select_from(ConsentForm)) == 0
    assert db.session.scalar(select(func.count()).select_from(ConsentFormVersion)) == 0


def test_a_form_given_twice_is_refused(catalogue) -> None:
    with pytest.raises(InvalidData) as refused:
        import_catalogue({"consent_forms": [peel_form(), peel_form()]})
    assert {
        "code": "duplicate",
        "field": "consent_forms[1].code",
        "message": "'peel_consent' appears twice.",
    } in refused.value.errors
