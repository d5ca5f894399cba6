"""Cancelling a session or a whole course: their restrictions are lifted with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from clinic.models import (
    Appointment,
    Enrolment,
    utcnow,
)
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import (
    NotFound,
    RuleViolation,
)
from clinic.services.core.permissions import (
    can_cancel_enrolment,
    notice_violation,
)
from clinic.services.courses.moves import live_for_change
from clinic.services.messages import reminders
from clinic.services.world import flags


def _require_notice(actor: Actor, appointments: Sequence[Appointment], now: datetime) -> None:
    """Rule 10: a client cancels only up to the clinic's notice (staff any time)."""
    late = [v for a in appointments if (v := notice_violation(actor, a, now))]
    if late:
        raise RuleViolation(late)


def cancel_appointment(
    *, actor: Actor, appointment_id: int, now: datetime | None = None
) -> Appointment:
    """Cancel one session; its restrictions are lifted with it."""
    now = now or utcnow()
    with transaction() as s:
        appointment = live_for_change(actor, appointment_id, now, lock=True)
        appointment.status = "cancelled"
        appointment.revise()
        flags.forget([appointment.id])
        enrolment = appointment.enrolment
        if all(a.status == "cancelled" for a in enrolment.appointments):
            enrolment.status = "cancelled"
        reminders.refresh(s, appointment.client_id, now)
        record(s, actor, "cancel", "appointment", appointment.id, client_id=appointment.client_id)
    return appointment


def cancel_enrolment(*, actor: Actor, enrolment_id: int, now: datetime | None = None) -> Enrolment:
    """Cancel a course: its future sessions are cancelled, past ones stay as they were."""
    now = now or utcnow()
    with transaction() as s:
        enrolment = db_session().get(Enrolment, enrolment_id)
        if enrolment is None or not can_cancel_enrolment(actor, enrolment):
            raise NotFound("There is no such course booking.")
        lock_client(enrolment.client_id)
        future = [a for a in enrolment.appointments if a.is_to_come(now)]
        _require_notice(actor, future, now)
        for a in future:
            a.status = "cancelled"
            a.revise()
        flags.forget(a.id for a in future)
        enrolment.status = "cancelled"
        reminders.refresh(s, enrolment.client_id, now)
        record(
            s,
            actor,
            "cancel",
            "enrolment",
            enrolment.id,
            client_id=enrolment.client_id,
            sessions=[a.id for a in future],
        )
    return enrolment
