"""JSON API v1: courses, practitioners and free times (shared/API.md)."""

from __future__ import annotations

from flask import g
from flask.typing import ResponseReturnValue

from clinic.api import schemas
from clinic.api.registry import endpoint
from clinic.api.serialise import json_answer, slot_json
from clinic.services import catalogue
from clinic.services.catalogue import catalogue_queries
from clinic.services.clinical import consents
from clinic.services.core import clinic_setup
from clinic.services.courses import reads
from clinic.services.world import course_catalogue


@endpoint(
    "GET", "/courses", "Course templates", response=schemas.CourseOut, many=True, errors=(401,)
)
def list_courses() -> ResponseReturnValue:
    out = [
        catalogue.course_entry(c)
        | {
            "months": c.months,
            "phototypes": c.phototypes,
            "price": f"{c.procedure.price:.2f}",
            "duration_min": c.procedure.duration_min,
        }
        for c in catalogue_queries.list_courses()
    ]
    return json_answer(schemas.CourseOut, out)


@endpoint(
    "GET",
    "/consent-forms",
    "Consent forms of the catalogue, with their current text and the procedures needing them",
    response=schemas.ConsentFormOut,
    many=True,
    errors=(401,),
)
def list_consent_forms() -> ResponseReturnValue:
    out = [
        catalogue.consent_form_entry(f)
        | {"version": f.current.number if f.current is not None else 0}
        for f in consents.list_forms()
    ]
    return json_answer(schemas.ConsentFormOut, out)


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
    return json_answer(schemas.PractitionerOut, out)


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
    return json_answer(schemas.SlotsOut, {"slots": [slot_json(s, codes) for s in slots]})
