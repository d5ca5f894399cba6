"""Done and no-show (DOMAIN.md "No-show and make-up"): recorded by staff after a session started."""

from __future__ import annotations

from datetime import datetime

from clinic.models import (
    APPOINTMENT_STATUSES,
    OUTCOME_STATUSES,
    Appointment,
    utcnow,
)
from clinic.scheduling import (
    Violation,
)
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import lock_client, transaction
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.core.permissions import (
    can_record_outcome,
    is_staff,
)
from clinic.services.courses.course_rest import next_session_offer
from clinic.services.courses.moves import what_changed
from clinic.services.courses.reads import get_appointment
from clinic.services.messages import notices, reminders
from clinic.services.world import flags, progress


def record_outcome(
    *,
    actor: Actor,
    appointment_id: int,
    status: str,
    note: str = "",
    sessions_link: str = "",
    seen: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Staff mark a session that has started done or no-show, with a note (DOMAIN.md "No-show
    and make-up"). A no-show starts no restriction and is not held: unless the clinic's policy
    `no_show_uses_session` says it is used up, the course keeps a make-up session, and the
    client is told (with `sessions_link`, their My sessions page). The course is completed
    once nothing is booked or left to book (services/progress.py). A flag on the session
    goes: a finished session needs no attention.

    Staff may correct an outcome (done <-> no-show): the hour was recorded wrongly, and the
    course's counts follow. A no-show whose make-up is already booked or held is not turned
    into done: that would leave the course a session too many (409 `makeup_booked`).
    `seen`: the status the person saw; if someone else has changed it since, the request is
    refused (409 `appointment_changed`) saying what happened."""
    now = now or utcnow()
    if status not in OUTCOME_STATUSES:
        raise InvalidRequest("Mark a session done or no-show.", field="status")
    if len(note) > 2000:
        raise InvalidRequest("Keep the note under 2000 characters.", field="note")
    if seen is not None and seen not in APPOINTMENT_STATUSES:
        raise InvalidRequest("The page sent an unknown session status; reload it.", field="seen")
    if not is_staff(actor):  # a client is refused before learning whether the session exists
        raise PermissionDenied("Only clinic staff record how a session went.")
    with transaction() as s:
        appointment = get_appointment(actor=actor, appointment_id=appointment_id)
        if not can_record_outcome(actor, appointment):
            raise PermissionDenied("Only clinic staff record how a session went.")
        lock_client(appointment.client_id)
        was = appointment.status
        if seen is not None and was != seen:
            raise Conflict(what_changed(appointment), code="appointment_changed")
        if was == "cancelled":
            raise Conflict(
                "This session was cancelled; it has no outcome to record.",
                code="appointment_changed",
            )
        if appointment.start_at > now:
            raise RuleViolation(
                [
                    Violation(
                        "not_started",
                        "A session can be marked only once it has started.",
                        appointment.session,
                    )
                ]
            )
        if appointment.status != status:
            appointment.revise()
        appointment.status = status
        if note.strip():
            appointment.note = note.strip()
        enrolment = appointment.enrolment
        counts = progress.enrolment_progress(enrolment)
        if counts.held + counts.missed + counts.booked > counts.total:
            raise Conflict(
                "The make-up of this missed session is already booked; cancel the make-up "
                "first, then mark this session done.",
                code="makeup_booked",
            )
        if enrolment.status != "cancelled":
            enrolment.status = "completed" if counts.finished else "active"
        flags.forget([appointment.id])
        if status == "no_show" and was != "no_show" and enrolment.status != "cancelled":
            # The make-up's earliest date, offered in the message.
            offer = next_session_offer(enrolment, now)
            start = offer.slot.start if offer is not None else None
            notices.tell_missed_session(s, appointment, counts, sessions_link, now, start)
        reminders.refresh(s, appointment.client_id, now)
        record(
            s,
            actor,
            status,
            "appointment",
            appointment.id,
            client_id=appointment.client_id,
            note=note or None,
            was=was if was != "booked" else None,
        )
    return appointment
