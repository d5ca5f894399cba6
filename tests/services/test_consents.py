"""Consent signatures and the `consent_required` gate through the services (issue 21)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AttentionFlag, AuditEntry, ClientConsent
from clinic.services.catalogue import import_catalogue
from clinic.services.clinical import consents
from clinic.services.core.errors import InvalidRequest, NotFound, PermissionDenied, RuleViolation
from clinic.services.courses import enrol, moves
from clinic.services.lifetime import attention_list
from clinic.services.people import privacy
from tests import factories as f
from tests.clock import NOW, local

TEXT = "A peel can cause redness.\nI have told the clinic about my medicines."


def consent_form(valid_days: int = 365, text: str = TEXT) -> None:
    import_catalogue(
        {
            "consent_forms": [
                {
                    "code": "peel_consent",
                    "title": "Chemical peel consent",
                    "text": text,
                    "valid_days": valid_days,
                    "procedures": ["peel"],
                }
            ]
        }
    )


@pytest.fixture
def clinic(app):
    f.make_clinic()
    practitioner = f.make_practitioner()
    f.make_course()
    consent_form()
    client = f.make_client(name="Maria Schmidt")
    return {
        "practitioner": practitioner,
        "client": client,
        "me": f.client_actor(client),
        "desk": f.actor("receptionist"),
    }


def sign(by, client_id=None, name="Maria Schmidt", agree=True, now=NOW):
    return consents.sign_consent(
        actor=by,
        client_id=client_id,
        form_code="peel_consent",
        signed_name=name,
        agree=agree,
        now=now,
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def flags() -> dict[int, list[str]]:
    db.session.expire_all()
    return {
        flag.appointment_id: [e["code"] for e in flag.errors]
        for flag in db.session.scalars(select(AttentionFlag))
    }


# Three sessions two weeks apart, Tuesdays at 10:00.
STARTS = (local(2026, 12, 1, 10), local(2026, 12, 15, 10), local(2026, 12, 29, 10))


# --- signing -----------------------------------------------------------------------------------


def test_a_client_signs_the_current_version_online(clinic) -> None:
    signed = sign(clinic["me"])

    c = signed.consent
    assert (c.how, c.version.number, c.version.text, c.signed_name) == (
        "online",
        1,
        TEXT,
        "Maria Schmidt",
    )
    assert c.text_sha256 == c.version.sha256 and len(c.text_sha256) == 64
    assert (c.signed_on, c.valid_until) == (date(2026, 11, 25), date(2027, 11, 25))
    assert c.recorded_by_id == clinic["client"].user_id
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == (
        "sign_consent"
    )


@pytest.mark.parametrize(
    ("name", "agree", "field"),
    [("", True, "signed_name"), ("   ", True, "signed_name"), ("Maria", False, "agree")],
)
def test_without_a_name_or_the_statement_nothing_is_written(clinic, name, agree, field) -> None:
    with pytest.raises(InvalidRequest) as refused:
        sign(clinic["me"], name=name, agree=agree)
    assert refused.value.status == 400 and refused.value.field == field
    assert count(ClientConsent) == 0


def test_a_new_version_is_signed_and_the_old_signature_keeps_its_text(clinic) -> None:
    first = sign(clinic["me"]).consent.id
    consent_form(text="A new text with a new risk.")
    second = sign(clinic["me"]).consent

    old = consents.get_consent(actor=clinic["me"], client_id=None, consent_id=first)
    assert (old.version.number, old.version.text) == (1, TEXT)
    assert (second.version.number, second.version.text) == (2, "A new text with a new risk.")


def test_reception_records_a_paper_signature(clinic) -> None:
    signed = sign(clinic["desk"], client_id=clinic["client"].id).consent
    assert (signed.how, signed.recorded_by_id) == ("paper", clinic["desk"].user_id)


def test_a_client_signs_only_for_itself_and_a_practitioner_never(clinic) -> None:
    other = f.make_client()
    with pytest.raises(NotFound):
        sign(clinic["me"], client_id=other.id)
    with pytest.raises(PermissionDenied):
        sign(f.actor("practitioner"), client_id=clinic["client"].id)
    with pytest.raises(NotFound):
        consents.sign_consent(
            actor=clinic["me"],
            client_id=None,
            form_code="no_such_form",
            signed_name="Maria",
            agree=True,
            now=NOW,
        )
    assert count(ClientConsent) == 0


# --- the gate --------------------------------------------------------------------------------


def test_a_client_booking_online_is_refused_and_told_which_form(clinic) -> None:
    with pytest.raises(RuleViolation) as refused:
        f.book(*STARTS, client=clinic["client"], by=clinic["me"], now=NOW)
    codes = {(e["code"], e.get("form")) for e in refused.value.as_json()}
    assert codes == {("consent_required", "peel_consent")}


def test_a_client_plan_is_refused_and_staff_plan_says_it_in_a_note(clinic) -> None:
    with pytest.raises(RuleViolation) as refused:
        enrol.plan_course_for(
            actor=clinic["me"],
            course_code="peel_course",
            client_id=None,
            earliest=date(2026, 12, 1),
            now=NOW,
        )
    plan = enrol.plan_course_for(
        actor=clinic["desk"],
        course_code="peel_course",
        client_id=clinic["client"].id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    assert [v.code for v in refused.value.violations] == ["consent_required"]
    assert len(plan.sessions) == 6
    assert [(n.code, n.session) for n in plan.notes] == [("consent_required", 1)]


def test_staff_book_without_consent_and_the_sessions_wait_until_signed(clinic) -> None:
    enrolment = f.book(*STARTS, client=clinic["client"], by=clinic["desk"], now=NOW)
    ids = sorted(a.id for a in enrolment.appointments)
    assert flags() == {i: ["consent_required"] for i in ids}
    listed = attention_list.attention_list(actor=clinic["desk"], now=NOW)
    assert {item.appointment.id for item in listed} == set(ids)

    signed = sign(clinic["me"], now=NOW + timedelta(days=1))

    assert flags() == {}
    assert signed.mended == 3


def test_a_signature_ending_inside_a_booked_course_flags_only_the_later_session(app) -> None:
    f.make_clinic()
    f.make_practitioner()
    f.make_course()
    consent_form(valid_days=30)  # signed 25 Nov: valid to 25 Dec, included
    client = f.make_client()
    me = f.client_actor(client)
    sign(me)

    with pytest.raises(RuleViolation) as refused:
        f.book(*STARTS, client=client, by=me, now=NOW)
    enrolment = f.book(*STARTS, client=client, by=f.actor("receptionist"), now=NOW)

    assert [(v.code, v.session) for v in refused.value.violations] == [("consent_required", 3)]
    third = next(a.id for a in enrolment.appointments if a.session == 3)
    assert flags() == {third: ["consent_required"]}
    assert (
        "was valid until 25 December 2026, before this Glycolic peel session on 29 December"
        in refused.value.violations[0].message
    )


def test_a_move_by_staff_past_the_signature_flags_the_session(clinic) -> None:
    consent_form(valid_days=30)
    sign(clinic["me"])
    enrolment = f.book(*STARTS[:1], client=clinic["client"], by=clinic["desk"], now=NOW)
    assert flags() == {}
    first = enrolment.appointments[0]
    with pytest.raises(RuleViolation):
        moves.move_appointment(
            actor=clinic["me"], appointment_id=first.id, start=local(2027, 1, 5, 10), now=NOW
        )
    moves.move_appointment(
        actor=clinic["desk"], appointment_id=first.id, start=local(2027, 1, 5, 10), now=NOW
    )
    assert flags() == {first.id: ["consent_required"]}


# --- privacy -----------------------------------------------------------------------------------


def test_the_export_holds_the_signed_text_and_erasing_the_client_erases_the_consents(
    clinic,
) -> None:
    sign(clinic["me"])
    exported = privacy.export_client_data(actor=clinic["me"])
    privacy.erase_client(actor=clinic["me"])

    [c] = exported["consents"]
    assert (c["form"], c["version"], c["text"], c["how"]) == ("peel_consent", 1, TEXT, "online")
    assert count(ClientConsent) == 0
