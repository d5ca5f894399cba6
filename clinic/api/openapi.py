"""The OpenAPI 3 document, generated from the endpoints' own schemas."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from clinic.api import schemas
from clinic.api.registry import ENDPOINTS

REF = "#/components/schemas/{model}"
STATUS_TEXT = {
    400: "Malformed request: the errors name each field",
    401: "Missing, unknown, expired or revoked token",
    403: "Not allowed for this role",
    404: "No such resource (or not yours)",
    409: "A slot or resource is taken",
    413: "The request body is larger than the API accepts (1 MiB)",
    422: "A rule of the clinic is broken: the errors carry its code",
    429: "Too many attempts; try again later",
    503: "The clinic's system (its database) is briefly unavailable; try again after Retry-After",
}
# Any operation may meet the database gone away (clinic/errors.py): 503 with Retry-After.
UNAVAILABLE = 503
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}

# OpenAPI links: where the id in a success answer leads next (a client to its screening and
# periods, an enrolment to itself and its first session). Schemathesis's stateful tests follow
# them (tests/api/test_api_contract.py). (operationId: (parameter, value, target operationIds))
_APPOINTMENT_OPERATIONS = (
    "get_appointments_appointment_id",
    "patch_appointments_appointment_id",
    "delete_appointments_appointment_id",
    "get_appointments_appointment_id_ics",
    "post_appointments_appointment_id_outcome",
)
_ENROLMENT_OPERATIONS = (
    "get_enrolments_enrolment_id",
    "post_enrolments_enrolment_id_plan",
    "post_enrolments_enrolment_id_sessions",
    "post_enrolments_enrolment_id_replan",
)
LINKS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "post_clients": (
        (
            "client_id",
            "$response.body#/id",
            (
                "get_clients_client_id_screening",
                "put_clients_client_id_screening",
                "post_clients_client_id_periods",
                "get_clients_client_id_consents",
                "post_clients_client_id_consents",
            ),
        ),
    ),
    "post_enrolments": (
        ("enrolment_id", "$response.body#/id", _ENROLMENT_OPERATIONS),
        ("appointment_id", "$response.body#/appointments/0/id", _APPOINTMENT_OPERATIONS),
    ),
    "get_enrolments_enrolment_id": (
        ("appointment_id", "$response.body#/appointments/0/id", _APPOINTMENT_OPERATIONS),
    ),
}


def _links(operation_id: str) -> dict[str, Any]:
    return {
        target: {"operationId": target, "parameters": {parameter: value}}
        for parameter, value, targets in LINKS.get(operation_id, ())
        for target in targets
    }


# What any call can answer: 400 for text no database can store (a NUL, clinic/security.py),
# 413 for a body over MAX_CONTENT_LENGTH.
EVERY_CALL = frozenset({400, 413})


def _schema(
    model: type[BaseModel], components: dict[str, Any], mode: JsonSchemaMode
) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": REF.format(model=model.__name__)}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _error_response(code: int, errors_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": STATUS_TEXT[code],
        "content": {"application/json": {"schema": errors_ref}},
    }


@cache
def document() -> dict[str, Any]:
    components: dict[str, Any] = {}
    errors_ref = _schema(schemas.ErrorsOut, components, "serialization")
    paths: dict[str, Any] = {}
    for e in ENDPOINTS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", e.path)
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": f"{e.method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '').replace('.', '_')}",
        }
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
            for name in e.path_params
        ]
        if e.query is not None:
            params += _query_parameters(e.query)
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {
                "required": e.body_required,
                "content": {
                    "application/json": {"schema": _schema(e.body, components, "validation")}
                },
            }
        if e.form is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {"schema": _schema(e.form, components, "validation")}
                },
            }
        responses: dict[str, Any] = {}
        if e.status == 204:
            responses["204"] = {"description": "Done"}
        elif e.content_type != "application/json":
            responses[str(e.status)] = {
                "description": "OK",
                "content": {e.content_type: {"schema": {"type": "string"}}},
            }
        elif e.response is not None:
            ref = _schema(e.response, components, "serialization")
            body = {"type": "array", "items": ref} if e.many else ref
            responses[str(e.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": body}},
            }
            if links := _links(op["operationId"]):
                responses[str(e.status)]["links"] = links
        auth = {401} if e.auth else set()
        for code in sorted(set(e.errors) | EVERY_CALL | auth | {UNAVAILABLE}):
            responses[str(code)] = _error_response(code, errors_ref)
        responses[str(UNAVAILABLE)]["headers"] = RETRY_AFTER
        op["responses"] = responses
        if e.auth:
            op["security"] = [{"bearer": []}]
        paths.setdefault("/api/v1" + path, {})[e.method.lower()] = op
    paths["/api/v1/openapi.json"] = {
        "get": {
            "summary": "This document",
            "operationId": "get_openapi",
            "responses": {
                "200": {
                    "description": "OpenAPI 3 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **{str(code): _error_response(code, errors_ref) for code in sorted(EVERY_CALL)},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clinic Scheduler API",
            "version": "1.0.0",
            "description": "Courses, availability, plans and bookings of the clinic. Errors are "
            '{"errors": [{"code", "message", "field"?, "session"?}]}.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
