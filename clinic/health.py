"""`/healthz`: is this worker able to serve? It asks the database for a trivial answer, and
whether the database can be written.

For load balancers and process supervisors: 200 `{"status": "ok"}`, or 503 with
`{"status": "unavailable", "database": REASON}`: `unreachable` when the database does not
answer, `read-only` or `disk full` when it answers but a write would fail (then every page
that writes answers 503 too, clinic/errors.py). No login, no details that would help an
attacker, never cached.

It is polled often, and its cost is the yardstick of bench/ (the other requests are measured
as multiples of it), so it stays cheap and never writes:
- PostgreSQL: one pooled connection for one statement (no ORM session), which answers whether
  the server takes writes (`transaction_read_only` is on for a standby or a read-only
  database) in the place of a bare `SELECT 1`. A full disk there is the server's to report:
  the writes that fail answer 503 as they happen.
- SQLite: the database is a file, so before the `SELECT 1` three system calls on it (no write
  probe): its file system mounted read-only, the file or its folder not writable by this
  process, a `mode=ro` URL, or less than `FREE_FLOOR` bytes free on that file system mean the
  next write would fail. A real write every N seconds would be surer about a full disk but
  would write to the database on a GET that load balancers repeat; the free-space floor is
  checked on every call instead, at the cost of a `statvfs`.

The rate limiter skips it before looking up any limit (it has none). The security headers are
added to it as to every response (clinic/security.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from clinic.extensions import db, limiter

bp = Blueprint("health", __name__)
ENDPOINT = "health.healthz"
FREE_FLOOR = 1024 * 1024  # bytes: below this a SQLite write may fail with "disk is full"


@limiter.request_filter
def _not_limited() -> bool:
    # The same as @limiter.exempt below, but checked before the limiter resolves limits.
    return request.endpoint == ENDPOINT


def sqlite_unwritable(url: URL) -> str | None:
    """Why a SQLite database at `url` cannot be written now ("read-only", "disk full"), or
    None. An in-memory database is always writable."""
    if url.query.get("mode") == "ro":
        return "read-only"
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    try:
        disk = os.statvfs(path.parent)
    except OSError:
        return None  # no folder: the connection fails and says "unreachable"
    if disk.f_flag & os.ST_RDONLY:
        return "read-only"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "read-only"
    if disk.f_bavail * disk.f_frsize < FREE_FLOOR:
        return "disk full"
    return None


def _check() -> str:
    """ "ok", or why the database cannot serve."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        reason = sqlite_unwritable(engine.url)
        if reason is not None:
            return reason
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                read_only = conn.execute(text("SHOW transaction_read_only")).scalar_one()
                return "read-only" if read_only == "on" else "ok"
            conn.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError:
        current_app.logger.exception("health check: the database did not answer")
        return "unreachable"
    return "ok"


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    database = _check()
    if database == "ok":
        response, status = jsonify(status="ok", database="ok"), 200
    else:
        current_app.logger.warning("health check: the database is %s", database)
        response, status = jsonify(status="unavailable", database=database), 503
    response.headers["Cache-Control"] = "no-store"
    return response, status
