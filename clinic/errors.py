"""Error handlers: HTML pages for the browser, JSON for /api."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from clinic.services.errors import ServiceError

# API error codes that differ from the status's name.
CODES = {413: "too_large"}


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


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{round(mib, 1):g} MiB" if mib >= 1 else f"{limit // 1024} KiB"


def _too_large() -> str:
    """413: what the limit of this address is (1 MiB; the catalogue upload's is larger)."""
    limit = request.max_content_length
    if limit is None:
        return "The request is too large."
    return f"The request is too large: this address accepts at most {_size(limit)}."


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if isinstance(exc, RateLimitExceeded):
            exc.description = _too_many(exc)
        if isinstance(exc, RequestEntityTooLarge):
            exc.description = _too_large()
        # The exception's own headers (405's Allow, 401's WWW-Authenticate) go with our body.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if _wants_json():
            name = CODES.get(code) or (exc.name or "error").lower().replace(" ", "_")
            return jsonify(errors=[{"code": name, "message": exc.description}]), code, headers
        return (
            render_template("error.html", code=code, title=exc.name, message=exc.description),
            code,
            headers,
        )

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> ResponseReturnValue:
        if _wants_json():
            return jsonify(errors=exc.as_json()), exc.status
        return render_template(
            "error.html", code=exc.status, title="Not possible", message=str(exc)
        ), exc.status
