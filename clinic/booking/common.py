"""Small helpers shared by the client's pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_login import current_user, login_required

from clinic.auth.access import role_required
from clinic.models import CLIENT_ROLES
from clinic.services.actors import Actor, actor_for

# How the client's pages name a declared period's kind.
PERIOD_WORDS = {"sun_exposure": "beach holiday", "needs_makeup": "wedding or event"}


def current_actor() -> Actor:
    return actor_for(current_user)


def client_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view for signed-in clients only."""
    return login_required(role_required(*CLIENT_ROLES)(view))
