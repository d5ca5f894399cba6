"""Small helpers shared by the client's pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Response
from flask_login import current_user

from clinic.auth.access import login_required, role_required
from clinic.models import CLIENT_ROLES
from clinic.services.core.actors import Actor, actor_for

# How the client's pages name a declared period's kind.
PERIOD_WORDS = {"sun_exposure": "beach holiday", "needs_makeup": "wedding or event"}


def current_actor() -> Actor:
    return actor_for(current_user)


P = ParamSpec("P")
R = TypeVar("R")


def client_only(view: Callable[P, R]) -> Callable[P, R | Response]:
    """A view for signed-in clients only; it keeps its signature."""
    return login_required(role_required(*CLIENT_ROLES)(view))
