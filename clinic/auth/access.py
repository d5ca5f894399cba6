"""Who may reach what: the role check shared by every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar, cast

from flask import Response, abort, request
from flask_login import current_user
from flask_login import login_required as _login_required

P = ParamSpec("P")
R = TypeVar("R")


def login_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Flask-Login's `login_required` with its type written out (Flask-Login ships none): the
    view keeps its arguments, and an anonymous user gets `unauthorized()`'s redirect instead."""
    return cast("Callable[P, R | Response]", _login_required(view))


def role_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Let only signed-in users with one of `roles` reach the view; others are sent to sign in
    or refused with 403. The view keeps its signature."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if not current_user.is_authenticated:
                from clinic.extensions import login_manager

                response: Response = login_manager.unauthorized()
                return response
            if current_user.role not in roles:
                abort(403, "Your account's role does not give access to this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def safe_next(default: str) -> str:
    """The `?next=` target when it stays on this site (a local path), else `default`."""
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target
