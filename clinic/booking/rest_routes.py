"""The rest of a course booked in parts: the proposal of the next session (or all that
remain) of a course the client holds, and booking it into that course."""

from __future__ import annotations

from collections.abc import Sequence

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.booking import bp
from clinic.booking.common import PERIOD_WORDS, client_only, current_actor
from clinic.booking.forms import ConfirmForm
from clinic.booking.grid import month_grids
from clinic.form_errors import Problem, place_errors
from clinic.models import utcnow
from clinic.proposals import decode_proposals, encode_proposal, proposal_rows, rest_count
from clinic.screening_forms import RestPlanForm
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.errors import ServiceError
from clinic.services.courses import course_rest
from clinic.services.courses.course_rest import EnrolmentState
from clinic.services.courses.placing import SessionRequest
from clinic.services.people import declared_periods


def _render(
    actor: Actor,
    state: EnrolmentState,
    requests: Sequence[SessionRequest],
    form: RestPlanForm,
    top_errors: Sequence[Problem | str],
    status: int,
) -> ResponseReturnValue:
    now = utcnow()
    rows = proposal_rows(state, requests, now)
    periods = declared_periods.list_periods(actor=actor)
    grids = month_grids(
        sessions=[
            (row["start"], f"Session {row['number']} of {state.progress.total}", row["windows"])
            for row in rows
        ],
        periods=[(p.start_on, p.end_on, PERIOD_WORDS[p.kind]) for p in periods],
        tz=clinic_setup.clinic_tz(),
    )
    return render_template(
        "booking/rest_plan.html",
        state=state,
        course=state.enrolment.course,
        rows=rows,
        grids=grids,
        form=form,
        confirm=ConfirmForm(),
        encoded=[encode_proposal(r.start, r.practitioner_id) for r in requests],
        top_errors=top_errors,
    ), status


@bp.route("/my/courses/<int:enrolment_id>/plan")
@client_only
def plan_rest(enrolment_id: int) -> ResponseReturnValue:
    """The next session, or all that remain, proposed from the last one held or booked."""
    actor = current_actor()
    enrolment = course_rest.get_enrolment(actor=actor, enrolment_id=enrolment_id)
    form = RestPlanForm(request.args)
    requests: list[SessionRequest] = []
    top_errors: Sequence[Problem | str] = []
    if form.validate():
        try:
            plan = course_rest.plan_rest(
                actor=actor,
                enrolment_id=enrolment.id,
                earliest=form.earliest.data,
                count=rest_count(form.count.data),
            )
        except ServiceError as exc:
            top_errors = place_errors(form, exc)
        else:
            for note in plan.notes:
                flash(note.message, "warning")
            requests = [SessionRequest(p.slot.start, p.slot.practitioner_id) for p in plan.sessions]
    state = course_rest.enrolment_state(enrolment)
    failed = bool(form.errors or top_errors)
    return _render(actor, state, requests, form, top_errors, 422 if failed else 200)


@bp.route("/my/courses/<int:enrolment_id>/sessions", methods=["POST"])
@client_only
def book_rest(enrolment_id: int) -> ResponseReturnValue:
    actor = current_actor()
    enrolment = course_rest.get_enrolment(actor=actor, enrolment_id=enrolment_id)
    requests = decode_proposals(request.form.getlist("s"))
    confirm = ConfirmForm()
    top_errors: Sequence[Problem | str]
    if confirm.validate_on_submit():
        try:
            booked = course_rest.book_rest(
                actor=actor, enrolment_id=enrolment.id, sessions=requests
            )
        except ServiceError as exc:
            top_errors = place_errors(confirm, exc)
        else:
            flash("Booked. We have emailed you the new dates and their aftercare.", "success")
            return redirect(
                url_for("booking.my_sessions", _anchor=f"enrolment-{booked.enrolment.id}")
            )
    else:
        top_errors = ["The form has expired; please confirm again."]
    form = RestPlanForm(meta={"csrf": False})
    state = course_rest.enrolment_state(enrolment)
    return _render(actor, state, requests, form, top_errors, 422)
