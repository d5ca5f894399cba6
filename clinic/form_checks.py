"""Validators shared by the forms of every blueprint, each asking the rule it stands for."""

from __future__ import annotations

from datetime import date

from wtforms import Field, Form, ValidationError

from clinic.services.core import date_range, text


def one_line(form: object, field: Field) -> None:
    """A WTForms validator: the field holds one line of plain text (services.text)."""
    if isinstance(field.data, str) and (problem := text.one_line_problem(field.data)):
        raise ValidationError(problem)


class BookableDay:
    """A day the clinic books or shows free times of: today up to its booking horizon
    (`services.date_range`)."""

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, date):
            problem = date_range.bookable_day_problem(field.data)
            if problem is not None:
                raise ValidationError(problem.message)
