"""Forms that the client's and the staff's pages share: the health screening (worded for the
client or for staff recording what the client says) and planning the rest of a course."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SubmitField,
)
from wtforms.validators import DataRequired, Optional

from clinic.form_checks import BookableDay, PlainDateField, options
from clinic.services.people.health_screening import (
    PHOTOTYPE_CHOICES,
    ConditionAnswer,
    ScreeningQuestion,
)


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
        # The Fitzpatrick skin phototype, asked in plain words; "" keeps what was recorded.
        phototype = RadioField(
            "How does the client's skin react to the sun?"
            if staff
            else "How does your skin react to the sun?",
            choices=options(
                [*PHOTOTYPE_CHOICES, ("", "Not assessed yet" if staff else "I am not sure")]
            ),
            default="",
            validators=[Optional()],
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
    form: FlaskForm,
    questions: list[ScreeningQuestion],
    answers: Mapping[str, ConditionAnswer],
    phototype: int | None,
) -> None:
    """Show the client's current answers in the form."""
    form.phototype.data = str(phototype) if phototype is not None else ""
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


def screening_phototype(form: FlaskForm) -> int | None:
    """The phototype the form holds (None: not assessed, which keeps what was recorded)."""
    value = (form.phototype.data or "").strip()
    return int(value) if value.isdigit() else None


def screening_fields(questions: list[ScreeningQuestion]) -> dict[str, str]:
    """The service's field names of a screening's errors, as the form's field names."""
    fields = {f"conditions.{q.code}.last_date": f"{q.code}_last" for q in questions}
    return (
        fields
        | {f"conditions.{q.code}": f"{q.code}_present" for q in questions}
        | {"phototype": "phototype"}
    )


class RestPlanForm(FlaskForm):
    """When to plan the rest of a course from (sent with GET: it changes nothing)."""

    class Meta:
        csrf = False

    earliest = PlainDateField("Not before", validators=[Optional(), BookableDay()])
    count = HiddenField(default="")
    submit = SubmitField("Plan again")
