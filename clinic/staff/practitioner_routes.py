"""A practitioner's page in the admin: name, qualifications, weekly hours, time off, and whether
they take bookings (DOMAIN.md "Who uses it"; a change that breaks booked sessions lists them
first, "A course over its lifetime")."""

from __future__ import annotations

from collections.abc import Sequence

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, validated
from clinic.services.core import permissions
from clinic.services.core.errors import NotFound, PermissionDenied, ServiceError
from clinic.services.lifetime.attention import WorldChange
from clinic.services.staffing import practitioners, time_off
from clinic.staff import bp
from clinic.staff.admin_forms import (
    WEEKDAY_KEYS,
    WEEKDAY_NAMES,
    PractitionerForm,
    TimeOffForm,
    place_admin_errors,
)
from clinic.staff.common import current_actor
from clinic.staff.forms import ConfirmForm
from clinic.world_pages import confirmed, flash_saved


def _practitioner_page(
    practitioner_id: int | None,
    form: PractitionerForm,
    time_off_form: TimeOffForm,
    status: int = 200,
    top: Sequence[Problem | str] | None = None,
    change: WorldChange | None = None,
    change_for: str = "time_off",
) -> tuple[str, int]:
    """`change` lists what a change would break, in the form `change_for` names ('time_off',
    'practitioner' or 'active')."""
    practitioner = practitioners.get_practitioner(practitioner_id) if practitioner_id else None
    return render_template(
        "staff/practitioner.html",
        practitioner=practitioner,
        form=form,
        time_off_form=time_off_form,
        change=change,
        change_for=change_for,
        confirm=ConfirmForm(),
        weekdays=list(zip(WEEKDAY_KEYS, WEEKDAY_NAMES, strict=True)),
        top=top or [],
    ), status


def _stored_practitioner_form(practitioner_id: int) -> PractitionerForm:
    """The practitioner's form filled from what is stored (their email is read-only)."""
    p = practitioners.get_practitioner(practitioner_id)
    form = PractitionerForm(formdata=None)
    values = practitioners.practitioner_values(p)
    form.name.data, form.email.data = p.name, p.email
    form.qualifications.data = ", ".join(values["qualifications"])
    form.set_week(values["hours"])
    form.email.render_kw = {"readonly": True}
    return form


@bp.route("/admin/practitioners/new", methods=["GET", "POST"])
@bp.route("/admin/practitioners/<int:practitioner_id>", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_admin)
def edit_practitioner(practitioner_id: int | None = None) -> ResponseReturnValue:
    if request.method == "GET":
        form = (
            _stored_practitioner_form(practitioner_id)
            if practitioner_id is not None
            else PractitionerForm(formdata=None)
        )
        return _practitioner_page(practitioner_id, form, TimeOffForm(formdata=None))
    form = PractitionerForm()
    if practitioner_id is not None:  # the email is the practitioner's key; it does not change
        email = practitioners.get_practitioner(practitioner_id).email
        form.email.data, form.email.raw_data = email, [email]
        form.email.render_kw = {"readonly": True}
    if not form.validate():
        return _practitioner_page(practitioner_id, form, TimeOffForm(formdata=None), 422)
    try:
        row, change = practitioners.save_practitioner(
            actor=current_actor(),
            practitioner_id=practitioner_id,
            name=validated(form.name.data),
            email=validated(form.email.data),
            qualifications=form.qualification_list(),
            hours=form.week(),
            confirm=confirmed(),
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        top = place_admin_errors(form, exc)
        return _practitioner_page(practitioner_id, form, TimeOffForm(formdata=None), 422, top)
    if row is None:
        return _practitioner_page(
            practitioner_id,
            form,
            TimeOffForm(formdata=None),
            change=change,
            change_for="practitioner",
        )
    flash_saved(change, f"Saved {row.name}.")
    return redirect(url_for("staff.edit_practitioner", practitioner_id=row.id))


@bp.route("/admin/practitioners/<int:practitioner_id>/time-off", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def add_time_off(practitioner_id: int) -> ResponseReturnValue:
    form = _stored_practitioner_form(practitioner_id)
    time_off_form = TimeOffForm()
    if not time_off_form.validate():
        return _practitioner_page(practitioner_id, form, time_off_form, 422)
    try:
        change = time_off.add_time_off(
            actor=current_actor(),
            practitioner_id=practitioner_id,
            start_on=validated(time_off_form.start_on.data),
            end_on=validated(time_off_form.end_on.data),
            note=time_off_form.note.data or "",
            confirm=confirmed(),
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        top = place_admin_errors(time_off_form, exc)
        return _practitioner_page(practitioner_id, form, time_off_form, 422, top)
    if change.needs_confirmation:
        return _practitioner_page(practitioner_id, form, time_off_form, 200, change=change)
    flash_saved(change, "Added the time off.")
    return redirect(url_for("staff.edit_practitioner", practitioner_id=practitioner_id))


@bp.route("/admin/time-off/<int:time_off_id>/remove", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def remove_time_off(time_off_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    practitioner_id = request.form.get("practitioner", type=int)
    change = time_off.remove_time_off(actor=current_actor(), time_off_id=time_off_id)
    flash_saved(change, "Removed the time off.")
    if practitioner_id:
        return redirect(url_for("staff.edit_practitioner", practitioner_id=practitioner_id))
    return redirect(url_for("staff.admin_home"))


@bp.route("/admin/practitioners/<int:practitioner_id>/active", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def set_practitioner_active(practitioner_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    active = request.form.get("active") == "1"
    change = practitioners.set_practitioner_active(
        actor=current_actor(), practitioner_id=practitioner_id, active=active, confirm=confirmed()
    )
    if change.needs_confirmation:
        return _practitioner_page(
            practitioner_id,
            _stored_practitioner_form(practitioner_id),
            TimeOffForm(formdata=None),
            change=change,
            change_for="active",
        )
    flash_saved(change, "Saved.")
    return redirect(url_for("staff.edit_practitioner", practitioner_id=practitioner_id))
