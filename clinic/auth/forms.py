from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from clinic.form_validators import PlainName

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
        "Your name",
        validators=[DataRequired("Tell us your name."), Length(max=120), PlainName()],
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


class ProfileForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Tell us your name."), Length(max=120), PlainName()]
    )
    phone = TelField("Phone (optional)", validators=[Length(max=40)])
    submit = SubmitField("Save")


class EraseForm(FlaskForm):
    confirm = BooleanField(
        "I understand that my account, screening and plans are erased for good; the clinic keeps "
        "an anonymous record of past sessions.",
        validators=[DataRequired("Tick the box to confirm.")],
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Erase my data")
