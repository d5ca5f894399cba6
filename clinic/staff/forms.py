"""Staff forms: they check shape (required, lengths, parse dates and choices); the services
check the clinic's rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clinic.form_checks import BookableDay, one_line, options

WEEKDAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
ANY = 0  # "any practitioner" in practitioner choices


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _int_or_zero(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return -1


class SessionRowForm(Form):
    """One planned session, editable before booking."""

    day = DateField("Date", validators=[InputRequired("Give a date.")])
    time = TimeField("Time", validators=[InputRequired("Give a time.")])
    practitioner = SelectField("Practitioner", coerce=_int_or_zero, validate_choice=True)


class BookingForm(FlaskForm):
    client = SelectField(
        "Client", coerce=_int_or_zero, validators=[DataRequired("Choose the client.")]
    )
    course = SelectField("Course", validators=[DataRequired("Choose a course.")])
    earliest = DateField(
        "Earliest date", validators=[InputRequired("Give the earliest date."), BookableDay()]
    )
    what = RadioField(
        "What to book",
        choices=options([("course", "The whole course"), ("one", "One session")]),
        default="course",
    )
    weekdays = MultiCheckboxField(
        "Preferred weekdays", choices=options(WEEKDAY_CHOICES), coerce=int
    )
    time_from = TimeField("Not before (time of day)", validators=[Optional()])
    time_to = TimeField("Not after (time of day)", validators=[Optional()])
    practitioner = SelectField("Preferred practitioner", coerce=_int_or_zero)
    sessions = FieldList(FormField(SessionRowForm), min_entries=0, max_entries=30)
    # The patch test the course's procedure needs, proposed with it (issue 21): booked with
    # the sessions, or nothing is.
    patch_test = FieldList(FormField(SessionRowForm), min_entries=0, max_entries=1)
    override_reason = TextAreaField(
        "Reason to override the client's own plans",
        validators=[Optional(), Length(max=500, message="Keep the reason under 500 characters.")],
    )
    # Rule 11: shown when a session's pre-care has already begun; the desk asks the client.
    precare_confirmed = BooleanField("The client has kept the pre-care")
    propose = SubmitField("Propose sessions")
    book = SubmitField("Book these sessions")

    def validate_time_to(self, field: TimeField) -> None:
        if field.data and self.time_from.data and field.data <= self.time_from.data:
            from wtforms.validators import ValidationError

            raise ValidationError("The latest time must be after the earliest time.")


class MoveForm(FlaskForm):
    day = DateField("New date", validators=[InputRequired("Give the new date.")])
    time = TimeField("New time", validators=[InputRequired("Give the new time.")])
    practitioner = SelectField("Practitioner", coerce=_int_or_zero)
    override_reason = TextAreaField(
        "Reason to override the client's own plans",
        validators=[Optional(), Length(max=500, message="Keep the reason under 500 characters.")],
    )
    accept_replan = BooleanField("Accept the re-plan of the later sessions")
    submit = SubmitField("Move the session")


class RestBookForm(FlaskForm):
    """Book the proposed rest of a course (the proposal travels in hidden `s` fields)."""

    override_reason = TextAreaField(
        "Reason to override the client's own plans",
        validators=[Optional(), Length(max=500, message="Keep the reason under 500 characters.")],
    )
    precare_confirmed = BooleanField("The client has kept the pre-care")
    submit = SubmitField("Book these sessions")


class ReactionForm(FlaskForm):
    """The skin reacted to a held patch test: what it showed."""

    note = TextAreaField(
        "What the skin showed",
        validators=[
            InputRequired("Say what the skin showed (e.g. redness for two days)."),
            Length(max=2000, message="Keep the note under 2000 characters."),
        ],
    )
    submit = SubmitField("Record the reaction")


class OutcomeForm(FlaskForm):
    status = RadioField(
        "Outcome",
        choices=options([("done", "Done"), ("no_show", "No-show")]),
        validators=[InputRequired("Choose done or no-show.")],
    )
    note = TextAreaField(
        "Note",
        validators=[Optional(), Length(max=2000, message="Keep the note under 2000 characters.")],
    )
    # The session's status as the page showed it: if someone else has recorded or cancelled
    # it since, the click was meant for what it was, and is refused with what happened.
    # (Checked by the service, which names it in its refusal.)
    seen = HiddenField()
    submit = SubmitField("Record the outcome")


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (cancel, retire)."""

    confirm = HiddenField(default="1")
    submit = SubmitField("Confirm")


class ClientSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Find a client (name, email or phone)", validators=[Length(max=100)])


class ClientContactForm(FlaskForm):
    """A client's contact details and the clinic's notes, as reception keeps them."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the client's name."),
            Length(max=120, message="Keep the name under 120 characters."),
            one_line,
        ],
    )
    phone = TelField(
        "Phone",
        validators=[Length(max=40, message="Keep the phone number under 40 characters."), one_line],
    )
    notes = TextAreaField(
        "Notes (seen by staff only)",
        validators=[Length(max=2000, message="Keep the notes under 2000 characters.")],
    )
    submit = SubmitField("Save")


class NewClientForm(ClientContactForm):
    email = StringField(
        "Email",
        validators=[
            DataRequired(
                "Give the client's email: it identifies the client and becomes the login."
            ),
            Length(max=254, message="Keep the email under 254 characters."),
            Email("Give a valid email address.", check_deliverability=False),
        ],
    )
    submit = SubmitField("Create the client")
