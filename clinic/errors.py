"""Error handlers: HTML pages for the browser, JSON for /api."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from clinic.services.errors import ServiceError


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _too_many(exc: RateLimitExceeded) -> str:
    """A limit without its own message says "10 per 1 minute"; say what it means."""
    if exc.limit.error_message:
        return str(exc.description)
    return (
        f"Too many attempts from your address (at most {exc.description}). "
        "Please wait a little and try again."
    )


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if isinstance(exc, RateLimitExceeded):
            exc.description = _too_many(exc)
        if _wants_json():
            name = (exc.name or "error").lower().replace(" ", "_")
            return jsonify(errors=[{"code": name, "message": exc.description}]), code
        return render_template(
            "error.html", code=code, title=exc.name, message=exc.description
        ), code

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> ResponseReturnValue:
        if _wants_json():
            return jsonify(errors=exc.as_json()), exc.status
        return render_template(
            "error.html", code=exc.status, title="Not possible", message=str(exc)
        ), exc.status
