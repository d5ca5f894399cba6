"""Reception's attention list: booked sessions a change of the world has broken, each course
booking with a re-plan to accept in one click, or a link to handle it by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from clinic.auth.access import login_required, permission_required
from clinic.form_errors import Problem, place_errors
from clinic.models import Appointment, AttentionFlag
from clinic.scheduling.wording import moment_text
from clinic.services.core import clinic_setup, permissions
from clinic.services.core.errors import NotFound, PermissionDenied, ServiceError
from clinic.services.lifetime import attention_list
from clinic.services.lifetime.attention_list import (
    Attention,
    EnrolmentReplan,
    Move,
    ReplanRequest,
)
from clinic.staff import bp
from clinic.staff.common import current_actor
from clinic.staff.forms import ConfirmForm


@dataclass
class Group:
    """One course booking on the page: its flagged sessions and its re-plan."""

    replan: EnrolmentReplan
    items: list[Attention] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def first(self) -> Appointment:
        return self.items[0].appointment


def _groups(items: list[Attention]) -> list[Group]:
    groups: dict[int, Group] = {}
    for item in items:
        groups.setdefault(item.appointment.enrolment_id, Group(item.replan)).items.append(item)
    return list(groups.values())


def _move_value(move: Move) -> str:
    """A move of the re-plan as a hidden field: where to, and the session as the page saw it
    (status, start, practitioner), which the service compares with the session when the
    re-plan is accepted."""
    status, start, practitioner_id = move.seen
    slot = move.slot
    return "|".join(
        (
            str(move.appointment_id),
            slot.start.isoformat(),
            str(slot.practitioner_id),
            status,
            start.isoformat(),
            str(practitioner_id),
        )
    )


def _parse_moves(values: list[str]) -> list[ReplanRequest]:
    """The re-plan as the page showed it (hidden fields): shape only, the service judges it."""
    moves = []
    for value in values:
        try:
            appointment, start, practitioner, status, seen_start, seen_with = value.split("|")
            when, was = datetime.fromisoformat(start), datetime.fromisoformat(seen_start)
            if when.tzinfo is None or was.tzinfo is None:
                raise ValueError(value)
            seen = (status, was, int(seen_with))
            moves.append(ReplanRequest(int(appointment), when, int(practitioner), seen=seen))
        except ValueError:
            abort(400, "The re-plan in the form is malformed; reload the page.")
    return moves


@bp.app_context_processor
def attention_nav() -> dict[str, object]:
    """`attention_count()` for the staff navigation (one COUNT when a page shows it) and
    `attention_flag(id)` for a session's page (one look-up by key)."""

    def attention_count() -> int:
        if not permissions.is_staff(current_user):
            return 0
        return attention_list.count_attention(actor=current_actor())

    def attention_flag(appointment_id: int) -> AttentionFlag | None:
        return attention_list.flag_of(actor=current_actor(), appointment_id=appointment_id)

    return {"attention_count": attention_count, "attention_flag": attention_flag}


def _page(
    problems: dict[int, list[Problem]] | None = None, status: int = 200
) -> ResponseReturnValue:
    problems = dict(problems or {})
    groups = _groups(attention_list.attention_list(actor=current_actor()))
    for g in groups:
        g.problems = problems.pop(g.replan.enrolment_id, [])
    return render_template(
        "staff/attention.html",
        groups=groups,
        # A refusal for a course booking no longer on the list goes on top.
        problems=[p for rest in problems.values() for p in rest],
        confirm=ConfirmForm(),
        move_value=_move_value,
        can_accept=permissions.is_desk(current_user),
    ), status


@bp.route("/attention")
@login_required
@permission_required(permissions.is_staff)
def attention() -> ResponseReturnValue:
    return _page()


@bp.route("/enrolments/<int:enrolment_id>/replan", methods=["POST"])
@login_required
@permission_required(permissions.is_desk)
def accept_replan(enrolment_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate():
        abort(400, "The form expired; please try again.")
    moves = _parse_moves(request.form.getlist("move"))
    try:
        moved = attention_list.accept_replan(
            actor=current_actor(), enrolment_id=enrolment_id, moves=moves
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        # Judged again as it would be written: the calendar changed since the page was shown.
        return _page({enrolment_id: place_errors(form, exc)}, status=422)
    if not moved:
        flash(
            "Nothing moved; the flags of sessions that hold where they are are cleared.", "success"
        )
        return redirect(url_for("staff.attention"))
    tz = clinic_setup.clinic_tz()
    first = moved[0]
    dates = "; ".join(
        f"session {a.session} now {moment_text(a.start_at.astimezone(tz))} with {a.practitioner.name}"
        for a in moved
    )
    flash(
        f"Re-plan accepted for {first.client.name} ({first.enrolment.course.name}): {dates}. "
        "The client has been told the new dates.",
        "success",
    )
    return redirect(url_for("staff.attention"))
