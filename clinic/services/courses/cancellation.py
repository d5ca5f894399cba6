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
    InvalidRequest,
    NotFound,
    RuleViolation,
)
from clinic.services.core.permissions import (
    can_cancel_enrolment,
    is_client,
    notice_violation,
)
from clinic.services.courses.moves import live_for_change
from clinic.services.messages import notices
from clinic.services.world import flags


def _require_notice(actor: Actor, appointments: Sequence[Appointment], now: datetime) -> None:
    """Rule 10: a client cancels only up to the clinic's notice (staff any time)."""
    late = [v for a in appointments if (v := notice_violation(actor, a, now))]
    if late:
        raise RuleViolation(late)


REASON_MAX = 500


def _reason(reason: str) -> str:
    """The reason staff give the client for a cancellation, told in the message as given."""
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise InvalidRequest(f"The reason is {len(reason)} characters; at most {REASON_MAX}.")
    return reason


def cancel_appointment(
    *, actor: Actor, appointment_id: int, now: datetime | None = None, reason: str = ""
) -> Appointment:
    """Cancel one session; its restrictions are lifted with it, and the client is told,
    with `reason` where staff gave one."""
    now = now or utcnow()
    reason = _reason(reason)
    with transaction() as s:
        appointment = live_for_change(actor, appointment_id, now, lock=True)
        appointment.status = "cancelled"
        appointment.revise()
        flags.forget([appointment.id])
        enrolment = appointment.enrolment
        if all(a.status == "cancelled" for a in enrolment.appointments):
            enrolment.status = "cancelled"
        notices.tell_sessions_cancelled(
            s, enrolment, [appointment], now, reason=reason, by_client=is_client(actor)
        )
        record(
            s,
            actor,
            "cancel",
            "appointment",
            appointment.id,
            client_id=appointment.client_id,
            reason=reason or None,
        )
    return appointment


def cancel_enrolment(
    *, actor: Actor, enrolment_id: int, now: datetime | None = None, reason: str = ""
) -> Enrolment:
    """Cancel a course: its future sessions are cancelled, past ones stay as they were; the
    client is told which, with `reason` where staff gave one."""
    now = now or utcnow()
    reason = _reason(reason)
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
        notices.tell_sessions_cancelled(
            s,
            enrolment,
            future,
            now,
            reason=reason,
            whole_course=True,
            by_client=is_client(actor),
        )
        record(
            s,
            actor,
            "cancel",
            "enrolment",
            enrolment.id,
            client_id=enrolment.client_id,
            sessions=[a.id for a in future],
            reason=reason or None,
        )
    return enrolment
