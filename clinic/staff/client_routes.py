"""The client record for staff."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from clinic.auth.access import role_required
from clinic.scheduling import describe_window
from clinic.scheduling.wording import condition_label
from clinic.services import client_records
from clinic.services import snapshot as snap
from clinic.staff import bp
from clinic.staff.common import STAFF, current_actor
from clinic.staff.forms import ClientSearchForm, ConfirmForm


@bp.route("/clients")
@login_required
@role_required(*STAFF)
def list_clients():  # type: ignore[no-untyped-def]
    form = ClientSearchForm(request.args)
    status = 200
    clients = []
    if form.validate():
        clients = client_records.list_clients(actor=current_actor(), query=form.q.data or "")
    else:
        status = 422
    return render_template("staff/clients.html", form=form, clients=clients), status


@bp.route("/clients/<int:client_id>")
@login_required
@role_required(*STAFF)
def show_client(client_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    record = client_records.get_client_record(actor=actor, client_id=client_id)
    tz = snap.clinic_tz()
    return render_template(
        "staff/client.html",
        record=record,
        client=record.client,
        tz=tz,
        describe=lambda w: describe_window(w, tz),
        condition_label=condition_label,
        confirm=ConfirmForm(),
        can_book=actor.is_desk,
    )
