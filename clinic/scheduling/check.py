"""Checking a proposed booking (a course, one session, or a move) against every rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from clinic.scheduling.resources import DayResources, Snapshot, day_resources, held_by
from clinic.scheduling.rules import (
    change_notice_violation,
    client_overlap_violation,
    client_plan_violations,
    consent_violations,
    contraindication_violations,
    past_violation,
    patch_test_violation,
    precare_violation,
    restriction_violations,
    season_violation,
    spacing_violations,
)
from clinic.scheduling.timeutil import local_date
from clinic.scheduling.types import (
    BookedSession,
    CheckResult,
    ClientState,
    CourseRules,
    Occupancy,
    ProposedSession,
    Slot,
    TimeRange,
    Violation,
)


def _fixed_client_violations(
    *,
    session: int,
    start: datetime,
    end: datetime,
    course: CourseRules,
    enrolment_id: int,
    client: ClientState,
    others: Sequence[BookedSession],
    tz: ZoneInfo,
    now: datetime,
    precare_confirmed: bool = False,
) -> tuple[list[Violation], list[Violation], Violation | None]:
    """The parts of `client_violations` against `others`: the rules up to rule 2, rule 3,
    and rule 9 (the first overlap), kept apart so more sessions can be added in order."""
    head: list[Violation] = []
    past = past_violation(session=session, start=start, now=now)
    if past:
        head.append(past)
    elif not precare_confirmed:
        precare = precare_violation(session=session, start=start, course=course, now=now, tz=tz)
        if precare:
            head.append(precare)
    season = season_violation(session=session, start=start, course=course, tz=tz)
    if season:
        head.append(season)
    head += contraindication_violations(
        session=session,
        start=start,
        course=course,
        conditions=client.conditions,
        tz=tz,
        phototype=client.phototype,
    )
    patch = patch_test_violation(
        session=session,
        start=start,
        course=course,
        sessions=client.sessions,
        tz=tz,
        now=now,
    )
    if patch:
        head.append(patch)
    head += consent_violations(
        session=session, start=start, procedure=course.procedure, consents=client.consents, tz=tz
    )
    head += restriction_violations(
        session=session,
        start=start,
        course=course,
        enrolment_id=enrolment_id,
        others=others,
        tz=tz,
    )
    plans = client_plan_violations(
        session=session, start=start, course=course, periods=client.periods, tz=tz
    )
    overlap = client_overlap_violation(
        session=session, span=TimeRange(start, end), others=others, tz=tz
    )
    return head, plans, overlap


def client_violations(
    *,
    session: int,
    start: datetime,
    end: datetime,
    course: CourseRules,
    enrolment_id: int,
    client: ClientState,
    others: Sequence[BookedSession],
    tz_rules: DayResources | Snapshot,
    now: datetime,
    precare_confirmed: bool = False,
) -> list[Violation]:
    """Rules 2, 3, 4, 5, 9, 11 and the past half of 10 for one session of enrolment
    `enrolment_id` (0: the one being booked) of a client. `precare_confirmed`: the client
    says they have kept the pre-care already begun (rule 11)."""
    head, plans, overlap = _fixed_client_violations(
        session=session,
        start=start,
        end=end,
        course=course,
        enrolment_id=enrolment_id,
        client=client,
        others=others,
        tz=tz_rules.clinic.tz,
        now=now,
        precare_confirmed=precare_confirmed,
    )
    return head + plans + ([overlap] if overlap else [])


class ClientJudge:
    """`client_violations` for many candidate starts against the client's fixed sessions plus
    a few more (the sessions a plan has placed so far).

    The part that depends on the fixed sessions only is remembered per (session, start, end),
    so a planner that comes back to a day does not judge the client's whole history again.
    The answer is the same list, in the same order, as `client_violations` with
    `others = fixed + extra`: rule 2 and rule 9 look at the sessions in that order; for staff
    (`by_staff`) without the rules staff may book past (a consent not signed, which
    `check_course` turns into flags).
    """

    def __init__(
        self,
        *,
        course: CourseRules,
        enrolment_id: int,
        client: ClientState,
        fixed: Sequence[BookedSession],
        tz: ZoneInfo,
        now: datetime,
        by_staff: bool = False,
    ) -> None:
        self.course = course
        self.enrolment_id = enrolment_id
        self.client = client
        self.fixed = list(fixed)
        self.tz = tz
        self.now = now
        self.by_staff = by_staff
        self._memo: dict[
            tuple[int, datetime, datetime],
            tuple[list[Violation], list[Violation], Violation | None],
        ] = {}

    def violations(
        self, *, session: int, start: datetime, end: datetime, extra: Sequence[BookedSession]
    ) -> list[Violation]:
        key = (session, start, end)
        parts = self._memo.get(key)
        if parts is None:
            parts = self._memo[key] = _fixed_client_violations(
                session=session,
                start=start,
                end=end,
                course=self.course,
                enrolment_id=self.enrolment_id,
                client=self.client,
                others=self.fixed,
                tz=self.tz,
                now=self.now,
            )
            if self.by_staff:
                head, plans, overlap = parts
                parts = self._memo[key] = (
                    [v for v in head if not v.staff_may_book],
                    plans,
                    overlap,
                )
        head, plans, overlap = parts
        if not extra:
            return head + plans + ([overlap] if overlap else [])
        course, tz = self.course, self.tz
        added = restriction_violations(
            session=session,
            start=start,
            course=course,
            enrolment_id=self.enrolment_id,
            others=extra,
            tz=tz,
        )
        if overlap is None:
            overlap = client_overlap_violation(
                session=session, span=TimeRange(start, end), others=extra, tz=tz
            )
        return head + added + plans + ([overlap] if overlap else [])


def check_course(
    *,
    snapshot: Snapshot,
    course: CourseRules,
    client: ClientState,
    proposals: Sequence[ProposedSession],
    now: datetime,
    enrolment_id: int | None = None,
    replacing: frozenset[int] = frozenset(),
    current_starts: dict[int, datetime] | None = None,
    by_staff: bool = False,
    override_soft: bool = False,
    precare_confirmed: bool = False,
    days: dict[date, DayResources] | None = None,
) -> CheckResult:
    """Check sessions of one enrolment against rules 1-11.

    `proposals` are the new or moved sessions; the enrolment's other live sessions (in
    `client.sessions` with `enrolment_id`, minus `replacing`) stay fixed and count for spacing.
    `current_starts` maps a moved session's number to its start now (for the change notice).
    `precare_confirmed`: the client has kept the pre-care of the proposals that has already
    begun (rule 11; the caller records who said so).
    `days`: the day resources of this snapshot, procedure and `replacing` already built, by
    local date; a caller judging many candidate starts (offers.py) shares them between calls.
    Returns every violation and, when there are none, the slot (practitioner, device, room)
    chosen for each proposal. For staff (`by_staff`) the rules they may book past (a consent
    not signed yet) are `flags` of the result, not violations: they refuse nothing, and the
    caller puts the sessions on the attention list.
    """
    tz = snapshot.clinic.tz
    violations: list[Violation] = []
    slots: list[Slot] = []
    days = {} if days is None else days

    if current_starts:
        for number, current in current_starts.items():
            late = change_notice_violation(
                session=number,
                current_start=current,
                now=now,
                notice=snapshot.clinic.change_notice,
                by_staff=by_staff,
                tz=tz,
            )
            if late:
                violations.append(late)

    existing = [s for s in client.sessions if s.appointment_id not in replacing]
    proposed_sessions: list[BookedSession] = []
    for p in proposals:
        proposed_sessions.append(
            BookedSession(
                0,
                enrolment_id or 0,
                p.session,
                p.start,
                p.start + course.procedure.duration,
                course,
            )
        )

    # Rule 1 over the enrolment's whole sequence, fixed sessions included.
    sequence = sorted(
        [
            (s.session, s.start, False)
            for s in existing
            if enrolment_id is not None and s.enrolment_id == enrolment_id
        ]
        + [(p.session, p.start, True) for p in proposals]
    )
    for i, (number, start, is_new) in enumerate(sequence):
        if not is_new:
            continue
        prev_start = sequence[i - 1][1] if i > 0 else None
        next_start = (
            sequence[i + 1][1] if i + 1 < len(sequence) and not sequence[i + 1][2] else None
        )
        violations += spacing_violations(
            session=number,
            start=start,
            previous=prev_start,
            following=next_start,
            course=course,
            tz=tz,
            today=local_date(now, tz),
        )

    # The days of all proposals in one load, not one per session (they are weeks apart).
    snapshot.book.preload(local_date(p.start, tz) for p in proposals)
    held: list[Occupancy] = []
    for i, p in enumerate(proposals):
        day = local_date(p.start, tz)
        # Sessions of this request on the same day hold their practitioner, device and room too.
        same_day = [o for o in held if local_date(o.start, tz) == day]
        if same_day:
            resources = DayResources(snapshot, course.procedure, day, replacing, same_day)
        else:
            if day not in days:
                days[day] = day_resources(snapshot, course.procedure, day, replacing)
            resources = days[day]
        slot, problems = resources.slot_for(p.start, p.practitioner_id, p.session)
        violations += problems
        if slot is not None:
            slots.append(slot)
            held.append(held_by(slot, course.procedure))
        others = existing + proposed_sessions[:i] + proposed_sessions[i + 1 :]
        violations += client_violations(
            session=p.session,
            start=p.start,
            end=p.start + course.procedure.duration,
            course=course,
            enrolment_id=enrolment_id or 0,
            client=client,
            others=others,
            tz_rules=snapshot,
            now=now,
            precare_confirmed=precare_confirmed,
        )

    if override_soft:
        violations = [v for v in violations if not v.soft]
    flags: list[Violation] = []
    if by_staff:
        flags = [v for v in violations if v.staff_may_book]
        violations = [v for v in violations if not v.staff_may_book]
    # Two sessions of the same request may describe one clash twice; keep each sentence once.
    unique = list(dict.fromkeys(violations))
    return CheckResult(
        tuple(unique), tuple(slots) if not unique else (), tuple(dict.fromkeys(flags))
    )
