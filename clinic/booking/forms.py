"""Client-facing forms: they check shape only; the services check the rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    Field,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3), so mypy sees it as Any.
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.form_checks import BookableDay, PlainDateField, options
from clinic.services.people.declared_periods import PERIOD_LABELS

WEEKDAYS = options(
    [
        (0, "Monday"),
        (1, "Tuesday"),
        (2, "Wednesday"),
        (3, "Thursday"),
        (4, "Friday"),
        (5, "Saturday"),
        (6, "Sunday"),
    ]
)
TIMES = options([("", "Any time")] + [(f"{h:02d}:00", f"{h:02d}:00") for h in range(7, 22)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PeriodForm(FlaskForm):
    kind = SelectField(
        "What is it?",
        choices=options([("", "Choose…"), *PERIOD_LABELS.items()]),
        validators=[InputRequired("Choose a beach holiday or a wedding or event.")],
    )
    start = PlainDateField("First day", validators=[InputRequired("Give the first day.")])
    end = PlainDateField("Last day", validators=[InputRequired("Give the last day.")])
    note = StringField("Note (optional)", validators=[Length(max=200)])
    submit = SubmitField("Add this period")


class PlanForm(FlaskForm):
    earliest = PlainDateField(
        "Earliest start",
        validators=[InputRequired("Give the earliest day you could start."), BookableDay()],
    )
    weekdays = MultiCheckboxField(
        "Days that suit me (none ticked: any day)", choices=WEEKDAYS, coerce=int
    )
    time_from = SelectField("Not before", choices=TIMES, default="")
    time_to = SelectField("Not after", choices=TIMES, default="")
    practitioner = SelectField("Practitioner", coerce=int, default=0)
    how_many = SelectField(
        "What to book now",
        choices=options([("all", "The whole course"), ("first", "Only the first session")]),
        default="all",
    )
    submit = SubmitField("Show proposed dates")

    def validate_time_to(self, field: Field) -> None:
        if self.time_from.data and field.data and field.data <= self.time_from.data:
            raise ValidationError(
                "\u201cNot after\u201d must be later than \u201cnot before\u201d."
            )


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm and book")


class DayForm(FlaskForm):
    """Choose a day to see its free times (sent with GET)."""

    class Meta:
        csrf = False

    day = PlainDateField("Day", validators=[InputRequired("Choose a day."), BookableDay()])
    submit = SubmitField("Show free times")


class MoveForm(FlaskForm):
    start = HiddenField(validators=[DataRequired("Choose a time.")])
    accept_replan = HiddenField(default="")
    submit = SubmitField("Move to this time")


class CancelForm(FlaskForm):
    submit = SubmitField("Yes, cancel this session")


class DeleteForm(FlaskForm):
    submit = SubmitField("Remove")
