"""WTForms validators that ask the services' own rules, so a page refuses what the API refuses
with the same sentence."""

from __future__ import annotations

from datetime import date

from wtforms import Field, Form
from wtforms.validators import ValidationError

from clinic.services import date_range, names


class BookableDay:
    """A day the clinic books or shows free times of: today up to its booking horizon
    (`services.date_range`)."""

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, date):
            problem = date_range.bookable_day_problem(field.data)
            if problem is not None:
                raise ValidationError(problem.message)


class PlainName:
    """A name without invisible text-direction characters (`services.names`)."""

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str):
            problem = names.name_problem(field.data)
            if problem is not None:
                raise ValidationError(problem)
