"""Reading sessions: one appointment or a list the actor may see, and the free starts of a day
(for a client: only those their rules accept)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic.models import (
    Appointment,
    Course,
    Enrolment,
    Practitioner,
    Procedure,
    utcnow,
)
from clinic.scheduling import (
    CheckResult,
    CourseRules,
    DayResources,
    ProcedureRules,
    ProposedSession,
    Slot,
    Snapshot,
    available_slots,
    check_course,
    offer_day,
)
from clinic.scheduling.offers import Judge
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session
from clinic.services.core.errors import (
    NotFound,
    PermissionDenied,
)
from clinic.services.core.permissions import (
    can_see_appointment,
    is_client,
    is_staff,
    visible_appointments,
)
from clinic.services.courses.placing import LONGEST_SESSION
from clinic.services.world import client_reads, course_catalogue, progress
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.client_reads import resolve_client_id
from clinic.services.world.snapshot import load_snapshot


def availability(
    *,
    procedure_code: str,
    day: date,
    practitioner_id: int | None = None,
    actor: Actor | None = None,
    client_id: int | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free start times of a procedure on a local date; with `client_id` (for `actor`, who may
    name only a client they may book for), only the starts that client's rules accept, judged
    by the check a booking of it meets (see `_client_judge`)."""
    procedure = course_catalogue.procedure(procedure_code)
    if practitioner_id is not None and db_session().get(Practitioner, practitioner_id) is None:
        raise NotFound("There is no such practitioner.", field="practitioner")
    if client_id is None:
        return available_slots(
            snapshot=load_snapshot(remembered=True),
            procedure=procedure,
            day=day,
            practitioner_id=practitioner_id,
        )
    if actor is None:
        raise PermissionDenied("Say who is asking about this client.")
    now = now or utcnow()
    client = resolve_client_id(actor, client_id)
    snapshot = load_snapshot(remembered=True)
    judge = _client_judge(actor, client, procedure, snapshot, now)
    return list(
        offer_day(
            snapshot=snapshot,
            procedure=procedure,
            day=day,
            now=now,
            judge=judge,
            practitioner_id=practitioner_id,
            each_practitioner=True,
        ).slots
    )


def _client_judge(
    actor: Actor, client_id: int, procedure: ProcedureRules, snapshot: Snapshot, now: datetime
) -> Judge:
    """The check a session of `procedure` for this client meets, with the client's state read
    once: as the next session of their open enrolment of a course of this procedure (rules as
    booked, spaced from its last session), else as a single session with the procedure's own
    rules: no course, so no care windows, contraindications or season of its own
    (docs/DECISIONS.md)."""
    enrolment = _open_enrolment_of(client_id, procedure.code)
    state = client_reads.client_state(
        client_id, now, enrolments=() if enrolment is None else (enrolment.id,)
    )
    if enrolment is None:
        course = CourseRules(
            code=procedure.code,
            name=procedure.name,
            procedure=procedure,
            sessions=1,
            min_interval_days=0,
            max_interval_days=None,
        )
        enrolment_id, number = None, 1
    else:
        course = enrolment_rules(enrolment)
        enrolment_id = enrolment.id
        number = progress.next_session_number(enrolment)

    def judge(slot: Slot, days: dict[date, DayResources]) -> CheckResult:
        return check_course(
            snapshot=snapshot,
            course=course,
            client=state,
            proposals=[ProposedSession(number, slot.start, slot.practitioner_id)],
            now=now,
            enrolment_id=enrolment_id,
            by_staff=is_staff(actor),
            days=days,
        )

    return judge


def _open_enrolment_of(client_id: int, procedure_code: str) -> Enrolment | None:
    """The client's oldest active enrolment of a course of this procedure that still has
    sessions to book."""
    enrolments = db_session().scalars(
        select(Enrolment)
        .join(Course, Course.id == Enrolment.course_id)
        .join(Procedure, Procedure.id == Course.procedure_id)
        .where(
            Enrolment.client_id == client_id,
            Enrolment.status == "active",
            Procedure.code == procedure_code,
        )
        .order_by(Enrolment.id)
    )
    return next(
        (e for e in enrolments if progress.enrolment_progress(e).remaining > 0),
        None,
    )


def get_appointment(*, actor: Actor, appointment_id: int) -> Appointment:
    appointment = db_session().get(Appointment, appointment_id)
    if appointment is None or not can_see_appointment(actor, appointment):
        raise NotFound("There is no such appointment.")
    return appointment


def list_appointments(
    *,
    actor: Actor,
    client_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    practitioner_id: int | None = None,
) -> list[Appointment]:
    """Appointments the actor may see, oldest first, optionally for one client and a window."""
    query = select(Appointment).options(
        selectinload(Appointment.enrolment)
        .selectinload(Enrolment.course)
        .selectinload(Course.procedure),
        selectinload(Appointment.practitioner),
        selectinload(Appointment.device),
        selectinload(Appointment.room),
        selectinload(Appointment.client),
    )
    if is_client(actor):
        own = resolve_client_id(actor, client_id)
        query = query.where(Appointment.client_id == own)
    else:
        query = query.where(visible_appointments(actor))
        if client_id is not None:
            query = query.where(Appointment.client_id == client_id)
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    if start is not None:
        # The lower bound on start_at lets the index bound the scan (a session lasts at most
        # 12 hours, the procedures' own limit).
        query = query.where(
            Appointment.end_at > start, Appointment.start_at > start - LONGEST_SESSION
        )
    if end is not None:
        query = query.where(Appointment.start_at < end)
    return list(db_session().scalars(query.order_by(Appointment.start_at, Appointment.id)))
