"""The client's sessions: the list with aftercare and messages, calendar files, and moving or
cancelling a session within the notice policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from clinic.booking import bp
from clinic.booking.common import PERIOD_WORDS, client_only, current_actor
from clinic.booking.forms import CancelForm, DayForm, MoveForm
from clinic.booking.grid import month_grids
from clinic.form_errors import Problem, place_errors, validated
from clinic.models import RESTRICTING_STATUSES, Appointment, utcnow
from clinic.scheduling import describe_window
from clinic.services.core import clinic_setup, date_range, permissions
from clinic.services.core.actors import Actor
from clinic.services.core.errors import Conflict, RuleViolation, ServiceError
from clinic.services.courses import cancellation, course_rest, moves, reads
from clinic.services.courses.moves import MoveOutcome
from clinic.services.messages import calendar_files, outbox
from clinic.services.people import calendar_feed as calendar_feed_service
from clinic.services.people import declared_periods
from clinic.services.world import aftercare, client_reads, flags
from clinic.services.world.progress import session_place


@bp.route("/my/sessions")
@client_only
def my_sessions() -> ResponseReturnValue:
    actor = current_actor()
    now = utcnow()
    tz = clinic_setup.clinic_tz()
    appointments = [a for a in reads.list_appointments(actor=actor) if a.status != "cancelled"]
    flagged = flags.flags_of(a.id for a in appointments if a.status == "booked")
    by_enrolment: dict[int, dict[str, Any]] = {}
    grid_sessions = []
    for appointment in appointments:
        enrolment = appointment.enrolment
        group = by_enrolment.setdefault(
            appointment.enrolment_id,
            {"enrolment": enrolment, "course": enrolment.course, "rows": []},
        )
        care = aftercare.aftercare_for(appointment)
        refusal = permissions.change_refusal(actor, appointment, now)
        group["rows"].append(
            {
                "a": appointment,
                "upcoming": appointment.is_to_come(now),
                "care": [describe_window(w, tz, now) for w in care],
                "too_late": refusal.message if refusal else None,
                "flag": flagged.get(appointment.id),
            }
        )
        recent = appointment.end_at > now - timedelta(days=62)
        if recent and appointment.status in RESTRICTING_STATUSES:
            course = enrolment.course
            place = session_place(appointment)
            grid_sessions.append(
                (
                    appointment.start_at,
                    f"{course.procedure.name} {place.number}/{place.of}",
                    care,
                )
            )
    groups = sorted(
        by_enrolment.values(),
        key=lambda group: (group["enrolment"].status != "active", -group["enrolment"].id),
    )
    for group in groups:
        rows = group["rows"]
        group["done"] = sum(1 for row in rows if row["a"].status == "done")
        group["state"] = course_rest.enrolment_state(group["enrolment"])
        group["next"] = next((row for row in rows if row["upcoming"]), None)
    periods = declared_periods.list_periods(actor=actor)
    grids = month_grids(
        sessions=grid_sessions,
        periods=[
            (p.start_on, p.end_on, PERIOD_WORDS[p.kind])
            for p in periods
            if p.end_on >= date_range.clinic_today(now)
        ],
        tz=tz,
    )
    messages = [m for m in outbox.list_messages(client_id=actor.client_id) if m.status != "sent"]
    return render_template(
        "booking/my_sessions.html",
        groups=groups,
        grids=grids,
        messages=sorted(messages, key=lambda m: m.due_at)[:20],
        now=now,
    )


@bp.route("/my/appointments/<int:appointment_id>.ics")
@client_only
def appointment_ics(appointment_id: int) -> ResponseReturnValue:
    appointment = reads.get_appointment(actor=current_actor(), appointment_id=appointment_id)
    return Response(
        calendar_files.appointment_ics(appointment),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="session-{appointment.id}.ics"'},
    )


@bp.route("/my/calendar.ics")
@client_only
def calendar_ics() -> ResponseReturnValue:
    client_id = client_reads.resolve_client_id(current_actor(), None)
    return Response(
        calendar_files.client_calendar_ics(client_id),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="my-sessions.ics"'},
    )


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str) -> ResponseReturnValue:
    """The client's subscribed calendar, behind the secret in its URL (no login: a phone's
    calendar app asks for it); 404 for a token revoked, renewed or never made."""
    return Response(
        calendar_feed_service.calendar_feed(token),
        mimetype="text/calendar",
        headers={"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"},
    )


def _changeable(appointment_id: int, now: datetime) -> tuple[Appointment, ServiceError | None]:
    """The session and, if it is too late for the client to change it, why (shown on the
    page); a session that can no longer change at all is refused outright."""
    actor = current_actor()
    appointment = reads.get_appointment(actor=actor, appointment_id=appointment_id)
    refusal = permissions.change_refusal(actor, appointment, now)
    if refusal is not None and not isinstance(refusal, RuleViolation):
        raise refusal
    return appointment, refusal


@bp.route("/my/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@client_only
def move(appointment_id: int) -> ResponseReturnValue:
    actor = current_actor()
    now = utcnow()
    tz = clinic_setup.clinic_tz()
    appointment, refusal = _changeable(appointment_id, now)
    day_form = DayForm(request.args, meta={"csrf": False})
    move_form = MoveForm()
    day = appointment.start_at.astimezone(tz).date()
    status = 200
    top_errors: Sequence[Problem | str] = []
    warning = None
    if "day" in request.args:
        if day_form.validate():
            day = validated(day_form.day.data)
        else:
            status = 422
    else:
        day_form.day.data = day
    if request.method == "POST" and refusal is None:
        if move_form.validate_on_submit():
            try:
                start = datetime.fromisoformat(move_form.start.data or "")
                if start.tzinfo is None:
                    raise ValueError("naive")
            except ValueError:
                top_errors, status = ["Choose one of the free times."], 422
            else:
                far = date_range.bookable_moment_problem(start, now=now)
                if far is not None:  # before its local day overflows
                    top_errors, status = [far.message], 422
            if not top_errors:
                day = start.astimezone(tz).date()
                day_form.day.data = day
                accept = move_form.accept_replan.data == "yes"
                try:
                    refused, outcome = _move(actor, appointment.id, start, accept, now)
                except ServiceError as exc:
                    top_errors, status = place_errors(move_form, exc), exc.status
                else:
                    if outcome is not None:
                        moved = len(outcome.replanned)
                        flash(
                            "Moved."
                            + (f" {moved} later session(s) were re-planned." if moved else ""),
                            "success",
                        )
                        return redirect(url_for("booking.my_sessions"))
                    assert refused is not None  # _move gives a refusal or an outcome
                    status = 422 if isinstance(refused, RuleViolation) else 409
                    if refused.affected:
                        warning = _move_warning(refused, appointment, start)
                    else:
                        top_errors = place_errors(move_form, refused)
        else:
            top_errors, status = ["Choose one of the free times."], 422
    elif request.method == "POST":
        status = 422
    slots: list[datetime] = []
    also: list[datetime] = []
    why_none = None
    if refusal is None and not day_form.day.errors:
        # Only the starts the move would accept, judged as "Confirm" judges them.
        try:
            offer = moves.move_offers(actor=actor, appointment_id=appointment.id, day=day, now=now)
        except ServiceError as exc:
            place_errors(day_form, exc, default=day_form.day)
        else:
            slots = [slot.start for slot in offer.slots]
            also = [slot.start for slot in offer.also]
            why_none = offer.why_none
    return render_template(
        "booking/move.html",
        a=appointment,
        refusal=refusal,
        day_form=day_form,
        move_form=move_form,
        slots=slots,
        why_none=why_none,
        also=also,
        day=day,
        warning=warning,
        top_errors=top_errors,
        care=[describe_window(w, tz, now) for w in aftercare.aftercare_for(appointment)],
    ), status


def _move(
    actor: Actor, appointment_id: int, start: datetime, accept_replan: bool, now: datetime
) -> tuple[RuleViolation | Conflict | None, MoveOutcome | None]:
    """The move's preview refused (what it would break, with the offered re-plan), or the
    session moved; a refusal of the move itself, judged again as it is written, reads the same."""
    asked: dict[str, Any] = {
        "actor": actor,
        "appointment_id": appointment_id,
        "start": start,
        "now": now,
    }
    refusal = moves.preview_move(**asked).refusal(accept_replan=accept_replan)
    if refusal is not None:
        return refusal, None
    try:
        return None, moves.move_appointment(**asked, accept_replan=accept_replan)
    except (RuleViolation, Conflict) as exc:
        return exc, None


def _move_warning(
    exc: RuleViolation | Conflict, appointment: Appointment, start: datetime
) -> dict[str, object]:
    by_id = {a.id: a for a in appointment.enrolment.appointments}
    return {
        "start": start,
        "messages": [v.message for v in exc.violations],
        "affected": [by_id[i] for i in exc.affected if i in by_id],
        "replan": list(exc.replan),
    }


@bp.route("/my/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@client_only
def cancel(appointment_id: int) -> ResponseReturnValue:
    actor = current_actor()
    now = utcnow()
    appointment, refusal = _changeable(appointment_id, now)
    form = CancelForm()
    top_errors: Sequence[Problem | str] = []
    if form.validate_on_submit():
        try:
            cancellation.cancel_appointment(actor=actor, appointment_id=appointment.id, now=now)
        except ServiceError as exc:
            top_errors = place_errors(form, exc)
        else:
            flash("The session is cancelled and its aftercare is lifted.", "success")
            return redirect(url_for("booking.my_sessions"))
    return render_template(
        "booking/cancel.html", a=appointment, refusal=refusal, form=form, top_errors=top_errors
    ), 422 if top_errors else 200
