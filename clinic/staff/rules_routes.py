"""Reception moves a booked course to its template's current rules (rules as booked): a
preview of what changes and which sessions would break, then a confirm."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, place_errors
from clinic.services.core import permissions
from clinic.services.core.errors import NotFound, PermissionDenied, ServiceError
from clinic.services.lifetime import rules_as_booked
from clinic.staff import bp
from clinic.staff.common import current_actor
from clinic.staff.forms import ConfirmForm


def _page(
    enrolment_id: int, form: ConfirmForm, problems: list[Problem], status: int
) -> tuple[str, int]:
    change = rules_as_booked.adopt_current_rules(actor=current_actor(), enrolment_id=enrolment_id)
    return render_template(
        "staff/enrolment_rules.html",
        change=change,
        enrolment=change.enrolment,
        form=form,
        problems=problems,
    ), status


@bp.route("/enrolments/<int:enrolment_id>/rules", methods=["GET"])
@login_required
@permission_required(permissions.is_desk)
def preview_enrolment_rules(enrolment_id: int) -> ResponseReturnValue:
    return _page(enrolment_id, ConfirmForm(), [], 200)


@bp.route("/enrolments/<int:enrolment_id>/rules", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def adopt_enrolment_rules(enrolment_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate():
        problems = [Problem("The form expired; please try again.")]
        return _page(enrolment_id, form, problems, 400)
    try:
        change = rules_as_booked.adopt_current_rules(
            actor=current_actor(), enrolment_id=enrolment_id, confirm=True
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        return _page(enrolment_id, form, place_errors(form, exc), 422)
    enrolment = change.enrolment
    flash(
        f"{enrolment.course.name} for {enrolment.client.name} now follows the course's "
        "current rules.",
        "success",
    )
    return redirect(
        url_for("staff.show_client", client_id=enrolment.client_id) + f"#enrolment-{enrolment.id}"
    )
