"""Practitioners: a held session's treatment record, its photos, a course's photos side by
side, the client's photo consent, and pushing the rest of a course after a severe reaction."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, place_errors, validated
from clinic.photo_pages import NO_STORE, side_by_side
from clinic.services.clinical import photos, records
from clinic.services.clinical import records_wording as words
from clinic.services.core import clinic_setup, permissions
from clinic.services.core.errors import NotFound, PermissionDenied, ServiceError
from clinic.staff import bp
from clinic.staff.common import current_actor
from clinic.staff.record_forms import (
    PREFIX,
    PhotoConsentForm,
    PhotoForm,
    PushForm,
    record_form,
)


def _record_page(
    appointment_id: int,
    *,
    form: Any = None,
    photo_form: PhotoForm | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    page = records.get_record_page(actor=current_actor(), appointment_id=appointment_id)
    if form is None:
        source = page.draft or page.current
        data: dict[str, Any] = {}
        if source is not None:
            data = {PREFIX + code: value for code, value in source.values.items()}
            data |= {
                "areas": source.areas,
                "products": "\n".join(f"{p['name']}, {p['batch']}" for p in source.products),
                "reaction": str(source.reaction) if source.reaction is not None else None,
                "notes": source.notes,
            }
        form = record_form((page.draft.template if page.draft else page.template), data=data)
    return render_template(
        "staff/treatment_record.html",
        page=page,
        form=form,
        photo_form=photo_form or PhotoForm(),
        problems=problems or [],
        tz=clinic_setup.clinic_tz(),
    ), status


@bp.route("/appointments/<int:appointment_id>/record", methods=["GET", "POST"])
@login_required
@permission_required(permissions.reads_clinical_records)
def treatment_record(appointment_id: int) -> ResponseReturnValue:
    if request.method == "GET":
        return _record_page(appointment_id)
    page = records.get_record_page(actor=current_actor(), appointment_id=appointment_id)
    if not page.can_write:
        raise PermissionDenied(words.NOT_YOURS)
    if page.appointment.status != "done":
        return _record_page(appointment_id, problems=[Problem(words.NOT_HELD)], status=422)
    form = record_form(page.draft.template if page.draft else page.template)
    if not form.validate():
        return _record_page(appointment_id, form=form, status=422)
    sign = bool(form.sign.data)
    try:
        entry = records.save_record(
            actor=current_actor(),
            appointment_id=appointment_id,
            entry=form.entry(),
            sign=sign,
            record_id=page.draft.id if page.draft else None,
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        fields = {f["code"]: PREFIX + f["code"] for f, _ in form.template_fields()}
        problems = place_errors(form, exc, fields | {"reaction": "reaction"})
        return _record_page(appointment_id, form=form, problems=problems, status=422)
    if sign:
        flash("The entry is signed off; it can be amended by a new entry only.", "success")
        if entry.reaction == 3:
            flash("Reaction 3: the course's next session is on the attention list.", "warning")
    else:
        flash("Draft saved.", "success")
    return redirect(url_for("staff.treatment_record", appointment_id=appointment_id))


@bp.route("/appointments/<int:appointment_id>/photos", methods=["POST"])
@login_required
@permission_required(permissions.is_practitioner)
def upload_photo(appointment_id: int) -> ResponseReturnValue:
    form = PhotoForm()
    if not form.validate():
        return _record_page(appointment_id, photo_form=form, status=422)
    try:
        photos.add_photo(
            actor=current_actor(),
            appointment_id=appointment_id,
            kind=form.kind.data,
            data=form.photo.data.read(),
        )
    except NotFound:
        raise
    except ServiceError as exc:
        if exc.status == 403 and exc.field is None:
            raise
        problems = place_errors(form, exc, {"photo": "photo", "kind": "kind"})
        return _record_page(appointment_id, photo_form=form, problems=problems, status=422)
    flash("Photo added.", "success")
    return redirect(url_for("staff.treatment_record", appointment_id=appointment_id))


@bp.route("/photos/<int:photo_id>")
@login_required
@permission_required(permissions.reads_clinical_records)
def show_photo(photo_id: int) -> ResponseReturnValue:
    size = "thumb" if request.args.get("size") == "thumb" else "screen"
    data, content_type = photos.get_photo_image(actor=current_actor(), photo_id=photo_id, size=size)
    return Response(data, mimetype=content_type, headers=NO_STORE)


@bp.route("/enrolments/<int:enrolment_id>/photos")
@login_required
@permission_required(permissions.reads_clinical_records)
def compare_photos(enrolment_id: int) -> ResponseReturnValue:
    enrolment, sessions = records.course_photos(actor=current_actor(), enrolment_id=enrolment_id)
    left, right = side_by_side(sessions)
    return render_template(
        "staff/compare_photos.html",
        enrolment=enrolment,
        sessions=sessions,
        left=left,
        right=right,
        photo_url=lambda p, size: url_for("staff.show_photo", photo_id=p.id, size=size),
    )


@bp.route("/clients/<int:client_id>/photo-consent", methods=["POST"])
@login_required
@permission_required(permissions.is_staff)
def record_photo_consent(client_id: int) -> ResponseReturnValue:
    form = PhotoConsentForm()
    if not form.validate():
        abort(400, "The form expired; please try again.")
    photos.record_photo_consent(
        actor=current_actor(),
        client_id=client_id,
        may_take=bool(form.may_take.data),
        may_show_client=bool(form.may_show_client.data),
    )
    flash("Photo consent saved.", "success")
    back = request.form.get("appointment", type=int)
    if back:
        return redirect(url_for("staff.treatment_record", appointment_id=back))
    return redirect(url_for("staff.show_client", client_id=client_id))


@bp.route("/enrolments/<int:enrolment_id>/push", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def push_course(enrolment_id: int) -> ResponseReturnValue:
    form = PushForm()
    if not form.validate():
        wrong = [e for errors in form.errors.values() for e in errors]
        flash(str(wrong[0]) if wrong else "The form expired; please try again.", "error")
        return redirect(url_for("staff.attention"))
    try:
        moved = records.push_course(
            actor=current_actor(), enrolment_id=enrolment_id, days=validated(form.days.data)
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("staff.attention"))
    flash(
        f"The rest of the course is pushed by {form.days.data} days "
        f"({len(moved)} session{'s' if len(moved) != 1 else ''} moved); the client is told.",
        "success",
    )
    return redirect(url_for("staff.attention"))


@bp.app_context_processor
def record_forms() -> dict[str, object]:
    """The forms other staff pages show: the photo consent (client record), pushing a course
    (attention list)."""
    return {
        "photo_consent_form": PhotoConsentForm,
        "photo_consent_of": photos.photo_consent,
        "push_form": PushForm,
        "reads_clinical_records": permissions.reads_clinical_records,
    }
