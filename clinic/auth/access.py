"""Who may reach what: the login and permission checks shared by every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, abort, request
from flask_login import current_user
from flask_login import login_required as _login_required

from clinic.services.core.actors import Actor

P = ParamSpec("P")
R = TypeVar("R")


def login_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Flask-Login's `login_required` with its type written out (Flask-Login ships none): the
    view keeps its arguments, and an anonymous user gets `unauthorized()`'s redirect instead."""
    return cast("Callable[P, R | Response]", _login_required(view))


def current_actor() -> Actor:
    """The request's signed-in user as the services' `Actor`: what a permission question asks
    (clinic/security.py `SignedInUser`)."""
    actor: Actor = current_user.actor
    return actor


# A permission question of clinic/services/core/permissions.py about the acting user, and
# where a gated view keeps the one it asks.
Question = Callable[[Actor], bool]
_QUESTION = "required_permission"


def permission_required(
    question: Question,
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Let only signed-in users for whom `question` (a predicate of the permission module,
    such as `permissions.is_desk`) holds reach the view; an anonymous visitor is sent to sign
    in, anyone else is refused with 403. The view keeps its signature, and names its question
    (`required_permission`)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if not current_user.is_authenticated:
                from clinic.extensions import login_manager

                response: Response = login_manager.unauthorized()
                return response
            if not question(current_actor()):
                abort(403, "Your account's role does not give access to this page.")
            return view(*args, **kwargs)

        setattr(wrapped, _QUESTION, question)
        return wrapped

    return decorate


def required_permission(view: Callable[..., object]) -> Question | None:
    """The permission question a view is gated by, or None for a view any visitor may reach
    (or any signed-in user, for `login_required` alone)."""
    question: Question | None = getattr(view, _QUESTION, None)
    return question


def is_local_path(target: str) -> bool:
    """Whether `target` (already percent-decoded) is a path on this site, whatever a browser
    makes of it. Browsers drop tabs and newlines from a URL and read a backslash as a slash,
    so "/%09/evil.example" is "//evil.example", another site: only printable ASCII without
    spaces or backslashes is taken (the `next` links this site makes are percent-encoded
    ASCII), it must start with one "/" and name no scheme or host."""
    if not target.startswith("/") or target.startswith("//"):
        return False
    if any(not "!" <= c <= "~" or c == "\\" for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(default: str) -> str:
    """The `?next=` target when it is a path on this site (`is_local_path`), else `default`.
    The one place that follows a URL a request gives."""
    target = request.args.get("next", "")
    return target if is_local_path(target) else default
