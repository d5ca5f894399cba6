"""Treatment records, photos and a severe reaction (issue 21, "The treatment record"):
drafts and sign-off, amendments, photo checks, consent, erasure and export, the review flag
and pushing the rest of a course."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import (
    Appointment,
    AttentionFlag,
    AuditEntry,
    ClinicSettings,
    Photo,
    PhotoConsent,
    StoredBlob,
    TreatmentRecord,
)
from clinic.services.clinical import photos, records
from clinic.services.clinical.records import Product, RecordInput
from clinic.services.core import audit
from clinic.services.core.actors import actor_for
from clinic.services.core.errors import (
    Conflict,
    InvalidData,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
    TooLarge,
)
from clinic.services.courses import outcomes
from clinic.services.lifetime import attention
from clinic.services.people import privacy
from clinic.services.world.flags import REACTION_REVIEW
from tests import factories as f
from tests.clock import BERLIN, NOW

FIRST = NOW.astimezone(BERLIN).replace(day=1, month=12, hour=10)  # Tue 1 Dec 2026, 10:00
SECOND = FIRST + timedelta(days=14)
THIRD = FIRST + timedelta(days=28)
AFTER = FIRST + timedelta(hours=2)


def jpeg(size: tuple[int, int] = (2400, 1800), *, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 100))
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "PhoneMaker"
        exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def held(app):
    """A three-session peel course, session 1 held (done); the practitioner's actor."""
    booked = f.make_booked_course(
        FIRST,
        SECOND,
        THIRD,
        course=dict(sessions=3),
        client=dict(email="ada@example.com", name="Ada"),
        now=NOW,
    )
    user = f.make_user("practitioner", email=booked.practitioner.email)
    booked.practitioner.user_id = user.id
    f.commit()
    first, second, third = booked.ids
    outcomes.record_outcome(
        actor=booked.desk, appointment_id=first, status="done", note="", now=AFTER
    )
    return {
        "booked": booked,
        "practitioner": actor_for(user),
        "desk": booked.desk,
        "client": booked.client,
        "ids": (first, second, third),
    }


def _entry(**overrides) -> RecordInput:
    values = dict(
        values={"acid": "glycolic", "concentration": "35", "exposure": "3"},
        areas="Face, neck",
        products=(Product("Glycolic 35%", "LOT-2211"),),
        reaction=1,
        notes="Even erythema.",
    )
    values.update(overrides)
    return RecordInput(**values)


def _save(held, **kw):
    kw.setdefault("entry", _entry())
    return records.save_record(
        actor=held["practitioner"], appointment_id=held["ids"][0], now=AFTER, **kw
    )


def _consent(held, *, take=True, show=True):
    photos.record_photo_consent(
        actor=held["desk"], client_id=held["client"].id, may_take=take, may_show_client=show
    )


# --- records ----------------------------------------------------------------------------------


def test_a_draft_is_saved_from_the_procedures_template_and_may_be_edited(held) -> None:
    draft = _save(held)
    again = _save(held, entry=_entry(notes="Edited."), record_id=draft.id)

    assert again.id == draft.id and again.status == "draft"
    assert [f["code"] for f in draft.template] == ["acid", "concentration", "exposure"]
    assert again.values == {"acid": "glycolic", "concentration": "35", "exposure": "3"}
    assert again.products == [{"name": "Glycolic 35%", "batch": "LOT-2211"}]
    assert db.session.scalar(select(func.count()).select_from(TreatmentRecord)) == 1


def test_a_signed_entry_is_never_changed_and_an_amendment_names_it(held) -> None:
    signed = _save(held, sign=True)

    with pytest.raises(Conflict) as refused:
        _save(held, entry=_entry(notes="Changed."), record_id=signed.id)
    assert refused.value.code == "record_signed"
    amendment = _save(held, entry=_entry(notes="Batch corrected."), sign=True)

    db.session.expire_all()
    kept = db.session.get(TreatmentRecord, signed.id)
    assert kept.notes == "Even erythema." and kept.status == "signed"
    assert amendment.id != signed.id and amendment.amends_id == signed.id
    page = records.get_record_page(actor=held["practitioner"], appointment_id=held["ids"][0])
    assert [e.id for e in page.entries] == [signed.id, amendment.id]
    assert page.current.id == amendment.id


def test_changes_keep_the_rest_of_the_draft_and_signing_keeps_it_as_saved(held) -> None:
    draft = _save(held)

    changed = _save(held, entry=None, changes={"notes": "Calmer."}, record_id=draft.id)
    signed = _save(held, entry=None, record_id=draft.id, sign=True)

    assert changed.notes == "Calmer." and changed.areas == "Face, neck"
    assert changed.products == [{"name": "Glycolic 35%", "batch": "LOT-2211"}]
    assert signed.status == "signed" and signed.notes == "Calmer." and signed.reaction == 1


def test_a_second_draft_of_a_session_is_refused(held) -> None:
    _save(held)

    with pytest.raises(Conflict) as refused:
        _save(held, entry=_entry(notes="Another."))

    assert refused.value.code == "draft_exists"
    assert db.session.scalar(select(func.count()).select_from(TreatmentRecord)) == 1


def test_a_draft_is_shown_only_to_its_author(held) -> None:
    draft = _save(held)

    admin = records.get_record_page(actor=f.actor("admin"), appointment_id=held["ids"][0])
    mine = records.get_record_page(actor=held["practitioner"], appointment_id=held["ids"][0])

    assert (admin.entries, admin.draft) == ([], None)
    assert [e.id for e in mine.entries] == [draft.id] and mine.draft.id == draft.id


def test_a_value_the_template_lacks_is_refused(held) -> None:
    with pytest.raises(InvalidData) as refused:
        _save(held, entry=_entry(values={"fluence": "12"}))

    assert [e["field"] for e in refused.value.errors] == ["fluence"]


def test_signing_needs_the_reaction_and_numbers_must_be_numbers(held) -> None:
    with pytest.raises(InvalidData) as refused:
        _save(held, entry=_entry(reaction=None, values={"concentration": "a lot"}), sign=True)

    assert {e["field"] for e in refused.value.errors} == {"reaction", "concentration"}
    assert db.session.scalar(select(func.count()).select_from(TreatmentRecord)) == 0


def test_only_a_held_session_gets_a_record_and_only_from_its_practitioner(held) -> None:
    with pytest.raises(RuleViolation) as refused:
        records.save_record(
            actor=held["practitioner"], appointment_id=held["ids"][1], entry=_entry(), now=AFTER
        )
    assert [v.code for v in refused.value.violations] == ["not_held"]
    with pytest.raises(PermissionDenied):
        records.save_record(
            actor=held["desk"], appointment_id=held["ids"][0], entry=_entry(), now=AFTER
        )


@pytest.mark.parametrize(
    ("role", "refusal"),
    [
        ("receptionist", PermissionDenied),
        ("client", PermissionDenied),
        ("other practitioner", NotFound),
    ],
)
def test_a_record_is_not_shown_to_who_does_not_treat_the_client(held, role, refusal) -> None:
    _save(held, sign=True)
    if role == "client":
        actor = f.client_actor(held["client"])
    elif role == "other practitioner":
        other = f.make_practitioner()
        user = f.make_user("practitioner", email=other.email)
        other.user_id = user.id
        f.commit()
        actor = actor_for(user)
    else:
        actor = held["desk"]

    with pytest.raises(refusal):
        records.get_record_page(actor=actor, appointment_id=held["ids"][0])


def test_every_showing_of_a_record_to_staff_is_audited(held) -> None:
    _save(held, sign=True)
    before = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "view_screening")
    )
    audit.forget_shown()  # as at the end of a request: the next page is another showing
    records.get_record_page(actor=f.actor("admin"), appointment_id=held["ids"][0])
    audit.write_shown()

    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "view_screening").order_by(AuditEntry.id)
    ).all()
    assert len(entries) == before + 1
    assert entries[-1].detail == {"where": "treatment record"}


# --- a severe reaction --------------------------------------------------------------------------


def test_a_reaction_of_3_flags_the_courses_next_session_for_review(held) -> None:
    _save(held, entry=_entry(reaction=3), sign=True)

    flag = db.session.get(AttentionFlag, held["ids"][1])
    assert [e["code"] for e in flag.errors] == [REACTION_REVIEW]
    assert "session 1" in flag.errors[0]["message"]
    assert db.session.get(AttentionFlag, held["ids"][2]) is None


def test_a_draft_with_reaction_3_flags_nothing_until_signed(held) -> None:
    _save(held, entry=_entry(reaction=3))

    assert db.session.get(AttentionFlag, held["ids"][1]) is None


def test_a_change_of_the_world_that_breaks_nothing_keeps_the_review(held) -> None:
    _save(held, entry=_entry(reaction=3), sign=True)

    with attention.world_change(actor=held["desk"], cause="test", confirm=True, now=AFTER) as c:
        c.concerns(attention.of_client(held["client"].id))

    db.session.expire_all()
    flag = db.session.get(AttentionFlag, held["ids"][1])
    assert flag is not None and flag.errors[0]["code"] == REACTION_REVIEW


def test_pushing_the_rest_of_the_course_moves_each_session_and_clears_the_review(held) -> None:
    _save(held, entry=_entry(reaction=3), sign=True)

    moved = records.push_course(
        actor=held["desk"], enrolment_id=held["booked"].enrolment.id, days=7, now=AFTER
    )

    assert [a.start_at for a in moved] == [SECOND + timedelta(days=7), THIRD + timedelta(days=7)]
    assert db.session.get(AttentionFlag, held["ids"][1]) is None


def test_a_practitioner_does_not_push_a_course_reception_does(held) -> None:
    with pytest.raises(PermissionDenied):
        records.push_course(
            actor=held["practitioner"],
            enrolment_id=held["booked"].enrolment.id,
            days=7,
            now=AFTER,
        )
    starts = db.session.scalars(
        select(Appointment.start_at).where(Appointment.id.in_(held["ids"][1:]))
    ).all()
    assert sorted(starts) == [SECOND, THIRD]


# --- photos -------------------------------------------------------------------------------------


def _add(held, data: bytes, kind: str = "before") -> Photo:
    return photos.add_photo(
        actor=held["practitioner"], appointment_id=held["ids"][0], kind=kind, data=data, now=AFTER
    )


def test_a_photo_is_stored_resized_with_a_thumbnail_and_without_exif_or_gps(held) -> None:
    _consent(held)
    photo = _add(held, jpeg(gps=True))

    screen, kind = photos.get_photo_image(actor=held["practitioner"], photo_id=photo.id)
    thumb, _ = photos.get_photo_image(actor=held["practitioner"], photo_id=photo.id, size="thumb")
    assert kind == "image/jpeg"
    with Image.open(io.BytesIO(screen)) as image:
        assert max(image.size) == photos.SCREEN_PX
        exif = image.getexif()
        assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {} and 0x010F not in exif
        assert "exif" not in image.info
    with Image.open(io.BytesIO(thumb)) as image:
        assert max(image.size) == photos.THUMB_PX


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(held) -> None:
    _consent(held)

    with pytest.raises(InvalidRequest) as refused:
        _add(held, b"%PDF-1.4 not a photo at all, renamed to photo.jpg" * 20)

    assert (refused.value.code, refused.value.field) == ("not_an_image", "photo")
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_an_image_above_the_limit_is_refused_with_the_limit_said(held, app) -> None:
    _consent(held)
    app.config["PHOTO_MAX_BYTES"] = 50_000
    try:
        with pytest.raises(TooLarge) as refused:
            _add(held, jpeg((3000, 3000)) + b"\0" * 60_000)
    finally:
        app.config["PHOTO_MAX_BYTES"] = 12 * 1024 * 1024
    assert refused.value.code == "too_large"
    assert "at most 49 KB" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(StoredBlob)) == 0


def test_no_photo_is_taken_without_the_clients_consent(held) -> None:
    with pytest.raises(PermissionDenied) as refused:
        _add(held, jpeg())
    _consent(held, take=False)
    with pytest.raises(PermissionDenied):
        _add(held, jpeg())

    assert refused.value.code == "photo_consent_missing"


@pytest.mark.parametrize(
    ("consent_show", "policy", "sees"),
    [(True, True, True), (True, False, False), (False, True, False)],
)
def test_the_client_sees_their_photos_only_with_consent_and_the_clinics_policy(
    held, consent_show, policy, sees
) -> None:
    _consent(held, show=consent_show)
    photo = _add(held, jpeg())
    settings = db.session.scalar(select(ClinicSettings))
    settings.photos_shown_to_clients = policy
    f.commit()
    client = f.client_actor(held["client"])

    if sees:
        data, _ = photos.get_photo_image(actor=client, photo_id=photo.id)
        assert data
        _, sessions = records.course_photos(actor=client, enrolment_id=held["booked"].enrolment.id)
        assert [s.appointment.session for s in sessions] == [1]
    else:
        with pytest.raises(NotFound):
            photos.get_photo_image(actor=client, photo_id=photo.id)


def test_reception_does_not_see_photos(held) -> None:
    _consent(held)
    photo = _add(held, jpeg())

    with pytest.raises(NotFound):
        photos.get_photo_image(actor=held["desk"], photo_id=photo.id)


# --- erasure and export -------------------------------------------------------------------------


def test_the_export_holds_records_photos_and_the_consent(held) -> None:
    _consent(held)
    _add(held, jpeg(), "after")
    _save(held, sign=True)

    data = privacy.export_client_data(actor=f.actor("admin"), client_id=held["client"].id)

    assert [r["reaction"] for r in data["treatment_records"]] == [1]
    assert data["treatment_records"][0]["fields"][0] == {
        "label": "Acid",
        "unit": None,
        "value": "glycolic",
    }
    assert data["photos"][0]["kind"] == "after" and data["photos"][0]["image_base64"]
    assert data["photo_consent"]["may_take"] is True


def test_erasing_a_client_erases_their_records_photos_and_consent(held) -> None:
    _consent(held)
    _add(held, jpeg())
    _save(held, sign=True)
    _save(held, entry=_entry(notes="Amended."), sign=True)

    privacy.erase_client(actor=f.actor("admin"), client_id=held["client"].id, now=AFTER)

    for table in (TreatmentRecord, Photo, StoredBlob, PhotoConsent):
        assert db.session.scalar(select(func.count()).select_from(table)) == 0, table
