"""A client's consent forms: what to sign, signing one online, and reading a signed one as it
was signed (issue 21)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import safe_next
from clinic.booking import bp
from clinic.booking.common import client_only, current_actor
from clinic.consent_forms import SignConsentForm
from clinic.form_errors import place_errors
from clinic.services.clinical import consents
from clinic.services.core.errors import ServiceError


@bp.route("/my/consents")
@client_only
def consents_page() -> ResponseReturnValue:
    actor = current_actor()
    return render_template(
        "booking/consents.html",
        statuses=consents.form_statuses(actor=actor, client_id=None),
        signed=consents.list_consents(actor=actor, client_id=None),
    )


@bp.route("/my/consents/<code>/sign", methods=["GET", "POST"])
@client_only
def sign_consent(code: str) -> ResponseReturnValue:
    """The current version's text, the name and the statement; `next` (a path of this site)
    is where the client goes on once signed: the booking they were making."""
    actor = current_actor()
    form_row = consents.get_form(code)
    form = SignConsentForm()
    back = safe_next(url_for("booking.consents_page"))
    if form.validate_on_submit():
        try:
            signed = consents.sign_consent(
                actor=actor,
                client_id=None,
                form_code=code,
                signed_name=form.signed_name.data or "",
                agree=bool(form.agree.data),
            )
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            place_errors(form, exc)
        else:
            flash(signed.sentence, "success")
            return redirect(back)
    return render_template(
        "booking/sign_consent.html", consent_form=form_row, form=form, back=back
    ), 422 if form.errors else 200


@bp.route("/my/consents/signed/<int:consent_id>")
@client_only
def signed_consent(consent_id: int) -> ResponseReturnValue:
    consent = consents.get_consent(actor=current_actor(), client_id=None, consent_id=consent_id)
    return render_template("booking/signed_consent.html", consent=consent)
