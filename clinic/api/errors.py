"""JSON API v1: what every operation shares: no CSRF (bearer tokens), and a service's refusal
as a JSON error."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from clinic.api import bp, schemas
from clinic.api.serialise import slot_json
from clinic.extensions import csrf
from clinic.services.core import clinic_setup
from clinic.services.core.errors import ServiceError

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
        payload["replan"] = [slot_json(p.slot, codes) | {"session": p.session} for p in replan]
    response = schemas.ErrorsOut.model_validate(payload).model_dump(mode="json", exclude_unset=True)
    return jsonify(response), exc.status
