"""Small helpers shared by the client's pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Response

from clinic.auth.access import current_actor as current_actor
from clinic.auth.access import login_required, permission_required
from clinic.services.core import permissions

# How the client's pages name a declared period's kind.
PERIOD_WORDS = {"sun_exposure": "beach holiday", "needs_makeup": "wedding or event"}


P = ParamSpec("P")
R = TypeVar("R")


def client_only(view: Callable[P, R]) -> Callable[P, R | Response]:
    """A view for signed-in clients only; it keeps its signature."""
    return login_required(permission_required(permissions.is_client)(view))
