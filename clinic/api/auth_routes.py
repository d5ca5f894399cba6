"""JSON API v1: the OpenAPI document and bearer tokens (shared/API.md)."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from clinic.api import bp, schemas
from clinic.api.openapi import document
from clinic.api.registry import endpoint
from clinic.api.serialise import json_answer, local
from clinic.extensions import limiter
from clinic.models import utcnow
from clinic.services.people import tokens


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
    return json_answer(
        schemas.TokenOut,
        {"token": token, "expires_at": local(utcnow() + timedelta(hours=hours))},
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
