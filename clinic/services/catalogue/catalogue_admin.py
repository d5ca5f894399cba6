"""Creating, editing and retiring procedures, restrictions and course templates one at a time.

The values are checked and written by the catalogue file's own reader and writer
(`catalogue.import_into`) with a one-record file, so a form, the API and an imported file
refuse exactly the same values with the same messages. What is particular to editing one
record lives here: a new record's code must be free, an edit keeps the record's retired
state, and every change is audited.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import (
    Appointment,
    ConsentForm,
    Course,
    Enrolment,
    Procedure,
    Restriction,
    utcnow,
)
from clinic.services import catalogue
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidData, NotFound, PermissionDenied
from clinic.services.core.permissions import can_edit_catalogue
from clinic.services.lifetime import attention
from clinic.services.world.aftercare import booked_enrolments, keeps_other_rules, kept_rules_notice
from clinic.services.world.course_catalogue import course_rules, get_course

KINDS: dict[str, Any] = {
    "restriction": Restriction,
    "procedure": Procedure,
    "course": Course,
    "consent_form": ConsentForm,
}
SECTION = {
    "restriction": "restrictions",
    "procedure": "procedures",
    "course": "courses",
    "consent_form": "consent_forms",
}
_PATH = re.compile(r"^\w+\[\d+\]\.?")


def _require_editor(actor: Actor) -> None:
    # Cosmetologists define the courses; the clinic manager may too.
    if not can_edit_catalogue(actor):
        raise PermissionDenied("Only cosmetologists and admins edit the catalogue.")


def _row(kind: str, code: str) -> Any:
    model = KINDS[kind]
    row = db_session().scalar(select(model).where(model.code == code))
    if row is None:
        raise NotFound(f"There is no {kind} {code!r}.")
    return row


def _local_errors(exc: InvalidData) -> InvalidData:
    """Paths of the one-record file ('courses[0].aftercare[1].hours') as the record's own
    ('aftercare[1].hours')."""
    return InvalidData(
        [{**e, "field": _PATH.sub("", str(e.get("field", ""))) or "$"} for e in exc.errors]
    )


def save(
    *,
    actor: Actor,
    kind: str,
    values: dict[str, Any],
    create: bool,
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """Create or update one restriction, procedure or course from catalogue-file values
    (API.md's shape). Raises `InvalidData` with a path per field on any bad value.

    A procedure edit (duration, buffer, qualification, device kind) can break the booked
    sessions of the courses that use it: without `confirm` nothing is saved if any would
    (the change lists them); with it they are flagged for the attention list. A course or a
    restriction edit breaks no booking (an enrolment keeps the rules it was booked with).
    A consent form that a procedure newly needs breaks its booked sessions of clients who
    have not signed it; one it no longer needs mends them: the sessions of the procedures
    named before and after the edit are judged."""
    _require_editor(actor)
    if kind not in KINDS:
        raise NotFound(f"Unknown kind of catalogue record {kind!r}.")
    code = values.get("code")
    cause = f"The {kind.replace('_', ' ')} {code} changed"
    with attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change:
        before = _form_procedures(code) if kind == "consent_form" and not create else set()
        row = _save(actor, kind, values, create)
        if isinstance(row, Procedure) and not create:
            change.concerns(_sessions_of_procedures({row.id}))
        if isinstance(row, ConsentForm):
            change.concerns(_sessions_of_procedures(before | {p.id for p in row.procedures}))
    return change


def _form_procedures(code: object) -> set[int]:
    form = db_session().scalar(select(ConsentForm).where(ConsentForm.code == code))
    return {p.id for p in form.procedures} if form is not None else set()


def _sessions_of_procedures(procedure_ids: set[int]) -> Any:
    return Appointment.enrolment_id.in_(
        select(Enrolment.id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Course.procedure_id.in_(sorted(procedure_ids)))
    )


def _save(actor: Actor, kind: str, values: dict[str, Any], create: bool) -> Any:
    model = KINDS[kind]
    code = values.get("code")
    with catalogue_transaction() as s:
        existing = s.scalar(select(model).where(model.code == code)) if code else None
        if create and existing is not None:
            raise InvalidData(
                [
                    {
                        "code": "duplicate",
                        "field": "code",
                        "message": f"A {kind} with the code {code!r} exists already.",
                    }
                ]
            )
        if not create and existing is None:
            raise NotFound(f"There is no {kind} {code!r}.")
        was_retired = bool(existing.retired) if existing is not None else False
        try:
            catalogue.import_into(s, {SECTION[kind]: [values]})
        except InvalidData as exc:
            raise _local_errors(exc) from exc
        row: Any = s.scalar(select(model).where(model.code == code))
        row.retired = was_retired
        s.flush()
        record(s, actor, "create" if create else "update", kind, row.id, code=code)
    return row


def set_retired(*, actor: Actor, kind: str, code: str, retired: bool) -> Any:
    """Retire a record (no longer offered; existing enrolments keep it) or bring it back."""
    _require_editor(actor)
    if kind not in KINDS:
        raise NotFound(f"Unknown kind of catalogue record {kind!r}.")
    with catalogue_transaction() as s:
        row = _row(kind, code)
        row.retired = retired
        record(s, actor, "retire" if retired else "restore", kind, row.id, code=code)
    return row


# --- reading ----------------------------------------------------------------------------------


def list_restrictions(*, include_retired: bool = True) -> list[Restriction]:
    query = select(Restriction).order_by(Restriction.retired, Restriction.code)
    if not include_retired:
        query = query.where(Restriction.retired.is_(False))
    return list(db_session().scalars(query))


def list_procedures(*, include_retired: bool = True) -> list[Procedure]:
    query = (
        select(Procedure)
        .options(selectinload(Procedure.blocked_by))
        .order_by(Procedure.retired, Procedure.name)
    )
    if not include_retired:
        query = query.where(Procedure.retired.is_(False))
    return list(db_session().scalars(query))


def list_consent_forms(*, include_retired: bool = True) -> list[ConsentForm]:
    query = (
        select(ConsentForm)
        .options(selectinload(ConsentForm.procedures), selectinload(ConsentForm.versions))
        .order_by(ConsentForm.retired, ConsentForm.title)
    )
    if not include_retired:
        query = query.where(ConsentForm.retired.is_(False))
    return list(db_session().scalars(query))


def get_record(kind: str, code: str) -> Any:
    if kind not in KINDS:
        raise NotFound(f"Unknown kind of catalogue record {kind!r}.")
    return _row(kind, code)


def as_values(row: Any) -> dict[str, Any]:
    """A stored record in the catalogue file's shape (what the forms start from)."""
    if isinstance(row, Restriction):
        return {"code": row.code, "text": row.text, "kind": row.kind}
    if isinstance(row, ConsentForm):
        return catalogue.consent_form_entry(row)
    if isinstance(row, Procedure):
        return {
            "code": row.code,
            "name": row.name,
            "duration_min": row.duration_min,
            "buffer_min": row.buffer_min,
            "qualification": row.qualification,
            "device_kind": row.device_kind,
            "blocked_by": [r.code for r in row.blocked_by],
            "price": f"{row.price:.2f}",
            "patch_test": catalogue.patch_test_entry(row),
            "record_fields": row.record_template,
        }
    assert isinstance(row, Course)
    return {
        "code": row.code,
        "name": row.name,
        "procedure": row.procedure.code,
        "sessions": row.sessions,
        "min_interval_days": row.min_interval_days,
        "max_interval_days": row.max_interval_days,
        "ideal_interval_days": row.ideal_interval_days,
        "aftercare": [{"restriction": c.restriction.code, "hours": c.hours} for c in row.aftercare],
        "precare": [{"restriction": c.restriction.code, "hours": c.hours} for c in row.precare],
        "contraindications": [
            {"code": c.code, "lookback_days": c.lookback_days} for c in row.contraindications
        ],
        "months": row.months,
        "phototypes": row.phototypes,
    }


def booked_courses_notice(code: str, *, saved: bool, now: datetime | None = None) -> str:
    """What an edit of a course template means for its booked courses (those with sessions
    still to come): before saving, all of them keep their rules; once saved, those whose
    rules now differ from the template's."""
    now = now or utcnow()
    course = get_course(code, include_retired=True)
    booked = booked_enrolments(course.id, now)
    if saved:
        rules = course_rules(course)
        booked = [e for e in booked if keeps_other_rules(e, rules)]
    return kept_rules_notice(len(booked))
