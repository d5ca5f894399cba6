"""A service's refusal on an HTML form: each message next to the field it names, the rest on top.

Every blueprint's views call `place_errors`, so a refusal reads the same on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField

from clinic.services.core.errors import (
    AlreadyEnrolled,
    Conflict,
    InvalidData,
    RuleViolation,
    ServiceError,
)

# How a service's field name (e.g. "preferences.practitioner", "hours.mon[0]") finds the form's
# field: a mapping of names that differ, or a function for paths.
FieldNames = Mapping[str, str] | Callable[[str], Any]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem:
    """What belongs at the top of a form: a broken rule (`soft`: staff may override it with a
    reason; `session`: the session it is about; `enrolment` and `client`: the booking it
    points to, e.g. the one a client already holds) or a message no field of the form owns."""

    message: str
    soft: bool = False
    session: int | None = None
    code: str = ""
    enrolment: int | None = None
    client: int | None = None
    # The consent form a `consent_required` asks to sign (issue 21).
    form: str | None = None

    def __str__(self) -> str:
        return self.message


def place_errors(
    form: FlaskForm,
    exc: ServiceError,
    fields: FieldNames | None = None,
    *,
    default: Field | None = None,
) -> list[Problem]:
    """Put a service's refusal next to the form fields it names; return what belongs at the top
    of the form: every broken rule of a refused booking, and each message without a field.
    A form of one question (a day to look at) passes that field as `default`: every message
    the form has no field for is shown there instead, and nothing is left for the top."""
    if default is not None and isinstance(exc, RuleViolation | Conflict) and exc.violations:
        default.errors = [*default.errors, *(v.message for v in exc.violations)]
        return []
    if isinstance(exc, AlreadyEnrolled):
        return [
            Problem(v.message, code=v.code, enrolment=exc.enrolment_id, client=exc.client_id)
            for v in exc.violations
        ]
    if isinstance(exc, RuleViolation | Conflict) and exc.violations:
        return [Problem(v.message, v.soft, v.session, v.code, form=v.form) for v in exc.violations]
    items: list[dict[str, Any]] = (
        exc.errors
        if isinstance(exc, InvalidData)
        else [{"message": exc.message, "field": exc.field}]
    )
    top: list[Problem] = []
    for item in items:
        target = _field(form, str(item.get("field") or ""), fields) or default
        if target is not None:
            target.errors = [*target.errors, item["message"]]
        else:
            top.append(Problem(item["message"]))
    return top


def _field(form: FlaskForm, name: str, fields: FieldNames | None) -> Field | None:
    if not name:
        return None
    if callable(fields):
        target = fields(name)
    else:
        target = getattr(form, (fields or {}).get(name, name), None)
    # A hidden field shows no message: what it says belongs at the top of the form.
    return target if isinstance(target, Field) and not isinstance(target, HiddenField) else None


def validated(data: T | None) -> T:
    """A required field's data once its form has validated. WTForms types every field's data as
    optional; `InputRequired` / `DataRequired` have refused the form if it is missing."""
    if data is None:
        raise ValueError("A required field has no data: validate the form first.")
    return data
