"""The forms of a consent signature, for the client's page and reception's (issue 21). They
carry the values only: a missing name or an unticked statement is refused by the service
(clinic/services/clinical/consents.py), with the same words for the page and the API."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length

from clinic.form_checks import one_line
from clinic.services.clinical import consent_wording


class SignConsentForm(FlaskForm):
    """A client signs online: their full name typed and the statement ticked."""

    signed_name = StringField("Your full name", validators=[Length(max=120), one_line])
    agree = BooleanField(consent_wording.STATEMENT)
    submit = SubmitField("Sign the consent form")


class PaperConsentForm(FlaskForm):
    """Reception records the paper form a client signed at the desk."""

    form = SelectField("Consent form")
    signed_name = StringField("Name the client signed with", validators=[Length(max=120), one_line])
    agree = BooleanField(
        "The client has signed the printed form (its current version) at the desk."
    )
    submit = SubmitField("Record the paper signature")
