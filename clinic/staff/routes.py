"""Reception: the calendar, booking a course or a session, moving, cancelling, outcomes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import escape

from clinic.auth.access import login_required, permission_required
from clinic.form_checks import options
from clinic.form_errors import Problem, place_errors, validated
from clinic.models import utcnow
from clinic.scheduling import Preferences, describe_window
from clinic.services.catalogue import catalogue_queries
from clinic.services.clinical import patch_tests
from clinic.services.core import clinic_setup, date_range, permissions
from clinic.services.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ServiceError,
)
from clinic.services.core.permissions import is_desk
from clinic.services.courses import cancellation, enrol, moves, outcomes, reads, schedule
from clinic.services.courses.moves import MovePreview
from clinic.services.courses.placing import SessionRequest
from clinic.services.people import client_records
from clinic.services.world import aftercare, course_catalogue
from clinic.staff import bp
from clinic.staff.common import current_actor, local_moment, today
from clinic.staff.forms import (
    ANY,
    BookingForm,
    ConfirmForm,
    MoveForm,
    OutcomeForm,
    ReactionForm,
    SessionRowForm,
)
from clinic.staff.grid import day_grid
from clinic.world_pages import flash_saved


@bp.route("/")
@login_required
@permission_required(permissions.is_staff)
def index() -> ResponseReturnValue:
    return redirect(url_for("staff.calendar"))


# --- the calendar ---------------------------------------------------------------------------


def _parse_day(raw: str | None) -> tuple[date, str | None]:
    """The day asked for, or today with a sentence why not (a far day would overflow the
    week's arithmetic: the calendar shows the days of `date_range.viewable_days`)."""
    if not raw:
        return today(), None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return today(), f"{raw!r} is not a date; showing today instead."
    problem = date_range.viewable_day_problem(day)
    if problem is not None:
        return today(), f"{problem.message} Showing today instead."
    return day, None


def _appointment_url() -> str:
    """The appointment page's URL without its id, which ends it, escaped for HTML: the week
    view links hundreds of appointments, and a `url_for` each was a quarter of the page's
    time (bench/README.md); it prints each link (this and an id) without escaping it again."""
    return str(escape(url_for("staff.show_appointment", appointment_id=1).removesuffix("1")))


def _outcome_url() -> tuple[str, str]:
    """The outcome form's URL before and after its id (see `_appointment_url`)."""
    before, _, after = url_for("staff.record_outcome", appointment_id=999999).partition("999999")
    return before, after


@bp.route("/calendar")
@login_required
@permission_required(permissions.is_staff)
def calendar() -> ResponseReturnValue:
    day, problem = _parse_day(request.args.get("day"))
    view = request.args.get("view", "day")
    by = request.args.get("by", "practitioner")
    if view not in ("day", "week") or by not in schedule.BY_CHOICES:
        view, by = "day", "practitioner"
        problem = problem or "Unknown view; showing the day by practitioner."
    return _calendar_page(day, view, by, problem, 422 if problem else 200)


def _calendar_page(
    day: date, view: str, by: str, problem: str | None, status: int
) -> ResponseReturnValue:
    actor = current_actor()
    first = day if view == "day" else schedule.week_start(day)
    days = 1 if view == "day" else 7
    window = schedule.load_calendar(actor=actor, first=first, days=days, by=by)
    step = timedelta(days=days)
    week = window.week_rows(_appointment_url(), _outcome_url(), utcnow()) if view == "week" else []
    return render_template(
        "staff/calendar.html",
        window=window,
        view=view,
        by=by,
        day=day,
        first=first,
        rows=day_grid(window, day) if view == "day" else [],
        week=week,
        previous=first - step,
        following=first + step,
        today=today(),
        problem=problem,
        can_book=is_desk(actor),
    ), status


# --- booking ----------------------------------------------------------------------------------


def _booking_choices(form: BookingForm) -> dict[int, str]:
    actor = current_actor()
    form.client.choices = options(
        [(0, "Choose a client")]
        + [(c.id, f"{c.name} ({c.email})") for c in client_records.list_clients(actor=actor)]
    )
    courses = catalogue_queries.list_courses()
    form.course.choices = options(
        [("", "Choose a course")]
        + [
            (c.code, f"{c.name} ({c.sessions} session{'s' if c.sessions != 1 else ''})")
            for c in courses
        ]
    )
    practitioners = {p.id: p.name for p in client_records.list_practitioners()}
    form.practitioner.choices = options([(ANY, "Any practitioner"), *practitioners.items()])
    for row in (*form.sessions, *form.patch_test):
        row.form.practitioner.choices = options([(ANY, "Any practitioner"), *practitioners.items()])
    return practitioners


def _preferences(form: BookingForm) -> Preferences | None:
    weekdays = frozenset(form.weekdays.data or [])
    practitioner = form.practitioner.data if form.practitioner.data not in (None, ANY) else None
    if not (weekdays or form.time_from.data or form.time_to.data or practitioner):
        return None
    return Preferences(
        weekdays=weekdays or None,
        time_from=form.time_from.data,
        time_to=form.time_to.data,
        practitioner_id=practitioner,
    )


def _render_booking(
    form: BookingForm, problems: list[Problem], status: int, practitioners: dict[int, str]
) -> tuple[str, int]:
    course = None
    if form.course.data:
        try:
            course = course_catalogue.get_course(form.course.data)
        except NotFound:
            course = None
    by_session: dict[int, list[str]] = {}
    for p in problems:
        if p.session:
            by_session.setdefault(p.session, []).append(p.message)
    return render_template(
        "staff/book.html",
        form=form,
        problems=problems,
        soft=any(p.soft for p in problems),
        precare=any(p.code == "precare_not_kept" for p in problems),
        by_session=by_session,
        course=course,
        practitioners=practitioners,
    ), status


def _requested(row: SessionRowForm) -> SessionRequest:
    """A session row of the booking form as the booking service takes it."""
    return SessionRequest(
        local_moment(validated(row.day.data), validated(row.time.data)),
        row.practitioner.data if row.practitioner.data != ANY else None,
    )


@bp.route("/book", methods=["GET", "POST"])
@login_required
@permission_required(permissions.is_desk)
def book() -> ResponseReturnValue:
    form = BookingForm()
    if request.method == "GET":
        form.client.data = request.args.get("client", type=int) or 0
        form.course.data = request.args.get("course", "")
        day, _ = _parse_day(request.args.get("day"))
        form.earliest.data = max(day, today())
    practitioners = _booking_choices(form)
    if request.method == "GET":
        return _render_booking(form, [], 200, practitioners)
    if not form.validate():
        return _render_booking(form, [], 422, practitioners)
    actor = current_actor()
    fields = {"earliest": "earliest", "client": "client", "course": "course"}
    if form.book.data and form.sessions.entries:
        requests = [_requested(row.form) for row in form.sessions]
        test = [_requested(row.form) for row in form.patch_test]
        try:
            enrolment = enrol.book_course(
                actor=actor,
                course_code=form.course.data,
                client_id=form.client.data,
                sessions=requests,
                override_reason=form.override_reason.data or "",
                precare_confirmed=bool(form.precare_confirmed.data),
                patch_test=test[0] if test else None,
            )
        except (NotFound, PermissionDenied) as exc:
            if exc.field is None:
                raise
            problems = place_errors(form, exc, fields)
            return _render_booking(form, problems, 422, practitioners)
        except ServiceError as exc:
            problems = place_errors(form, exc, {**fields, "override_reason": "override_reason"})
            return _render_booking(form, problems, 422, practitioners)
        first = min(r.start for r in requests)
        flash(
            f"Booked {len(requests)} session{'s' if len(requests) != 1 else ''} of "
            f"{enrolment.course.name} for {enrolment.client.name}.",
            "success",
        )
        return redirect(url_for("staff.calendar", day=first.date().isoformat()))

    try:
        plan = enrol.plan_course_for(
            actor=actor,
            course_code=form.course.data,
            client_id=form.client.data,
            earliest=validated(form.earliest.data),
            preferences=_preferences(form),
        )
    except (NotFound, PermissionDenied) as exc:
        if exc.field is None:
            raise
        return _render_booking(form, place_errors(form, exc, fields), 422, practitioners)
    except ServiceError as exc:
        return _render_booking(form, place_errors(form, exc, fields), 422, practitioners)
    while form.sessions.entries:
        form.sessions.pop_entry()
    while form.patch_test.entries:
        form.patch_test.pop_entry()
    tz = clinic_setup.clinic_tz()
    if plan.patch_test is not None:
        start = plan.patch_test.slot.start.astimezone(tz)
        form.patch_test.append_entry(
            {
                "day": start.date(),
                "time": start.time(),
                "practitioner": plan.patch_test.slot.practitioner_id,
            }
        )
    chosen = plan.sessions[:1] if form.what.data == "one" else plan.sessions
    for planned in chosen:
        start = planned.slot.start.astimezone(tz)
        form.sessions.append_entry(
            {
                "day": start.date(),
                "time": start.time(),
                "practitioner": planned.slot.practitioner_id,
            }
        )
    _booking_choices(form)
    return _render_booking(form, [], 200, practitioners)


# --- one appointment --------------------------------------------------------------------------


def _appointment_page(
    appointment_id: int,
    *,
    move: MoveForm | None = None,
    outcome: OutcomeForm | None = None,
    reaction: ReactionForm | None = None,
    problems: list[Problem] | None = None,
    preview: MovePreview | RuleViolation | Conflict | None = None,
    status: int = 200,
) -> tuple[str, int]:
    actor = current_actor()
    appointment = reads.get_appointment(actor=actor, appointment_id=appointment_id)
    tz = clinic_setup.clinic_tz()
    practitioners = {p.id: p.name for p in client_records.list_practitioners()}
    if move is None:
        move = MoveForm()
        start = appointment.start_at.astimezone(tz)
        move.day.data, move.time.data = start.date(), start.time()
        move.practitioner.data = ANY
    move.practitioner.choices = options(
        [(ANY, "Same practitioner if free, else any"), *practitioners.items()]
    )
    affected: list[Any] = []
    replan: list[Any] = []
    if preview is not None:  # a refused move: the later sessions it breaks and their re-plan
        wanted = set(preview.affected)
        affected = [a for a in appointment.enrolment.appointments if a.id in wanted]
        replan = list(preview.replan)
    care = [describe_window(w, tz) for w in aftercare.aftercare_for(appointment)]
    return render_template(
        "staff/appointment.html",
        appointment=appointment,
        course=appointment.enrolment.course,
        care=care,
        move=move,
        outcome=outcome or OutcomeForm(),
        reaction=reaction or ReactionForm(),
        patch_test=patch_tests.is_patch_test(appointment),
        confirm=ConfirmForm(),
        problems=problems or [],
        soft=any(p.soft for p in problems or []),
        affected=affected,
        replan=replan,
        practitioners=practitioners,
        tz=tz,
        can_change=permissions.can_change(actor, appointment, utcnow()),
        can_record=permissions.can_record_outcome(actor, appointment),
        started=appointment.start_at <= utcnow(),
    ), status


@bp.route("/appointments/<int:appointment_id>")
@login_required
@permission_required(permissions.is_staff)
def show_appointment(appointment_id: int) -> ResponseReturnValue:
    return _appointment_page(appointment_id)


@bp.route("/appointments/<int:appointment_id>/move", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def move_appointment(appointment_id: int) -> ResponseReturnValue:
    form = MoveForm()
    form.practitioner.choices = options(
        [(ANY, "Same practitioner if free, else any")]
        + [(p.id, p.name) for p in client_records.list_practitioners()]
    )
    if not form.validate():
        return _appointment_page(appointment_id, move=form, status=422)
    asked: dict[str, Any] = {
        "actor": current_actor(),
        "appointment_id": appointment_id,
        "start": local_moment(validated(form.day.data), validated(form.time.data)),
        "practitioner_id": form.practitioner.data if form.practitioner.data != ANY else None,
        "override_reason": form.override_reason.data or "",
    }
    accept = bool(form.accept_replan.data)
    try:
        preview = moves.preview_move(**asked)
        refusal = preview.refusal(accept_replan=accept)
        if refusal is None:
            outcome = moves.move_appointment(**asked, accept_replan=accept)
    except (NotFound, PermissionDenied):
        raise
    except (RuleViolation, Conflict) as exc:  # the move was judged again as it was written
        problems = place_errors(form, exc)
        return _appointment_page(
            appointment_id, move=form, problems=problems, preview=exc, status=422
        )
    except ServiceError as exc:
        return _appointment_page(
            appointment_id, move=form, problems=place_errors(form, exc), status=422
        )
    if refusal is not None:
        return _appointment_page(
            appointment_id,
            move=form,
            problems=place_errors(form, refusal),
            preview=preview,
            status=422,
        )
    moved = len(outcome.replanned)
    flash(
        "Session moved"
        + (f", and {moved} later session{'s' if moved != 1 else ''} re-planned." if moved else "."),
        "success",
    )
    return redirect(url_for("staff.show_appointment", appointment_id=appointment_id))


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def cancel_appointment(appointment_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    try:
        cancellation.cancel_appointment(
            actor=current_actor(),
            appointment_id=appointment_id,
            reason=request.form.get("reason", ""),
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        return _appointment_page(
            appointment_id, problems=place_errors(ConfirmForm(), exc), status=422
        )
    flash("Session cancelled; its restrictions are lifted.", "success")
    return redirect(url_for("staff.show_appointment", appointment_id=appointment_id))


@bp.route("/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def cancel_enrolment(enrolment_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate():
        abort(400, "The form expired; please try again.")
    back = request.form.get("appointment", type=int)
    try:
        enrolment = cancellation.cancel_enrolment(
            actor=current_actor(), enrolment_id=enrolment_id, reason=request.form.get("reason", "")
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        if back:
            return _appointment_page(back, problems=place_errors(ConfirmForm(), exc), status=422)
        raise
    flash(f"Course cancelled: {enrolment.course.name} for {enrolment.client.name}.", "success")
    return redirect(url_for("staff.show_client", client_id=enrolment.client_id))


@bp.route("/appointments/<int:appointment_id>/outcome", methods=["POST"])
@login_required
@permission_required(permissions.is_staff)
def record_outcome(appointment_id: int) -> ResponseReturnValue:
    """From the appointment page (outcome and note), or from the week calendar's buttons,
    which send `week` (its day) and `by` and come back to the same week."""
    form = OutcomeForm()
    week = _week_asked()
    if not form.validate():
        if week is not None:
            wrong = [e for errors in form.errors.values() for e in errors]
            return _calendar_page(week[0], "week", week[1], str(wrong[0]), 422)
        return _appointment_page(appointment_id, outcome=form, status=422)
    try:
        appointment = outcomes.record_outcome(
            actor=current_actor(),
            appointment_id=appointment_id,
            status=form.status.data,
            note=form.note.data or "",
            sessions_link=url_for("booking.my_sessions", _external=True),
            seen=form.seen.data or None,
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        if week is not None:
            return _calendar_page(week[0], "week", week[1], exc.message, exc.status)
        problems = place_errors(form, exc, {"status": "status", "note": "note"})
        return _appointment_page(appointment_id, outcome=form, problems=problems, status=422)
    said = "done" if appointment.status == "done" else "a no-show"
    flash(f"Session {appointment.session} of {appointment.client.name} marked {said}.", "success")
    if week is not None:
        return redirect(url_for("staff.calendar", day=week[0].isoformat(), view="week", by=week[1]))
    return redirect(url_for("staff.show_appointment", appointment_id=appointment_id))


@bp.route("/appointments/<int:appointment_id>/reaction", methods=["POST"])
@login_required
@permission_required(permissions.is_staff)
def record_reaction(appointment_id: int) -> ResponseReturnValue:
    """A held patch test the skin reacted to: every course needing it is ruled out, and the
    client's booked sessions of those courses go to the attention list."""
    form = ReactionForm()
    if not form.validate():
        # Said at the top too: the form sits low on a long page.
        wrong = [Problem(e) for errors in form.errors.values() for e in errors]
        return _appointment_page(appointment_id, reaction=form, problems=wrong, status=422)
    try:
        change = patch_tests.record_reaction(
            actor=current_actor(), appointment_id=appointment_id, note=form.note.data or ""
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        problems = place_errors(form, exc, {"note": "note"}) or [Problem(exc.message)]
        return _appointment_page(appointment_id, reaction=form, problems=problems, status=422)
    flash_saved(change, "Reaction recorded: the courses that need this patch test are ruled out.")
    return redirect(url_for("staff.show_appointment", appointment_id=appointment_id))


def _week_asked() -> tuple[date, str] | None:
    """The week (a day in it) and columns the calendar's outcome buttons came from."""
    raw = request.form.get("week")
    if raw is None:
        return None
    day, _ = _parse_day(raw)
    by = request.form.get("by", "practitioner")
    return day, by if by in schedule.BY_CHOICES else "practitioner"


from clinic.staff import (  # noqa: E402,F401
    admin_routes,
    catalogue_routes,
    client_routes,
    practitioner_routes,
)
