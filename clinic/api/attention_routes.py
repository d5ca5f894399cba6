"""JSON API v1: the attention list and accepting a re-plan (shared/API.md)."""

from __future__ import annotations

from flask import g
from flask.typing import ResponseReturnValue

from clinic.api import schemas
from clinic.api.registry import endpoint
from clinic.api.serialise import appointment_json, json_answer, local
from clinic.services.courses.moves import Seen
from clinic.services.lifetime import attention_list
from clinic.services.lifetime.attention_list import ReplanRequest


@endpoint(
    "GET",
    "/attention",
    "Booked sessions to come that a change of the world has broken, with a re-plan (staff)",
    query=schemas.AttentionQuery,
    response=schemas.AttentionOut,
    many=True,
    errors=(400, 401, 403),
)
def list_attention() -> ResponseReturnValue:
    query: schemas.AttentionQuery = g.query
    items = attention_list.attention_list(actor=g.actor, client_id=query.client)
    out = [
        {
            "appointment": i.appointment.id,
            "enrolment": i.appointment.enrolment_id,
            "client": i.appointment.client_id,
            "start": local(i.appointment.start_at),
            "errors": [{"code": e.code, "message": e.message} for e in i.errors],
            "cause": i.cause,
            "replan": [
                {
                    "appointment": m.appointment_id,
                    "start": local(m.slot.start),
                    "practitioner": m.slot.practitioner_id,
                    "seen": _seen_out(m.seen),
                }
                for m in i.replan.moves
            ],
        }
        for i in items
    ]
    return json_answer(schemas.AttentionOut, out)


@endpoint(
    "POST",
    "/enrolments/<int:enrolment_id>/replan",
    "Move sessions of a course booking together, all or none (staff)",
    body=schemas.ReplanAccept,
    response=schemas.AppointmentOut,
    many=True,
    errors=(400, 401, 403, 404, 409, 422),
)
def accept_replan(enrolment_id: int) -> ResponseReturnValue:
    body: schemas.ReplanAccept = g.body
    moved = attention_list.accept_replan(
        actor=g.actor,
        enrolment_id=enrolment_id,
        moves=[
            ReplanRequest(s.appointment, s.start, s.practitioner, seen=_seen_in(s.seen))
            for s in body.sessions
        ],
    )
    return json_answer(schemas.AppointmentOut, [appointment_json(a) for a in moved])


def _seen_out(seen: Seen) -> dict[str, object]:
    status, start, practitioner = seen
    return {"status": status, "start": local(start), "practitioner": practitioner}


def _seen_in(seen: schemas.SeenSession | None) -> Seen | None:
    return None if seen is None else (seen.status, seen.start, seen.practitioner)
