"""Client-facing forms: they check shape only; the services check the rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3), so mypy sees it as Any.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.form_checks import BookableDay
from clinic.services.people.clients import PERIOD_LABELS, ConditionAnswer, ScreeningQuestion

DATE_MESSAGE = "Give a date like 2026-12-24."


def options(pairs: list[tuple[Any, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


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


class PlainDateField(DateField):
    """A date input whose parse error is worded for people."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(DATE_MESSAGE) from exc


def _screening_labels(q: ScreeningQuestion, staff: bool) -> tuple[str, str]:
    """The 'now' box's and the date's labels: the client speaks for itself; staff record
    what the client tells them."""
    if q.code == "isotretinoin":
        if staff:
            return "Takes isotretinoin (Roaccutane) now", "Or the date of the last dose"
        return "I take isotretinoin (Roaccutane) now", "Or the date of my last dose"
    if q.code == "pregnancy":
        if staff:
            return (
                "Pregnant or breastfeeding now",
                "Or the last day of breastfeeding / the baby's birth date",
            )
        return (
            "I am pregnant or breastfeeding now",
            "Or the last day I breastfed / my baby's birth date",
        )
    if staff:
        return f"Has {q.label} now", f"Or the last day the client had {q.label}"
    return f"I have {q.label} now", f"Or the last day I had {q.label}"


def screening_form_class(
    questions: list[ScreeningQuestion], *, staff: bool = False
) -> type[FlaskForm]:
    """A form with a 'now' box and a 'last day' date for each screening question; `staff`
    words it for reception recording a client's answers (on the phone or at the desk)."""

    class ScreeningForm(FlaskForm):
        if staff:
            confirm = BooleanField(
                "The client confirmed these answers as true and complete today.",
                validators=[
                    DataRequired("Tick the box once the client has confirmed the answers.")
                ],
            )
        else:
            confirm = BooleanField(
                "I confirm these answers are true and complete today.",
                validators=[DataRequired("Please tick the box to confirm your answers.")],
            )
        submit = SubmitField("Save and confirm")

    for q in questions:
        now_label, date_label = _screening_labels(q, staff)
        setattr(ScreeningForm, f"{q.code}_present", BooleanField(now_label))
        setattr(
            ScreeningForm,
            f"{q.code}_last",
            PlainDateField(date_label, validators=[Optional()]),
        )
    return ScreeningForm


def fill_screening(
    form: FlaskForm, questions: list[ScreeningQuestion], answers: Mapping[str, ConditionAnswer]
) -> None:
    """Show the client's current answers in the form."""
    for q in questions:
        answer = answers.get(q.code)
        if answer is not None:
            getattr(form, f"{q.code}_present").data = answer.present
            getattr(form, f"{q.code}_last").data = answer.last_on


def screening_answers(form: FlaskForm, questions: list[ScreeningQuestion]) -> list[ConditionAnswer]:
    """The answers the form holds, one for each question."""
    return [
        ConditionAnswer(
            q.code,
            bool(getattr(form, f"{q.code}_present").data),
            getattr(form, f"{q.code}_last").data,
        )
        for q in questions
    ]


def screening_fields(questions: list[ScreeningQuestion]) -> dict[str, str]:
    """The service's field names of a screening's errors, as the form's field names."""
    fields = {f"conditions.{q.code}.last_date": f"{q.code}_last" for q in questions}
    return fields | {f"conditions.{q.code}": f"{q.code}_present" for q in questions}


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


class RestPlanForm(FlaskForm):
    """When to plan the rest of a course from (sent with GET: it changes nothing)."""

    class Meta:
        csrf = False

    earliest = PlainDateField("Not before", validators=[Optional(), BookableDay()])
    count = HiddenField(default="")
    submit = SubmitField("Plan again")


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
