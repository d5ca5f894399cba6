"""Treatment records of held sessions: drafts, sign-off, amendments, the history; a severe
reaction's review of the course's next session; and pushing the rest of a course.

The practitioner who held a session records an entry from the procedure's template
(`record_templates.py`): its own fields, the areas treated, products with batch numbers, the
skin's reaction 0-3 and notes. A draft may be edited; signing it off makes it final: it is
never changed again, only amended by a new entry that names it (`amends_id`), and the history
shows every entry. Signing off a reaction of 3 flags the course's next booked session for the
practitioner's review (`world.flags.REACTION_REVIEW` on the attention list), where a desk
pushes the rest of the course by a chosen number of days with the minimal re-plan engine and
the attention list's own "accept re-plan".

Records are health data: every page that shows one goes through `shown_health_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import (
    Appointment,
    AttentionFlag,
    Enrolment,
    Photo,
    PhotoConsent,
    TreatmentRecord,
    utcnow,
)
from clinic.scheduling import Violation
from clinic.scheduling.replan import minimal_replan
from clinic.services.clinical import photos
from clinic.services.clinical import records_wording as words
from clinic.services.clinical.record_templates import template_of
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_health_data
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import (
    Conflict,
    InvalidData,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.core.permissions import (
    can_see_clinical_records,
    can_see_record_entry,
    can_write_treatment_record,
    is_desk,
    is_practitioner,
    reads_clinical_records,
)
from clinic.services.lifetime import attention_list
from clinic.services.lifetime.attention_list import ReplanRequest
from clinic.services.world import client_reads
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.flags import REACTION_REVIEW
from clinic.services.world.snapshot import load_snapshot

MAX_PUSH_DAYS = 365


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    batch: str


@dataclass(frozen=True, slots=True)
class RecordInput:
    """What a practitioner fills in: the template's values by code, and the common fields."""

    values: dict[str, str] = field(default_factory=dict)
    areas: str = ""
    products: tuple[Product, ...] = ()
    reaction: int | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class RecordPage:
    """A session's record as its page (and the API) shows it."""

    appointment: Appointment
    template: list[dict[str, Any]]
    entries: list[TreatmentRecord]  # oldest first; a draft only to its author
    draft: TreatmentRecord | None  # the viewer's own draft
    current: TreatmentRecord | None  # the latest signed entry
    photos: list[Photo]
    consent: PhotoConsent | None
    can_write: bool


def template_for(appointment: Appointment) -> list[dict[str, Any]]:
    procedure = appointment.enrolment.course.procedure
    return template_of(
        procedure.record_template,
        device_kind=procedure.device_kind,
        qualification=procedure.qualification,
    )


def _appointment(appointment_id: int) -> Appointment:
    appointment = db_session().scalar(
        select(Appointment)
        .options(
            selectinload(Appointment.enrolment).selectinload(Enrolment.course),
            selectinload(Appointment.client),
            selectinload(Appointment.practitioner),
        )
        .where(Appointment.id == appointment_id)
    )
    if appointment is None:
        raise NotFound("There is no such session.")
    return appointment


def _entries(appointment_id: int) -> list[TreatmentRecord]:
    return list(
        db_session().scalars(
            select(TreatmentRecord)
            .options(
                selectinload(TreatmentRecord.created_by), selectinload(TreatmentRecord.signed_by)
            )
            .where(TreatmentRecord.appointment_id == appointment_id)
            .order_by(TreatmentRecord.id)
        )
    )


def get_record_page(*, actor: Actor, appointment_id: int) -> RecordPage:
    """A session's record: its entries (the history; a draft only to its author), the draft,
    its photos and the client's photo consent; for the client's practitioners and the admin,
    audited."""
    if not reads_clinical_records(actor):
        raise PermissionDenied(words.NOT_SHOWN)
    appointment = _appointment(appointment_id)
    if not can_see_clinical_records(actor, appointment.client_id):
        raise NotFound("There is no such session.")
    entries = [e for e in _entries(appointment.id) if can_see_record_entry(actor, e)]
    signed = [e for e in entries if e.status == "signed"]
    shown_health_data(actor, [appointment.client_id], "treatment record")
    return RecordPage(
        appointment=appointment,
        template=template_for(appointment),
        entries=entries,
        draft=next((e for e in entries if e.status == "draft"), None),
        current=signed[-1] if signed else None,
        photos=photos.photos_of([appointment.id])[appointment.id],
        consent=photos.photo_consent(appointment.client_id),
        can_write=can_write_treatment_record(actor, appointment),
    )


def _checked(template: list[dict[str, Any]], entry: RecordInput, *, sign: bool) -> dict[str, str]:
    """The template's values as they are kept, or `InvalidData` naming each wrong field."""
    errors: list[dict[str, Any]] = []
    kept: dict[str, str] = {}
    by_code = {f["code"]: f for f in template}
    for code, raw in entry.values.items():
        spec = by_code.get(code)
        value = raw.strip()
        if spec is None or not value:
            continue
        if spec["kind"] == "number":
            try:
                number = Decimal(value.replace(",", "."))
                if not number.is_finite():
                    raise InvalidOperation(value)
            except InvalidOperation:
                errors.append(_error(code, words.unknown_field(spec["label"])))
                continue
            value = format(number.normalize(), "f")
        elif spec["kind"] == "choice" and value not in spec.get("choices", []):
            errors.append(_error(code, words.not_a_choice(spec["label"])))
            continue
        kept[code] = value[:200]
    for code in entry.values:
        if code not in by_code:
            errors.append(_error(code, words.not_in_template(code)))
    if entry.reaction is not None and entry.reaction not in (0, 1, 2, 3):
        errors.append(_error("reaction", "Grade the reaction from 0 to 3."))
    if sign and entry.reaction is None:
        errors.append(_error("reaction", words.NO_REACTION))
    if errors:
        raise InvalidData(errors)
    return kept


def _error(field_name: str, message: str) -> dict[str, Any]:
    return {"code": "invalid_record", "field": field_name, "message": message}


def _input_of(saved: TreatmentRecord) -> RecordInput:
    return RecordInput(
        values=dict(saved.values or {}),
        areas=saved.areas or "",
        products=tuple(Product(p["name"], p["batch"]) for p in saved.products or []),
        reaction=saved.reaction,
        notes=saved.notes or "",
    )


def save_record(
    *,
    actor: Actor,
    appointment_id: int,
    entry: RecordInput | None = None,
    changes: Mapping[str, Any] | None = None,
    sign: bool = False,
    record_id: int | None = None,
    now: datetime | None = None,
) -> TreatmentRecord:
    """Save the session's draft (a new one, or `record_id`, the draft being edited), and sign
    it off if `sign`. A signed entry is never changed (`Conflict` `record_signed`): a new
    draft after it amends the latest signed entry, and names it; a session has one draft at
    a time (`Conflict` `draft_exists` for a second).

    `entry` is the whole entry. Instead, `changes` may name some of `RecordInput`'s fields,
    the others staying as the draft `record_id` has them; with neither, the draft is kept as
    saved (signing it off as it is)."""
    now = now or utcnow()
    if not is_practitioner(actor):
        raise PermissionDenied(words.NOT_YOURS)
    with transaction() as s:
        appointment = _appointment(appointment_id)
        if not can_write_treatment_record(actor, appointment):
            raise PermissionDenied(words.NOT_YOURS)
        if appointment.status != "done":
            raise RuleViolation([Violation("not_held", words.NOT_HELD, appointment.session)])
        entries = _entries(appointment.id)
        draft = next((e for e in entries if e.status == "draft"), None)
        if record_id is not None:
            target = next((e for e in entries if e.id == record_id), None)
            if target is None:
                raise NotFound(words.NO_SUCH_RECORD)
            if target.status == "signed":
                raise Conflict(words.SIGNED, code="record_signed")
            draft = target
        elif draft is not None:
            raise Conflict(words.DRAFT_EXISTS, code="draft_exists")
        if entry is None:
            entry = replace(_input_of(draft) if draft else RecordInput(), **(changes or {}))
        if draft is None:
            signed = [e for e in entries if e.status == "signed"]
            draft = TreatmentRecord(
                appointment_id=appointment.id,
                client_id=appointment.client_id,
                template=template_for(appointment),
                amends_id=signed[-1].id if signed else None,
                created_at=now,
                created_by_id=actor.user_id,
            )
            s.add(draft)
        draft.values = _checked(draft.template or [], entry, sign=sign)
        draft.areas = entry.areas.strip()[:2000]
        draft.products = [
            {"name": p.name.strip()[:120], "batch": p.batch.strip()[:60]} for p in entry.products
        ]
        draft.reaction = entry.reaction
        draft.notes = entry.notes.strip()[:5000]
        draft.updated_at = now
        if sign:
            draft.status = "signed"
            draft.signed_at = now
            draft.signed_by_id = actor.user_id
        s.flush()
        record(
            s,
            actor,
            "sign_record" if sign else "save_record",
            "treatment_record",
            draft.id,
            client_id=appointment.client_id,
            amends=draft.amends_id,
        )
        if sign and draft.reaction == 3:
            _flag_next_session(appointment, now)
        shown_health_data(actor, [appointment.client_id], "treatment record")
    return draft


def _flag_next_session(held: Appointment, now: datetime) -> None:
    """Put the course's next booked session on the attention list for a review."""
    s = db_session()
    following = s.scalar(
        select(Appointment)
        .where(
            Appointment.client_id == held.client_id,
            Appointment.enrolment_id == held.enrolment_id,
            Appointment.to_come(now),
        )
        .order_by(Appointment.start_at, Appointment.id)
        .limit(1)
    )
    if following is None:
        return
    review = {"code": REACTION_REVIEW, "message": words.reaction_review(held.session)}
    flag = s.get(AttentionFlag, following.id)
    if flag is None:
        s.add(
            AttentionFlag(
                appointment_id=following.id,
                errors=[review],
                cause=words.reaction_cause(held.session),
                flagged_at=now,
            )
        )
    else:
        others = [e for e in flag.errors if e.get("code") != REACTION_REVIEW]
        flag.errors = [review, *others]
        flag.cause = words.reaction_cause(held.session)


# --- a course's photos side by side ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseSession:
    appointment: Appointment
    photos: list[Photo]


def course_photos(*, actor: Actor, enrolment_id: int) -> tuple[Enrolment, list[CourseSession]]:
    """Each held session of a course with its photos, for side by side views: the client's
    practitioners and the admin, or the client when photos are shown to them. Audited."""
    s = db_session()
    enrolment = s.scalar(
        select(Enrolment)
        .options(selectinload(Enrolment.course), selectinload(Enrolment.client))
        .where(Enrolment.id == enrolment_id)
    )
    if enrolment is None or not photos.may_see_photos_of(actor, enrolment.client_id):
        raise NotFound("There is no such course booking.")
    sessions = list(
        s.scalars(
            select(Appointment)
            .where(
                Appointment.client_id == enrolment.client_id,
                Appointment.enrolment_id == enrolment.id,
                Appointment.status.in_(("booked", "done")),
            )
            .order_by(Appointment.session, Appointment.start_at)
        )
    )
    found = photos.photos_of([a.id for a in sessions])
    shown_health_data(actor, [enrolment.client_id], "course photos")
    return enrolment, [CourseSession(a, found[a.id]) for a in sessions if found[a.id]]


# --- pushing the rest of a course -------------------------------------------------------------


def push_course(
    *, actor: Actor, enrolment_id: int, days: int, now: datetime | None = None
) -> list[Appointment]:
    """Push every booked session to come of a course by about `days` days (each the nearest
    day the rules allow to its old day plus `days`, the first no earlier), as the minimal
    re-plan proposes, accepted with the attention list's `accept_replan` (all or none; the
    client is told; the review flags go). For reception and admins."""
    now = now or utcnow()
    if not is_desk(actor):
        raise PermissionDenied("Reception accepts re-plans.")
    if not 1 <= days <= MAX_PUSH_DAYS:
        raise InvalidRequest(f"Push by 1 to {MAX_PUSH_DAYS} days.", field="days")
    s = db_session()
    enrolment = s.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("There is no such course booking.")
    to_come = list(
        s.scalars(
            select(Appointment.id).where(
                Appointment.client_id == enrolment.client_id,
                Appointment.enrolment_id == enrolment.id,
                Appointment.to_come(now),
            )
        )
    )
    if not to_come:
        raise InvalidRequest(words.NO_SESSIONS_TO_PUSH, field="days")
    result = minimal_replan(
        snapshot=load_snapshot(),
        course=enrolment_rules(enrolment),
        client=client_reads.client_state(enrolment.client_id, now, enrolments=(enrolment.id,)),
        enrolment_id=enrolment.id,
        broken=frozenset(to_come),
        now=now,
        by_staff=True,
        push_days=days,
    )
    if not result.ok:
        raise RuleViolation(list(result.violations))
    return attention_list.accept_replan(
        actor=actor,
        enrolment_id=enrolment.id,
        moves=[ReplanRequest(aid, slot.start, slot.practitioner_id) for aid, slot in result.moves],
        now=now,
    )


# --- privacy: what the export holds, and erasure ------------------------------------------------


def export_records(client_id: int) -> dict[str, Any]:
    """A client's treatment records, photos (as base64 JPEG) and photo consent, for the export."""
    s = db_session()
    entries = s.scalars(
        select(TreatmentRecord)
        .where(TreatmentRecord.client_id == client_id)
        .order_by(TreatmentRecord.id)
    )
    consent = photos.photo_consent(client_id)
    return {
        "treatment_records": [
            {
                "id": e.id,
                "appointment": e.appointment_id,
                "status": e.status,
                "amends": e.amends_id,
                "fields": [
                    {
                        "label": f.get("label"),
                        "unit": f.get("unit"),
                        "value": e.values.get(f["code"]),
                    }
                    for f in e.template
                ],
                "areas": e.areas,
                "products": e.products,
                "reaction": e.reaction,
                "notes": e.notes,
                "created_at": e.created_at.isoformat(),
                "signed_at": e.signed_at.isoformat() if e.signed_at else None,
            }
            for e in entries
        ],
        "photos": photos.export_photos(client_id),
        "photo_consent": None
        if consent is None
        else {
            "may_take": consent.may_take,
            "may_show_client": consent.may_show_client,
            "recorded_at": consent.recorded_at.isoformat(),
        },
    }


def erase_records(client_id: int) -> dict[str, int]:
    """Delete a client's treatment records, photos and photo consent (inside the caller's
    transaction): health data is not kept once a client asks to be erased."""
    s = db_session()
    entries = list(
        s.scalars(
            select(TreatmentRecord)
            .where(TreatmentRecord.client_id == client_id)
            .order_by(TreatmentRecord.id.desc())
        )
    )
    for e in entries:  # amendments first: they name the entries they amend
        s.delete(e)
        s.flush()
    erased_photos = photos.erase_photos(client_id)
    consent = s.get(PhotoConsent, client_id)
    if consent is not None:
        s.delete(consent)
    return {"treatment_records": len(entries), "photos": erased_photos}
