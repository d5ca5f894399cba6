"""Reception books the rest of a course from the client record: the next session, or all
that remain, proposed from the last one held or booked, then booked into that course."""

from __future__ import annotations

from collections.abc import Sequence

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, place_errors
from clinic.models import utcnow
from clinic.proposals import decode_proposals, encode_proposal, proposal_rows, rest_count
from clinic.screening_forms import RestPlanForm
from clinic.services.core import permissions
from clinic.services.core.errors import ServiceError
from clinic.services.courses import course_rest
from clinic.services.courses.course_rest import EnrolmentState
from clinic.services.courses.placing import SessionRequest
from clinic.staff import bp
from clinic.staff.common import current_actor
from clinic.staff.forms import RestBookForm


def _render(
    state: EnrolmentState,
    requests: Sequence[SessionRequest],
    form: RestPlanForm,
    book: RestBookForm,
    problems: Sequence[Problem],
    status: int,
) -> ResponseReturnValue:
    return render_template(
        "staff/rest_plan.html",
        state=state,
        enrolment=state.enrolment,
        course=state.enrolment.course,
        client=state.enrolment.client,
        rows=proposal_rows(state, requests, utcnow()),
        form=form,
        book=book,
        encoded=[encode_proposal(r.start, r.practitioner_id) for r in requests],
        problems=problems,
        soft=any(p.soft for p in problems),
        precare=any(p.code == "precare_not_kept" for p in problems),
    ), status


@bp.route("/enrolments/<int:enrolment_id>/plan")
@login_required
@permission_required(permissions.is_desk)
def plan_rest(enrolment_id: int) -> ResponseReturnValue:
    actor = current_actor()
    enrolment = course_rest.get_enrolment(actor=actor, enrolment_id=enrolment_id)
    form = RestPlanForm(request.args)
    requests: list[SessionRequest] = []
    problems: list[Problem] = []
    if form.validate():
        try:
            plan = course_rest.plan_rest(
                actor=actor,
                enrolment_id=enrolment.id,
                earliest=form.earliest.data,
                count=rest_count(form.count.data),
            )
        except ServiceError as exc:
            problems = place_errors(form, exc)
        else:
            problems = [Problem(n.message, code=n.code) for n in plan.notes]
            requests = [SessionRequest(p.slot.start, p.slot.practitioner_id) for p in plan.sessions]
    failed = bool(form.errors or (problems and not requests))
    state = course_rest.enrolment_state(enrolment)
    return _render(state, requests, form, RestBookForm(), problems, 422 if failed else 200)


@bp.route("/enrolments/<int:enrolment_id>/sessions", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def book_rest(enrolment_id: int) -> ResponseReturnValue:
    actor = current_actor()
    enrolment = course_rest.get_enrolment(actor=actor, enrolment_id=enrolment_id)
    requests = decode_proposals(request.form.getlist("s"))
    book = RestBookForm()
    problems: list[Problem] = []
    if book.validate_on_submit():
        try:
            booked = course_rest.book_rest(
                actor=actor,
                enrolment_id=enrolment.id,
                sessions=requests,
                override_reason=book.override_reason.data or "",
                precare_confirmed=bool(book.precare_confirmed.data),
            )
        except ServiceError as exc:
            problems = place_errors(book, exc)
        else:
            n = len(booked.appointments)
            flash(
                f"Booked {n} more session{'s' if n != 1 else ''} of {enrolment.course.name} "
                f"for {enrolment.client.name}.",
                "success",
            )
            return redirect(
                url_for(
                    "staff.show_client",
                    client_id=enrolment.client_id,
                    _anchor=f"enrolment-{enrolment.id}",
                )
            )
    elif "csrf_token" in book.errors:
        problems = [Problem("The form has expired; please book again.")]
    state = course_rest.enrolment_state(enrolment)
    form = RestPlanForm(meta={"csrf": False})
    return _render(state, requests, form, book, problems, 422)
