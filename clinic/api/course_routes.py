"""JSON API v1: plans, enrolments and the rest of a course (shared/API.md)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.typing import ResponseReturnValue

from clinic.api import schemas
from clinic.api.registry import endpoint
from clinic.api.serialise import appointment_json, care_json, json_answer, slot_json
from clinic.scheduling import Preferences
from clinic.services.core import clinic_setup
from clinic.services.courses import course_rest, enrol
from clinic.services.courses.placing import CoursePlan, SessionRequest


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
    return json_answer(schemas.PlanOut, _plan(plan))


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
    # The patch test the course needs, planned with it, comes first.
    test = [plan.patch_test] if plan.patch_test is not None else []
    return {
        "sessions": [slot_json(s.slot, codes) | {"session": None, "patch_test": True} for s in test]
        + [slot_json(s.slot, codes) | {"session": s.session} for s in plan.sessions],
        "aftercare": [care_json(s.care) for s in (*test, *plan.sessions)],
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
        patch_test=SessionRequest(body.patch_test.start, body.patch_test.practitioner)
        if body.patch_test is not None
        else None,
    )
    return json_answer(
        schemas.EnrolmentOut,
        {
            "id": enrolment.id,
            "course": enrolment.course.code,
            "client": enrolment.client_id,
            "appointments": [appointment_json(a) for a in enrolment.appointments],
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
    return json_answer(
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
            "appointments": [appointment_json(a) for a in enrolment.appointments],
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
    return json_answer(schemas.RestPlanOut, _plan(plan))


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
    return json_answer(
        schemas.EnrolmentOut,
        {
            "id": booked.enrolment.id,
            "course": booked.enrolment.course.code,
            "client": booked.enrolment.client_id,
            "appointments": [appointment_json(a) for a in booked.appointments],
        },
        201,
    )
