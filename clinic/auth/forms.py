from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length

from clinic.form_checks import one_line, options
from clinic.models import ALARM_HOURS
from clinic.scheduling.wording import duration_text
from clinic.services.messages.choices import Choice

EMAIL = [
    DataRequired("Give your email address."),
    Email("Give a valid email address, like name@example.com.", check_deliverability=False),
    Length(max=254),
]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Log in")


class SignUpForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    name = StringField(
        "Your name", validators=[DataRequired("Tell us your name."), Length(max=120), one_line]
    )
    password = PasswordField(
        "Password (at least 8 characters)",
        validators=[DataRequired("Choose a password."), Length(max=200)],
    )
    confirm = PasswordField(
        "Password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
    submit = SubmitField("Create my account")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    submit = SubmitField("Email me a reset link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password (at least 8 characters)",
        validators=[DataRequired("Choose a password."), Length(max=200)],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
    submit = SubmitField("Set the new password")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "New password (at least 8 characters)",
        validators=[DataRequired("Choose a password."), Length(max=200)],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords differ."),
        ],
    )
    submit = SubmitField("Change the password")


class ProfileForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Tell us your name."), Length(max=120), one_line]
    )
    phone = TelField("Phone (optional)", validators=[Length(max=40), one_line])
    submit = SubmitField("Save")


class EraseForm(FlaskForm):
    confirm = BooleanField(
        "I understand that my account, screening and plans are erased for good; the clinic keeps "
        "an anonymous record of past sessions.",
        validators=[DataRequired("Tick the box to confirm.")],
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Erase my data")


class MessageChoicesForm(FlaskForm):
    """How the client hears of each topic (`messages.choices`); the service checks that
    changes reach them somehow and that texts have a mobile number to go to."""

    reminders_email = BooleanField("Reminders by email")
    reminders_text = BooleanField("Reminders by text message")
    care_email = BooleanField("Care timeline by email")
    care_text = BooleanField("Care timeline by text message")
    changes_email = BooleanField("Changes and cancellations by email")
    changes_text = BooleanField("Changes and cancellations by text message")
    # Empty: no alarm of their own (the evening before's rings anyway); the service checks
    # the hours are among `ALARM_HOURS`.
    alarm_hours = SelectField(
        "Also remind me in my calendar",
        choices=options(
            [("", "No, only the evening before")]
            + [(str(h), f"{duration_text(h)} before") for h in ALARM_HOURS]
        ),
        validate_choice=False,
    )
    submit = SubmitField("Save my message choices")

    TOPICS = ("reminders", "care", "changes")

    def fill(self, choices: dict[str, Choice]) -> None:
        for topic, choice in choices.items():
            self[f"{topic}_email"].data = choice.email
            self[f"{topic}_text"].data = choice.text
        hours = choices["reminders"].alarm_hours if "reminders" in choices else None
        self.alarm_hours.data = "" if hours is None else str(hours)

    def choices(self, texts_offered: bool) -> dict[str, Choice]:
        raw = (self.alarm_hours.data or "").strip()
        # Not a number: -1, which the service refuses next to the field.
        hours = (int(raw) if raw.isdigit() else -1) if raw else None
        return {
            topic: Choice(
                email=bool(self[f"{topic}_email"].data),
                text=texts_offered and bool(self[f"{topic}_text"].data),
                alarm_hours=hours if topic == "reminders" else None,
            )
            for topic in self.TOPICS
        }
