"""The audit trail for the clinic's admin: who viewed or changed screening data, overrides,
privacy requests."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from clinic.auth.access import login_required, permission_required
from clinic.form_checks import options
from clinic.services.core import audit, permissions
from clinic.staff import bp
from clinic.staff.common import current_actor

KIND_LABELS = {
    "all": "Everything",
    "screening": "Screening viewed or changed",
    "overrides": "Rules overridden",
    "privacy": "Data exports and erasures",
}


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField("Show", choices=options(KIND_LABELS.items()), default="all")
    client = IntegerField("Client number", validators=[Optional(), NumberRange(min=1)])


@bp.route("/audit")
@login_required
@permission_required(permissions.is_admin)
def audit_trail() -> ResponseReturnValue:
    form = AuditFilterForm(request.args)
    entries = []
    status = 200
    if form.validate():
        entries = audit.list_entries(
            actor=current_actor(), kind=form.kind.data or "all", client_id=form.client.data
        )
    else:
        status = 422
    return render_template("staff/audit.html", form=form, entries=entries), status
