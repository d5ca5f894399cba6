"""The rest of a course: an enrolment's remaining sessions, planned and booked into it.

DOMAIN.md "The whole course, in parts": a course may be booked one session at a time; the
enrolment knows how many sessions remain (`services.progress`, make-ups after a no-show
included), and planning or booking the rest, or the next one, is spaced from the last session
held or booked. New sessions take the numbers after the highest one the enrolment has used
and start after its last session, so session order is time order and spacing is judged
between neighbours (docs/DECISIONS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from clinic.models import (
    HOLDING_STATUSES,
    RESTRICTING_STATUSES,
    Appointment,
    Enrolment,
    Practitioner,
    utcnow,
)
from clinic.scheduling import (
    CourseRules,
    PlanResult,
    Preferences,
    ProposedSession,
    Violation,
    check_course,
    plan_course,
)
from clinic.scheduling.wording import moment_text
from clinic.services.core import clinic_setup, date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record, shown_in_violations
from clinic.services.core.db import db_session, lock_client, transaction
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
    refusal,
)
from clinic.services.core.permissions import (
    can_book_for,
    can_see_enrolment,
    is_staff,
    override_allowed,
    precare_confirmation_allowed,
)
from clinic.services.courses.placing import (
    CoursePlan,
    PlannedSession,
    SessionRequest,
    new_appointment,
    planned,
    precare_begun,
)
from clinic.services.messages import notices
from clinic.services.world import client_reads, flags
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.progress import Progress, enrolment_progress, next_session_number
from clinic.services.world.screening import require_current_screening
from clinic.services.world.snapshot import load_snapshot


@dataclass(frozen=True, slots=True)
class EnrolmentState:
    """Where the rest of a course starts from."""

    enrolment: Enrolment
    course: CourseRules
    progress: Progress
    next_session: int  # the number the next new session takes
    previous_start: datetime | None  # the last session held or booked: spacing counts from it
    after: datetime | None  # the last session held, missed or booked: new ones start later

    @property
    def closed(self) -> bool:
        """Cancelled, or nothing left to plan."""
        return self.enrolment.status == "cancelled" or self.progress.remaining == 0


@dataclass(frozen=True, slots=True)
class BookedRest:
    enrolment: Enrolment
    appointments: tuple[Appointment, ...]  # the sessions just booked, in order


def enrolment_state(enrolment: Enrolment) -> EnrolmentState:
    """The counts, the next session's number and what the next session is spaced from."""
    course = enrolment_rules(enrolment)
    # A session held, missed or to come keeps its place in the course's order (a cancelled
    # one gave it up); spacing counts from those held or to come: a no-show starts nothing
    # (DOMAIN.md "No-show and make-up").
    used = [a for a in enrolment.appointments if a.status in HOLDING_STATUSES]
    spaced = [a.start_at for a in used if a.status in RESTRICTING_STATUSES]
    return EnrolmentState(
        enrolment=enrolment,
        course=course,
        progress=enrolment_progress(enrolment, course.sessions),
        next_session=next_session_number(enrolment),
        previous_start=max(spaced, default=None),
        after=max((a.start_at for a in used), default=None),
    )


def get_enrolment(*, actor: Actor, enrolment_id: int) -> Enrolment:
    """A course booking the actor may see (reception any, a client theirs, a practitioner one
    they treat a session of); NotFound otherwise, so another's reveals nothing."""
    enrolment = db_session().get(Enrolment, enrolment_id)
    if enrolment is None or not can_see_enrolment(actor, enrolment):
        raise NotFound("There is no such course booking.")
    return enrolment


def _for_booking(actor: Actor, enrolment_id: int) -> Enrolment:
    enrolment = get_enrolment(actor=actor, enrolment_id=enrolment_id)
    if not can_book_for(actor, enrolment.client_id):
        raise PermissionDenied("Bookings are made by reception or by clients themselves.")
    return enrolment


def _require_open(state: EnrolmentState) -> None:
    """A cancelled or finished course takes no more sessions: said as it is (409)."""
    name = state.enrolment.course.name
    if state.enrolment.status == "cancelled":
        raise Conflict(
            f"This booking of {name} was cancelled; book the course again instead.",
            code="enrolment_closed",
        )
    if state.progress.finished:
        raise Conflict(f"Every session of {name} has been held.", code="enrolment_closed")
    if state.progress.remaining == 0:
        raise Conflict(
            f"Every remaining session of {name} is booked already; change their dates instead.",
            code="nothing_to_book",
        )


def plan_rest(
    *,
    actor: Actor,
    enrolment_id: int,
    earliest: date | None = None,
    preferences: Preferences | None = None,
    count: int | None = None,
    now: datetime | None = None,
) -> CoursePlan:
    """Propose the next `count` sessions of a course booking (default: all that remain; 1: the
    next one), spaced from its last session held or booked; writes nothing."""
    now = now or utcnow()
    enrolment = _for_booking(actor, enrolment_id)
    require_current_screening(actor=actor, client_id=enrolment.client_id, now=now)
    state = enrolment_state(enrolment)
    _require_open(state)
    remaining = state.progress.remaining
    count = remaining if count is None else count
    if not 1 <= count <= remaining:
        raise InvalidRequest(
            f"Plan between 1 and {remaining} session{'s' if remaining != 1 else ''}.",
            field="count",
        )
    today = date_range.clinic_today(now)
    if earliest is not None:
        date_range.check_bookable_day(earliest, field="earliest", now=now)
    wanted = preferences.practitioner_id if preferences is not None else None
    if wanted is not None and db_session().get(Practitioner, wanted) is None:
        raise NotFound("There is no such practitioner.", field="preferences.practitioner")
    result = _plan_next(state, earliest or today, preferences, count, now, is_staff(actor))
    if not result.ok:
        shown_in_violations(actor, enrolment.client_id, result.violations, "plan the rest")
        raise RuleViolation(list(result.violations))
    return CoursePlan(
        enrolment.course.code,
        enrolment.client_id,
        planned(result.slots, state.course, state.next_session),
        result.notes,
    )


def _plan_next(
    state: EnrolmentState,
    earliest: date,
    preferences: Preferences | None,
    count: int,
    now: datetime,
    by_staff: bool = False,
) -> PlanResult:
    first = state.next_session
    enrolment_id = state.enrolment.id
    client = client_reads.client_state(state.enrolment.client_id, now, enrolments=(enrolment_id,))
    return plan_course(
        snapshot=load_snapshot(remembered=True),
        course=state.course,
        client=client,
        earliest=earliest,
        now=now,
        prefs=preferences,
        first_session=first,
        last_session=first + count - 1,
        enrolment_id=enrolment_id,
        # Spaced from the sessions the checker counts (held or booked, whatever their age),
        # read in the same place: the plan and the booking of it cannot disagree.
        previous_start=max(
            (b.start for b in client.sessions if b.enrolment_id == enrolment_id), default=None
        ),
        by_staff=by_staff,
    )


def next_session_offer(enrolment: Enrolment, now: datetime) -> PlannedSession | None:
    """The earliest next session the course's rules allow (the make-up a no-show leaves),
    for the message that tells the client; None if there is none to book or none fits."""
    state = enrolment_state(enrolment)
    if state.closed or not state.progress.remaining:
        return None
    result = _plan_next(state, now.astimezone(clinic_setup.clinic_tz()).date(), None, 1, now)
    if not result.ok:
        return None
    return planned(result.slots, state.course, state.next_session)[0]


def book_rest(
    *,
    actor: Actor,
    enrolment_id: int,
    sessions: Sequence[SessionRequest],
    precare_confirmed: bool = False,
    override_reason: str = "",
    now: datetime | None = None,
) -> BookedRest:
    """Book more sessions into a course booking, atomically: every one is written, or none.

    They may not outnumber the sessions that remain, and they follow the enrolment's last
    session, numbered after it; spacing is checked against its sessions held and booked.
    `precare_confirmed` and `override_reason` are staff's, as in `booking.book_course`.
    """
    now = now or utcnow()
    if not sessions:
        raise InvalidRequest("Give at least one session.", field="sessions")
    override = override_allowed(actor, override_reason)
    confirmed = precare_confirmation_allowed(actor, precare_confirmed)
    reason = override_reason.strip() if override else ""
    with transaction() as s:
        client_id = _for_booking(actor, enrolment_id).client_id
        lock_client(client_id)  # then read the enrolment again, as it is now
        enrolment = _for_booking(actor, enrolment_id)
        require_current_screening(actor=actor, client_id=client_id, now=now)
        state = enrolment_state(enrolment)
        _require_open(state)
        remaining = state.progress.remaining
        if len(sessions) > remaining:
            raise InvalidRequest(
                f"{enrolment.course.name} has {remaining} session"
                f"{'s' if remaining != 1 else ''} left to book; {len(sessions)} were given.",
                field="sessions",
            )
        ordered = sorted(sessions, key=lambda r: r.start)
        first = state.next_session
        date_range.check_starts(((first + i, r.start) for i, r in enumerate(ordered)), now=now)
        _require_after(state, ordered[0].start, first)
        course = state.course
        result = check_course(
            snapshot=load_snapshot(),
            course=course,
            client=client_reads.client_state(client_id, now, enrolments=(enrolment.id,)),
            proposals=[
                ProposedSession(first + i, r.start, r.practitioner_id)
                for i, r in enumerate(ordered)
            ],
            now=now,
            enrolment_id=enrolment.id,
            by_staff=is_staff(actor),
            override_soft=override,
            precare_confirmed=confirmed,
        )
        if not result.ok:
            shown_in_violations(actor, client_id, result.violations, "book the rest")
            raise refusal(result.violations)
        kept = [first + i for i in precare_begun(result.slots, course, now)] if confirmed else []
        added = [
            new_appointment(enrolment, first + i, slot, course, reason)
            for i, slot in enumerate(result.slots)
        ]
        s.add_all(added)
        if enrolment.status == "completed":  # a make-up owed after a no-show
            enrolment.status = "active"
        s.flush()
        flags.raise_for(flags.by_session(result.flags, ((a.session, a.id) for a in added)), now=now)
        s.refresh(enrolment, ["appointments"])
        notices.confirm_booking(s, enrolment, now, added)
        record(
            s,
            actor,
            "book_sessions",
            "enrolment",
            enrolment.id,
            client_id=client_id,
            course=course.code,
            sessions={str(a.session): a.start_at.isoformat() for a in added},
            override_reason=reason or None,
            precare_confirmed=kept or None,
        )
    return BookedRest(enrolment, tuple(added))


def _require_after(state: EnrolmentState, start: datetime, first: int) -> None:
    """New sessions follow the enrolment's last one (docs/DECISIONS.md): its order is time
    order, so spacing is judged between neighbours."""
    if state.after is not None and start <= state.after:
        when = moment_text(state.after.astimezone(clinic_setup.clinic_tz()))
        raise RuleViolation(
            [
                Violation(
                    "session_order",
                    f"New sessions come after the last one booked or held ({when}); "
                    "to change an earlier date, move that session instead.",
                    first,
                )
            ]
        )
