"""A client's health screening (DOMAIN.md "The catalogue": contraindications with a look-back):
the questions it asks, the client's answers, checking and saving them, and reading them.

The validation of a screening lives here, so the client pages and the JSON API refuse the same
input with the same words. Showing the answers to staff is recorded (`shown_health_data`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from clinic.models import Client, ClientCondition, Course, CourseContraindication, utcnow
from clinic.scheduling import PHOTOTYPES
from clinic.scheduling.wording import (
    CONDITION_LABELS,
    PHOTOTYPE_NUMERALS,
    PHOTOTYPE_WORDS,
    condition_label,
)
from clinic.services.core import date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_health_data
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidData, PermissionDenied
from clinic.services.core.permissions import is_practitioner
from clinic.services.lifetime import attention
from clinic.services.people.clients import get_client, locked_client

# The conditions every screening asks about, whatever the catalogue lists today.
STANDARD_CONDITIONS = tuple(CONDITION_LABELS)
OLDEST_ANSWER_YEARS = 100
# The Fitzpatrick skin phototypes as the screening offers them, in plain words.
PHOTOTYPE_CHOICES = [
    (str(p), f"Type {PHOTOTYPE_NUMERALS[p]}: {PHOTOTYPE_WORDS[p]}") for p in sorted(PHOTOTYPES)
]


@dataclass(frozen=True, slots=True)
class ScreeningQuestion:
    code: str
    label: str
    # The longest look-back any course gives it: 0 means only "present now" matters.
    lookback_days: int


@dataclass(frozen=True, slots=True)
class ConditionAnswer:
    code: str
    present: bool = False
    last_on: date | None = None


def screening_questions() -> list[ScreeningQuestion]:
    """The standard conditions and every condition an active course lists, in that order."""
    lookback: dict[str, int] = {code: 0 for code in STANDARD_CONDITIONS}
    rows = db_session().execute(
        select(CourseContraindication.code, CourseContraindication.lookback_days)
        .join(Course, Course.id == CourseContraindication.course_id)
        .where(Course.retired.is_(False))
    )
    for code, days in rows:
        lookback[code] = max(lookback.get(code, 0), days)
    own = sorted(c for c in lookback if c not in STANDARD_CONDITIONS)
    return [
        ScreeningQuestion(code, condition_label(code), lookback[code])
        for code in (*STANDARD_CONDITIONS, *own)
    ]


def screening_answers(*, actor: Actor, client_id: int | None = None) -> dict[str, ConditionAnswer]:
    """The client's answers, for the screening form: staff reading them is recorded."""
    client = get_client(actor=actor, client_id=client_id)
    shown_health_data(actor, [client.id], "screening form")
    return {c.code: ConditionAnswer(c.code, c.present, c.last_on) for c in client.conditions}


def validate_screening(
    answers: Sequence[ConditionAnswer],
    *,
    today: date,
    known: Sequence[str],
    phototype: int | None = None,
) -> list[dict[str, Any]]:
    """Field errors for a screening, as {code, message, field}; empty when it is fine."""
    errors: list[dict[str, Any]] = []
    if phototype is not None and phototype not in PHOTOTYPES:
        errors.append(
            {
                "code": "out_of_range",
                "message": "Choose a skin type from I to VI (1 to 6).",
                "field": "phototype",
            }
        )
    seen: set[str] = set()
    oldest = date(today.year - OLDEST_ANSWER_YEARS, 1, 1)
    for answer in answers:
        field = f"conditions.{answer.code}"
        if answer.code not in known:
            errors.append(
                {
                    "code": "unknown_condition",
                    "message": f"{answer.code!r} is not a condition the screening asks about.",
                    "field": field,
                }
            )
            continue
        if answer.code in seen:
            errors.append(
                {
                    "code": "duplicate_condition",
                    "message": f"{condition_label(answer.code).capitalize()} is answered twice.",
                    "field": field,
                }
            )
        seen.add(answer.code)
        if answer.last_on is not None and answer.last_on > today:
            errors.append(
                {
                    "code": "date_in_future",
                    "message": "This date is in the future; give the last day you had it "
                    "(or tick \u201cnow\u201d).",
                    "field": f"{field}.last_date",
                }
            )
        elif answer.last_on is not None and answer.last_on < oldest:
            errors.append(
                {
                    "code": "date_too_old",
                    "message": "This date is too long ago; leave it empty if it no longer matters.",
                    "field": f"{field}.last_date",
                }
            )
    return errors


def save_screening(
    *,
    actor: Actor,
    client_id: int | None = None,
    answers: Sequence[ConditionAnswer],
    phototype: int | None = None,
    now: datetime | None = None,
    confirm: bool = True,
) -> attention.WorldChange:
    """Replace the client's screening with `answers` and confirm it as of `now`; record the
    skin `phototype` (1-6) if given (None keeps the one recorded: a skin type is assessed
    once, and a form may leave it as it is).

    A condition not present and without a date is simply "no". Every change is audited with
    its value before and after. New answers can break the client's booked sessions (a
    contraindication): the client's own change, and the API's, are kept and flag them;
    staff pass `confirm=False` to see them first (nothing is saved then).
    """
    if is_practitioner(actor):
        raise PermissionDenied(
            "Practitioners read the screening; the client or reception records it."
        )
    now = now or utcnow()
    known = [q.code for q in screening_questions()]
    errors = validate_screening(
        answers, today=date_range.clinic_today(now), known=known, phototype=phototype
    )
    if errors:
        raise InvalidData(errors)
    with (
        attention.world_change(
            actor=actor, cause="New screening answers", confirm=confirm, now=now
        ) as change,
        transaction() as s,
    ):
        client = locked_client(actor, client_id)
        change.concerns(attention.of_client(client.id))
        existing = {c.code: c for c in client.conditions}
        wanted = {a.code: a for a in answers if a.present or a.last_on is not None}
        changes: dict[str, dict[str, Any]] = {}
        for code in sorted(set(existing) | set(wanted)):
            old, new = existing.get(code), wanted.get(code)
            before = _answer_json(old.present, old.last_on) if old else None
            after = _answer_json(new.present, new.last_on) if new else None
            if before == after:
                continue
            changes[code] = {"before": before, "after": after}
            if new is None:
                assert old is not None
                client.conditions.remove(old)
            elif old is None:
                client.conditions.append(
                    ClientCondition(
                        code=code, present=new.present, last_on=new.last_on, updated_at=now
                    )
                )
            else:
                old.present, old.last_on, old.updated_at = new.present, new.last_on, now
        if phototype is not None and phototype != client.phototype:
            changes["phototype"] = {"before": client.phototype, "after": phototype}
            client.phototype = phototype
        client.screening_confirmed_at = now
        record(
            s,
            actor,
            "screening",
            "client",
            client.id,
            client_id=client.id,
            changes=changes,
            confirmed_at=now.isoformat(),
        )
    return change


def _answer_json(present: bool, last_on: date | None) -> dict[str, Any]:
    return {"present": present, "last_date": last_on.isoformat() if last_on else None}


def view_screening(*, actor: Actor, client_id: int | None = None) -> Client:
    """A client's screening for someone allowed to read it (the client, reception, or a
    practitioner who treats the client); staff reading it is recorded in the audit trail."""
    with transaction():
        client = get_client(actor=actor, client_id=client_id)
        shown_health_data(actor, [client.id], "screening")
    return client
