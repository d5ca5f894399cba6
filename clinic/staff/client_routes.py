"""The client record for staff; reception creates clients, keeps their contact details and
notes, and records the screening a client gives on the phone or at the desk."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, place_errors
from clinic.models import utcnow
from clinic.scheduling import describe_window
from clinic.scheduling.wording import condition_label, phototype_label
from clinic.screening_forms import (
    fill_screening,
    screening_answers,
    screening_fields,
    screening_form_class,
    screening_phototype,
)
from clinic.services.clinical import consents
from clinic.services.core import clinic_setup, permissions
from clinic.services.core.errors import ServiceError
from clinic.services.core.permissions import is_desk
from clinic.services.courses import course_rest
from clinic.services.people import accounts, client_records, clients, health_screening
from clinic.services.world import screening
from clinic.staff import bp
from clinic.staff.common import current_actor
from clinic.staff.consent_routes import paper_form
from clinic.staff.forms import ClientContactForm, ClientSearchForm, ConfirmForm, NewClientForm
from clinic.world_pages import confirmed, flash_saved


@bp.route("/clients")
@login_required
@permission_required(permissions.is_staff)
def list_clients() -> ResponseReturnValue:
    form = ClientSearchForm(request.args)
    status = 200
    clients = []
    if form.validate():
        clients = client_records.list_clients(actor=current_actor(), query=form.q.data or "")
    else:
        status = 422
    return render_template(
        "staff/clients.html", form=form, clients=clients, can_create=is_desk(current_actor())
    ), status


@bp.route("/clients/new", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_desk)
def new_client() -> ResponseReturnValue:
    """A new client: a first-time caller on the phone, or someone at the desk."""
    form = NewClientForm()
    problems: list[Problem] = []
    if form.validate_on_submit():
        try:
            client = accounts.create_client(
                actor=current_actor(),
                email=form.email.data or "",
                name=form.name.data or "",
                phone=form.phone.data or "",
                notes=form.notes.data or "",
            )
        except ServiceError as exc:
            problems = place_errors(form, exc)
        else:
            flash(f"Created the client record of {client.name}.", "success")
            return redirect(url_for("staff.show_client", client_id=client.id))
    status = 422 if form.errors or problems else 200
    return render_template("staff/client_form.html", form=form, client=None, problems=problems), (
        status
    )


@bp.route("/clients/<int:client_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_desk)
def edit_client(client_id: int) -> ResponseReturnValue:
    actor = current_actor()
    client = clients.get_client(actor=actor, client_id=client_id)
    form = ClientContactForm(obj=None if request.method == "POST" else client)
    problems: list[Problem] = []
    if form.validate_on_submit():
        try:
            clients.update_profile(
                actor=actor,
                client_id=client_id,
                name=form.name.data or "",
                phone=form.phone.data or "",
                notes=form.notes.data or "",
            )
        except ServiceError as exc:
            problems = place_errors(form, exc)
        else:
            flash("Saved the contact details and notes.", "success")
            return redirect(url_for("staff.show_client", client_id=client_id))
    status = 422 if form.errors or problems else 200
    return render_template(
        "staff/client_form.html", form=form, client=client, problems=problems
    ), status


@bp.route("/clients/<int:client_id>/screening", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_desk)
def record_screening(client_id: int) -> ResponseReturnValue:
    """Reception records the answers a client gives (on the phone or at the desk)."""
    actor = current_actor()
    client = clients.get_client(actor=actor, client_id=client_id)
    questions = health_screening.screening_questions()
    form = screening_form_class(questions, staff=True)()
    if request.method == "GET":
        fill_screening(
            form,
            questions,
            health_screening.screening_answers(actor=actor, client_id=client_id),
            client.phototype,
        )
    problems: list[Problem] = []
    change = None
    if form.validate_on_submit():
        try:
            change = health_screening.save_screening(
                actor=actor,
                client_id=client_id,
                answers=screening_answers(form, questions),
                phototype=screening_phototype(form),
                confirm=confirmed(),
            )
        except ServiceError as exc:
            problems = place_errors(form, exc, screening_fields(questions))
        else:
            if not change.needs_confirmation:
                flash_saved(change, f"Saved and confirmed the health screening of {client.name}.")
                return redirect(url_for("staff.show_client", client_id=client_id))
    status = screening.screening_status(client)
    return render_template(
        "staff/screening.html",
        form=form,
        questions=questions,
        client=client,
        status=status,
        current=status.current(utcnow()),
        problems=problems,
        change=change,
    ), 422 if form.errors or problems else 200


@bp.route("/clients/<int:client_id>")
@login_required
@permission_required(permissions.is_staff)
def show_client(client_id: int) -> ResponseReturnValue:
    actor = current_actor()
    record = client_records.get_client_record(actor=actor, client_id=client_id)
    tz = clinic_setup.clinic_tz()
    return render_template(
        "staff/client.html",
        signed=consents.list_consents(actor=actor, client_id=client_id, where="client page"),
        paper=paper_form(record.client.name) if is_desk(actor) else None,
        record=record,
        client=record.client,
        tz=tz,
        describe=lambda w: describe_window(w, tz),
        condition_label=condition_label,
        phototype_label=phototype_label,
        confirm=ConfirmForm(),
        can_book=is_desk(actor),
        states={
            e.enrolment.id: course_rest.enrolment_state(e.enrolment) for e in record.enrolments
        },
    )
