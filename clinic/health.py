"""`/healthz`: is this worker able to serve? It asks the database for a trivial answer.

For load balancers and process supervisors: 200 `{"status": "ok"}`, or 503 with
`{"status": "unavailable"}` when the database cannot be reached. No login, no details that
would help an attacker, never cached.

It is polled often, so it does only that: one pooled connection for a `SELECT 1` (no ORM
session), and the rate limiter skips it before looking up any limit (it has none). The
security headers are added to it as to every response (clinic/security.py).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from clinic.extensions import db, limiter

bp = Blueprint("health", __name__)
ENDPOINT = "health.healthz"


@limiter.request_filter
def _not_limited() -> bool:
    # The same as @limiter.exempt below, but checked before the limiter resolves limits.
    return request.endpoint == ENDPOINT


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError:
        current_app.logger.exception("health check: the database did not answer")
        response, status = jsonify(status="unavailable", database="unreachable"), 503
    else:
        response, status = jsonify(status="ok", database="ok"), 200
    response.headers["Cache-Control"] = "no-store"
    return response, status
