"""Creating, editing and retiring procedures, restrictions and course templates one at a time.

The values are checked and written by the catalogue file's own reader and writer
(`catalogue.import_into`) with a one-record file, so a form, the API and an imported file
refuse exactly the same values with the same messages. What is particular to editing one
record lives here: a new record's code must be free, an edit keeps the record's retired
state, and every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import Appointment, Course, Enrolment, Procedure, Restriction, utcnow
from clinic.scheduling.wording import condition_label, duration_text
from clinic.services import attention, catalogue
from clinic.services.actors import Actor
from clinic.services.aftercare import booked_enrolments, keeps_other_rules, kept_rules_notice
from clinic.services.audit import record
from clinic.services.cache import catalogue_transaction
from clinic.services.course_catalogue import course_rules, get_course
from clinic.services.db import db_session
from clinic.services.errors import InvalidData, NotFound, PermissionDenied
from clinic.services.permissions import can_edit_catalogue

KINDS: dict[str, Any] = {"restriction": Restriction, "procedure": Procedure, "course": Course}
SECTION = {"restriction": "restrictions", "procedure": "procedures", "course": "courses"}
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
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
    restriction edit breaks no booking (an enrolment keeps the rules it was booked with)."""
    _require_editor(actor)
    if kind not in KINDS:
        raise NotFound(f"Unknown kind of catalogue record {kind!r}.")
    code = values.get("code")
    cause = f"The {kind} {code} changed"
    with attention.world_change(cause=cause, confirm=confirm, now=now) as change:
        row = _save(actor, kind, values, create)
        if isinstance(row, Procedure) and not create:
            change.concerns(
                Appointment.enrolment_id.in_(
                    select(Enrolment.id)
                    .join(Course, Course.id == Enrolment.course_id)
                    .where(Course.procedure_id == row.id)
                )
            )
    return change


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


def get_record(kind: str, code: str) -> Any:
    if kind not in KINDS:
        raise NotFound(f"Unknown kind of catalogue record {kind!r}.")
    return _row(kind, code)


def as_values(row: Any) -> dict[str, Any]:
    """A stored record in the catalogue file's shape (what the forms start from)."""
    if isinstance(row, Restriction):
        return {"code": row.code, "text": row.text, "kind": row.kind}
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


# --- the rule in a sentence -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CareText:
    text: str
    hours: int


def _care(items: Iterable[CareText]) -> str:
    return ", ".join(f"{c.text[:1].lower()}{c.text[1:]} {duration_text(c.hours)}" for c in items)


def month_span_text(months: Sequence[int]) -> str:
    """'October to March', 'June, August'; consecutive months (wrapping the year) joined.
    Numbers that are no month are left out: the preview words a form not yet validated."""
    chosen = sorted({m for m in months if 1 <= m <= 12})
    if not chosen or len(chosen) == 12:
        return "all year"
    runs: list[list[int]] = []
    for m in chosen:
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    if len(runs) > 1 and runs[0][0] == 1 and runs[-1][-1] == 12:
        runs[0] = runs.pop() + runs[0]
    words = [
        MONTH_NAMES[r[0] - 1]
        if len(r) == 1
        else f"{MONTH_NAMES[r[0] - 1]} to {MONTH_NAMES[r[-1] - 1]}"
        for r in runs
    ]
    return ", ".join(words)


def describe_course(
    *,
    sessions: int | None,
    min_days: int | None,
    max_days: int | None,
    ideal_days: int | None = None,
    aftercare: Sequence[CareText] = (),
    precare: Sequence[CareText] = (),
    contraindications: Sequence[tuple[str, int]] = (),
    months: Sequence[int] = (),
) -> str:
    """'6 sessions, 14 to 28 days apart; after each: no makeup 24 hours, avoid sun 7 days'."""
    if not sessions:
        return ""
    parts = [f"{sessions} session{'s' if sessions != 1 else ''}"]
    if sessions > 1:
        lo = min_days or 0
        parts[0] += (
            f", {lo} to {max_days} days apart"
            if max_days is not None
            else f", at least {lo} day{'s' if lo != 1 else ''} apart"
        )
        if ideal_days is not None:
            parts[0] += f" (ideally {ideal_days})"
    if aftercare:
        parts.append(f"after each: {_care(aftercare)}")
    if precare:
        parts.append(f"before each: {_care(precare)}")
    if contraindications:
        parts.append(
            "not with "
            + ", ".join(
                condition_label(code)
                if days == 0
                else f"{condition_label(code)} in the last {days} days"
                for code, days in contraindications
            )
        )
    if months and len(set(months)) < 12:
        parts.append(f"only {month_span_text(months)}")
    return "; ".join(parts)


def describe_procedure(
    *,
    duration_min: int | None,
    buffer_min: int | None,
    qualification: str,
    device_kind: str | None,
    blocked_by: Sequence[str],
) -> str:
    """'45 minutes plus 15 minutes' buffer; needs a practitioner qualified for peel and a
    co2_laser device; not while no_resurfacing is in force'."""
    if not duration_min:
        return ""
    parts = [f"{duration_min} minutes"]
    if buffer_min:
        parts[0] += f" plus {buffer_min} minutes' buffer"
    needs = []
    if qualification:
        needs.append(f"a practitioner qualified for {qualification}")
    if device_kind:
        needs.append(f"a {device_kind} device")
    if needs:
        parts.append("needs " + " and ".join(needs))
    if blocked_by:
        parts.append(f"not while {', '.join(blocked_by)} is in force")
    return "; ".join(parts)


def describe_restriction(*, code: str, text: str, kind: str) -> str:
    if not text:
        return ""
    link = {
        "sun": "; clashes with a client's declared sun exposure",
        "makeup": "; clashes with a client's declared event that needs makeup",
    }.get(kind, "")
    return f"“{text}” ({code or 'no code yet'}){link}"
