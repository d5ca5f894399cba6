"""JSON API v1: clients, their screening and declared periods (shared/API.md)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.typing import ResponseReturnValue

from clinic.api import schemas
from clinic.api.registry import endpoint
from clinic.api.serialise import json_answer, local
from clinic.services.clinical import consents
from clinic.services.people import accounts, declared_periods, health_screening
from clinic.services.world import client_reads


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
    return json_answer(
        schemas.ClientOut,
        {
            "id": client.id,
            "email": client.email,
            "name": client.name,
            "has_login": client.user_id is not None,
        },
        201,
    )


def _screening_out(client_id: int) -> dict[str, Any]:
    client = client_reads.get_client(client_id)
    return {
        "client": client.id,
        "confirmed_at": local(client.screening_confirmed_at)
        if client.screening_confirmed_at
        else None,
        "conditions": [
            {"code": c.code, "present": c.present, "last_date": c.last_on}
            for c in client.conditions
        ],
        "phototype": client.phototype,
    }


@endpoint(
    "GET",
    "/clients/<int:client_id>/screening",
    "A client's health screening",
    response=schemas.ScreeningOut,
    errors=(401, 404),
)
def get_screening(client_id: int) -> ResponseReturnValue:
    client = health_screening.view_screening(actor=g.actor, client_id=client_id)
    return json_answer(schemas.ScreeningOut, _screening_out(client.id))


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
    answers = [
        health_screening.ConditionAnswer(a.code, a.present, a.last_date) for a in body.conditions
    ]
    change = health_screening.save_screening(
        actor=g.actor, client_id=client_id, answers=answers, phototype=body.phototype
    )
    out = {**_screening_out(client_id), "affected": [b.appointment_id for b in change.broken]}
    return json_answer(schemas.ScreeningSaved, out)


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
    period, change = declared_periods.add_period(
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
    return json_answer(schemas.PeriodCreated, out, 201)


def _consent_out(c: Any) -> dict[str, Any]:
    return {
        "form": c.form.code,
        "version": c.version.number,
        "signed_at": local(c.signed_at),
        "valid_until": c.valid_until,
        "how": c.how,
    }


@endpoint(
    "GET",
    "/clients/<int:client_id>/consents",
    "A client's consent signatures, latest first",
    response=schemas.ConsentOut,
    many=True,
    errors=(401, 404),
)
def list_consents(client_id: int) -> ResponseReturnValue:
    signed = consents.list_consents(actor=g.actor, client_id=client_id, where="API consents")
    return json_answer(schemas.ConsentOut, [_consent_out(c) for c in signed])


@endpoint(
    "POST",
    "/clients/<int:client_id>/consents",
    "Sign a consent form's current version (a client online; reception records paper)",
    body=schemas.ConsentSign,
    response=schemas.ConsentOut,
    status=201,
    errors=(400, 401, 403, 404),
)
def sign_consent(client_id: int) -> ResponseReturnValue:
    body: schemas.ConsentSign = g.body
    signed = consents.sign_consent(
        actor=g.actor,
        client_id=client_id,
        form_code=body.form,
        signed_name=body.signed_name or "",
        agree=body.agree is True,
    )
    return json_answer(schemas.ConsentOut, _consent_out(signed.consent), 201)
