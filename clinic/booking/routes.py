"""The client's pages: catalogue, screening, declared periods, planning and booking a course,
and "my sessions" with changes inside the notice policy. Thin: services decide."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from clinic.auth.access import role_required, safe_next
from clinic.booking import bp
from clinic.booking.forms import (
    CancelForm,
    ConfirmForm,
    DayForm,
    DeleteForm,
    MoveForm,
    PeriodForm,
    PlanForm,
    fill_screening,
    options,
    screening_answers,
    screening_fields,
    screening_form_class,
)
from clinic.booking.grid import month_grids
from clinic.form_errors import place_errors
from clinic.models import CLIENT_ROLES, RESTRICTING_STATUSES, utcnow
from clinic.scheduling import Preferences, describe_window
from clinic.scheduling.wording import condition_label
from clinic.services import (
    access,
    aftercare,
    booking,
    calendar_files,
    catalogue_queries,
    clients,
    outbox,
    permissions,
)
from clinic.services import snapshot as snap
from clinic.services.actors import actor_for
from clinic.services.booking import SessionRequest
from clinic.services.errors import (
    Conflict,
    InvalidRequest,
    RuleViolation,
    ServiceError,
)

PERIOD_WORDS = {"sun_exposure": "beach holiday", "needs_makeup": "wedding or event"}
STAMP = "%Y%m%dT%H%MZ"


def _actor():  # type: ignore[no-untyped-def]
    return actor_for(current_user)


def _client_only(view):  # type: ignore[no-untyped-def]
    return login_required(role_required(*CLIENT_ROLES)(view))


# --- proposals carried in the page: "20261201T0900Z-3" = a start (UTC) and a practitioner ------


def _encode(start: datetime, practitioner_id: int | None) -> str:
    return f"{start.astimezone(UTC):{STAMP}}-{practitioner_id or 0}"


def _decode(values: list[str]) -> list[SessionRequest]:
    out = []
    for value in values:
        stamp, _, pid = value.partition("-")
        try:
            start = datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
            practitioner = int(pid or 0)
        except ValueError:
            raise InvalidRequest("The proposed times were garbled; please plan again.") from None
        out.append(SessionRequest(start, practitioner or None))
    if not out or len(out) > 30:
        raise InvalidRequest("There are no proposed times; please plan again.")
    return out


# --- catalogue ---------------------------------------------------------------------------------


@bp.route("/")
def index():  # type: ignore[no-untyped-def]
    if permissions.is_client(current_user):
        return redirect(url_for("booking.my_sessions"))
    return redirect(url_for("booking.courses"))


@bp.route("/courses")
def courses():  # type: ignore[no-untyped-def]
    rows = catalogue_queries.list_courses()
    outlook, screening_problem = {}, None
    if permissions.is_client(current_user):
        client = clients.get_client(actor=_actor())
        outlook = clients.course_outlook(client, rows)
        screening_problem = clients.screening_violation(client, utcnow())
    return render_template(
        "booking/courses.html",
        courses=rows,
        outlook=outlook,
        screening_problem=screening_problem,
        price_text=snap.price_text,
    )


# --- screening and periods ---------------------------------------------------------------------


@bp.route("/my/screening", methods=["GET", "POST"])
@_client_only
def screening():  # type: ignore[no-untyped-def]
    actor = _actor()
    questions = clients.screening_questions()
    form = screening_form_class(questions)()
    client = clients.get_client(actor=actor)
    if request.method == "GET":
        fill_screening(form, questions, clients.screening_answers(actor=actor))
    top: list[str] = []
    if form.validate_on_submit():
        try:
            clients.save_screening(actor=actor, answers=screening_answers(form, questions))
        except ServiceError as exc:
            top = place_errors(form, exc, screening_fields(questions))
        else:
            flash("Thank you: your health screening is saved and confirmed.", "success")
            return redirect(safe_next(url_for("booking.courses")))
    status = clients.screening_status(client)
    return render_template(
        "booking/screening.html",
        form=form,
        questions=questions,
        status=status,
        current=status.current(utcnow()),
        top_errors=top,
    ), 422 if form.errors or top else 200


@bp.route("/my/periods", methods=["GET", "POST"])
@_client_only
def periods():  # type: ignore[no-untyped-def]
    actor = _actor()
    form = PeriodForm()
    top: list[str] = []
    if form.validate_on_submit():
        try:
            clients.add_period(
                actor=actor,
                kind=form.kind.data or "",
                start_on=form.start.data,
                end_on=form.end.data,
                note=form.note.data or "",
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash("Saved. The planner will keep your aftercare clear of it.", "success")
            return redirect(url_for("booking.periods"))
    return render_template(
        "booking/periods.html",
        form=form,
        periods=clients.list_periods(actor=actor),
        delete_form=DeleteForm(),
        words=PERIOD_WORDS,
        top_errors=top,
    ), 422 if form.errors or top else 200


@bp.route("/my/periods/<int:period_id>/delete", methods=["POST"])
@_client_only
def delete_period(period_id: int):  # type: ignore[no-untyped-def]
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400, "The form has expired; please try again.")
    clients.remove_period(actor=_actor(), period_id=period_id)
    flash("Removed.", "success")
    return redirect(url_for("booking.periods"))


# --- planning and booking ----------------------------------------------------------------------


def _plan_form(course_code: str) -> PlanForm:
    form = PlanForm()
    form.practitioner.choices = options(
        [(0, "Whoever is free")]
        + [(p.id, p.name) for p in clients.practitioner_choices(course_code)]
    )
    return form


@bp.route("/courses/<code>/plan", methods=["GET", "POST"])
@_client_only
def plan(code: str):  # type: ignore[no-untyped-def]
    actor = _actor()
    course = snap.get_course(code)
    form = _plan_form(code)
    now = utcnow()
    tz = snap.clinic_tz()
    if request.method == "GET" and form.earliest.data is None:
        form.earliest.data = (now.astimezone(tz) + timedelta(days=2)).date()
    top: list[str] = []
    if form.validate_on_submit():
        prefs = Preferences(
            weekdays=frozenset(form.weekdays.data) if form.weekdays.data else None,
            time_from=time.fromisoformat(form.time_from.data) if form.time_from.data else None,
            time_to=time.fromisoformat(form.time_to.data) if form.time_to.data else None,
            practitioner_id=form.practitioner.data or None,
        )
        try:
            proposal = booking.plan_course_for(
                actor=actor,
                course_code=code,
                client_id=None,
                earliest=form.earliest.data,
                preferences=prefs,
                now=now,
            )
        except ServiceError as exc:
            top = place_errors(form, exc, {"preferences.practitioner": "practitioner"})
        else:
            chosen = proposal.sessions
            if form.how_many.data == "first":
                chosen = chosen[:1]
            return redirect(
                url_for(
                    "booking.review",
                    code=code,
                    s=[_encode(p.slot.start, p.slot.practitioner_id) for p in chosen],
                )
            )
    client = clients.get_client(actor=actor)
    return render_template(
        "booking/plan.html",
        course=course,
        form=form,
        screening_problem=clients.screening_violation(client, now),
        outlook=clients.course_outlook(client, [course], now)[course.code],
        top_errors=top,
    ), 422 if form.errors or top else 200


def _review_context(code: str, requests: list[SessionRequest]) -> dict[str, object]:
    actor = _actor()
    course = snap.get_course(code)
    tz = snap.clinic_tz()
    care = clients.care_for_starts(code, [r.start for r in requests])
    names = {p.id: p.name for p in clients.practitioner_choices(code)}
    rows = []
    for number, (r, windows) in enumerate(zip(requests, care, strict=True), start=1):
        rows.append(
            {
                "number": number,
                "start": r.start,
                "practitioner": names.get(r.practitioner_id or 0, "Any practitioner"),
                "care": [describe_window(w, tz) for w in windows],
                "swap_url": url_for(
                    "booking.swap",
                    code=code,
                    k=number,
                    s=[_encode(q.start, q.practitioner_id) for q in requests],
                ),
            }
        )
    periods = clients.list_periods(actor=actor)
    grids = month_grids(
        sessions=[
            (r.start, f"Session {i} of {course.sessions}", windows)
            for i, (r, windows) in enumerate(zip(requests, care, strict=True), start=1)
        ],
        periods=[(p.start_on, p.end_on, PERIOD_WORDS[p.kind]) for p in periods],
        tz=tz,
    )
    return {
        "course": course,
        "rows": rows,
        "grids": grids,
        "encoded": [_encode(r.start, r.practitioner_id) for r in requests],
    }


@bp.route("/courses/<code>/review")
@_client_only
def review(code: str):  # type: ignore[no-untyped-def]
    requests = _decode(request.args.getlist("s"))
    return render_template(
        "booking/review.html", form=ConfirmForm(), top_errors=[], **_review_context(code, requests)
    )


@bp.route("/courses/<code>/swap")
@_client_only
def swap(code: str):  # type: ignore[no-untyped-def]
    """Another time for proposed session k: the free times of a chosen day."""
    requests = _decode(request.args.getlist("s"))
    k = request.args.get("k", type=int)
    if k is None or not 1 <= k <= len(requests):
        abort(404, "There is no such session in this proposal.")
    course = snap.get_course(code)
    tz = snap.clinic_tz()
    current = requests[k - 1]
    form = DayForm(request.args, meta={"csrf": False})
    day = current.start.astimezone(tz).date()
    errors = False
    if "day" in request.args:
        if form.validate():
            day = form.day.data
        else:
            errors = True
    else:
        form.day.data = day
    choices = []
    if not errors:
        try:
            slots = booking.availability(procedure_code=course.procedure.code, day=day)
        except ServiceError as exc:
            form.day.errors = [exc.message]
            errors, slots = True, []
        seen = set()
        for slot in slots:
            if slot.start in seen:
                continue
            seen.add(slot.start)
            replaced = list(requests)
            replaced[k - 1] = SessionRequest(slot.start, slot.practitioner_id)
            choices.append(
                {
                    "start": slot.start,
                    "url": url_for(
                        "booking.review",
                        code=code,
                        s=[_encode(r.start, r.practitioner_id) for r in replaced],
                    ),
                }
            )
    return render_template(
        "booking/swap.html",
        course=course,
        k=k,
        current=current,
        form=form,
        day=day,
        choices=choices,
        encoded=[_encode(r.start, r.practitioner_id) for r in requests],
        back=url_for("booking.review", code=code, s=request.args.getlist("s")),
    ), 422 if errors else 200


@bp.route("/courses/<code>/book", methods=["POST"])
@_client_only
def book(code: str):  # type: ignore[no-untyped-def]
    actor = _actor()
    requests = _decode(request.form.getlist("s"))
    form = ConfirmForm()
    top: list[str] = []
    if form.validate_on_submit():
        now = utcnow()
        try:
            enrolment = booking.book_course(
                actor=actor, course_code=code, client_id=None, sessions=requests, now=now
            )
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash("Booked. We have emailed you the dates and the aftercare.", "success")
            return redirect(url_for("booking.my_sessions", _anchor=f"enrolment-{enrolment.id}"))
    else:
        top = ["The form has expired; please confirm again."]
    return render_template(
        "booking/review.html", form=form, top_errors=top, **_review_context(code, requests)
    ), 422


# --- my sessions -------------------------------------------------------------------------------


@bp.route("/my/sessions")
@_client_only
def my_sessions():  # type: ignore[no-untyped-def]
    actor = _actor()
    now = utcnow()
    tz = snap.clinic_tz()
    appointments = [a for a in booking.list_appointments(actor=actor) if a.status != "cancelled"]
    by_enrolment: dict[int, dict[str, object]] = {}
    grid_sessions = []
    for a in appointments:
        group = by_enrolment.setdefault(
            a.enrolment_id, {"enrolment": a.enrolment, "course": a.enrolment.course, "rows": []}
        )
        care = aftercare.aftercare_for(a)
        refusal = permissions.change_refusal(actor, a, now)
        group["rows"].append(  # type: ignore[attr-defined]
            {
                "a": a,
                "upcoming": a.start_at > now and a.status == "booked",
                "care": [describe_window(w, tz) for w in care],
                "too_late": refusal.message if refusal else None,
            }
        )
        if a.end_at > now - timedelta(days=62) and a.status in RESTRICTING_STATUSES:
            grid_sessions.append(
                (
                    a.start_at,
                    f"{a.enrolment.course.procedure.name} {a.session}/{a.enrolment.course.sessions}",
                    care,
                )
            )
    groups = sorted(
        by_enrolment.values(),
        key=lambda g: (g["enrolment"].status != "active", -g["enrolment"].id),  # type: ignore[attr-defined]
    )
    for g in groups:
        rows = g["rows"]
        g["done"] = sum(1 for r in rows if r["a"].status == "done")  # type: ignore[attr-defined]
        g["next"] = next((r for r in rows if r["upcoming"]), None)  # type: ignore[attr-defined]
    periods = clients.list_periods(actor=actor)
    grids = month_grids(
        sessions=grid_sessions,
        periods=[
            (p.start_on, p.end_on, PERIOD_WORDS[p.kind]) for p in periods if p.end_on >= now.date()
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
@_client_only
def appointment_ics(appointment_id: int):  # type: ignore[no-untyped-def]
    appointment = booking.get_appointment(actor=_actor(), appointment_id=appointment_id)
    return Response(
        calendar_files.appointment_ics(appointment),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="session-{appointment.id}.ics"'},
    )


@bp.route("/my/calendar.ics")
@_client_only
def calendar_ics():  # type: ignore[no-untyped-def]
    client_id = access.resolve_client_id(_actor(), None)
    return Response(
        calendar_files.client_calendar_ics(client_id),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="my-sessions.ics"'},
    )


def _changeable(appointment_id: int, now: datetime):  # type: ignore[no-untyped-def]
    """The session and, if it is too late for the client to change it, why (shown on the
    page); a session that can no longer change at all is refused outright."""
    actor = _actor()
    appointment = booking.get_appointment(actor=actor, appointment_id=appointment_id)
    refusal = permissions.change_refusal(actor, appointment, now)
    if refusal is not None and not isinstance(refusal, RuleViolation):
        raise refusal
    return appointment, refusal


@bp.route("/my/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@_client_only
def move(appointment_id: int):  # type: ignore[no-untyped-def]
    actor = _actor()
    now = utcnow()
    tz = snap.clinic_tz()
    appointment, refusal = _changeable(appointment_id, now)
    day_form = DayForm(request.args, meta={"csrf": False})
    move_form = MoveForm()
    day = appointment.start_at.astimezone(tz).date()
    status = 200
    top: list[str] = []
    warning = None
    if "day" in request.args:
        if day_form.validate():
            day = day_form.day.data
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
                top, status = ["Choose one of the free times."], 422
            else:
                day = start.astimezone(tz).date()
                day_form.day.data = day
                accept = move_form.accept_replan.data == "yes"
                try:
                    refused, outcome = _move(actor, appointment.id, start, accept, now)
                except ServiceError as exc:
                    top, status = place_errors(move_form, exc), exc.status
                else:
                    if outcome is not None:
                        moved = len(outcome.replanned)
                        flash(
                            "Moved."
                            + (f" {moved} later session(s) were re-planned." if moved else ""),
                            "success",
                        )
                        return redirect(url_for("booking.my_sessions"))
                    status = 422 if isinstance(refused, RuleViolation) else 409
                    if refused.affected:
                        warning = _move_warning(refused, appointment, start)
                    else:
                        top = place_errors(move_form, refused)
        else:
            top, status = ["Choose one of the free times."], 422
    elif request.method == "POST":
        status = 422
    slots = []
    if refusal is None and not day_form.day.errors:
        try:
            found = booking.availability(
                procedure_code=appointment.enrolment.course.procedure.code, day=day
            )
        except ServiceError as exc:
            day_form.day.errors = [exc.message]
            found = []
        seen = set()
        for slot in found:
            if slot.start not in seen and slot.start > now:
                seen.add(slot.start)
                slots.append(slot.start)
    return render_template(
        "booking/move.html",
        a=appointment,
        refusal=refusal,
        day_form=day_form,
        move_form=move_form,
        slots=slots,
        day=day,
        warning=warning,
        top_errors=top,
        care=[describe_window(w, tz) for w in aftercare.aftercare_for(appointment)],
    ), status


def _move(  # type: ignore[no-untyped-def]
    actor, appointment_id: int, start: datetime, accept_replan: bool, now: datetime
):
    """The move's preview refused (what it would break, with the offered re-plan), or the
    session moved; a refusal of the move itself, judged again as it is written, reads the same."""
    asked: dict[str, Any] = {
        "actor": actor,
        "appointment_id": appointment_id,
        "start": start,
        "now": now,
    }
    refusal = booking.preview_move(**asked).refusal(accept_replan=accept_replan)
    if refusal is not None:
        return refusal, None
    try:
        return None, booking.move_appointment(**asked, accept_replan=accept_replan)
    except (RuleViolation, Conflict) as exc:
        return exc, None


def _move_warning(exc: RuleViolation | Conflict, appointment, start: datetime) -> dict[str, object]:  # type: ignore[no-untyped-def]
    by_id = {a.id: a for a in appointment.enrolment.appointments}
    return {
        "start": start,
        "messages": [v.message for v in exc.violations],
        "affected": [by_id[i] for i in exc.affected if i in by_id],
        "replan": list(exc.replan),
    }


@bp.route("/my/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@_client_only
def cancel(appointment_id: int):  # type: ignore[no-untyped-def]
    actor = _actor()
    now = utcnow()
    appointment, refusal = _changeable(appointment_id, now)
    form = CancelForm()
    top: list[str] = []
    if form.validate_on_submit():
        try:
            booking.cancel_appointment(actor=actor, appointment_id=appointment.id, now=now)
        except ServiceError as exc:
            top = place_errors(form, exc)
        else:
            flash("The session is cancelled and its aftercare is lifted.", "success")
            return redirect(url_for("booking.my_sessions"))
    return render_template(
        "booking/cancel.html", a=appointment, refusal=refusal, form=form, top_errors=top
    ), 422 if top else 200


# --- development: the outbox on a page instead of sent -----------------------------------------


@bp.route("/dev/outbox")
@login_required
def dev_outbox():  # type: ignore[no-untyped-def]
    if not (current_app.debug or permissions.is_admin(current_user)):
        abort(403, "The outbox page is for the clinic's admin (or development).")
    return render_template(
        "booking/dev_outbox.html",
        messages=outbox.list_messages(),
        smtp=bool(current_app.config.get("SMTP_HOST")),
    )


# --- template helpers of the client pages ------------------------------------------------------


@bp.app_template_filter("clock")
def clock(value: datetime) -> str:
    """'10:30' in the clinic's time zone."""
    return f"{value.astimezone(snap.clinic_tz()):%H:%M}"


@bp.app_context_processor
def client_page_helpers() -> dict[str, object]:
    return {
        "condition_label": condition_label,
        "month_names": {m: calendar.month_name[m] for m in range(1, 13)},
    }
