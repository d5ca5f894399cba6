"""Consents in the API (issue 21): list and sign, their errors, and the refusal code of a
plan and an enrolment."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AttentionFlag, ClientConsent
from clinic.services.catalogue import import_catalogue
from tests.api.conftest import at
from tests.clock import next_monday


@pytest.fixture
def consent(clinic):
    import_catalogue(
        {
            "consent_forms": [
                {
                    "code": "peel_consent",
                    "title": "Chemical peel consent",
                    "text": "A peel can cause redness.",
                    "valid_days": 365,
                    "procedures": ["peel"],
                }
            ]
        }
    )
    return clinic


SIGN = {"form": "peel_consent", "signed_name": "Carla Client", "agree": True}


def signatures() -> int:
    return db.session.scalar(select(func.count()).select_from(ClientConsent))


def test_a_client_signs_online_and_lists_it(consent, api_as) -> None:
    me = api_as("client")
    cid = consent["client"].id

    signed = me.post(f"/clients/{cid}/consents", SIGN)
    listed = me.get(f"/clients/{cid}/consents")

    assert signed.status_code == 201
    assert signed.json["form"] == "peel_consent" and signed.json["how"] == "online"
    assert signed.json["version"] == 1
    assert listed.status_code == 200 and listed.json == [signed.json]
    assert set(listed.json[0]) == {"form", "version", "signed_at", "valid_until", "how"}


def test_reception_records_paper(consent, api_as) -> None:
    answer = api_as("receptionist").post(f"/clients/{consent['client'].id}/consents", SIGN)
    assert answer.status_code == 201 and answer.json["how"] == "paper"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SIGN, "agree": False}, "agree"),
        ({"form": "peel_consent", "signed_name": "Carla"}, "agree"),
        ({**SIGN, "signed_name": ""}, "signed_name"),
        ({"form": "peel_consent", "agree": True}, "signed_name"),
        ({**SIGN, "agree": "yes"}, "agree"),
    ],
)
def test_without_agree_or_a_name_400_and_nothing_written(consent, api_as, body, field) -> None:
    answer = api_as("client").post(f"/clients/{consent['client'].id}/consents", body)
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json["errors"]] == [field]
    assert signatures() == 0


def test_403_for_a_practitioner_and_404_for_another_client_or_form(consent, api_as) -> None:
    cid, other = consent["client"].id, consent["other"].id
    assert api_as("practitioner").post(f"/clients/{cid}/consents", SIGN).status_code == 403
    assert api_as("client").post(f"/clients/{other}/consents", SIGN).status_code == 404
    assert api_as("client").get(f"/clients/{other}/consents").status_code == 404
    unknown = api_as("client").post(f"/clients/{cid}/consents", {**SIGN, "form": "nope"})
    assert unknown.status_code == 404
    assert signatures() == 0


def test_plan_and_enrolment_are_refused_for_a_client_who_has_not_signed(consent, api_as) -> None:
    me = api_as("client")
    monday = next_monday()
    plan = me.post("/plans", {"course": "peel_course", "earliest": monday.isoformat()})
    enrol = me.post(
        "/enrolments", {"course": "peel_course", "sessions": [{"start": at(monday, 10)}]}
    )

    for answer in (plan, enrol):
        assert answer.status_code == 422
        assert [(e["code"], e["form"]) for e in answer.json["errors"]] == [
            ("consent_required", "peel_consent")
        ]


def test_staff_book_it_and_the_session_is_on_the_attention_list_until_signed(
    consent, api_as
) -> None:
    desk, cid = api_as("receptionist"), consent["client"].id
    booked = desk.post(
        "/enrolments",
        {"course": "peel_course", "client": cid, "sessions": [{"start": at(next_monday(), 10)}]},
    )
    listed = desk.get("/attention")

    assert booked.status_code == 201
    assert [e["code"] for item in listed.json for e in item["errors"]] == ["consent_required"]

    assert api_as("client").post(f"/clients/{cid}/consents", SIGN).status_code == 201
    assert desk.get("/attention").json == []
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 0


def test_the_catalogue_lists_its_consent_forms_with_their_current_text(consent, api_as) -> None:
    answer = api_as("client").get("/consent-forms")
    assert answer.status_code == 200, answer.json
    assert answer.json == [
        {
            "code": "peel_consent",
            "title": "Chemical peel consent",
            "text": "A peel can cause redness.",
            "version": 1,
            "valid_days": 365,
            "procedures": ["peel"],
        }
    ]
