"""The clinic's admin: staff accounts, practitioners, rooms, devices, hours, holidays, policy,
and the catalogue file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, place_errors, validated
from clinic.services import catalogue
from clinic.services.core import clinic_setup, permissions
from clinic.services.core.errors import InvalidData, NotFound, PermissionDenied, ServiceError
from clinic.services.lifetime.attention import WorldChange
from clinic.services.people import logins
from clinic.services.staffing import staffing
from clinic.staff import bp
from clinic.staff.admin_forms import (
    WEEKDAY_KEYS,
    WEEKDAY_NAMES,
    DeviceForm,
    HolidayForm,
    ImportForm,
    OpeningHoursForm,
    PolicyForm,
    PractitionerForm,
    RoomForm,
    StaffRoleForm,
    StaffUserForm,
    TimeOffForm,
)
from clinic.staff.common import current_actor
from clinic.staff.forms import ConfirmForm
from clinic.world_pages import confirmed, flash_saved

_FIELD = re.compile(r"^(?:hours\.|opening_hours\.)?(\w+)")


def _place(form: FlaskForm, exc: ServiceError) -> list[Problem]:
    """A refusal's messages next to their fields ('hours.mon[0][1]' -> the Monday field)."""

    def find(path: str) -> Any:
        match = _FIELD.match(path)
        if match is None or match.group(1) == "submit":
            return None
        return getattr(form, match.group(1), None)

    return place_errors(form, exc, find)


def _forms() -> dict[str, FlaskForm]:
    settings = clinic_setup.settings()
    policy = PolicyForm(
        formdata=None,
        name=settings.name,
        slot_minutes=settings.slot_minutes,
        notice_hours=settings.client_change_notice_hours,
        horizon_days=settings.horizon_days,
        screening_valid_days=settings.screening_valid_days,
        no_show_uses_session=settings.no_show_uses_session,
    )
    opening = OpeningHoursForm(formdata=None)
    opening.set_week(staffing.opening_hours_json())
    return {
        "user_form": StaffUserForm(formdata=None),
        "policy_form": policy,
        "opening_form": opening,
        "holiday_form": HolidayForm(formdata=None),
        "room_form": RoomForm(formdata=None),
        "device_form": DeviceForm(formdata=None),
        "import_form": ImportForm(formdata=None),
    }


def _admin_page(
    status: int = 200, top: Sequence[Problem | str] | None = None, **forms: Any
) -> tuple[str, int]:
    context: dict[str, Any] = {**_forms(), **forms}
    staff = staffing.list_staff()
    role_forms = {}
    for u in staff:
        f = StaffRoleForm(formdata=None, role=u.role, active=u.active, prefix=f"u{u.id}")
        role_forms[u.id] = f
    return render_template(
        "staff/admin.html",
        staff=staff,
        role_forms=role_forms,
        practitioners=staffing.list_practitioners(),
        rooms=staffing.list_rooms(),
        devices=staffing.list_devices(),
        holidays=staffing.list_holidays(),
        confirm=ConfirmForm(),
        weekdays=list(zip(WEEKDAY_KEYS, WEEKDAY_NAMES, strict=True)),
        top=top or [],
        **context,
    ), status


@bp.route("/admin")
@login_required
@permission_required(permissions.is_admin)
def admin_home() -> ResponseReturnValue:
    return _admin_page()


def _done(message: str, anchor: str) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for("staff.admin_home") + f"#{anchor}")


def _submit(
    form: FlaskForm, form_name: str, action: Callable[[], object], message: str, anchor: str
) -> ResponseReturnValue:
    """Validate, call the service and come back to the section. A change of the world that
    would break booked sessions comes back to the form with them listed (`change_for` names
    the form the warning goes in)."""
    if not form.validate():
        return _admin_page(422, **{form_name: form})
    try:
        result = action()
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        return _admin_page(422, top=_place(form, exc), **{form_name: form})
    if isinstance(result, WorldChange):
        if result.needs_confirmation:
            return _admin_page(200, change=result, change_for=form_name, **{form_name: form})
        flash_saved(result, message)
        return redirect(url_for("staff.admin_home") + f"#{anchor}")
    return _done(message, anchor)


@bp.route("/admin/users", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def create_staff_user() -> ResponseReturnValue:
    form = StaffUserForm()
    return _submit(
        form,
        "user_form",
        lambda: staffing.create_staff_user(
            actor=current_actor(),
            email=validated(form.email.data),
            name=validated(form.name.data),
            role=form.role.data,
            password=validated(form.password.data),
        ),
        f"Created the account {form.email.data}.",
        "staff",
    )


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def update_staff_user(user_id: int) -> ResponseReturnValue:
    form = StaffRoleForm(prefix=f"u{user_id}")
    if not form.validate():
        return _admin_page(422, top=[m for ms in form.errors.values() for m in ms])
    try:
        staffing.update_staff_user(
            actor=current_actor(), user_id=user_id, role=form.role.data, active=form.active.data
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        # The page draws each account's row afresh: every message goes on top.
        return _admin_page(422, top=place_errors(form, exc, lambda name: None))
    return _done("Saved the account.", "staff")


@bp.route("/admin/users/<int:user_id>/logins/end", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def end_staff_logins(user_id: int) -> ResponseReturnValue:
    """End every session and API token of a staff account (a lost laptop, someone leaving)."""
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    logins.end_staff_logins(actor=current_actor(), user_id=user_id)
    return _done(
        "Logged the account out everywhere: its sessions and API tokens have ended.", "staff"
    )


@bp.route("/admin/policy", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def update_policy() -> ResponseReturnValue:
    form = PolicyForm()
    return _submit(
        form,
        "policy_form",
        lambda: staffing.update_policy(
            actor=current_actor(),
            name=validated(form.name.data),
            slot_minutes=validated(form.slot_minutes.data),
            notice_hours=validated(form.notice_hours.data),
            horizon_days=validated(form.horizon_days.data),
            screening_valid_days=validated(form.screening_valid_days.data),
            no_show_uses_session=bool(form.no_show_uses_session.data),
        ),
        "Saved the policy.",
        "policy",
    )


@bp.route("/admin/opening-hours", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def set_opening_hours() -> ResponseReturnValue:
    form = OpeningHoursForm()
    return _submit(
        form,
        "opening_form",
        lambda: staffing.set_opening_hours(
            actor=current_actor(), hours=form.week(), confirm=confirmed()
        ),
        "Saved the opening hours.",
        "opening",
    )


@bp.route("/admin/holidays", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def add_holiday() -> ResponseReturnValue:
    form = HolidayForm()
    return _submit(
        form,
        "holiday_form",
        lambda: staffing.add_holiday(
            actor=current_actor(),
            day=validated(form.day.data),
            name=form.name.data or "",
            confirm=confirmed(),
        ),
        "Added the holiday.",
        "holidays",
    )


@bp.route("/admin/holidays/<int:holiday_id>/remove", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def remove_holiday(holiday_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    change = staffing.remove_holiday(actor=current_actor(), holiday_id=holiday_id)
    flash_saved(change, "Removed the holiday.")
    return redirect(url_for("staff.admin_home") + "#holidays")


@bp.route("/admin/rooms", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def save_room() -> ResponseReturnValue:
    form = RoomForm()
    return _submit(
        form,
        "room_form",
        lambda: staffing.save_room(
            actor=current_actor(), code=validated(form.code.data), name=validated(form.name.data)
        ),
        f"Saved the room {form.code.data}.",
        "rooms",
    )


@bp.route("/admin/devices", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def save_device() -> ResponseReturnValue:
    form = DeviceForm()
    return _submit(
        form,
        "device_form",
        lambda: staffing.save_device(
            actor=current_actor(),
            code=validated(form.code.data),
            kind=validated(form.kind.data),
            name=validated(form.name.data),
            confirm=confirmed(),
        ),
        f"Saved the device {form.code.data}.",
        "devices",
    )


@bp.route("/admin/<kind>/<int:record_id>/active", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def set_active(kind: str, record_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    active = request.form.get("active") == "1"
    change = staffing.set_active(
        actor=current_actor(), kind=kind, record_id=record_id, active=active, confirm=confirmed()
    )
    if change.needs_confirmation:
        return _admin_page(200, change=change, change_for=f"{kind}:{record_id}")
    flash_saved(change, f"The {kind} is {'in use' if active else 'out of use'}.")
    return redirect(url_for("staff.admin_home") + f"#{kind}s")


# --- practitioners ----------------------------------------------------------------------------


def _practitioner_page(
    practitioner_id: int | None,
    form: PractitionerForm,
    time_off: TimeOffForm,
    status: int = 200,
    top: Sequence[Problem | str] | None = None,
    change: WorldChange | None = None,
    change_for: str = "time_off",
) -> tuple[str, int]:
    """`change` lists what a change would break, in the form `change_for` names ('time_off',
    'practitioner' or 'active')."""
    practitioner = staffing.get_practitioner(practitioner_id) if practitioner_id else None
    return render_template(
        "staff/practitioner.html",
        practitioner=practitioner,
        form=form,
        time_off_form=time_off,
        change=change,
        change_for=change_for,
        confirm=ConfirmForm(),
        weekdays=list(zip(WEEKDAY_KEYS, WEEKDAY_NAMES, strict=True)),
        top=top or [],
    ), status


def _stored_practitioner_form(practitioner_id: int) -> PractitionerForm:
    """The practitioner's form filled from what is stored (their email is read-only)."""
    p = staffing.get_practitioner(practitioner_id)
    form = PractitionerForm(formdata=None)
    values = staffing.practitioner_values(p)
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
        email = staffing.get_practitioner(practitioner_id).email
        form.email.data, form.email.raw_data = email, [email]
        form.email.render_kw = {"readonly": True}
    if not form.validate():
        return _practitioner_page(practitioner_id, form, TimeOffForm(formdata=None), 422)
    try:
        row, change = staffing.save_practitioner(
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
        top = _place(form, exc)
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
    time_off = TimeOffForm()
    if not time_off.validate():
        return _practitioner_page(practitioner_id, form, time_off, 422)
    try:
        change = staffing.add_time_off(
            actor=current_actor(),
            practitioner_id=practitioner_id,
            start_on=validated(time_off.start_on.data),
            end_on=validated(time_off.end_on.data),
            note=time_off.note.data or "",
            confirm=confirmed(),
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        top = _place(time_off, exc)
        return _practitioner_page(practitioner_id, form, time_off, 422, top)
    if change.needs_confirmation:
        return _practitioner_page(practitioner_id, form, time_off, 200, change=change)
    flash_saved(change, "Added the time off.")
    return redirect(url_for("staff.edit_practitioner", practitioner_id=practitioner_id))


@bp.route("/admin/time-off/<int:time_off_id>/remove", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def remove_time_off(time_off_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    practitioner_id = request.form.get("practitioner", type=int)
    change = staffing.remove_time_off(actor=current_actor(), time_off_id=time_off_id)
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
    change = staffing.set_practitioner_active(
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


# --- the catalogue file -----------------------------------------------------------------------


@bp.route("/admin/catalogue.json")
@login_required
@permission_required(permissions.is_admin)
def export_catalogue() -> ResponseReturnValue:
    data = staffing.export_catalogue(actor=current_actor())
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="catalogue.json"'},
    )


@bp.route("/admin/catalogue", methods=["POST"])
@login_required
@permission_required(permissions.is_admin)
def import_catalogue() -> ResponseReturnValue:
    form = ImportForm()
    if not form.validate():
        return _admin_page(422, import_form=form)
    raw = form.content()
    try:
        data = catalogue.read_file(raw)
        report, change = staffing.import_catalogue(
            actor=current_actor(), data=data, confirm=confirmed()
        )
    except InvalidData as exc:
        form.file.errors = [
            e["message"] if e.get("field", "$") == "$" else f"{e['field']}: {e['message']}"
            for e in exc.errors
        ]
        return _admin_page(422, import_form=form)
    if change.needs_confirmation:
        form.text.data = raw.decode("utf-8-sig")  # read_file read it as UTF-8
        return _admin_page(200, change=change, change_for="import_form", import_form=form)
    flash_saved(change, "Imported. " + "; ".join(report.summary()))
    for w in report.warnings:
        flash(f"Note ({w.get('field', '')}): {w['message']}", "warning")
    return redirect(url_for("staff.admin_home") + "#catalogue-file")
