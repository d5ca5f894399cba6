"""JSON API v1 endpoints: thin wrappers over the services."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from clinic.api import bp, schemas
from clinic.api.openapi import document
from clinic.api.registry import endpoint
from clinic.extensions import csrf, limiter
from clinic.models import Appointment
from clinic.scheduling import CareWindow, Preferences, Slot
from clinic.services import catalogue
from clinic.services.catalogue import catalogue_queries
from clinic.services.core import clinic_setup
from clinic.services.core.errors import ServiceError
from clinic.services.courses import cancellation, course_rest, enrol, moves, outcomes, reads
from clinic.services.courses.placing import CoursePlan, SessionRequest
from clinic.services.messages import calendar_files
from clinic.services.people import accounts, clients, tokens
from clinic.services.world import client_reads, course_catalogue
from clinic.services.world.aftercare import aftercare_for

csrf.exempt(bp)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    payload: dict[str, Any] = {"errors": exc.as_json()}
    affected = getattr(exc, "affected", None)
    if affected:
        payload["affected"] = affected
    replan = getattr(exc, "replan", ())
    if replan:
        codes = clinic_setup.resource_codes()
        payload["replan"] = [_slot(p.slot, codes) | {"session": p.session} for p in replan]
    response = schemas.ErrorsOut.model_validate(payload).model_dump(mode="json", exclude_unset=True)
    return jsonify(response), exc.status


# --- serialisers ---------------------------------------------------------------------------------


def _tz() -> ZoneInfo:
    tz: ZoneInfo | None = g.get("clinic_tz")
    if tz is None:
        tz = g.clinic_tz = clinic_setup.clinic_tz()
    return tz


def _local(moment: datetime) -> datetime:
    """Times leave the API with the clinic's offset, as clients show them."""
    return moment.astimezone(_tz())


def _care(windows: tuple[CareWindow, ...]) -> list[dict[str, Any]]:
    tz = _tz()
    return [
        {
            "restriction": w.code,
            "text": w.text,
            "phase": w.phase,
            "start": w.window.start.astimezone(tz),
            "until": w.window.end.astimezone(tz),
        }
        for w in windows
    ]


def _where(device_id: int | None, room_id: int, codes: dict[str, dict[int, str]]) -> dict[str, Any]:
    """The device and room of a slot or appointment by code (`snapshot.resource_codes`)."""
    return {
        "device": codes["devices"].get(device_id) if device_id else None,
        "room": codes["rooms"].get(room_id, ""),
    }


def _slot(slot: Slot, codes: dict[str, dict[int, str]]) -> dict[str, Any]:
    return {
        "start": _local(slot.start),
        "end": _local(slot.end),
        "practitioner": slot.practitioner_id,
        **_where(slot.device_id, slot.room_id, codes),
    }


def _appointment(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.id,
        "enrolment": a.enrolment_id,
        "course": a.enrolment.course.code,
        "session": a.session,
        "client": a.client_id,
        "start": _local(a.start_at),
        "end": _local(a.end_at),
        "status": a.status,
        "practitioner": a.practitioner_id,
        **_where(a.device_id, a.room_id, clinic_setup.resource_codes()),
        "aftercare": _care(aftercare_for(a)),
    }


def _json(model: type[BaseModel], data: Any, status: int = 200) -> tuple[Response, int]:
    if isinstance(data, list):
        payload: Any = [model.model_validate(item).model_dump(mode="json") for item in data]
    else:
        payload = model.model_validate(data).model_dump(mode="json")
    return jsonify(payload), status


# --- documents and auth --------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


@endpoint(
    "POST",
    "/token",
    "Exchange email and password for a bearer token",
    body=schemas.TokenRequest,
    response=schemas.TokenOut,
    auth=False,
    errors=(400, 401, 429),
)
@limiter.limit("10 per minute")
def create_token() -> ResponseReturnValue:
    body: schemas.TokenRequest = g.body
    hours = current_app.config["API_TOKEN_HOURS"]
    token = tokens.issue_token(email=body.email, password=body.password, hours=hours)
    return _json(
        schemas.TokenOut,
        {"token": token, "expires_at": _local(datetime.now(UTC) + timedelta(hours=hours))},
    )


@endpoint("DELETE", "/token", "Revoke the token used for this request", status=204, errors=(401,))
def delete_token() -> ResponseReturnValue:
    tokens.revoke_token(request.headers["Authorization"].partition(" ")[2].strip())
    return "", 204


@endpoint(
    "DELETE",
    "/users/<int:user_id>/tokens",
    "Revoke every token of a user (admin, or the user)",
    status=204,
    errors=(401, 403, 404),
)
def delete_user_tokens(user_id: int) -> ResponseReturnValue:
    tokens.revoke_user_tokens(actor=g.actor, user_id=user_id)
    return "", 204


# --- catalogue -----------------------------------------------------------------------------------


@endpoint(
    "GET", "/courses", "Course templates", response=schemas.CourseOut, many=True, errors=(401,)
)
def list_courses() -> ResponseReturnValue:
    out = [
        catalogue.course_entry(c)
        | {
            "months": c.months,
            "price": f"{c.procedure.price:.2f}",
            "duration_min": c.procedure.duration_min,
        }
        for c in catalogue_queries.list_courses()
    ]
    return _json(schemas.CourseOut, out)


@endpoint(
    "GET",
    "/practitioners",
    "Practitioners, optionally those qualified for a procedure",
    query=schemas.PractitionersQuery,
    response=schemas.PractitionerOut,
    many=True,
    errors=(400, 401, 404),
)
def list_practitioners() -> ResponseReturnValue:
    query: schemas.PractitionersQuery = g.query
    qualification = (
        course_catalogue.get_procedure(query.procedure).qualification if query.procedure else None
    )
    out = [
        {"id": p.id, "name": p.name, "email": p.email, "qualifications": p.qualification_codes}
        for p in catalogue_queries.list_practitioners(qualification=qualification)
    ]
    return _json(schemas.PractitionerOut, out)


@endpoint(
    "GET",
    "/availability",
    "Free start times of a procedure on a date (with client: those their rules accept)",
    query=schemas.AvailabilityQuery,
    response=schemas.SlotsOut,
    errors=(400, 401, 403, 404, 422),
)
def availability() -> ResponseReturnValue:
    query: schemas.AvailabilityQuery = g.query
    slots = reads.availability(
        procedure_code=query.procedure,
        day=query.date,
        practitioner_id=query.practitioner,
        actor=g.actor,
        client_id=query.client,
    )
    codes = clinic_setup.resource_codes()
    return _json(schemas.SlotsOut, {"slots": [_slot(s, codes) for s in slots]})


# --- clients ---------------------------------------------------------------------------------------


@endpoint(
    "POST",
    "/clients",
    "Create a client (staff)",
    body=schemas.ClientCreate,
    response=schemas.ClientOut,
    status=201,
    errors=(400, 401, 403, 409),
)
def create_client() -> ResponseReturnValue:
    body: schemas.ClientCreate = g.body
    client = accounts.create_client(
        actor=g.actor,
        email=body.email,
        name=body.name,
        password=body.password,
        phone=body.phone or "",
    )
    return _json(
        schemas.ClientOut,
        {
            "id": client.id,
            "email": client.email,
            "name": client.name,
            "has_login": client.user_id is not None,
        },
        201,
    )


# --- planning and booking ----------------------------------------------------------------------------


@endpoint(
    "POST",
    "/plans",
    "Propose dates for every session of a course; books nothing",
    body=schemas.PlanRequest,
    response=schemas.PlanOut,
    errors=(400, 401, 403, 404, 422),
)
def create_plan() -> ResponseReturnValue:
    body: schemas.PlanRequest = g.body
    plan = enrol.plan_course_for(
        actor=g.actor,
        course_code=body.course,
        client_id=body.client,
        earliest=body.earliest,
        preferences=_preferences(body.preferences),
    )
    return _json(schemas.PlanOut, _plan(plan))


def _preferences(p: schemas.PlanPreferences | None) -> Preferences | None:
    if p is None:
        return None
    return Preferences(
        weekdays=frozenset(p.weekdays) if p.weekdays is not None else None,
        time_from=p.time_from,
        time_to=p.time_to,
        practitioner_id=p.practitioner,
    )


def _plan(plan: CoursePlan) -> dict[str, Any]:
    codes = clinic_setup.resource_codes()
    return {
        "sessions": [_slot(s.slot, codes) | {"session": s.session} for s in plan.sessions],
        "aftercare": [_care(s.care) for s in plan.sessions],
        "notes": [
            {"code": n.code, "message": n.message, "earliest": n.earliest} for n in plan.notes
        ],
    }


@endpoint(
    "POST",
    "/enrolments",
    "Book a course (all given sessions or none)",
    body=schemas.EnrolmentCreate,
    response=schemas.EnrolmentOut,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
def create_enrolment() -> ResponseReturnValue:
    body: schemas.EnrolmentCreate = g.body
    enrolment = enrol.book_course(
        actor=g.actor,
        course_code=body.course,
        client_id=body.client,
        sessions=[SessionRequest(s.start, s.practitioner) for s in body.sessions],
        override_reason=body.override_reason or "",
        precare_confirmed=body.precare_confirmed,
    )
    return _json(
        schemas.EnrolmentOut,
        {
            "id": enrolment.id,
            "course": enrolment.course.code,
            "client": enrolment.client_id,
            "appointments": [_appointment(a) for a in enrolment.appointments],
        },
        201,
    )


@endpoint(
    "GET",
    "/enrolments/<int:enrolment_id>",
    "A course booking: how many sessions are held, booked and still to book",
    response=schemas.EnrolmentDetailOut,
    errors=(401, 404),
)
def get_enrolment(enrolment_id: int) -> ResponseReturnValue:
    enrolment = course_rest.get_enrolment(actor=g.actor, enrolment_id=enrolment_id)
    state = course_rest.enrolment_state(enrolment)
    progress = state.progress
    return _json(
        schemas.EnrolmentDetailOut,
        {
            "id": enrolment.id,
            "course": enrolment.course.code,
            "client": enrolment.client_id,
            "status": enrolment.status,
            "sessions_total": progress.total,
            "held": progress.held,
            "missed": progress.missed,
            "booked": progress.booked,
            "remaining": progress.remaining,
            "next_session": state.next_session if not state.closed else None,
            "appointments": [_appointment(a) for a in enrolment.appointments],
        },
    )


@endpoint(
    "POST",
    "/enrolments/<int:enrolment_id>/plan",
    "Propose the remaining sessions of a course booking (or `count` of them); books nothing",
    body=schemas.EnrolmentPlanRequest,
    response=schemas.RestPlanOut,
    errors=(400, 401, 403, 404, 409, 422),
)
def plan_enrolment_rest(enrolment_id: int) -> ResponseReturnValue:
    body: schemas.EnrolmentPlanRequest = g.body
    plan = course_rest.plan_rest(
        actor=g.actor,
        enrolment_id=enrolment_id,
        earliest=body.earliest,
        preferences=_preferences(body.preferences),
        count=body.count,
    )
    return _json(schemas.RestPlanOut, _plan(plan))


@endpoint(
    "POST",
    "/enrolments/<int:enrolment_id>/sessions",
    "Book more sessions into a course booking (all given sessions or none)",
    body=schemas.EnrolmentSessionsCreate,
    response=schemas.EnrolmentOut,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
def book_enrolment_sessions(enrolment_id: int) -> ResponseReturnValue:
    body: schemas.EnrolmentSessionsCreate = g.body
    booked = course_rest.book_rest(
        actor=g.actor,
        enrolment_id=enrolment_id,
        sessions=[SessionRequest(s.start, s.practitioner) for s in body.sessions],
        precare_confirmed=body.precare_confirmed,
        override_reason=body.override_reason or "",
    )
    return _json(
        schemas.EnrolmentOut,
        {
            "id": booked.enrolment.id,
            "course": booked.enrolment.course.code,
            "client": booked.enrolment.client_id,
            "appointments": [_appointment(a) for a in booked.appointments],
        },
        201,
    )


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
    return _json(schemas.AppointmentOut, [_appointment(a) for a in rows])


@endpoint(
    "GET",
    "/appointments/<int:appointment_id>",
    "One appointment",
    response=schemas.AppointmentOut,
    errors=(401, 404),
)
def get_appointment(appointment_id: int) -> ResponseReturnValue:
    a = reads.get_appointment(actor=g.actor, appointment_id=appointment_id)
    return _json(schemas.AppointmentOut, _appointment(a))


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
    return _json(schemas.AppointmentOut, _appointment(outcome.appointment))


@endpoint(
    "DELETE",
    "/appointments/<int:appointment_id>",
    "Cancel a session; its restrictions are lifted",
    status=204,
    errors=(401, 403, 404, 409, 422),
)
def cancel_appointment(appointment_id: int) -> ResponseReturnValue:
    cancellation.cancel_appointment(actor=g.actor, appointment_id=appointment_id)
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
    return _json(schemas.AppointmentOut, _appointment(appointment))


# --- screening, periods, calendars ------------------------------------------------------------------


def _screening_out(client_id: int) -> dict[str, Any]:
    client = client_reads.get_client(client_id)
    return {
        "client": client.id,
        "confirmed_at": _local(client.screening_confirmed_at)
        if client.screening_confirmed_at
        else None,
        "conditions": [
            {"code": c.code, "present": c.present, "last_date": c.last_on}
            for c in client.conditions
        ],
    }


@endpoint(
    "GET",
    "/clients/<int:client_id>/screening",
    "A client's health screening",
    response=schemas.ScreeningOut,
    errors=(401, 404),
)
def get_screening(client_id: int) -> ResponseReturnValue:
    client = clients.view_screening(actor=g.actor, client_id=client_id)
    return _json(schemas.ScreeningOut, _screening_out(client.id))


@endpoint(
    "PUT",
    "/clients/<int:client_id>/screening",
    "Record and confirm a client's health screening",
    body=schemas.ScreeningUpdate,
    response=schemas.ScreeningSaved,
    errors=(400, 401, 403, 404, 422),
)
def put_screening(client_id: int) -> ResponseReturnValue:
    body: schemas.ScreeningUpdate = g.body
    answers = [clients.ConditionAnswer(a.code, a.present, a.last_date) for a in body.conditions]
    change = clients.save_screening(actor=g.actor, client_id=client_id, answers=answers)
    out = {**_screening_out(client_id), "affected": [b.appointment_id for b in change.broken]}
    return _json(schemas.ScreeningSaved, out)


@endpoint(
    "POST",
    "/clients/<int:client_id>/periods",
    "Declare a period: sun exposure or an event needing makeup",
    body=schemas.PeriodCreate,
    response=schemas.PeriodCreated,
    status=201,
    errors=(400, 401, 403, 404, 422),
)
def create_period(client_id: int) -> ResponseReturnValue:
    body: schemas.PeriodCreate = g.body
    period, change = clients.add_period(
        actor=g.actor,
        client_id=client_id,
        kind=body.kind,
        start_on=body.start,
        end_on=body.end,
        note=body.note or "",
    )
    out = {
        "id": period.id,
        "kind": period.kind,
        "start": period.start_on,
        "end": period.end_on,
        "note": period.note,
        "affected": [b.appointment_id for b in change.broken],
    }
    return _json(schemas.PeriodCreated, out, 201)


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
