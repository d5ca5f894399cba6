"""`/healthz`: is this worker able to serve? It asks the database for a trivial answer.

For load balancers and process supervisors: 200 `{"status": "ok"}`, or 503 with
`{"status": "unavailable"}` when the database cannot be reached. No login, no details that
would help an attacker, never cached.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from clinic.extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("health check: the database did not answer")
        response, status = jsonify(status="unavailable", database="unreachable"), 503
    else:
        response, status = jsonify(status="ok", database="ok"), 200
    response.headers["Cache-Control"] = "no-store"
    return response, status
