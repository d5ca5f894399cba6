"""JSON API v1: appointments, their moves, cancellations, outcomes and calendar files
(shared/API.md)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Response, g, url_for
from flask.typing import ResponseReturnValue

from clinic.api import schemas
from clinic.api.registry import endpoint
from clinic.api.serialise import appointment_json, json_answer
from clinic.services.clinical import patch_tests
from clinic.services.core import clinic_setup
from clinic.services.courses import cancellation, moves, outcomes, reads
from clinic.services.messages import calendar_files
from clinic.services.world import client_reads


@endpoint(
    "GET",
    "/appointments",
    "Appointments the caller may see",
    query=schemas.AppointmentsQuery,
    response=schemas.AppointmentOut,
    many=True,
    errors=(400, 401, 404, 422),
)
def list_appointments() -> ResponseReturnValue:
    query: schemas.AppointmentsQuery = g.query
    tz = clinic_setup.clinic_tz()
    start = datetime.combine(query.from_, time(0), tzinfo=tz) if query.from_ else None
    end = datetime.combine(query.to + timedelta(days=1), time(0), tzinfo=tz) if query.to else None
    rows = reads.list_appointments(actor=g.actor, client_id=query.client, start=start, end=end)
    return json_answer(schemas.AppointmentOut, [appointment_json(a) for a in rows])


@endpoint(
    "GET",
    "/appointments/<int:appointment_id>",
    "One appointment",
    response=schemas.AppointmentOut,
    errors=(401, 404),
)
def get_appointment(appointment_id: int) -> ResponseReturnValue:
    a = reads.get_appointment(actor=g.actor, appointment_id=appointment_id)
    return json_answer(schemas.AppointmentOut, appointment_json(a))


@endpoint(
    "PATCH",
    "/appointments/<int:appointment_id>",
    "Move a session; 409/422 with the affected sessions",
    body=schemas.AppointmentMove,
    response=schemas.AppointmentOut,
    errors=(400, 401, 403, 404, 409, 422),
)
def move_appointment(appointment_id: int) -> ResponseReturnValue:
    body: schemas.AppointmentMove = g.body
    asked = {
        "actor": g.actor,
        "appointment_id": appointment_id,
        "start": body.start,
        "practitioner_id": body.practitioner,
        "override_reason": body.override_reason or "",
        "precare_confirmed": body.precare_confirmed,
    }
    # The preview's refusal is the answer (422/409 with `affected` and `replan`: service_error).
    refusal = moves.preview_move(**asked).refusal(accept_replan=body.accept_replan)
    if refusal is not None:
        raise refusal
    outcome = moves.move_appointment(**asked, accept_replan=body.accept_replan)
    return json_answer(schemas.AppointmentOut, appointment_json(outcome.appointment))


@endpoint(
    "DELETE",
    "/appointments/<int:appointment_id>",
    "Cancel a session; its restrictions are lifted. An optional `reason` (query or JSON "
    "body, at most 500 characters) is told to the client",
    body=schemas.CancelReason,
    body_required=False,
    query=schemas.CancelReason,
    status=204,
    errors=(400, 401, 403, 404, 409, 422),
)
def cancel_appointment(appointment_id: int) -> ResponseReturnValue:
    body: schemas.CancelReason = g.body
    query: schemas.CancelReason = g.query
    cancellation.cancel_appointment(
        actor=g.actor, appointment_id=appointment_id, reason=body.reason or query.reason or ""
    )
    return "", 204


@endpoint(
    "POST",
    "/appointments/<int:appointment_id>/outcome",
    "Staff: mark a session that has started done or no-show; a no-show keeps a make-up "
    "session unless the clinic's policy uses it up. 409 for a cancelled session, 422 for "
    "one not yet started",
    body=schemas.OutcomeRecord,
    response=schemas.AppointmentOut,
    errors=(400, 401, 403, 404, 409, 422),
)
def record_outcome(appointment_id: int) -> ResponseReturnValue:
    body: schemas.OutcomeRecord = g.body
    appointment = outcomes.record_outcome(
        actor=g.actor,
        appointment_id=appointment_id,
        status=body.outcome,
        note=body.note or "",
        sessions_link=url_for("booking.my_sessions", _external=True),
    )
    return json_answer(schemas.AppointmentOut, appointment_json(appointment))


@endpoint(
    "POST",
    "/appointments/<int:appointment_id>/reaction",
    "Staff: the skin reacted to a held patch test. Every course needing that test is then "
    "contraindicated for the client; the booked sessions it rules out are flagged",
    body=schemas.ReactionRecord,
    response=schemas.ReactionSaved,
    errors=(400, 401, 403, 404, 422),
)
def record_reaction(appointment_id: int) -> ResponseReturnValue:
    body: schemas.ReactionRecord = g.body
    change = patch_tests.record_reaction(
        actor=g.actor, appointment_id=appointment_id, note=body.note
    )
    out = {
        "appointment": appointment_id,
        "reaction": body.note.strip(),
        "affected": [b.appointment_id for b in change.broken],
    }
    return json_answer(schemas.ReactionSaved, out)


def _ics(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@endpoint(
    "GET",
    "/appointments/<int:appointment_id>.ics",
    "One session with its aftercare, as iCalendar",
    errors=(401, 404),
    content_type="text/calendar",
)
def appointment_calendar(appointment_id: int) -> ResponseReturnValue:
    appointment = reads.get_appointment(actor=g.actor, appointment_id=appointment_id)
    return _ics(calendar_files.appointment_ics(appointment), f"session-{appointment.id}.ics")


@endpoint(
    "GET",
    "/calendar.ics",
    "A client's whole calendar with aftercare, as iCalendar",
    query=schemas.CalendarQuery,
    errors=(400, 401, 404),
    content_type="text/calendar",
)
def client_calendar() -> ResponseReturnValue:
    query: schemas.CalendarQuery = g.query
    client_id = client_reads.resolve_client_id(g.actor, query.client)
    return _ics(calendar_files.client_calendar_ics(client_id), "clinic-calendar.ics")
