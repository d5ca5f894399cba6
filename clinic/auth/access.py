"""Who may reach what: the role check shared by every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, request
from flask_login import current_user


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from clinic.extensions import login_manager

                return login_manager.unauthorized()
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
