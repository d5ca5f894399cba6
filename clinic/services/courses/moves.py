"""Moving a session (DOMAIN.md "Changing a plan"): checked like a new booking and against its
neighbours; a move that pushes later sessions out of the rules offers a re-plan of them."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from clinic.models import (
    Appointment,
    utcnow,
)
from clinic.scheduling import (
    CheckResult,
    ClientState,
    DayOffer,
    DayResources,
    Preferences,
    ProposedSession,
    Slot,
    Violation,
    check_course,
    offer_day,
    plan_course,
)
from clinic.scheduling.wording import moment_text
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_in_violations
from clinic.services.core.db import lock_client, transaction
from clinic.services.core.errors import (
    Conflict,
    RuleViolation,
    refusal,
)
from clinic.services.core.permissions import (
    change_refusal,
    is_client,
    is_staff,
    override_allowed,
    precare_confirmation_allowed,
)
from clinic.services.courses.placing import (
    PlannedSession,
    only_practitioner,
    place,
    planned,
    precare_begun,
)
from clinic.services.courses.reads import get_appointment
from clinic.services.messages import notices
from clinic.services.world import client_reads, flags, judge
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.snapshot import load_snapshot


@dataclass(frozen=True, slots=True)
class MovePreview:
    """What moving a session would do, computed without writing (`preview_move`).

    `violations` are the rules the move breaks as asked; empty means it goes through, to
    `slot`. When the move is possible only if later sessions give way, `slot` is where this
    one would go, `affected` the later appointments it pushes out of the rules, and `replan`
    the proposed new times of the later sessions (empty when none could be found).
    """

    appointment_id: int
    slot: Slot | None
    violations: tuple[Violation, ...] = ()
    affected: tuple[int, ...] = ()
    replan: tuple[PlannedSession, ...] = ()
    # What staff move it past (a consent not signed for the new date): it is then flagged.
    flags: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        """The move goes through as asked, breaking nothing."""
        return not self.violations

    def refusal(self, *, accept_replan: bool = False) -> RuleViolation | Conflict | None:
        """The refusal `move_appointment` raises for this preview, or None if it would move the
        session (and, with `accept_replan`, re-plan the later ones)."""
        if self.ok or (accept_replan and self.affected and self.replan):
            return None
        error = refusal(self.violations, affected=self.affected)
        error.replan = self.replan
        return error


@dataclass(frozen=True, slots=True)
class MoveOutcome:
    appointment: Appointment
    replanned: tuple[Appointment, ...] = ()


def live_for_change(
    actor: Actor, appointment_id: int, now: datetime | None, *, lock: bool = False
) -> Appointment:
    """The session to change, if the actor may change it now (`now=None`: the engine judges
    the notice, see `permissions.change_refusal`).

    With `lock`, for a change about to be written: the client is locked first
    (db.lock_client) and the session read again; if someone else changed it in between, the
    change asked for was meant for what it was, and is refused with what happened to it."""
    appointment = get_appointment(actor=actor, appointment_id=appointment_id)
    if lock:
        seen = as_seen(appointment)
        lock_client(appointment.client_id)
        if as_seen(appointment) != seen:
            raise Conflict(what_changed(appointment), code="appointment_changed")
    refusal = change_refusal(actor, appointment, now)
    if refusal is not None:
        raise refusal
    return appointment


Seen = tuple[str, datetime, int]


def as_seen(appointment: Appointment) -> Seen:
    """What a change asked for a session was meant for: its status, start and practitioner.
    A change finding the session otherwise (someone changed it in between) is refused with
    `what_changed`: here between a read and the client's lock, on the attention list between
    drawing the list and accepting its re-plan."""
    return appointment.status, appointment.start_at, appointment.practitioner_id


def what_changed(appointment: Appointment, subject: str = "This session") -> str:
    if appointment.status != "booked":
        done = {"cancelled": "cancelled", "done": "marked done", "no_show": "marked as a no-show"}
        return (
            f"{subject} was just {done.get(appointment.status, appointment.status)} "
            "by someone else; nothing was changed."
        )
    when = moment_text(appointment.start_at.astimezone(clinic_setup.clinic_tz()))
    return (
        f"{subject} was just moved to {when} by someone else; nothing was changed. "
        "Check the new time and try again."
    )


def preview_move(
    *,
    actor: Actor,
    appointment_id: int,
    start: datetime,
    practitioner_id: int | None = None,
    override_reason: str = "",
    precare_confirmed: bool = False,
    now: datetime | None = None,
) -> MovePreview:
    """What moving one session to `start` would do, without writing anything: the rules the
    move breaks, and if it would push later sessions of the course out of the rules, which
    ones and a re-plan of them (see `move_appointment`)."""
    now = now or utcnow()
    override = override_allowed(actor, override_reason)
    confirmed = precare_confirmation_allowed(actor, precare_confirmed)
    appointment = live_for_change(actor, appointment_id, None)
    return judge_move(actor, appointment, start, practitioner_id, override, now, confirmed)


def move_appointment(
    *,
    actor: Actor,
    appointment_id: int,
    start: datetime,
    practitioner_id: int | None = None,
    override_reason: str = "",
    accept_replan: bool = False,
    precare_confirmed: bool = False,
    now: datetime | None = None,
) -> MoveOutcome:
    """Move one session, checked like a new booking and against its neighbours.

    If the move itself is fine but would break later sessions of the course, it is refused
    with the affected appointments and a re-plan of them; calling again with
    `accept_replan=True` moves this session and re-plans the rest in one transaction.
    The answer is `preview_move`'s, judged again inside this transaction.
    """
    now = now or utcnow()
    override = override_allowed(actor, override_reason)
    confirmed = precare_confirmation_allowed(actor, precare_confirmed)
    with transaction() as s:
        appointment = live_for_change(actor, appointment_id, None, lock=True)
        preview = judge_move(actor, appointment, start, practitioner_id, override, now, confirmed)
        refusal = preview.refusal(accept_replan=accept_replan)
        if refusal is not None:
            raise refusal
        assert preview.slot is not None  # a preview without a refusal has its slot
        course = enrolment_rules(appointment.enrolment)
        reason = override_reason if override else ""
        kept = confirmed and bool(precare_begun([preview.slot], course, now))
        was = {appointment.id: appointment.start_at}
        place(appointment, preview.slot, course)
        if preview.ok:
            _record_move(s, actor, appointment, reason, now, was, precare_confirmed=kept)
            flags.raise_for({appointment.id: preview.flags}, now=now)
            return MoveOutcome(appointment)
        later = later_sessions(appointment)
        for a, planned in zip(later, preview.replan, strict=False):
            was[a.id] = a.start_at
            place(a, planned.slot, course)
        _record_move(
            s,
            actor,
            appointment,
            reason,
            now,
            was,
            replanned=sorted(a.id for a in later),
            precare_confirmed=kept,
        )
        # After `_record_move` has forgotten the moved sessions' old flags.
        s.flush()
        _flag_waiting([appointment, *later], now)
        return MoveOutcome(appointment, tuple(later))


def _flag_waiting(moved: Sequence[Appointment], now: datetime) -> None:
    """Sessions staff moved (with a re-plan) past what they may book past (a consent not
    signed for the new date) wait on the attention list for it, as a booking's would."""
    snapshot = load_snapshot()
    client = client_reads.client_state(moved[0].client_id, now, enrolments=(moved[0].enrolment_id,))
    waiting = {
        a.id: [
            v
            for v in judge.as_booked(a, snapshot=snapshot, client=client, now=now)
            if v.staff_may_book
        ]
        for a in moved
    }
    flags.raise_for(waiting, now=now)


def later_sessions(appointment: Appointment) -> list[Appointment]:
    """The enrolment's booked sessions after this one, in order."""
    return sorted(
        (
            a
            for a in appointment.enrolment.appointments
            if a.status == "booked" and a.session > appointment.session
        ),
        key=lambda a: a.session,
    )


class _MoveJudge:
    """The check a move of one session meets, with the snapshot and the client's state read
    once: `judge_move` (and so "Confirm") asks it about one start, `move_offers` about every
    start of a day, so what is offered and what is accepted cannot disagree."""

    def __init__(
        self,
        actor: Actor,
        appointment: Appointment,
        override: bool,
        now: datetime,
        precare_confirmed: bool = False,
    ) -> None:
        self.appointment = appointment
        self.course = enrolment_rules(appointment.enrolment)
        self.snapshot = load_snapshot()
        self.client = client_reads.client_state(
            appointment.client_id, now, enrolments=(appointment.enrolment_id,)
        )
        self.actor = actor
        self.override = override
        self.now = now
        self.precare_confirmed = precare_confirmed
        self.replacing = frozenset({appointment.id})

    def check(
        self, start: datetime, days: dict[date, DayResources] | None = None
    ) -> functools.partial[CheckResult]:
        """check_course as it judges a move to `start` (proposals and `replacing` to give)."""
        appointment = self.appointment
        return functools.partial(
            check_course,
            snapshot=self.snapshot,
            course=self.course,
            client=self.client,
            now=self.now,
            enrolment_id=appointment.enrolment_id,
            current_starts={appointment.session: appointment.start_at},
            by_staff=is_staff(self.actor),
            override_soft=self.override,
            # Rule 11 on a move: moved later, its pre-care begins later than the one the
            # client was told and is keeping; moved earlier, it may have begun before anyone
            # could say so.
            precare_confirmed=self.precare_confirmed or start >= appointment.start_at,
            days=days,
        )

    def judge(
        self,
        start: datetime,
        practitioner_id: int | None,
        days: dict[date, DayResources] | None = None,
    ) -> tuple[ProposedSession, CheckResult]:
        """The move to `start` as asked: with the chosen practitioner, else the session's own
        and, if only they are not free, any qualified one."""
        appointment = self.appointment
        check = self.check(start, days)
        wanted = practitioner_id or appointment.practitioner_id
        proposal = ProposedSession(appointment.session, start, wanted)
        result = check(proposals=[proposal], replacing=self.replacing)
        if not result.ok and practitioner_id is None and only_practitioner(result.violations):
            proposal = ProposedSession(appointment.session, start, None)
            result = check(proposals=[proposal], replacing=self.replacing)
        return proposal, result

    def judge_alone(
        self,
        proposal: ProposedSession,
        later_ids: frozenset[int],
        days: dict[date, DayResources] | None = None,
    ) -> CheckResult:
        """The move as `judge` proposed it, once the later sessions (`later_ids`) give way:
        possible only with a re-plan of them, which the person sees before accepting. (`days`:
        built with these sessions freed too, not `judge`'s.)"""
        check = self.check(proposal.start, days)
        return check(proposals=[proposal], replacing=self.replacing | later_ids)


def move_offers(
    *,
    actor: Actor,
    appointment_id: int,
    day: date,
    practitioner_id: int | None = None,
    now: datetime | None = None,
) -> DayOffer:
    """The starts of a local day to which the session can be moved as asked (no override, no
    pre-care confirmation, later sessions kept): each judged by the check `move_appointment`
    uses, so every start offered is accepted at "Confirm". Apart, in `also`: the starts the
    move reaches only if later sessions move too, the case `preview_move` answers with the
    sessions affected and a re-plan to accept or not (docs/DECISIONS.md)."""
    now = now or utcnow()
    appointment = live_for_change(actor, appointment_id, None)
    date_range.check_bookable_day(day, field="day", now=now)
    moves = _MoveJudge(actor, appointment, False, now)
    later_ids = frozenset(a.id for a in later_sessions(appointment))

    proposed: dict[datetime, ProposedSession] = {}

    def judge(slot: Slot, days: dict[date, DayResources]) -> CheckResult:
        proposed[slot.start], result = moves.judge(slot.start, practitioner_id, days)
        return result

    def alone(slot: Slot, days: dict[date, DayResources]) -> CheckResult:
        return moves.judge_alone(proposed[slot.start], later_ids, days)

    return offer_day(
        snapshot=moves.snapshot,
        procedure=moves.course.procedure,
        day=day,
        now=now,
        judge=judge,
        replacing=moves.replacing,
        fallback=alone if later_ids else None,
    )


def judge_move(
    actor: Actor,
    appointment: Appointment,
    start: datetime,
    practitioner_id: int | None,
    override: bool,
    now: datetime,
    precare_confirmed: bool = False,
) -> MovePreview:
    """The one computation behind `preview_move` and `move_appointment`."""
    date_range.check_starts([(appointment.session, start)], now=now)
    enrolment = appointment.enrolment
    moves = _MoveJudge(actor, appointment, override, now, precare_confirmed)
    course, snapshot, client = moves.course, moves.snapshot, moves.client
    proposal, result = moves.judge(start, practitioner_id)
    shown_in_violations(actor, appointment.client_id, result.violations, "move")
    if result.ok:
        return MovePreview(appointment.id, result.slots[0], flags=result.flags)

    refused = MovePreview(appointment.id, None, tuple(result.violations))
    later = later_sessions(appointment)
    if not later:
        return refused
    later_ids = frozenset(a.id for a in later)
    alone = moves.judge_alone(proposal, later_ids)
    if not alone.ok:
        return refused

    # The move is possible once the later sessions give way: say which ones, and offer a re-plan.
    moved = alone.slots[0]
    moved_client = _with_moved(client, appointment.id, moved)
    replan = plan_course(
        snapshot=snapshot,
        course=course,
        client=moved_client,
        earliest=moved.start.astimezone(snapshot.clinic.tz).date(),
        now=now,
        first_session=appointment.session + 1,
        last_session=later[-1].session,
        enrolment_id=enrolment.id,
        previous_start=moved.start,
        replacing=later_ids | {appointment.id},
        prefs=Preferences(practitioner_id=None),
        by_staff=is_staff(actor),
    )
    # Which later sessions no longer hold where they are once this one moves: the one judge
    # of a booked session, each with its own override, room and device.
    affected = [
        a.id
        for a in later
        if judge.as_booked(
            a, snapshot=snapshot, client=moved_client, now=now, course=course, waiting=False
        )
    ]
    return MovePreview(
        appointment.id,
        moved,
        tuple(result.violations),
        tuple(affected or sorted(later_ids)),
        planned(replan.slots, course, appointment.session + 1) if replan.ok else (),
    )


def _with_moved(client: ClientState, appointment_id: int, slot: Slot) -> ClientState:
    sessions = tuple(
        # Id 0: the moved session stays in view of a re-plan that ignores its old row.
        dataclasses.replace(b, appointment_id=0, start=slot.start, end=slot.end)
        if b.appointment_id == appointment_id
        else b
        for b in client.sessions
    )
    return dataclasses.replace(client, sessions=sessions)


def _record_move(
    s: Session,
    actor: Actor,
    appointment: Appointment,
    reason: str,
    now: datetime,
    was: Mapping[int, datetime],
    replanned: Sequence[int] = (),
    precare_confirmed: bool = False,
) -> None:
    """Audit a move, tell the client (whoever moved it) and bring their care timeline up to
    date. `was`: the moved sessions' starts before the move. A moved session was judged by
    the checker as it moved: any flag it had from a change of the world goes."""
    if reason:
        appointment.override_reason = reason
    flags.forget([appointment.id, *replanned])
    moved = [
        (a, was[a.id])
        for a in appointment.enrolment.appointments
        # The session asked for is told even if only its practitioner changed.
        if a.id == appointment.id or (a.id in was and a.start_at != was[a.id])
    ]
    s.flush()  # the .ics reads the sessions at their new times
    notices.tell_sessions_moved(s, appointment.enrolment, moved, now, is_client(actor))
    record(
        s,
        actor,
        "move",
        "appointment",
        appointment.id,
        client_id=appointment.client_id,
        start=appointment.start_at.isoformat(),
        practitioner=appointment.practitioner_id,
        override_reason=reason or None,
        replanned=list(replanned) or None,
        precare_confirmed=precare_confirmed or None,
    )
