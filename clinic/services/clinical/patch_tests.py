"""A patch test's result (issue 21): the skin's reaction to a held patch test, recorded by staff
when it shows (often a day or two after the test). A reaction rules out every course whose
procedure needs that test (the engine's patch-test rule: `contraindicated`, with the note), so
recording it is a change of the world: the client's booked sessions it breaks are flagged for
the attention list, and nothing is moved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from clinic.models import Appointment, Procedure, utcnow
from clinic.scheduling import Violation
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import InvalidRequest, PermissionDenied, RuleViolation
from clinic.services.core.permissions import can_record_outcome, is_staff
from clinic.services.courses.reads import get_appointment
from clinic.services.lifetime import attention

MAX_NOTE = 2000


def is_patch_test(appointment: Appointment) -> bool:
    """Whether the session is a patch test: its procedure is some procedure's patch test."""
    code = appointment.enrolment.course.procedure.code
    return (
        db_session().scalar(
            select(Procedure.id).where(Procedure.patch_test_procedure == code).limit(1)
        )
        is not None
    )


def record_reaction(
    *, actor: Actor, appointment_id: int, note: str, now: datetime | None = None
) -> attention.WorldChange:
    """Staff record that the skin reacted to a held patch test, with what they saw (`note`,
    required: it is what the client and the attention list are told). The client's booked
    sessions of courses needing this test are flagged (`contraindicated`)."""
    now = now or utcnow()
    note = note.strip()
    if not note:
        raise InvalidRequest("Say what the skin showed (e.g. redness for two days).", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidRequest(f"Keep the note under {MAX_NOTE} characters.", field="note")
    if not is_staff(actor):
        raise PermissionDenied("Only clinic staff record how a patch test went.")
    with (
        attention.world_change(
            actor=actor, cause="A patch test showed a reaction", confirm=True, now=now
        ) as change,
        transaction() as s,
    ):
        appointment = get_appointment(actor=actor, appointment_id=appointment_id)
        if not can_record_outcome(actor, appointment):
            raise PermissionDenied("Only clinic staff record how a patch test went.")
        lock_client(appointment.client_id)
        if not is_patch_test(appointment):
            raise InvalidRequest("This session is not a patch test.", field="appointment")
        if appointment.status != "done":
            raise RuleViolation(
                [
                    Violation(
                        "not_held",
                        "Mark the patch test done first; then record the skin's reaction.",
                        appointment.session,
                    )
                ]
            )
        change.concerns(attention.of_client(appointment.client_id))
        before = appointment.reaction_note
        appointment.reaction_note = note
        record(
            s,
            actor,
            "patch_test_reaction",
            "appointment",
            appointment.id,
            client_id=appointment.client_id,
            note=note,
            before=before,
        )
    return change
