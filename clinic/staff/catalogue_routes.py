"""Cosmetologists and admins edit the catalogue: restrictions, procedures, course templates."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from clinic.auth.access import login_required, permission_required
from clinic.form_checks import options
from clinic.form_errors import Problem, place_errors
from clinic.models import Device
from clinic.services.catalogue import catalogue_admin, catalogue_queries
from clinic.services.clinical import consent_wording
from clinic.services.core import permissions
from clinic.services.core.db import db_session
from clinic.services.core.errors import ServiceError
from clinic.services.lifetime.attention import WorldChange
from clinic.services.world import course_wording
from clinic.services.world.course_wording import CareText, describe_course
from clinic.staff import bp
from clinic.staff.catalogue_forms import (
    ConsentFormForm,
    CourseForm,
    ProcedureForm,
    RestrictionForm,
)
from clinic.staff.common import current_actor
from clinic.staff.forms import ConfirmForm
from clinic.world_pages import confirmed, flash_saved

# The record forms share `code`, `preview` and `values()`.
CatalogueForm = RestrictionForm | ProcedureForm | CourseForm | ConsentFormForm

FORMS: dict[str, type[CatalogueForm]] = {
    "restriction": RestrictionForm,
    "procedure": ProcedureForm,
    "course": CourseForm,
    "consent_form": ConsentFormForm,
}
TITLES = {
    "restriction": "restriction",
    "procedure": "procedure",
    "course": "course template",
    "consent_form": "consent form",
}
_PATH = re.compile(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")


def _kind_or_404(kind: str) -> None:
    if kind not in FORMS:
        abort(404)


@bp.route("/catalogue")
@login_required
@permission_required(permissions.can_edit_catalogue)
def catalogue() -> ResponseReturnValue:
    restrictions = catalogue_admin.list_restrictions()
    texts = {r.code: r.text for r in restrictions}
    procedures = catalogue_admin.list_procedures()
    courses = catalogue_queries.list_courses(include_retired=True)
    consent_forms = catalogue_admin.list_consent_forms()
    return render_template(
        "staff/catalogue.html",
        restrictions=restrictions,
        procedures=procedures,
        courses=courses,
        course_sentences={
            c.code: _sentence("course", catalogue_admin.as_values(c), texts) for c in courses
        },
        procedure_sentences={
            p.code: _sentence("procedure", catalogue_admin.as_values(p)) for p in procedures
        },
        consent_forms=consent_forms,
        consent_sentences={
            c.code: _sentence("consent_form", catalogue_admin.as_values(c)) for c in consent_forms
        },
        confirm=ConfirmForm(),
    )


def _choices(form: CatalogueForm) -> None:
    restrictions = catalogue_admin.list_restrictions(include_retired=False)
    if isinstance(form, ProcedureForm):
        kinds = sorted(set(db_session().scalars(select(Device.kind))))
        form.device_kind.choices = options([("", "No device"), *((k, k) for k in kinds)])
        form.blocked_by.choices = options((r.code, f"{r.text} ({r.code})") for r in restrictions)
        form.patch_test_procedure.choices = options(
            [("", "No patch test")]
            + [
                (p.code, f"{p.name} ({p.code})")
                for p in catalogue_admin.list_procedures(include_retired=False)
            ]
        )
    if isinstance(form, CourseForm):
        form.procedure.choices = options(
            [("", "Choose a procedure")]
            + [
                (p.code, f"{p.name} ({p.code})")
                for p in catalogue_admin.list_procedures(include_retired=False)
            ]
        )
        care = options([("", "—"), *((r.code, f"{r.text} ({r.code})") for r in restrictions)])
        for row in (*form.aftercare, *form.precare):
            row.form.restriction.choices = care
    if isinstance(form, ConsentFormForm):
        form.procedures.choices = options(
            (p.code, f"{p.name} ({p.code})")
            for p in catalogue_admin.list_procedures(include_retired=False)
        )


def _sentence(kind: str, values: dict[str, Any], texts: dict[str, str] | None = None) -> str:
    """The rule a record's values make, in one sentence (computed from the form, saved or not)."""
    if kind == "restriction":
        return course_wording.describe_restriction(
            code=values.get("code", ""), text=values.get("text", ""), kind=values.get("kind", "")
        )
    if kind == "consent_form":
        names = {p.code: p.name for p in catalogue_admin.list_procedures()}
        return consent_wording.describe_form(
            procedures=[names.get(c, c) for c in values.get("procedures", [])],
            valid_days=values.get("valid_days"),
        )
    if kind == "procedure":
        return course_wording.describe_procedure(
            duration_min=values.get("duration_min"),
            buffer_min=values.get("buffer_min"),
            qualification=values.get("qualification", ""),
            device_kind=values.get("device_kind"),
            blocked_by=values.get("blocked_by", []),
        )
    if texts is None:
        texts = {r.code: r.text for r in catalogue_admin.list_restrictions()}

    def care(items: list[dict[str, Any]]) -> list[CareText]:
        return [
            CareText(texts.get(c["restriction"], c["restriction"]), c["hours"])
            for c in items
            if isinstance(c.get("hours"), int) and c["hours"] > 0
        ]

    return describe_course(
        sessions=values.get("sessions"),
        min_days=values.get("min_interval_days"),
        max_days=values.get("max_interval_days"),
        ideal_days=values.get("ideal_interval_days"),
        aftercare=care(values.get("aftercare", [])),
        precare=care(values.get("precare", [])),
        contraindications=[
            (c["code"], c["lookback_days"]) for c in values.get("contraindications", [])
        ],
        months=values.get("months", []),
        phototypes=values.get("phototypes", []),
    )


def _place_errors(form: CatalogueForm, exc: ServiceError) -> list[Problem]:
    """Each error of the catalogue reader next to its field ('aftercare[1].hours' -> that
    row's hours); the rest for the top."""
    rows = form.row_map() if isinstance(form, CourseForm) else {}

    def find(path: str) -> Any:
        match = _PATH.match(path)
        if match is None:
            return None
        name, index, sub = match.group(1), match.group(2), match.group(3)
        if name == "patch_test" and sub:  # the nested record's fields are flat in the form
            return getattr(form, f"patch_test_{sub}", None)
        field = getattr(form, name, None)
        if field is not None and name in rows and index is not None and sub:
            form_rows = rows[name]
            if int(index) >= len(form_rows):
                return None
            return getattr(field[form_rows[int(index)]].form, sub, None)
        return field

    return place_errors(form, exc, find)


def _edit_page(
    kind: str,
    form: CatalogueForm,
    *,
    code: str | None,
    top: list[Problem],
    status: int,
    change: WorldChange | None = None,
) -> tuple[str, int]:
    row = catalogue_admin.get_record(kind, code) if code else None
    return render_template(
        f"staff/edit_{kind}.html",
        form=form,
        kind=kind,
        title=TITLES[kind],
        code=code,
        row=row,
        top=top,
        sentence=_sentence(kind, form.values()),
        booked_notice=(
            catalogue_admin.booked_courses_notice(code, saved=False)
            if kind == "course" and code
            else None
        ),
        confirm=ConfirmForm(),
        change=change,
    ), status


def _handle(kind: str, form: CatalogueForm, code: str | None) -> ResponseReturnValue:
    if code is not None:  # a code never changes
        form.code.data = code
        form.code.render_kw = {"readonly": True}
    if request.method == "GET" or form.preview.data:
        if request.method == "POST":
            form.validate()
        return _edit_page(kind, form, code=code, top=[], status=200)
    if not form.validate():
        return _edit_page(kind, form, code=code, top=[], status=422)
    try:
        change = catalogue_admin.save(
            actor=current_actor(),
            kind=kind,
            values=form.values(),
            create=code is None,
            confirm=confirmed(),
        )
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        return _edit_page(kind, form, code=code, top=_place_errors(form, exc), status=422)
    if change.needs_confirmation:
        return _edit_page(kind, form, code=code, top=[], status=200, change=change)
    flash_saved(change, f"Saved the {TITLES[kind]} {form.code.data}.")
    if kind == "course" and code is not None:
        flash(catalogue_admin.booked_courses_notice(code, saved=True), "info")
    return redirect(url_for("staff.catalogue") + f"#{kind}s")


@bp.route("/catalogue/<kind>/new", methods=["GET", "POST"])
@login_required
@permission_required(permissions.can_edit_catalogue)
def new_record(kind: str) -> ResponseReturnValue:
    _kind_or_404(kind)
    form = FORMS[kind]()
    _choices(form)
    return _handle(kind, form, None)


@bp.route("/catalogue/<kind>/<code>", methods=["GET", "POST"])
@login_required
@permission_required(permissions.can_edit_catalogue)
def edit_record(kind: str, code: str) -> ResponseReturnValue:
    _kind_or_404(kind)
    row = catalogue_admin.get_record(kind, code)
    if request.method == "GET":
        values = catalogue_admin.as_values(row)
        form = FORMS[kind](data=values)
        if isinstance(form, CourseForm):  # room to add rules below the existing ones
            for name in ("aftercare", "precare", "contraindications"):
                rows = getattr(form, name)
                while len(rows) < len(values[name]) + 2:
                    rows.append_entry()
    else:
        form = FORMS[kind]()
    _choices(form)
    return _handle(kind, form, code)


@bp.route("/catalogue/<kind>/<code>/retire", methods=["POST"])
@login_required
@permission_required(permissions.can_edit_catalogue)
def retire_record(kind: str, code: str) -> ResponseReturnValue:
    _kind_or_404(kind)
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    retired = request.form.get("restore") != "1"
    catalogue_admin.set_retired(actor=current_actor(), kind=kind, code=code, retired=retired)
    if retired:
        flash(
            f"Retired the {TITLES[kind]} {code}: no longer offered; existing bookings keep it.",
            "success",
        )
    else:
        flash(f"The {TITLES[kind]} {code} is offered again.", "success")
    return redirect(url_for("staff.catalogue") + f"#{kind}s")
