"""Validators shared by the forms of every blueprint, each asking the rule it stands for,
and the choices helper they share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from wtforms import DateField, Field, Form, ValidationError

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3), so mypy sees it as Any.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from clinic.services.core import date_range, text


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


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


DATE_MESSAGE = "Give a date like 2026-12-24."


class PlainDateField(DateField):
    """A date input whose parse error is worded for people."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(DATE_MESSAGE) from exc
