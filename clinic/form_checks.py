"""Validators shared by the forms of every blueprint, each asking the rule it stands for."""

from __future__ import annotations

from wtforms import Field, ValidationError

from clinic.services import text


def one_line(form: object, field: Field) -> None:
    """A WTForms validator: the field holds one line of plain text (services.text)."""
    if isinstance(field.data, str) and (problem := text.one_line_problem(field.data)):
        raise ValidationError(problem)
