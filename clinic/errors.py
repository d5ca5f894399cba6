"""Error handlers: HTML pages for the browser, JSON for /api.

A database that has gone away (PostgreSQL stopped or restarting, a connection dropped) or that
cannot be written (SQLite on a read-only or full disk) answers 503 with `Retry-After` and a
sentence that the clinic's system is briefly unavailable, never a 500: the request wrote
nothing (its transaction was rolled back or never began), and it may simply be tried again.
Errors of the request itself, a constraint it broke or a bug, are not that and stay what they
are (`database_unavailable`).

Error pages never touch the database (it may be what failed): they show the user only as far
as the request already knows them, and never look them up (`_page`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from clinic.extensions import db, login_manager
from clinic.services.core.db import commit_if_only_read
from clinic.services.core.errors import ServiceError

UNAVAILABLE = "The clinic's system is briefly unavailable; please try again in a minute."
RETRY_AFTER_SECONDS = 30
# SQLite's primary result codes for a file it cannot use now: busy, locked, out of memory,
# read-only, I/O error, full, cannot open, lock protocol.
SQLITE_UNAVAILABLE = {5, 6, 7, 8, 10, 13, 14, 15}
# PostgreSQL's SQLSTATE classes for the same: connection exception, insufficient resources
# (disk full, too many connections), operator intervention (shutting down, starting up),
# system error; and a read-only transaction (a standby) and the lock and serialisation
# failures that trying again may well get past.
PG_UNAVAILABLE_CLASSES = {"08", "53", "57", "58"}
PG_UNAVAILABLE_STATES = {"25006", "40001", "40P01", "55P03"}


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or written just now (worth a 503 and
    a retry), as opposed to a refusal of this request (a constraint) or a programming error."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in SQLITE_UNAVAILABLE
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if not sqlstate:
        return True  # the driver has no connection: refused, closed, timed out
    return sqlstate[:2] in PG_UNAVAILABLE_CLASSES or sqlstate in PG_UNAVAILABLE_STATES


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


def _end_session(exc: BaseException | None) -> None:
    """End the request's database session; with the database gone, let its connection go.

    Ending a session rolls back what it left open, and a rollback on a connection the server
    has just dropped raises, after the answer was made: the client would get a bare 500 for
    a request that was answered (even a committed booking). Runs before Flask-SQLAlchemy's own
    teardown (registered later, so called earlier), which then has nothing left to do.
    A request that only read is committed first (`commit_if_only_read` says why)."""
    try:
        if exc is None:
            commit_if_only_read()
        db.session.remove()
    except DBAPIError as error:
        if not database_unavailable(error):
            raise
        current_app.logger.warning("the database went away at the end of a request: %s", error)
        db.session.registry().invalidate()
        db.session.registry.clear()


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{round(mib, 1):g} MiB" if mib >= 1 else f"{limit // 1024} KiB"


def _too_large() -> str:
    """413: what the limit of this address is (1 MiB; the catalogue upload's is larger)."""
    limit = request.max_content_length
    if limit is None:
        return "The request is too large."
    return f"The request is too large: this address accepts at most {_size(limit)}."


def _page(template: str, **context: Any) -> str:
    """An error page, rendered without a look-up in the database: a user this request has not
    loaded yet (the failure came first, or it was the loading that failed) is shown as
    anonymous rather than read again. Flask-Login's context processor would otherwise load
    them, and with the database away the error page itself would fail: a bare 500."""
    if "_login_user" in g:  # Flask-Login's per-request user, read by `current_user`
        return render_template(template, **context)
    g._login_user = login_manager.anonymous_user()
    try:
        return render_template(template, **context)
    finally:
        del g._login_user  # stand-in for this page only: nothing else reads it as the user


def register(app: Flask) -> None:
    app.teardown_appcontext(_end_session)

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
            _page("error.html", code=code, title=exc.name, message=exc.description),
            code,
            headers,
        )

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> ResponseReturnValue:
        if not database_unavailable(exc):
            raise exc  # a bug or an unexpected refusal: Flask's 500, logged
        current_app.logger.warning("the database is unavailable: %s", exc.orig)
        if _wants_json():
            response = jsonify(errors=[{"code": "unavailable", "message": UNAVAILABLE}])
        else:
            # Its own page: the usual layout asks who is logged in, which needs the database.
            response = current_app.make_response(_page("unavailable.html", message=UNAVAILABLE))
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> ResponseReturnValue:
        if _wants_json():
            return jsonify(errors=exc.as_json()), exc.status
        return _page(
            "error.html", code=exc.status, title="Not possible", message=str(exc)
        ), exc.status
