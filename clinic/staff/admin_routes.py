"""The clinic's admin page: staff accounts, rooms, devices, opening hours, holidays, policy, and
the catalogue file (DOMAIN.md "Who uses it"). A practitioner's own page is in
`practitioner_routes`."""

from __future__ import annotations

import json
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
from clinic.services.staffing import (
    catalogue_file,
    opening_hours,
    policy,
    practitioners,
    rooms,
    staff_accounts,
)
from clinic.staff import bp
from clinic.staff.admin_forms import (
    WEEKDAY_KEYS,
    WEEKDAY_NAMES,
    DeviceForm,
    HolidayForm,
    ImportForm,
    OpeningHoursForm,
    PolicyForm,
    RoomForm,
    StaffRoleForm,
    StaffUserForm,
    place_admin_errors,
)
from clinic.staff.common import current_actor
from clinic.staff.forms import ConfirmForm
from clinic.world_pages import confirmed, flash_saved


def _forms() -> dict[str, FlaskForm]:
    settings = clinic_setup.settings()
    policy = PolicyForm(
        formdata=None,
        name=settings.name,
        address=settings.address,
        slot_minutes=settings.slot_minutes,
        notice_hours=settings.client_change_notice_hours,
        horizon_days=settings.horizon_days,
        screening_valid_days=settings.screening_valid_days,
        no_show_uses_session=settings.no_show_uses_session,
        photos_shown_to_clients=settings.photos_shown_to_clients,
    )
    opening = OpeningHoursForm(formdata=None)
    opening.set_week(opening_hours.opening_hours_json())
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
    staff = staff_accounts.list_staff()
    role_forms = {}
    for u in staff:
        f = StaffRoleForm(formdata=None, role=u.role, active=u.active, prefix=f"u{u.id}")
        role_forms[u.id] = f
    return render_template(
        "staff/admin.html",
        staff=staff,
        role_forms=role_forms,
        practitioners=practitioners.list_practitioners(),
        rooms=rooms.list_rooms(),
        devices=rooms.list_devices(),
        holidays=opening_hours.list_holidays(),
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
        return _admin_page(422, top=place_admin_errors(form, exc), **{form_name: form})
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
        lambda: staff_accounts.create_staff_user(
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
        staff_accounts.update_staff_user(
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
        lambda: policy.update_policy(
            actor=current_actor(),
            name=validated(form.name.data),
            slot_minutes=validated(form.slot_minutes.data),
            notice_hours=validated(form.notice_hours.data),
            horizon_days=validated(form.horizon_days.data),
            screening_valid_days=validated(form.screening_valid_days.data),
            no_show_uses_session=bool(form.no_show_uses_session.data),
            photos_shown_to_clients=bool(form.photos_shown_to_clients.data),
            address=form.address.data or "",
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
        lambda: opening_hours.set_opening_hours(
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
        lambda: opening_hours.add_holiday(
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
    change = opening_hours.remove_holiday(actor=current_actor(), holiday_id=holiday_id)
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
        lambda: rooms.save_room(
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
        lambda: rooms.save_device(
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
    change = rooms.set_active(
        actor=current_actor(), kind=kind, record_id=record_id, active=active, confirm=confirmed()
    )
    if change.needs_confirmation:
        return _admin_page(200, change=change, change_for=f"{kind}:{record_id}")
    flash_saved(change, f"The {kind} is {'in use' if active else 'out of use'}.")
    return redirect(url_for("staff.admin_home") + f"#{kind}s")


# --- the catalogue file -----------------------------------------------------------------------


@bp.route("/admin/catalogue.json")
@login_required
@permission_required(permissions.is_admin)
def export_catalogue() -> ResponseReturnValue:
    data = catalogue_file.export_catalogue(actor=current_actor())
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
        report, change = catalogue_file.import_catalogue(
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
