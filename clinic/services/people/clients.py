"""A client's own record: sign-up, profile, health screening and declared periods.

The validation of a screening and of a declared period lives here, so the client pages and the
JSON API refuse the same input with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from clinic.models import (
    PERIOD_KINDS,
    Client,
    ClientCondition,
    ClientPeriod,
    Course,
    CourseContraindication,
    Practitioner,
    PractitionerQualification,
    User,
    utcnow,
)
from clinic.scheduling import CareWindow, ConditionState
from clinic.scheduling.rules import (
    contraindication_violations,
    earliest_allowed_by_contraindications,
)
from clinic.scheduling.timeutil import at
from clinic.scheduling.wording import CONDITION_LABELS, condition_label, long_day_text
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_health_data
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import (
    InvalidData,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from clinic.services.core.permissions import is_desk, is_practitioner, is_staff
from clinic.services.lifetime import attention
from clinic.services.people import accounts
from clinic.services.world import client_reads, course_catalogue
from clinic.services.world.aftercare import care_windows
from clinic.services.world.client_reads import resolve_client_id

# The conditions every screening asks about, whatever the catalogue lists today.
STANDARD_CONDITIONS = tuple(CONDITION_LABELS)
PERIOD_LABELS = {"sun_exposure": "Beach holiday or other sun", "needs_makeup": "Wedding or event"}
MAX_NAME = accounts.MAX_NAME
MAX_NOTE = 200
MAX_PERIOD_DAYS = 366
MAX_PERIOD_AHEAD_DAYS = 3 * 366
OLDEST_ANSWER_YEARS = 100


# --- sign-up and profile ---------------------------------------------------------------------


def _clean_name(name: str, field: str = "name") -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidRequest("Tell us your name.", field=field)
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"Keep the name under {MAX_NAME} characters.", field=field)
    return name


def sign_up(*, email: str, name: str, password: str) -> User:
    """Create a client account with its client record; the screening comes next.

    If the clinic already holds a record for this email (made at the desk), sign-up does not
    take it over: only the owner of the mailbox may, through the emailed password link."""
    clean = _clean_name(name)
    with transaction() as s:
        known = s.scalar(
            select(Client.id).where(
                func.lower(Client.email) == email.strip().lower(), Client.user_id.is_(None)
            )
        )
        if known is not None:
            raise InvalidRequest(
                "The clinic already has a record for this email address. Use “Forgot your "
                "password?” to get a link by email and set your password.",
                field="email",
                code="email_known",
            )
        # The account and its client record are written in this transaction (create_user
        # joins it), so a sign-up is all or nothing.
        user = accounts.create_user(email=email, role="client", password=password, name=clean)
        client = s.scalar(select(Client).where(Client.user_id == user.id))
        record(
            s,
            Actor(user.id, "client", client.id if client else None),
            "sign_up",
            "user",
            user.id,
            client_id=client.id if client else None,
        )
    return user


def get_client(*, actor: Actor, client_id: int | None = None) -> Client:
    """The client record the actor may read: a client its own, staff the one named."""
    return client_reads.get_client(resolve_client_id(actor, client_id))


def update_profile(
    *,
    actor: Actor,
    client_id: int | None = None,
    name: str,
    phone: str,
    notes: str | None = None,
) -> Client:
    """Change a client's name and phone (the email is the login and stays): the client its
    own, reception and admins any client's, with the clinic's notes (notes=None keeps them).
    Practitioners read contact details but do not change them."""
    if is_practitioner(actor):
        raise PermissionDenied("Reception and admins change a client's contact details.")
    if notes is not None and not is_desk(actor):
        raise PermissionDenied("The notes are the clinic's; reception and admins write them.")
    (clean, phone, notes), errors = accounts.contact_problems(
        name=name,
        phone=phone,
        notes=notes,
        name_message="Give the client's name." if is_staff(actor) else "Tell us your name.",
    )
    accounts.refuse(errors)
    with transaction() as s:
        client = get_client(actor=actor, client_id=client_id)
        before = {"name": client.name, "phone": client.phone}
        client.name = clean
        client.phone = phone
        if client.user is not None:
            client.user.name = clean
        after = {"name": client.name, "phone": client.phone}
        if notes is not None:
            before["notes"], after["notes"] = client.notes, notes
            client.notes = notes
        if before != after:
            record(
                s,
                actor,
                "update_profile",
                "client",
                client.id,
                client_id=client.id,
                before=before,
                after=after,
            )
    return client


# --- screening -----------------------------------------------------------------------------


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
    answers: Sequence[ConditionAnswer], *, today: date, known: Sequence[str]
) -> list[dict[str, Any]]:
    """Field errors for a screening, as {code, message, field}; empty when it is fine."""
    errors: list[dict[str, Any]] = []
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
    now: datetime | None = None,
    confirm: bool = True,
) -> attention.WorldChange:
    """Replace the client's screening with `answers` and confirm it as of `now`.

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
    errors = validate_screening(answers, today=date_range.clinic_today(now), known=known)
    if errors:
        raise InvalidData(errors)
    with (
        attention.world_change(
            actor=actor, cause="New screening answers", confirm=confirm, now=now
        ) as change,
        transaction() as s,
    ):
        client = _locked_client(actor, client_id)
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


def _locked_client(actor: Actor, client_id: int | None) -> Client:
    """The client the actor may change, with every other change to their sessions waiting
    (their state is read afresh; the change is judged on it)."""
    lock_client(resolve_client_id(actor, client_id))
    return get_client(actor=actor, client_id=client_id)


def _answer_json(present: bool, last_on: date | None) -> dict[str, Any]:
    return {"present": present, "last_date": last_on.isoformat() if last_on else None}


# --- declared periods --------------------------------------------------------------------------


def validate_period(
    *, kind: str, start_on: date | None, end_on: date | None, note: str, today: date
) -> list[dict[str, Any]]:
    """Field errors for a declared period, as {code, message, field}."""
    errors: list[dict[str, Any]] = []

    def err(field: str, code: str, message: str) -> None:
        errors.append({"code": code, "message": message, "field": field})

    if kind not in PERIOD_KINDS:
        err("kind", "unknown_kind", "Choose a beach holiday or a wedding or event.")
    if start_on is None:
        err("start", "required", "Give the first day.")
    if end_on is None:
        err("end", "required", "Give the last day.")
    if len(note) > MAX_NOTE:
        err("note", "too_long", f"Keep the note under {MAX_NOTE} characters.")
    if start_on is None or end_on is None:
        return errors
    if end_on < start_on:
        err("end", "end_before_start", "The last day is before the first day.")
    elif end_on < today:
        err("end", "in_the_past", "This period is already over.")
    elif (end_on - start_on).days >= MAX_PERIOD_DAYS:
        err("end", "too_long", "A period can last at most a year; add several if you need to.")
    elif start_on > today + timedelta(days=MAX_PERIOD_AHEAD_DAYS):
        err("start", "too_far", "This is more than three years ahead.")
    return errors


def list_periods(*, actor: Actor, client_id: int | None = None) -> list[ClientPeriod]:
    return list(get_client(actor=actor, client_id=client_id).periods)


def add_period(
    *,
    actor: Actor,
    client_id: int | None = None,
    kind: str,
    start_on: date | None,
    end_on: date | None,
    note: str = "",
    now: datetime | None = None,
) -> tuple[ClientPeriod, attention.WorldChange]:
    """Declare a period the planner must respect (rule 3 of DOMAIN.md). It can break the
    client's booked sessions (aftercare over a beach holiday): the change is kept and they
    are flagged for the attention list (the change lists them)."""
    now = now or utcnow()
    note = " ".join(note.split())
    errors = validate_period(
        kind=kind, start_on=start_on, end_on=end_on, note=note, today=date_range.clinic_today(now)
    )
    if errors:
        raise InvalidData(errors)
    assert start_on is not None and end_on is not None
    label = PERIOD_LABELS.get(kind, kind)
    cause = f"New period: {label}, {start_on.isoformat()} to {end_on.isoformat()}"
    with (
        attention.world_change(actor=actor, cause=cause, confirm=True, now=now) as change,
        transaction() as s,
    ):
        client = _locked_client(actor, client_id)
        change.concerns(attention.of_client(client.id))
        period = ClientPeriod(kind=kind, start_on=start_on, end_on=end_on, note=note)
        client.periods.append(period)
        s.flush()
        record(
            s,
            actor,
            "add_period",
            "client_period",
            period.id,
            client_id=client.id,
            kind=kind,
            start=start_on.isoformat(),
            end=end_on.isoformat(),
        )
    return period, change


def remove_period(
    *, actor: Actor, client_id: int | None = None, period_id: int, now: datetime | None = None
) -> attention.WorldChange:
    """Drop a declared period: the sessions it had broken are judged again and lose their
    flags if they hold now. Removing a period cannot break a booking."""
    with (
        attention.world_change(
            actor=actor, cause="Period removed", confirm=True, now=now, mends=True
        ) as change,
        transaction() as s,
    ):
        client = _locked_client(actor, client_id)
        change.concerns(attention.of_client(client.id))
        period = next((p for p in client.periods if p.id == period_id), None)
        if period is None:
            raise NotFound("There is no such period.")
        client.periods.remove(period)
        record(
            s,
            actor,
            "remove_period",
            "client_period",
            period_id,
            client_id=client.id,
            kind=period.kind,
            start=period.start_on.isoformat(),
            end=period.end_on.isoformat(),
        )
    return change


# --- what the client may book ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseOutlook:
    """Whether the client's screening rules a course out, why, and from when it would not."""

    reasons: tuple[str, ...] = ()
    earliest: date | None = None

    @property
    def ruled_out(self) -> bool:
        return bool(self.reasons)

    @property
    def from_text(self) -> str | None:
        return long_day_text(self.earliest) if self.earliest is not None else None


def course_outlook(
    client: Client, courses: Sequence[Course], now: datetime | None = None
) -> dict[str, CourseOutlook]:
    """For each course, what the engine's contraindication rule says about booking it today."""
    now = now or utcnow()
    tz = clinic_setup.clinic_tz()
    today = date_range.clinic_today(now)
    noon = at(today, time(12), tz)
    conditions: Mapping[str, ConditionState] = {
        c.code: ConditionState(c.present, c.last_on) for c in client.conditions
    }
    out: dict[str, CourseOutlook] = {}
    for course in courses:
        rules = course_catalogue.course_rules(course)
        found = contraindication_violations(
            session=1, start=noon, course=rules, conditions=conditions, tz=tz
        )
        if not found:
            out[course.code] = CourseOutlook()
            continue
        earliest = earliest_allowed_by_contraindications(rules, conditions)
        out[course.code] = CourseOutlook(
            tuple(v.message for v in found), earliest if earliest != date.min else None
        )
    return out


def care_for_starts(course_code: str, starts: Sequence[datetime]) -> list[tuple[CareWindow, ...]]:
    """The care windows each proposed start would put in force, for showing before booking."""
    rules = course_catalogue.course_rules(course_catalogue.get_course(course_code))
    return [care_windows(rules, start) for start in starts]


def practitioner_choices(course_code: str) -> list[Practitioner]:
    """Active practitioners qualified for the course's procedure, by name."""
    course = course_catalogue.get_course(course_code)
    return list(
        db_session().scalars(
            select(Practitioner)
            .join(PractitionerQualification)
            .where(
                Practitioner.active.is_(True),
                PractitionerQualification.qualification == course.procedure.qualification,
            )
            .order_by(Practitioner.name)
        )
    )


def view_screening(*, actor: Actor, client_id: int | None = None) -> Client:
    """A client's screening for someone allowed to read it (the client, reception, or a
    practitioner who treats the client); staff reading it is recorded in the audit trail."""
    with transaction():
        client = get_client(actor=actor, client_id=client_id)
        shown_health_data(actor, [client.id], "screening")
    return client
