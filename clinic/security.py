"""Login loading, the security headers every response carries, the proxy set-up, and the
guards on request values that no database could store."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flask import Flask, Request, Response, abort, current_app, g, jsonify, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import UserMixin, login_user, logout_user
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.exc import DBAPIError
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic.errors import database_unavailable
from clinic.extensions import db, login_manager
from clinic.models import LoginSession, User, utcnow
from clinic.services.core import audit, cache
from clinic.services.core.actors import Actor, actor_for, actor_from_row, with_actor_ids
from clinic.services.people import logins

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


# Ids are INTEGER columns: a larger number in a URL names no row, and SQLite's driver raises
# OverflowError past 2**63. Refused as a 404 page before a view runs; the API checks its own.
MAX_ID = 2**31 - 1


def _refuse_ids_beyond_columns(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if (endpoint or "").startswith("api.") or not values:
        return
    if any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        abort(404, "There is no such record.")


# Endpoints that take a larger body than MAX_CONTENT_LENGTH, and the config key of their limit.
LARGE_BODIES = {
    "staff.import_catalogue": "CATALOGUE_MAX_BYTES",
    "staff.upload_photo": "PHOTO_MAX_BYTES",
    "api.upload_photo": "PHOTO_MAX_BYTES",
}
# A photo up to twice its limit is read, so that the service says the limit next to the field
# (a phone's photo a little too large); beyond that the 413 page says it.
BODY_ROOM = {"staff.upload_photo": 2, "api.upload_photo": 2}
# Room for the multipart form around an uploaded file (boundaries, headers, CSRF token).
FORM_OVERHEAD = 64 * 1024


def _allow_large_bodies(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Raise the body limit for an upload endpoint before anything reads the body (URL value
    preprocessors run before every `before_request`, CSRF's included). The carried file's
    text (the import's confirm form) is a form field, so its limit rises too."""
    key = LARGE_BODIES.get(endpoint or "")
    if key is not None:
        limit = int(current_app.config[key]) * BODY_ROOM.get(endpoint or "", 1)
        request.max_content_length = limit + FORM_OVERHEAD
        request.max_form_memory_size = limit


# The content types whose body becomes `request.form` (werkzeug parses no other).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _has_nul() -> bool:
    """A NUL character in a form, query or JSON body: PostgreSQL cannot store one in text.

    Every request passes here, so what is not there is not parsed: no query string, no
    `request.args`; a body that is not a form (or no body), no `request.form`. The answer is
    the same as looking at both."""
    fields = []
    if request.query_string:
        fields.append(request.args)
    if request.mimetype in FORM_TYPES:
        fields.append(request.form)
    if any("\x00" in v for values in fields for _, v in values.items(multi=True)):
        return True
    body = request.get_data(cache=True) if request.is_json else b""
    return b"\x00" in body or b"\\u0000" in body


class CookieSession(SecureCookieSessionInterface):
    """Flask's signed-cookie session, but a request without the session cookie (an API call,
    a health check, a first visit) gets its empty session without Flask building the cookie
    signer first, which costs more than the rest of opening it. With a cookie, and when
    saving, nothing changes."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


# The session cookie's key for the login's id (clinic/services/logins.py).
LOGIN_KEY = "login"
# `g`'s key for a login whose use this request notes after its response.
NOTE_LOGIN = "clinic_note_login"


def current_login() -> str | None:
    """The id of this browser's login, if it has one."""
    login_id = session.get(LOGIN_KEY)
    return login_id if isinstance(login_id, str) else None


def sign_in(user: User) -> None:
    """Log this browser in as `user`: a new login row, its id in the signed cookie."""
    signed_in = SignedInUser(actor_for(user), email=user.email, name=user.name, active=user.active)
    session[LOGIN_KEY] = logins.start_login(user_id=user.id)
    login_user(signed_in)


def sign_out() -> None:
    """Log this browser out, and end its login on the server: a copy of the cookie saved
    before opens nothing after."""
    login_id = current_login()
    if login_id is not None:
        logins.end_login(login_id)
    forget_login()


def forget_login() -> None:
    """Forget this browser's login (already ended on the server: "log out everywhere")."""
    session.pop(LOGIN_KEY, None)
    g.pop(NOTE_LOGIN, None)
    logout_user()


def _note_login_use(response: Response) -> Response:
    """Note the use of a login last noted a few minutes ago (`load_user`). Only for the idle
    limit: with the database busy or away, the request keeps its answer and a later one
    notes it."""
    login_id = g.pop(NOTE_LOGIN, None)
    if login_id is None:
        return response
    try:
        logins.note_use(login_id)
    except DBAPIError as exc:
        if not database_unavailable(exc):
            raise
        current_app.logger.warning("the login's use was not noted: %s", exc.orig)
    return response


@dataclass(frozen=True, eq=False)
class SignedInUser(UserMixin):  # type: ignore[misc]  # Flask-Login ships no types
    """The request's user (`current_user`): who is acting, as the services' `Actor`, and what
    the pages show of them. Plain values read by `load_user`'s one statement, not the ORM
    row: every logged-in request loads it, and the pages need nothing else of it."""

    actor: Actor
    email: str
    name: str
    active: bool = True

    @property
    def id(self) -> int | None:
        return self.actor.user_id

    @property
    def role(self) -> str:
        return self.actor.role

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active


@functools.cache
def _user_query() -> Select[Any]:
    """`load_user`'s statement, built once: the user's plain columns with their client's and
    practitioner's ids (only the ids: SQLite then looks them up in the unique indexes on
    `user_id` alone, which its statistics would otherwise have it scan the table for, most
    clients having no account), the login's last noted use, and the catalogue's version
    (services.cache.with_version)."""
    return cache.with_version(
        with_actor_ids(
            select(
                User.id, User.email, User.name, User.role, User.active, LoginSession.last_seen_at
            )
            .join(
                LoginSession,
                and_(
                    LoginSession.user_id == User.id,
                    LoginSession.id == bindparam("login_id"),
                    logins.is_live_bound(),
                ),
            )
            .where(User.id == bindparam("user_id"))
        )
    )


def load_user(user_id: str) -> SignedInUser | None:
    # Only with a live login (services.logins): a cookie of an ended login, or one without a
    # login id (a remember-me cookie, a cookie from before logins were rows), loads no one.
    # With the client's and practitioner's ids in the same statement: every page asks next
    # who the user is (`current_actor`). The same statement reads the catalogue's version.
    # The login must be live (not ended, not idle too long, not too old: logins.is_live);
    # when it was last noted more than a few minutes ago, this use is noted after the
    # response is made (`note_login_use`), not on every request.
    login_id = current_login()
    if login_id is None:
        return None
    now = utcnow()
    values = logins.live_bounds(logins.ages_from(current_app.config), now)
    found = (
        db.session.connection()
        .execute(_user_query(), {"login_id": login_id, "user_id": int(user_id), **values})
        .first()
    )
    if found is None:
        return None
    cache.note_version(found)
    if not found.active:
        return None
    if logins.use_to_note(found.last_seen_at, now):
        g.setdefault(NOTE_LOGIN, login_id)
    return SignedInUser(actor_from_row(found), email=found.email, name=found.name)


# Registered by a call, not as a decorator: Flask-Login's `user_loader` has no types, and a
# decorator without types would make `load_user` untyped too.
login_manager.user_loader(load_user)


def register(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR", 0))
    if proxies > 0:
        # Trust that many proxies' X-Forwarded-For and -Proto: the rate limits then see the
        # client's address, not the proxy's, and url_for(_external=True) says https.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.session_interface = CookieSession()
    app.url_value_preprocessor(_refuse_ids_beyond_columns)
    app.url_value_preprocessor(_allow_large_bodies)

    @app.before_request
    def refuse_nul() -> Any:
        if not _has_nul():
            return None
        message = "Text may not contain the NUL character."
        if request.path.startswith("/api/"):
            return jsonify(errors=[{"code": "invalid_request", "message": message}]), 400
        abort(400, message)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."

    app.after_request(_note_login_use)

    @app.after_request
    def record_health_data_shown(response: Response) -> Response:
        # What the answer showed of clients' health data and no commit has recorded yet
        # (services/core/audit.py, `shown_health_data`): recorded before the answer leaves.
        audit.write_shown()
        return response

    @app.teardown_request
    def forget_health_data_shown(exc: BaseException | None) -> None:
        audit.forget_shown()  # an answer that failed showed nothing; the next is a new one

    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
