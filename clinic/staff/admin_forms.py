"""Admin forms: shapes only; the set-up's rules are checked by clinic/services/staffing/."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Email, InputRequired, Length, Optional

from clinic.form_checks import one_line, options
from clinic.form_errors import Problem, place_errors
from clinic.models import STAFF_ROLES
from clinic.services.core.errors import ServiceError

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SPAN = r"\s*[^,\s-]+\s*-\s*[^,\s-]+\s*"
_HOURS = re.compile(rf"^(?:{_SPAN}(?:,{_SPAN})*)?$")
ROLE_CHOICES = options((r, r.capitalize()) for r in STAFF_ROLES)
_FIELD = re.compile(r"^(?:hours\.|opening_hours\.)?(\w+)")


def _hours_shape(form: Any, field: Any) -> None:
    if not _HOURS.match(field.data or ""):
        raise ValidationError("Write the hours as 09:00-13:00, 14:00-18:00 (empty: none).")


def _hours_field(day: str) -> StringField:
    return StringField(f"{day} hours", validators=[Optional(), _hours_shape], default="")


class WeekMixin:
    """Seven text fields, one per weekday: '09:00-13:00, 14:00-18:00'."""

    mon = _hours_field("Monday")
    tue = _hours_field("Tuesday")
    wed = _hours_field("Wednesday")
    thu = _hours_field("Thursday")
    fri = _hours_field("Friday")
    sat = _hours_field("Saturday")
    sun = _hours_field("Sunday")

    def week(self) -> dict[str, list[list[str]]]:
        out: dict[str, list[list[str]]] = {}
        for key in WEEKDAY_KEYS:
            text = (getattr(self, key).data or "").strip()
            if text:
                out[key] = [[p.strip() for p in span.split("-", 1)] for span in text.split(",")]
        return out

    def set_week(self, week: dict[str, list[list[str]]]) -> None:
        for key in WEEKDAY_KEYS:
            getattr(self, key).data = ", ".join(f"{a}-{b}" for a, b in week.get(key, []))


class StaffUserForm(FlaskForm):
    name = StringField(
        "Name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    email = EmailField(
        "Email",
        validators=[
            InputRequired("Give the email address."),
            Email("Give a valid email address.", check_deliverability=False),
            Length(max=254),
        ],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="receptionist")
    password = PasswordField(
        "First password (at least 8 characters)",
        validators=[InputRequired("Give a first password."), Length(max=200)],
    )
    submit = SubmitField("Create the account")


class StaffRoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active")
    submit = SubmitField("Save")


class PractitionerForm(WeekMixin, FlaskForm):
    name = StringField(
        "Name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    email = EmailField(
        "Email (links the practitioner to a login with the same email)",
        validators=[
            InputRequired("Give the email address."),
            Email("Give a valid email address.", check_deliverability=False),
            Length(max=254),
        ],
    )
    qualifications = StringField(
        "Qualifications (comma-separated, e.g. peel, laser)", validators=[Length(max=500)]
    )
    submit = SubmitField("Save the practitioner")

    def qualification_list(self) -> list[str]:
        return [q.strip() for q in (self.qualifications.data or "").split(",") if q.strip()]


class TimeOffForm(FlaskForm):
    start_on = DateField("First day off", validators=[InputRequired("Give the first day.")])
    end_on = DateField("Last day off", validators=[InputRequired("Give the last day.")])
    note = StringField("Note (e.g. holiday, training)", validators=[Length(max=200)])
    submit = SubmitField("Add the time off")


class OpeningHoursForm(WeekMixin, FlaskForm):
    submit = SubmitField("Save the opening hours")


class HolidayForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired("Give the date.")])
    name = StringField("Name (e.g. Christmas Day)", validators=[Length(max=120), one_line])
    submit = SubmitField("Add the holiday")


class PolicyForm(FlaskForm):
    name = StringField(
        "Clinic name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    address = TextAreaField(
        "Postal address (shown with the name in the clients' calendars)",
        validators=[Length(max=300)],
    )
    slot_minutes = IntegerField(
        "Slot grid (minutes)", validators=[InputRequired("Give the slot length.")]
    )
    notice_hours = IntegerField(
        "Clients may change or cancel up to (hours before)",
        validators=[InputRequired("Give the notice in hours.")],
    )
    horizon_days = IntegerField(
        "Bookings up to (days ahead)", validators=[InputRequired("Give the horizon in days.")]
    )
    screening_valid_days = IntegerField(
        "A screening stays valid for (days)",
        validators=[InputRequired("Give how many days a screening stays valid.")],
    )
    no_show_uses_session = BooleanField("A missed session (no-show) is used up: no make-up")
    photos_shown_to_clients = BooleanField(
        "Clients see their own before/after photos (when they consented to it)"
    )
    submit = SubmitField("Save the policy")


class RoomForm(FlaskForm):
    code = StringField("Room code", validators=[InputRequired("Give a code."), Length(max=40)])
    name = StringField(
        "Room name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    submit = SubmitField("Save the room")


class DeviceForm(FlaskForm):
    code = StringField("Device code", validators=[InputRequired("Give a code."), Length(max=40)])
    kind = StringField(
        "Device kind (procedures ask for a kind, e.g. co2_laser)",
        validators=[InputRequired("Give the kind."), Length(max=60)],
    )
    name = StringField(
        "Device name", validators=[InputRequired("Give the name."), Length(max=120), one_line]
    )
    submit = SubmitField("Save the device")


class ImportForm(FlaskForm):
    file = FileField("Catalogue file (JSON)")
    # The file's text, carried by the form that asks to confirm an import breaking booked
    # sessions (a browser does not send a chosen file twice).
    text = HiddenField(validators=[Length(max=5_000_000)])
    submit = SubmitField("Import")

    def validate_file(self, field: FileField) -> None:
        if not field.data and not self.text.data:
            raise ValidationError("Choose a file.")

    def content(self) -> bytes:
        """The file's bytes, or the carried text's."""
        if self.file.data:
            return bytes(self.file.data.read())
        return str(self.text.data).encode("utf-8")


def place_admin_errors(form: FlaskForm, exc: ServiceError) -> list[Problem]:
    """A refusal's messages next to their fields ('hours.mon[0][1]' -> the Monday field)."""

    def find(path: str) -> Any:
        match = _FIELD.match(path)
        if match is None or match.group(1) == "submit":
            return None
        return getattr(form, match.group(1), None)

    return place_errors(form, exc, find)
