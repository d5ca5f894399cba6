"""Planning and booking a course: the client's preferences, the proposal to review (one
session swapped for another time if wanted), and booking it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.booking import bp
from clinic.booking.common import PERIOD_WORDS, client_only, current_actor
from clinic.booking.forms import ConfirmForm, DayForm, PlanForm
from clinic.booking.grid import month_grids
from clinic.form_checks import options
from clinic.form_errors import Problem, place_errors, validated
from clinic.models import utcnow
from clinic.proposals import decode_proposals, encode_proposal
from clinic.scheduling import Preferences, describe_window
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.errors import ServiceError
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from clinic.services.people import booking_choices, client_records, clients, declared_periods
from clinic.services.world import course_catalogue, screening

# --- the pages ---------------------------------------------------------------------------------


def _plan_form(course_code: str) -> PlanForm:
    # Opened again with what the client chose (the way back from signing a consent form,
    # `_plan_back`), the form starts from those values.
    chosen = request.method == "GET" and "earliest" in request.args
    form = PlanForm(formdata=request.args) if chosen else PlanForm()
    form.practitioner.choices = options(
        [(0, "Whoever is free")]
        + [(p.id, p.name) for p in booking_choices.practitioner_choices(course_code)]
    )
    return form


@bp.route("/courses/<code>/plan", methods=["GET", "POST"])
@client_only
def plan(code: str) -> ResponseReturnValue:
    actor = current_actor()
    course = course_catalogue.get_course(code)
    form = _plan_form(code)
    now = utcnow()
    if request.method == "GET" and form.earliest.data is None:
        form.earliest.data = date_range.clinic_today(now) + timedelta(days=2)
    top_errors: Sequence[Problem | str] = []
    if form.validate_on_submit():
        prefs = Preferences(
            weekdays=frozenset(form.weekdays.data) if form.weekdays.data else None,
            time_from=time.fromisoformat(form.time_from.data) if form.time_from.data else None,
            time_to=time.fromisoformat(form.time_to.data) if form.time_to.data else None,
            practitioner_id=form.practitioner.data or None,
        )
        try:
            proposal = enrol.plan_course_for(
                actor=actor,
                course_code=code,
                client_id=None,
                earliest=validated(form.earliest.data),
                preferences=prefs,
                now=now,
            )
        except ServiceError as exc:
            top_errors = place_errors(form, exc, {"preferences.practitioner": "practitioner"})
        else:
            chosen = proposal.sessions
            for note in proposal.notes:  # e.g. the plan starts only next season, and why
                flash(note.message, "warning")
            if form.how_many.data == "first":
                chosen = chosen[:1]
            test = proposal.patch_test
            return redirect(
                url_for(
                    "booking.review",
                    code=code,
                    s=[encode_proposal(p.slot.start, p.slot.practitioner_id) for p in chosen],
                    # The patch test the course needs, planned with it.
                    t=encode_proposal(test.slot.start, test.slot.practitioner_id)
                    if test is not None
                    else None,
                )
            )
    client = clients.get_client(actor=actor)
    return render_template(
        "booking/plan.html",
        course=course,
        form=form,
        screening_problem=screening.screening_violation(client, now),
        outlook=booking_choices.course_outlook(client, [course], now)[course.code],
        top_errors=top_errors,
        back=_plan_back(code, form),
    ), 422 if form.errors or top_errors else 200


def _plan_back(code: str, form: PlanForm) -> str:
    """This plan page with what the client chose, as a link (back from signing a form)."""
    chosen = {
        "earliest": form.earliest.raw_data[0] if form.earliest.raw_data else None,
        "weekdays": form.weekdays.data or None,
        "time_from": form.time_from.data or None,
        "time_to": form.time_to.data or None,
        "practitioner": form.practitioner.data or None,
        "how_many": form.how_many.data,
    }
    return url_for("booking.plan", code=code, **{k: v for k, v in chosen.items() if v})


def _patch_test(values: list[str]) -> SessionRequest | None:
    """The patch test a proposal carries (`t`), if any."""
    return decode_proposals(values)[0] if values else None


def _review_context(
    code: str, requests: list[SessionRequest], test: SessionRequest | None = None
) -> dict[str, object]:
    actor = current_actor()
    course = course_catalogue.get_course(code)
    tz = clinic_setup.clinic_tz()
    care = booking_choices.care_for_starts(code, [proposed.start for proposed in requests])
    now = utcnow()  # a pre-care already begun is told without its past date (rule 11)
    names = {p.id: p.name for p in booking_choices.practitioner_choices(code)}
    rows = []
    for number, (proposed, windows) in enumerate(zip(requests, care, strict=True), start=1):
        rows.append(
            {
                "number": number,
                "start": proposed.start,
                "practitioner": names.get(proposed.practitioner_id or 0, "Any practitioner"),
                "care": [describe_window(w, tz, now) for w in windows],
                "swap_url": url_for(
                    "booking.swap",
                    code=code,
                    k=number,
                    s=[encode_proposal(r.start, r.practitioner_id) for r in requests],
                    t=encode_proposal(test.start, test.practitioner_id) if test else None,
                ),
            }
        )
    periods = declared_periods.list_periods(actor=actor)
    grids = month_grids(
        sessions=([(test.start, "Patch test", ())] if test else [])
        + [
            (proposed.start, f"Session {number} of {course.sessions}", windows)
            for number, (proposed, windows) in enumerate(zip(requests, care, strict=True), start=1)
        ],
        periods=[(p.start_on, p.end_on, PERIOD_WORDS[p.kind]) for p in periods],
        tz=tz,
    )
    encoded = [encode_proposal(r.start, r.practitioner_id) for r in requests]
    test_encoded = encode_proposal(test.start, test.practitioner_id) if test else None
    test_names = {p.id: p.name for p in client_records.list_practitioners()} if test else {}
    return {
        "course": course,
        "rows": rows,
        "patch_test_practitioner": test_names.get(test.practitioner_id or 0, "Any practitioner")
        if test
        else None,
        "grids": grids,
        "encoded": encoded,
        "patch_test": test,
        "patch_test_encoded": test_encoded,
        # Back to this very proposal from signing a consent form.
        "back": url_for("booking.review", code=code, s=encoded, t=test_encoded),
    }


@bp.route("/courses/<code>/review")
@client_only
def review(code: str) -> ResponseReturnValue:
    requests = decode_proposals(request.args.getlist("s"))
    test = _patch_test(request.args.getlist("t"))
    return render_template(
        "booking/review.html",
        form=ConfirmForm(),
        top_errors=[],
        **_review_context(code, requests, test),
    )


@bp.route("/courses/<code>/swap")
@client_only
def swap(code: str) -> ResponseReturnValue:
    """Another time for proposed session k: the free times of a chosen day."""
    requests = decode_proposals(request.args.getlist("s"))
    test = _patch_test(request.args.getlist("t"))
    test_encoded = encode_proposal(test.start, test.practitioner_id) if test else None
    number = request.args.get("k", type=int)
    if number is None or not 1 <= number <= len(requests):
        abort(404, "There is no such session in this proposal.")
    course = course_catalogue.get_course(code)
    tz = clinic_setup.clinic_tz()
    current = requests[number - 1]
    form = DayForm(request.args, meta={"csrf": False})
    day = current.start.astimezone(tz).date()
    day_invalid = False
    if "day" in request.args:
        if form.validate():
            day = validated(form.day.data)
        else:
            day_invalid = True
    else:
        form.day.data = day
    choices = []
    why_none = None
    if not day_invalid:
        # Only the starts "Confirm" would accept with the other sessions as proposed.
        try:
            offer = enrol.proposal_offers(
                actor=current_actor(),
                course_code=code,
                client_id=None,
                sessions=requests,
                number=number,
                day=day,
                patch_test=test,
            )
        except ServiceError as exc:
            place_errors(form, exc, default=form.day)
            day_invalid = True
        else:
            why_none = offer.why_none
            for slot in offer.slots:
                replaced = list(requests)
                replaced[number - 1] = SessionRequest(slot.start, slot.practitioner_id)
                choices.append(
                    {
                        "start": slot.start,
                        "url": url_for(
                            "booking.review",
                            code=code,
                            s=[encode_proposal(r.start, r.practitioner_id) for r in replaced],
                            t=test_encoded,
                        ),
                    }
                )
    return render_template(
        "booking/swap.html",
        course=course,
        k=number,
        current=current,
        form=form,
        day=day,
        choices=choices,
        why_none=why_none,
        encoded=[encode_proposal(r.start, r.practitioner_id) for r in requests],
        patch_test_encoded=test_encoded,
        back=url_for("booking.review", code=code, s=request.args.getlist("s"), t=test_encoded),
    ), 422 if day_invalid else 200


@bp.route("/courses/<code>/book", methods=["POST"])
@client_only
def book(code: str) -> ResponseReturnValue:
    actor = current_actor()
    requests = decode_proposals(request.form.getlist("s"))
    test = _patch_test(request.form.getlist("t"))
    form = ConfirmForm()
    top_errors: Sequence[Problem | str] = []
    if form.validate_on_submit():
        now = utcnow()
        try:
            enrolment = enrol.book_course(
                actor=actor,
                course_code=code,
                client_id=None,
                sessions=requests,
                patch_test=test,
                now=now,
            )
        except ServiceError as exc:
            top_errors = place_errors(form, exc)
        else:
            flash("Booked. We have emailed you the dates and the aftercare.", "success")
            return redirect(url_for("booking.my_sessions", _anchor=f"enrolment-{enrolment.id}"))
    else:
        top_errors = ["The form has expired; please confirm again."]
    return render_template(
        "booking/review.html",
        form=form,
        top_errors=top_errors,
        **_review_context(code, requests, test),
    ), 422
