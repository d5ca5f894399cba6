"""The client's health screening and declared periods (a beach holiday, a wedding): what the
planner must keep a course clear of."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import safe_next
from clinic.booking import bp
from clinic.booking.common import PERIOD_WORDS, client_only, current_actor
from clinic.booking.forms import DeleteForm, PeriodForm
from clinic.form_errors import Problem, place_errors
from clinic.models import utcnow
from clinic.screening_forms import (
    fill_screening,
    screening_answers,
    screening_fields,
    screening_form_class,
    screening_phototype,
)
from clinic.services.core.errors import ServiceError
from clinic.services.people import clients, declared_periods, health_screening
from clinic.services.world.screening import screening_status
from clinic.world_pages import flash_saved


@bp.route("/my/screening", methods=["GET", "POST"])
@client_only
def screening() -> ResponseReturnValue:
    actor = current_actor()
    questions = health_screening.screening_questions()
    form = screening_form_class(questions)()
    client = clients.get_client(actor=actor)
    if request.method == "GET":
        fill_screening(
            form, questions, health_screening.screening_answers(actor=actor), client.phototype
        )
    top_errors: list[Problem] = []
    if form.validate_on_submit():
        try:
            change = health_screening.save_screening(
                actor=actor,
                answers=screening_answers(form, questions),
                phototype=screening_phototype(form),
            )
        except ServiceError as exc:
            top_errors = place_errors(form, exc, screening_fields(questions))
        else:
            flash_saved(
                change, "Thank you: your health screening is saved and confirmed.", staff=False
            )
            return redirect(safe_next(url_for("booking.courses")))
    status = screening_status(client)
    return render_template(
        "booking/screening.html",
        form=form,
        questions=questions,
        status=status,
        current=status.current(utcnow()),
        top_errors=top_errors,
    ), 422 if form.errors or top_errors else 200


@bp.route("/my/periods", methods=["GET", "POST"])
@client_only
def periods() -> ResponseReturnValue:
    actor = current_actor()
    form = PeriodForm()
    top_errors: list[Problem] = []
    if form.validate_on_submit():
        try:
            _, change = declared_periods.add_period(
                actor=actor,
                kind=form.kind.data or "",
                start_on=form.start.data,
                end_on=form.end.data,
                note=form.note.data or "",
            )
        except ServiceError as exc:
            top_errors = place_errors(form, exc)
        else:
            flash_saved(
                change, "Saved. The planner will keep your aftercare clear of it.", staff=False
            )
            return redirect(url_for("booking.periods"))
    return render_template(
        "booking/periods.html",
        form=form,
        periods=declared_periods.list_periods(actor=actor),
        delete_form=DeleteForm(),
        words=PERIOD_WORDS,
        top_errors=top_errors,
    ), 422 if form.errors or top_errors else 200


@bp.route("/my/periods/<int:period_id>/delete", methods=["POST"])
@client_only
def delete_period(period_id: int) -> ResponseReturnValue:
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400, "The form has expired; please try again.")
    change = declared_periods.remove_period(actor=current_actor(), period_id=period_id)
    flash_saved(change, "Removed.", staff=False)
    return redirect(url_for("booking.periods"))
