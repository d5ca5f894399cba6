"""Small helpers shared by the staff views."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm

from clinic.services import snapshot as snap
from clinic.services.actors import Actor, actor_for
from clinic.services.errors import Conflict, InvalidData, RuleViolation, ServiceError


def current_actor() -> Actor:
    return actor_for(current_user._get_current_object())


def local_moment(day: date, clock: time) -> datetime:
    """A local date and wall-clock time in the clinic's zone, as an aware datetime."""
    return datetime.combine(day, clock, tzinfo=snap.clinic_tz())


def today() -> date:
    return datetime.now(snap.clinic_tz()).date()


def field_errors(
    form: FlaskForm, exc: ServiceError, fields: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Put a service's refusal next to the form field it names; return what belongs at the
    top of the form (as {message, soft, session} dicts)."""
    fields = fields or {}
    top: list[dict[str, Any]] = []
    if isinstance(exc, RuleViolation | Conflict) and exc.violations:
        for v in exc.violations:
            top.append({"message": v.message, "soft": v.soft, "session": v.session, "code": v.code})
        return top
    items: list[dict[str, Any]] = (
        exc.errors
        if isinstance(exc, InvalidData)
        else [{"message": exc.message, "field": exc.field}]
    )
    for item in items:
        name = item.get("field")
        name = fields.get(name, name) if name else None
        target = getattr(form, name, None) if name else None
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, item["message"]]
        else:
            top.append({"message": item["message"], "soft": False, "session": None, "code": ""})
    return top
