"""A client's consents for staff (issue 21): reception records a paper signature at the desk;
staff who may see the client read each signature as it was signed."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import login_required, permission_required
from clinic.consent_forms import PaperConsentForm
from clinic.form_checks import options
from clinic.form_errors import place_errors
from clinic.services.clinical import consents
from clinic.services.core import permissions
from clinic.services.core.errors import ServiceError
from clinic.services.people import clients
from clinic.staff import bp
from clinic.staff.common import current_actor


def paper_form(client_name: str = "") -> PaperConsentForm:
    form = PaperConsentForm()
    form.form.choices = options(
        (f.code, f"{f.title} (version {f.current.number})")
        for f in consents.list_forms()
        if f.current is not None
    )
    if not form.is_submitted():
        form.signed_name.data = client_name
    return form


@bp.route("/clients/<int:client_id>/consents", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def record_paper_consent(client_id: int) -> ResponseReturnValue:
    actor = current_actor()
    client = clients.get_client(actor=actor, client_id=client_id)
    form = paper_form(client.name)
    if form.validate_on_submit():
        try:
            signed = consents.sign_consent(
                actor=actor,
                client_id=client.id,
                form_code=form.form.data or "",
                signed_name=form.signed_name.data or "",
                agree=bool(form.agree.data),
            )
        except ServiceError as exc:
            if exc.status in (403, 404) and exc.field != "form":
                raise
            place_errors(form, exc)
        else:
            flash(signed.sentence, "success")
            return redirect(url_for("staff.show_client", client_id=client.id, _anchor="consents"))
    return render_template(
        "staff/paper_consent.html",
        client=client,
        form=form,
        signed=consents.list_consents(actor=actor, client_id=client.id),
    ), 422


@bp.route("/clients/<int:client_id>/consents/<int:consent_id>")
@login_required
@permission_required(permissions.is_staff)
def client_consent(client_id: int, consent_id: int) -> ResponseReturnValue:
    consent = consents.get_consent(
        actor=current_actor(), client_id=client_id, consent_id=consent_id
    )
    return render_template("staff/client_consent.html", consent=consent)
