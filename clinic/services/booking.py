"""Booking use cases: plan, book, move, cancel and complete sessions.

Each public function is one transaction. It loads what the engine needs, asks the engine,
and writes all or nothing; a refusal is raised as a `ServiceError` carrying the engine's
violations with their rule codes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    APPOINTMENT_STATUSES,
    Appointment,
    Course,
    Enrolment,
    Practitioner,
    Procedure,
    utcnow,
)
from clinic.scheduling import (
    CareWindow,
    CheckResult,
    ClientState,
    CourseRules,
    DayOffer,
    DayResources,
    Preferences,
    ProcedureRules,
    ProposedSession,
    Slot,
    Snapshot,
    Violation,
    available_slots,
    check_course,
    offer_day,
    plan_course,
    precare_violation,
)
from clinic.scheduling.offers import Judge
from clinic.scheduling.wording import moment_text
from clinic.services import (
    attention,
    client_reads,
    clients,
    clinic_setup,
    course_catalogue,
    date_range,
    outbox,
    progress,
)
from clinic.services.access import resolve_client_id
from clinic.services.actors import Actor
from clinic.services.aftercare import care_windows, enrolment_rules, rules_record
from clinic.services.audit import record
from clinic.services.db import db_session, lock_client, transaction
from clinic.services.errors import (
    AlreadyEnrolled,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.permissions import (
    can_book_for,
    can_cancel_enrolment,
    can_record_outcome,
    can_see_appointment,
    change_refusal,
    is_client,
    is_practitioner,
    notice_violation,
)
from clinic.services.snapshot import load_snapshot

MAX_OVERRIDE_REASON = 500
LONGEST_SESSION = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SessionRequest:
    start: datetime
    practitioner_id: int | None = None


@dataclass(frozen=True, slots=True)
class PlannedSession:
    session: int
    slot: Slot
    care: tuple[CareWindow, ...]


@dataclass(frozen=True, slots=True)
class CoursePlan:
    course_code: str
    client_id: int
    sessions: tuple[PlannedSession, ...]
    # What the client should know about the plan (e.g. it starts only next season, and why).
    notes: tuple[Violation, ...] = ()


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

    @property
    def ok(self) -> bool:
        """The move goes through as asked, breaking nothing."""
        return not self.violations

    def refusal(self, *, accept_replan: bool = False) -> RuleViolation | Conflict | None:
        """The refusal `move_appointment` raises for this preview, or None if it would move the
        session (and, with `accept_replan`, re-plan the later ones)."""
        if self.ok or (accept_replan and self.affected and self.replan):
            return None
        error = _refuse(self.violations, affected=self.affected)
        error.replan = self.replan
        return error


@dataclass(frozen=True, slots=True)
class MoveOutcome:
    appointment: Appointment
    replanned: tuple[Appointment, ...] = ()


# --- who may act for whom -------------------------------------------------------------------


def _require_desk_or_client(actor: Actor) -> None:
    if not can_book_for(actor, None):
        raise PermissionDenied("Bookings are made by reception or by clients themselves.")


def _override_allowed(actor: Actor, reason: str) -> bool:
    reason = reason.strip()
    if not reason:
        return False
    if not actor.is_staff:
        raise PermissionDenied("Only clinic staff can override a rule.", field="override_reason")
    if len(reason) > MAX_OVERRIDE_REASON:
        raise InvalidRequest(
            f"Keep the reason under {MAX_OVERRIDE_REASON} characters.", field="override_reason"
        )
    return True


def _precare_confirmation_allowed(actor: Actor, confirmed: bool) -> bool:
    """Rule 11: only staff say a client has kept a pre-care already begun, on the client's
    word at the desk or on the phone, where they ask about it (docs/DECISIONS.md)."""
    if confirmed and not actor.is_staff:
        raise PermissionDenied(
            "Only clinic staff can confirm that the pre-care was kept; please call the clinic.",
            field="precare_confirmed",
        )
    return confirmed


def _precare_begun(slots: Sequence[Slot], course: CourseRules, now: datetime) -> list[int]:
    """Indexes of the slots whose pre-care had begun at `now` (rule 11's own function)."""
    tz = clinic_setup.clinic_tz()
    return [
        i
        for i, slot in enumerate(slots)
        if precare_violation(session=i + 1, start=slot.start, course=course, now=now, tz=tz)
    ]


def _refuse(
    violations: Sequence[Violation], affected: Sequence[int] = ()
) -> RuleViolation | Conflict:
    if violations and all(v.conflict for v in violations):
        return Conflict(violations[0].message, violations=list(violations), affected=list(affected))
    return RuleViolation(list(violations), affected=list(affected))


# --- reading ----------------------------------------------------------------------------------


def availability(
    *,
    procedure_code: str,
    day: date,
    practitioner_id: int | None = None,
    actor: Actor | None = None,
    client_id: int | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free start times of a procedure on a local date; with `client_id` (for `actor`, who may
    name only a client they may book for), only the starts that client's rules accept, judged
    by the check a booking of it meets (see `_client_judge`)."""
    procedure = course_catalogue.procedure(procedure_code)
    if practitioner_id is not None and db_session().get(Practitioner, practitioner_id) is None:
        raise NotFound("There is no such practitioner.", field="practitioner")
    if client_id is None:
        return available_slots(
            snapshot=load_snapshot(),
            procedure=procedure,
            day=day,
            practitioner_id=practitioner_id,
        )
    if actor is None:
        raise PermissionDenied("Say who is asking about this client.")
    now = now or utcnow()
    client = resolve_client_id(actor, client_id)
    snapshot = load_snapshot()
    judge = _client_judge(actor, client, procedure, snapshot, now)
    return list(
        offer_day(
            snapshot=snapshot,
            procedure=procedure,
            day=day,
            now=now,
            judge=judge,
            practitioner_id=practitioner_id,
            each_practitioner=True,
        ).slots
    )


def _client_judge(
    actor: Actor, client_id: int, procedure: ProcedureRules, snapshot: Snapshot, now: datetime
) -> Judge:
    """The check a session of `procedure` for this client meets, with the client's state read
    once: as the next session of their open enrolment of a course of this procedure (rules as
    booked, spaced from its last session), else as a single session with the procedure's own
    rules: no course, so no care windows, contraindications or season of its own
    (docs/DECISIONS.md)."""
    state = client_reads.client_state(client_id, now)
    enrolment = _open_enrolment_of(client_id, procedure.code)
    if enrolment is None:
        course = CourseRules(
            code=procedure.code,
            name=procedure.name,
            procedure=procedure,
            sessions=1,
            min_interval_days=0,
            max_interval_days=None,
        )
        enrolment_id, number = None, 1
    else:
        course = enrolment_rules(enrolment)
        enrolment_id = enrolment.id
        number = progress.next_session_number(enrolment)

    def judge(slot: Slot, days: dict[date, DayResources]) -> CheckResult:
        return check_course(
            snapshot=snapshot,
            course=course,
            client=state,
            proposals=[ProposedSession(number, slot.start, slot.practitioner_id)],
            now=now,
            enrolment_id=enrolment_id,
            by_staff=actor.is_staff,
            days=days,
        )

    return judge


def _open_enrolment_of(client_id: int, procedure_code: str) -> Enrolment | None:
    """The client's oldest active enrolment of a course of this procedure that still has
    sessions to book."""
    enrolments = db_session().scalars(
        select(Enrolment)
        .join(Course, Course.id == Enrolment.course_id)
        .join(Procedure, Procedure.id == Course.procedure_id)
        .where(
            Enrolment.client_id == client_id,
            Enrolment.status == "active",
            Procedure.code == procedure_code,
        )
        .order_by(Enrolment.id)
    )
    return next(
        (e for e in enrolments if progress.enrolment_progress(e).remaining > 0),
        None,
    )


def get_appointment(*, actor: Actor, appointment_id: int) -> Appointment:
    appointment = db_session().get(Appointment, appointment_id)
    if appointment is None or not can_see_appointment(actor, appointment):
        raise NotFound("There is no such appointment.")
    return appointment


def list_appointments(
    *,
    actor: Actor,
    client_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    practitioner_id: int | None = None,
) -> list[Appointment]:
    """Appointments the actor may see, oldest first, optionally for one client and a window."""
    query = select(Appointment).options(
        selectinload(Appointment.enrolment)
        .selectinload(Enrolment.course)
        .selectinload(Course.procedure),
        selectinload(Appointment.practitioner),
        selectinload(Appointment.device),
        selectinload(Appointment.room),
        selectinload(Appointment.client),
    )
    if is_client(actor):
        own = resolve_client_id(actor, client_id)
        query = query.where(Appointment.client_id == own)
    else:
        if is_practitioner(actor):
            query = query.where(Appointment.practitioner_id == actor.practitioner_id)
        if client_id is not None:
            query = query.where(Appointment.client_id == client_id)
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    if start is not None:
        # The lower bound on start_at lets the index bound the scan (a session lasts at most
        # 12 hours, the procedures' own limit).
        query = query.where(
            Appointment.end_at > start, Appointment.start_at > start - LONGEST_SESSION
        )
    if end is not None:
        query = query.where(Appointment.start_at < end)
    return list(db_session().scalars(query.order_by(Appointment.start_at, Appointment.id)))


# --- planning and booking ---------------------------------------------------------------------


def _require_no_open_enrolment(client_id: int, course_id: int, course: CourseRules) -> None:
    """Rule 12: a client holds at most one enrolment of a course with sessions still to come
    (booked, whatever their date, until staff record how they went, or still to book into it:
    see services/progress.py), so spacing cannot be dodged with a second enrolment. A course
    cancelled or finished may be booked again, and a single-session course any time: it has
    no spacing to dodge (docs/DECISIONS.md)."""
    if course.sessions == 1:
        return
    enrolments = db_session().scalars(
        select(Enrolment)
        .options(selectinload(Enrolment.appointments), selectinload(Enrolment.course))
        .where(
            Enrolment.client_id == client_id,
            Enrolment.course_id == course_id,
            Enrolment.status == "active",
        )
        .order_by(Enrolment.id)
    )
    open_one = next((e.id for e in enrolments if not progress.enrolment_progress(e).finished), None)
    if open_one is not None:
        raise AlreadyEnrolled(
            Violation(
                "already_enrolled",
                f"You are already booked on {course.name} with sessions still to come; "
                "further sessions go into that booking, or change its dates instead.",
            ),
            enrolment_id=open_one,
            client_id=client_id,
        )


def _planned(slots: Sequence[Slot], course: CourseRules, first: int) -> tuple[PlannedSession, ...]:
    return tuple(
        PlannedSession(first + i, slot, care_windows(course, slot.start))
        for i, slot in enumerate(slots)
    )


def plan_course_for(
    *,
    actor: Actor,
    course_code: str,
    client_id: int | None,
    earliest: date,
    preferences: Preferences | None = None,
    now: datetime | None = None,
) -> CoursePlan:
    """Propose every session of a course for a client; writes nothing."""
    now = now or utcnow()
    _require_desk_or_client(actor)
    client = resolve_client_id(actor, client_id)
    clients.require_current_screening(actor=actor, client_id=client, now=now)
    _, course = course_catalogue.course(course_code)
    date_range.check_bookable_day(earliest, field="earliest", now=now)
    wanted = preferences.practitioner_id if preferences is not None else None
    if wanted is not None and db_session().get(Practitioner, wanted) is None:
        raise NotFound("There is no such practitioner.", field="preferences.practitioner")
    snapshot = load_snapshot()
    result = plan_course(
        snapshot=snapshot,
        course=course,
        client=client_reads.client_state(client, now),
        earliest=earliest,
        now=now,
        prefs=preferences,
    )
    if not result.ok:
        raise RuleViolation(list(result.violations))
    return CoursePlan(course.code, client, _planned(result.slots, course, 1), result.notes)


def book_course(
    *,
    actor: Actor,
    course_code: str,
    client_id: int | None,
    sessions: Sequence[SessionRequest],
    override_reason: str = "",
    precare_confirmed: bool = False,
    now: datetime | None = None,
) -> Enrolment:
    """Enrol a client in a course with the given sessions (the whole course or its first ones),
    atomically: every session is written, or none. `precare_confirmed` (staff only): the client
    has kept the pre-care of a session that has already begun (rule 11); it is audited with
    the actor who said so."""
    now = now or utcnow()
    _require_desk_or_client(actor)
    if not sessions:
        raise InvalidRequest("Give at least one session.", field="sessions")
    override = _override_allowed(actor, override_reason)
    confirmed = _precare_confirmation_allowed(actor, precare_confirmed)
    # Numbered in order of their starts, as `_check_new_course` numbers them.
    date_range.check_starts(enumerate(sorted(r.start for r in sessions), start=1), now=now)
    with transaction() as s:
        client = resolve_client_id(actor, client_id)
        lock_client(client)
        clients.require_current_screening(actor=actor, client_id=client, now=now)
        course_id, course = course_catalogue.course(course_code)
        _require_no_open_enrolment(client, course_id, course)
        if len(sessions) > course.sessions:
            raise InvalidRequest(
                f"{course.name} has {course.sessions} sessions; {len(sessions)} were given.",
                field="sessions",
            )
        result = _check_new_course(
            snapshot=load_snapshot(),
            course=course,
            client=client_reads.client_state(client, now),
            sessions=sessions,
            now=now,
            by_staff=actor.is_staff,
            override=override,
            precare_confirmed=confirmed,
        )
        if not result.ok:
            raise _refuse(result.violations)
        kept = [i + 1 for i in _precare_begun(result.slots, course, now)] if confirmed else []
        enrolment = Enrolment(
            client_id=client,
            course_id=course_id,
            created_by_id=actor.user_id,
            rules=rules_record(course),  # the rules it keeps (aftercare.enrolment_rules)
        )
        s.add(enrolment)
        s.flush()
        for number, slot in enumerate(result.slots, start=1):
            s.add(
                _appointment(enrolment, number, slot, course, override_reason if override else "")
            )
        s.flush()
        s.refresh(enrolment, ["appointments"])
        outbox.confirm_booking(s, enrolment, now)
        record(
            s,
            actor,
            "book",
            "enrolment",
            enrolment.id,
            client_id=client,
            course=course.code,
            sessions=[slot.start.isoformat() for slot in result.slots],
            override_reason=override_reason if override else None,
            precare_confirmed=kept or None,
        )
    return enrolment


def _check_new_course(
    *,
    snapshot: Snapshot,
    course: CourseRules,
    client: ClientState,
    sessions: Sequence[SessionRequest],
    now: datetime,
    by_staff: bool,
    override: bool = False,
    precare_confirmed: bool = False,
    days: dict[date, DayResources] | None = None,
) -> CheckResult:
    """The check `book_course` makes of the sessions asked (numbered in order of their
    starts); `proposal_offers` asks the same of each other time for one of them."""
    ordered = sorted(sessions, key=lambda r: r.start)
    return check_course(
        snapshot=snapshot,
        course=course,
        client=client,
        proposals=[
            ProposedSession(i + 1, r.start, r.practitioner_id) for i, r in enumerate(ordered)
        ],
        now=now,
        by_staff=by_staff,
        override_soft=override,
        precare_confirmed=precare_confirmed,
        days=days,
    )


def proposal_offers(
    *,
    actor: Actor,
    course_code: str,
    client_id: int | None,
    sessions: Sequence[SessionRequest],
    number: int,
    day: date,
    now: datetime | None = None,
) -> DayOffer:
    """Another time for session `number` (from 1) of a proposed course: the starts of a local
    day that `book_course` would accept with the other sessions as proposed, each with the
    session's own practitioner if free, else the first free one. Writes nothing."""
    now = now or utcnow()
    _require_desk_or_client(actor)
    if not 1 <= number <= len(sessions):
        raise NotFound("There is no such session in this proposal.", field="k")
    date_range.check_bookable_day(day, field="day", now=now)
    client = resolve_client_id(actor, client_id)
    _, course = course_catalogue.course(course_code)
    snapshot = load_snapshot()
    state = client_reads.client_state(client, now)
    wanted = sessions[number - 1].practitioner_id

    def judge(slot: Slot, days: dict[date, DayResources]) -> CheckResult:
        result = CheckResult((), ())
        for practitioner_id in dict.fromkeys((wanted, slot.practitioner_id)):
            asked = list(sessions)
            asked[number - 1] = SessionRequest(slot.start, practitioner_id)
            result = _check_new_course(
                snapshot=snapshot,
                course=course,
                client=state,
                sessions=asked,
                now=now,
                by_staff=actor.is_staff,
                days=days,
            )
            if result.ok or not _only_practitioner(result.violations):
                break
        return result

    return offer_day(snapshot=snapshot, procedure=course.procedure, day=day, now=now, judge=judge)


def _appointment(
    enrolment: Enrolment, number: int, slot: Slot, course: CourseRules, reason: str
) -> Appointment:
    return Appointment(
        enrolment_id=enrolment.id,
        session=number,
        client_id=enrolment.client_id,
        practitioner_id=slot.practitioner_id,
        device_id=slot.device_id,
        room_id=slot.room_id,
        start_at=slot.start,
        end_at=slot.end,
        busy_until_at=slot.end + course.procedure.buffer,
        status="booked",
        override_reason=reason,
    )


def _place(appointment: Appointment, slot: Slot, course: CourseRules) -> None:
    appointment.start_at = slot.start
    appointment.end_at = slot.end
    appointment.busy_until_at = slot.end + course.procedure.buffer
    appointment.practitioner_id = slot.practitioner_id
    appointment.device_id = slot.device_id
    appointment.room_id = slot.room_id


# --- changing -----------------------------------------------------------------------------------


def _live_for_change(
    actor: Actor, appointment_id: int, now: datetime | None, *, lock: bool = False
) -> Appointment:
    """The session to change, if the actor may change it now (`now=None`: the engine judges
    the notice, see `permissions.change_refusal`).

    With `lock`, for a change about to be written: the client is locked first
    (db.lock_client) and the session read again; if someone else changed it in between, the
    change asked for was meant for what it was, and is refused with what happened to it."""
    appointment = get_appointment(actor=actor, appointment_id=appointment_id)
    if lock:
        seen = _as_seen(appointment)
        lock_client(appointment.client_id)
        if _as_seen(appointment) != seen:
            raise Conflict(_what_changed(appointment), code="appointment_changed")
    refusal = change_refusal(actor, appointment, now)
    if refusal is not None:
        raise refusal
    return appointment


def _as_seen(appointment: Appointment) -> tuple[str, datetime, int]:
    return appointment.status, appointment.start_at, appointment.practitioner_id


def _what_changed(appointment: Appointment) -> str:
    if appointment.status != "booked":
        done = {"cancelled": "cancelled", "done": "marked done", "no_show": "marked as a no-show"}
        return (
            f"This session was just {done.get(appointment.status, appointment.status)} "
            "by someone else; nothing was changed."
        )
    when = moment_text(appointment.start_at.astimezone(clinic_setup.clinic_tz()))
    return (
        f"This session was just moved to {when} by someone else; nothing was changed. "
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
    override = _override_allowed(actor, override_reason)
    confirmed = _precare_confirmation_allowed(actor, precare_confirmed)
    appointment = _live_for_change(actor, appointment_id, None)
    return _preview_move(actor, appointment, start, practitioner_id, override, now, confirmed)


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
    override = _override_allowed(actor, override_reason)
    confirmed = _precare_confirmation_allowed(actor, precare_confirmed)
    with transaction() as s:
        appointment = _live_for_change(actor, appointment_id, None, lock=True)
        preview = _preview_move(
            actor, appointment, start, practitioner_id, override, now, confirmed
        )
        refusal = preview.refusal(accept_replan=accept_replan)
        if refusal is not None:
            raise refusal
        assert preview.slot is not None  # a preview without a refusal has its slot
        course = enrolment_rules(appointment.enrolment)
        reason = override_reason if override else ""
        kept = confirmed and bool(_precare_begun([preview.slot], course, now))
        _place(appointment, preview.slot, course)
        if preview.ok:
            _record_move(s, actor, appointment, reason, now, precare_confirmed=kept)
            return MoveOutcome(appointment)
        later = _later_sessions(appointment)
        for a, planned in zip(later, preview.replan, strict=False):
            _place(a, planned.slot, course)
        _record_move(
            s,
            actor,
            appointment,
            reason,
            now,
            replanned=sorted(a.id for a in later),
            precare_confirmed=kept,
        )
        return MoveOutcome(appointment, tuple(later))


def _later_sessions(appointment: Appointment) -> list[Appointment]:
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
    once: `_preview_move` (and so "Confirm") asks it about one start, `move_offers` about every
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
        self.client = client_reads.client_state(appointment.client_id, now)
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
            by_staff=self.actor.is_staff,
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
        if not result.ok and practitioner_id is None and _only_practitioner(result.violations):
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
    appointment = _live_for_change(actor, appointment_id, None)
    date_range.check_bookable_day(day, field="day", now=now)
    moves = _MoveJudge(actor, appointment, False, now)
    later_ids = frozenset(a.id for a in _later_sessions(appointment))

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


def _preview_move(
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
    if result.ok:
        return MovePreview(appointment.id, result.slots[0])

    refused = MovePreview(appointment.id, None, tuple(result.violations))
    later = _later_sessions(appointment)
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
    )
    affected = [
        a.id
        for a in later
        if not check_course(
            snapshot=snapshot,
            course=course,
            client=moved_client,
            now=now,
            enrolment_id=enrolment.id,
            by_staff=True,
            override_soft=override,
            # Sessions already booked: their pre-care is the client's since they booked it.
            precare_confirmed=True,
            proposals=[ProposedSession(a.session, a.start_at, a.practitioner_id)],
            replacing=frozenset({a.id}),
        ).ok
    ]
    return MovePreview(
        appointment.id,
        moved,
        tuple(result.violations),
        tuple(affected or sorted(later_ids)),
        _planned(replan.slots, course, appointment.session + 1) if replan.ok else (),
    )


def _only_practitioner(violations: Sequence[Violation]) -> bool:
    return all(v.code in ("practitioner_unavailable", "not_qualified") for v in violations)


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
    replanned: Sequence[int] = (),
    precare_confirmed: bool = False,
) -> None:
    """Audit a move and bring the client's reminders and notices up to date. A moved session
    was judged by the checker as it moved: any flag it had from a change of the world goes."""
    if reason:
        appointment.override_reason = reason
    attention.forget([appointment.id, *replanned])
    outbox.refresh(s, appointment.client_id, now)
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


def _require_notice(actor: Actor, appointments: Sequence[Appointment], now: datetime) -> None:
    """Rule 10: a client cancels only up to the clinic's notice (staff any time)."""
    late = [v for a in appointments if (v := notice_violation(actor, a, now))]
    if late:
        raise RuleViolation(late)


def cancel_appointment(
    *, actor: Actor, appointment_id: int, now: datetime | None = None
) -> Appointment:
    """Cancel one session; its restrictions are lifted with it."""
    now = now or utcnow()
    with transaction() as s:
        appointment = _live_for_change(actor, appointment_id, now, lock=True)
        appointment.status = "cancelled"
        attention.forget([appointment.id])
        enrolment = appointment.enrolment
        if all(a.status == "cancelled" for a in enrolment.appointments):
            enrolment.status = "cancelled"
        outbox.refresh(s, appointment.client_id, now)
        record(s, actor, "cancel", "appointment", appointment.id, client_id=appointment.client_id)
    return appointment


def cancel_enrolment(*, actor: Actor, enrolment_id: int, now: datetime | None = None) -> Enrolment:
    """Cancel a course: its future sessions are cancelled, past ones stay as they were."""
    now = now or utcnow()
    with transaction() as s:
        enrolment = db_session().get(Enrolment, enrolment_id)
        if enrolment is None or not can_cancel_enrolment(actor, enrolment):
            raise NotFound("There is no such course booking.")
        lock_client(enrolment.client_id)
        future = [a for a in enrolment.appointments if a.status == "booked" and a.start_at > now]
        _require_notice(actor, future, now)
        for a in future:
            a.status = "cancelled"
        attention.forget(a.id for a in future)
        enrolment.status = "cancelled"
        outbox.refresh(s, enrolment.client_id, now)
        record(
            s,
            actor,
            "cancel",
            "enrolment",
            enrolment.id,
            client_id=enrolment.client_id,
            sessions=[a.id for a in future],
        )
    return enrolment


OUTCOMES = ("done", "no_show")


def record_outcome(
    *,
    actor: Actor,
    appointment_id: int,
    status: str,
    note: str = "",
    sessions_link: str = "",
    seen: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Staff mark a session that has started done or no-show, with a note (DOMAIN.md "No-show
    and make-up"). A no-show starts no restriction and is not held: unless the clinic's policy
    `no_show_uses_session` says it is used up, the course keeps a make-up session, and the
    client is told (with `sessions_link`, their My sessions page). The course is completed
    once nothing is booked or left to book (services/progress.py). A flag on the session
    goes: a finished session needs no attention.

    Staff may correct an outcome (done <-> no-show): the hour was recorded wrongly, and the
    course's counts follow. A no-show whose make-up is already booked or held is not turned
    into done: that would leave the course a session too many (409 `makeup_booked`).
    `seen`: the status the person saw; if someone else has changed it since, the request is
    refused (409 `appointment_changed`) saying what happened."""
    now = now or utcnow()
    if status not in OUTCOMES:
        raise InvalidRequest("Mark a session done or no-show.", field="status")
    if len(note) > 2000:
        raise InvalidRequest("Keep the note under 2000 characters.", field="note")
    if seen is not None and seen not in APPOINTMENT_STATUSES:
        raise InvalidRequest("The page sent an unknown session status; reload it.", field="seen")
    if not actor.is_staff:  # a client is refused before learning whether the session exists
        raise PermissionDenied("Only clinic staff record how a session went.")
    with transaction() as s:
        appointment = get_appointment(actor=actor, appointment_id=appointment_id)
        if not can_record_outcome(actor, appointment):
            raise PermissionDenied("Only clinic staff record how a session went.")
        lock_client(appointment.client_id)
        was = appointment.status
        if seen is not None and was != seen:
            raise Conflict(_what_changed(appointment), code="appointment_changed")
        if was == "cancelled":
            raise Conflict(
                "This session was cancelled; it has no outcome to record.",
                code="appointment_changed",
            )
        if appointment.start_at > now:
            raise RuleViolation(
                [
                    Violation(
                        "not_started",
                        "A session can be marked only once it has started.",
                        appointment.session,
                    )
                ]
            )
        appointment.status = status
        if note.strip():
            appointment.note = note.strip()
        enrolment = appointment.enrolment
        counts = progress.enrolment_progress(enrolment)
        if counts.held + counts.missed + counts.booked > counts.total:
            raise Conflict(
                "The make-up of this missed session is already booked; cancel the make-up "
                "first, then mark this session done.",
                code="makeup_booked",
            )
        if enrolment.status != "cancelled":
            enrolment.status = "completed" if counts.finished else "active"
        attention.forget([appointment.id])
        if status == "no_show" and was != "no_show" and enrolment.status != "cancelled":
            # The make-up's earliest date, offered in the message (course_rest builds on this
            # module, hence imported here).
            from clinic.services.course_rest import next_session_offer

            offer = next_session_offer(enrolment, now)
            start = offer.slot.start if offer is not None else None
            outbox.tell_missed_session(s, appointment, counts, sessions_link, now, start)
        outbox.refresh(s, appointment.client_id, now)
        record(
            s,
            actor,
            status,
            "appointment",
            appointment.id,
            client_id=appointment.client_id,
            note=note or None,
            was=was if was != "booked" else None,
        )
    return appointment
