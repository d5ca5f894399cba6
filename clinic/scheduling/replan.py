"""Re-planning an enrolment whose booked sessions a change of the world broke.

A practitioner's time off, a holiday, a device out of service, a new contraindication or a
declared sun holiday can break booked sessions of a course (DOMAIN.md, "Changes of the
world"). `minimal_replan` proposes new slots that make the course valid again while moving as
few sessions as possible: a move of session k keeps later sessions where they still hold.

The algorithm
-------------
The enrolment's sessions, in session order, form a chain in which only consecutive sessions
constrain each other (rule 1, spacing); every other rule judges a session against the client's
other enrolments and the clinic's resources, which the re-plan does not change. Sessions
already held (start <= now) never move, nor do sessions the caller keeps (`keep`), nor, for a
client (`by_staff=False`), sessions inside the change notice.

1. The broken sessions are taken in order. Each one, k, starts a *run* of sessions to move:
   first the run {k} (and any broken sessions right after it, which must move anyway). The run
   lies between the session before it, k-1, which stays, and the first session after it, q,
   which stays. If a placement of the run exists, it is taken and the next broken session after
   q starts the next run.
2. Only when no placement of {k} exists between k-1 and q = k+1 does the run grow by one
   session, {k, k+1} between k-1 and k+2; then {k, k+1, k+2}; and so on, until a placement
   exists or the course ends. Runs never move sessions before k: the sessions before a broken
   one were valid and stay where the client expects them.
3. A run is placed by a depth-first search over days. Each session of the run tries the days
   its spacing allows (after the session before it, and early enough that the remaining run
   still fits before q), nearest to its old day first (the later day first between equals: the
   pre-care the client is keeping still holds for a later date); on each day the slots of
   `DaySearch.anchored`, i.e. its old practitioner at the times nearest its old time of day
   first, then the other qualified practitioners at those times. A slot is judged by the same
   rule functions as the checker (`DayResources` for rules 6 to 8, `ClientJudge` for the
   client's rules), and a complete run is confirmed by `check_course` itself over every session
   the re-plan moves, so checker and re-plan cannot disagree. Days outside the season (rule 5),
   before the contraindications allow (rule 4), or beyond the clinic's horizon are not tried.
4. Rule 11 on a move, as `preview_move` treats it: a session moved later keeps the pre-care the
   client has been keeping (confirmed); a session moved earlier must not have its pre-care
   already begun.

Why it is minimal
-----------------
Every broken session must move, and moving a session only ever frees what it held. Any re-plan
that moves broken session k (and no session before it) moves every session from k up to the
first one after k that it keeps: a run. The re-plan here takes the shortest run that has a
placement, so it moves no more sessions than any other. A session that is not broken moves only as part of a run {k, ..., e} for which every shorter run
{k, ..., e'} (e' < e) was searched completely and has no placement: keeping any of k+1..e where
it is would make the run end before it, which is exactly one of those shorter runs. So each
moved session that was not broken had to move: pinning it in place (`keep`) leaves no re-plan.
Runs are separated by a session that stays, and spacing links only neighbours, so one run's
choice cannot force another to grow (except through a shared resource or the client's own
overlap on one day, which the later runs see as taken). At most the sessions from the first
broken one to the end of the course move.

A broken session whose nearest place is the one it has (broken only through a neighbour that
now moves, e.g. after a stricter spacing) is left out of the moves. A client's re-plan
(`by_staff=False`) is refused at once when a broken session is inside the change notice.

The search tries one slot per day for each session (the first the rules accept): the next
sessions depend on a session's day through spacing, and on its slot only when they fall on the
same day. Like the planner it gives up after `MAX_DAY_VISITS` days, and then says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clinic.scheduling.check import ClientJudge, check_course
from clinic.scheduling.daysearch import Anchor, DaySearch, kept_day_search
from clinic.scheduling.resources import DayResources, Snapshot, held_by
from clinic.scheduling.rules import (
    change_notice_violation,
    contraindication_violations,
    earliest_allowed_by_contraindications,
    precare_violation,
    season_violation,
    spacing_violations,
)
from clinic.scheduling.timeutil import day_start, local, local_date
from clinic.scheduling.types import (
    BookedSession,
    ClientState,
    CourseRules,
    Preferences,
    ProposedSession,
    Slot,
    Violation,
)
from clinic.scheduling.wording import long_day_text

# (appointment id, new slot) in session order.
Moves = tuple[tuple[int, Slot], ...]

# How many (session, day) visits one re-plan may make before it gives up.
MAX_DAY_VISITS = 4000

_ANY = Preferences()


@dataclass(frozen=True, slots=True)
class Replan:
    """Moves that make an enrolment valid again, or why there are none.

    `moves` are (appointment id, new slot) in session order; empty when nothing needs to move
    or no re-plan exists (then `violations` say which rule made it impossible)."""

    moves: Moves
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations


class _GaveUp(Exception):
    """The search used up its day visits."""


class _Replanner:
    def __init__(
        self,
        *,
        snapshot: Snapshot,
        course: CourseRules,
        client: ClientState,
        enrolment_id: int,
        sequence: Sequence[BookedSession],
        broken: frozenset[int],
        now: datetime,
        by_staff: bool,
        allowed_from: date,
        push_days: int = 0,
    ) -> None:
        self.snapshot = snapshot
        self.tz = snapshot.clinic.tz
        self.course = course
        self.client = client
        self.enrolment_id = enrolment_id
        self.sequence = sequence
        self.broken = broken
        self.now = now
        self.by_staff = by_staff
        # How many days later than its old day each moved session is aimed at.
        self.push = timedelta(days=push_days)
        today = local_date(now, self.tz)
        self.first_day = max(today, allowed_from)
        self.horizon_end = today + timedelta(days=snapshot.clinic.horizon_days)
        # Moves of the runs placed so far: appointment id -> slot.
        self.placed: dict[int, Slot] = {}
        self.visits = 0
        self.reasons: Counter[str] = Counter()
        self.examples: dict[str, Violation] = {}
        self.deepest = 0
        self._days: dict[tuple[date, frozenset[int]], DaySearch] = {}
        self._held: dict[int, dict[str, int]] = {}

    # What the search met, for the answer when there is no re-plan.
    def note(self, position: int, violation: Violation) -> None:
        if position > self.deepest:
            self.deepest = position
            self.reasons.clear()
        if position == self.deepest:
            self.reasons[violation.code] += 1
            self.examples.setdefault(violation.code, violation)

    def run(self, first: int, keep_fixed: frozenset[int]) -> bool:
        """Place the run that starts at position `first` (a broken session), growing it until
        a placement exists; False when none does."""
        self.deepest = first
        self.reasons.clear()
        self.examples.clear()
        last = first
        while True:
            # A broken session right after the run must move anyway: it joins the run.
            while last + 1 < len(self.sequence) and self._is_broken(last + 1):
                last += 1
            found = self._place_run(first, last)
            if found is not None:
                # The checker's slots for every move so far (a run may share a day with one
                # placed before it).
                self.placed = dict(found)
                return True
            last += 1
            if last >= len(self.sequence) or not self._movable(last, keep_fixed):
                return False

    def _is_broken(self, position: int) -> bool:
        return self.sequence[position].appointment_id in self.broken

    def _movable(self, position: int, keep_fixed: frozenset[int]) -> bool:
        s = self.sequence[position]
        if s.start <= self.now or s.appointment_id in keep_fixed:
            return False
        return self.notice_violation(s) is None

    def notice_violation(self, s: BookedSession) -> Violation | None:
        return change_notice_violation(
            session=s.session,
            current_start=s.start,
            now=self.now,
            notice=self.snapshot.clinic.change_notice,
            by_staff=self.by_staff,
            tz=self.tz,
        )

    def _place_run(self, first: int, last: int) -> Moves | None:
        replacing = frozenset(self.placed) | self.broken
        replacing |= {self.sequence[p].appointment_id for p in range(first, last + 1)}
        judge = ClientJudge(
            course=self.course,
            enrolment_id=self.enrolment_id,
            client=self.client,
            fixed=[s for s in self.client.sessions if s.appointment_id not in replacing],
            tz=self.tz,
            now=self.now,
            by_staff=self.by_staff,
        )
        earlier = [self._as_booked(aid, slot) for aid, slot in self.placed.items()]
        search = _RunSearch(self, judge, replacing, first, last, earlier)
        try:
            return search.place(first, [])
        except _GaveUp:
            return None

    def _as_booked(self, appointment_id: int, slot: Slot) -> BookedSession:
        old = next(s for s in self.sequence if s.appointment_id == appointment_id)
        return BookedSession(0, self.enrolment_id, old.session, slot.start, slot.end, self.course)

    def day_search(self, day: date, replacing: frozenset[int], held: list[Slot]) -> DaySearch:
        """The day with the moved sessions' old places free and the new ones on it taken."""
        procedure = self.course.procedure
        same_day = [held_by(s, procedure) for s in held if local_date(s.start, self.tz) == day]
        if same_day:
            return DaySearch(DayResources(self.snapshot, procedure, day, replacing, same_day), _ANY)
        if not self.snapshot.book.holds_any(day, replacing):
            # Nothing set aside holds anything that day: the day as every plan sees it, kept
            # with the book (a worker's, for the attention list: its days between questions).
            return kept_day_search(self.snapshot, procedure, day, _ANY)
        key = (day, replacing)
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = DaySearch(
                DayResources(self.snapshot, procedure, day, replacing), _ANY
            )
        return found

    def held_now(self, s: BookedSession) -> dict[str, int]:
        """What the session holds in the book: {'p': practitioner, 'd': device, 'r': room}."""
        found = self._held.get(s.appointment_id)
        if found is None:
            day = self.snapshot.book.day(local_date(s.start, self.tz))
            found = self._held[s.appointment_id] = {
                kind: resource_id
                for (kind, resource_id), entries in day.items()
                if any(a == s.appointment_id for _, _, a in entries)
            }
        return found

    def anchor(self, s: BookedSession) -> Anchor:
        """The session's old time of day and practitioner (-1 when the book does not know)."""
        moment = local(s.start, self.tz)
        return moment.hour * 60 + moment.minute, self.held_now(s).get("p", -1)

    def unchanged(self, s: BookedSession, slot: Slot) -> bool:
        """The slot is where the session is: same start, practitioner, device and room."""
        was = self.held_now(s)
        return (slot.start, slot.practitioner_id, slot.device_id, slot.room_id) == (
            s.start,
            was.get("p"),
            was.get("d"),
            was.get("r"),
        )

    def confirmed(self, moves: dict[int, Slot]) -> Moves | None:
        """The moves as `check_course` sees them (its slots), or None if it refuses them."""
        moved = sorted(
            (s for s in self.sequence if s.appointment_id in moves), key=lambda s: s.session
        )
        for s in moved:
            start = moves[s.appointment_id].start
            if start < s.start and precare_violation(
                session=s.session, start=start, course=self.course, now=self.now, tz=self.tz
            ):
                return None
        result = check_course(
            snapshot=self.snapshot,
            course=self.course,
            client=self.client,
            proposals=[
                ProposedSession(
                    s.session,
                    moves[s.appointment_id].start,
                    moves[s.appointment_id].practitioner_id,
                )
                for s in moved
            ],
            now=self.now,
            enrolment_id=self.enrolment_id,
            # Broken sessions of later runs will move too: their old places do not count.
            replacing=frozenset(moves) | self.broken,
            current_starts={s.session: s.start for s in moved},
            by_staff=self.by_staff,
            # Moved later: the pre-care the client keeps holds (checked above otherwise).
            precare_confirmed=True,
        )
        if not result.ok:
            return None
        return tuple((s.appointment_id, slot) for s, slot in zip(moved, result.slots, strict=True))

    def explain(self, broken: BookedSession) -> tuple[Violation, ...]:
        where = f"within the booking horizon (until {long_day_text(self.horizon_end)})"
        if self.visits > MAX_DAY_VISITS:
            where = "within the search limit"
        session = self.sequence[self.deepest].session
        intro = f"No re-plan of session {broken.session} keeps the course's rules {where}"
        counts = self.reasons
        if not counts:
            return (
                Violation(
                    "spacing_too_far" if self.course.max_interval_days else "spacing_too_close",
                    f"{intro}: no date for session {session} fits "
                    f"{_interval_words(self.course)} from the sessions around it.",
                    broken.session,
                ),
            )
        # Closed days (Sundays, holidays) are only the reason when nothing else stood in the way.
        if len(counts) > 1:
            counts = Counter({c: n for c, n in counts.items() if c != "clinic_closed"})
        out = []
        for code, _ in counts.most_common(2):
            example = self.examples[code]
            out.append(
                Violation(
                    code,
                    f"{intro}: session {session} cannot be placed. {example.message}",
                    broken.session,
                    example.earliest,
                    soft=example.soft,
                )
            )
        return tuple(out)


def _interval_words(course: CourseRules) -> str:
    lo, hi = course.min_interval_days, course.max_interval_days
    return f"{lo} to {hi} days" if hi is not None else f"at least {lo} days"


class _RunSearch:
    """The depth-first search for one run: positions `first` to `last` of the sequence."""

    def __init__(
        self,
        replanner: _Replanner,
        judge: ClientJudge,
        replacing: frozenset[int],
        first: int,
        last: int,
        earlier: list[BookedSession],
    ) -> None:
        self.r = replanner
        self.judge = judge
        self.replacing = replacing
        self.first = first
        self.last = last
        self.earlier = earlier
        sequence = replanner.sequence
        self.previous = sequence[first - 1] if first > 0 else None
        self.following = sequence[last + 1] if last + 1 < len(sequence) else None
        # (position, slots of the run on the day before) known to lead nowhere.
        self.dead_ends: set[tuple[int, tuple[Slot, ...]]] = set()

    def window(self, position: int, plan: list[Slot]) -> tuple[date, date]:
        """The days spacing, the contraindications and the horizon allow this session, with
        room left for the rest of the run before the session that stays after it."""
        r, course, tz = self.r, self.r.course, self.r.tz
        lo, hi = course.min_interval_days, course.max_interval_days
        earliest, latest = r.first_day, r.horizon_end
        before = plan[-1].start if plan else (self.previous.start if self.previous else None)
        if before is not None:
            day = local_date(before, tz)
            earliest = max(earliest, day + timedelta(days=lo))
            if hi is not None:
                latest = min(latest, day + timedelta(days=hi))
        if self.following is not None:
            gaps = self.last + 1 - position
            day = local_date(self.following.start, tz)
            latest = min(latest, day - timedelta(days=gaps * lo))
            if hi is not None:
                earliest = max(earliest, day - timedelta(days=gaps * hi))
        return earliest, latest

    def no_day(self, old: BookedSession, position: int, plan: list[Slot]) -> Violation:
        """Why the session has no day at all: the sessions that stay around it are too close or
        too far apart for the run between them (rule 1), or the horizon ends first."""
        r, course = self.r, self.r.course
        before = plan[-1].start if plan else (self.previous.start if self.previous else None)
        if self.following is not None and before is not None:
            span = (local_date(self.following.start, r.tz) - local_date(before, r.tz)).days
            too_close = span < (self.last + 2 - position) * course.min_interval_days
            return Violation(
                "spacing_too_close" if too_close else "spacing_too_far",
                f"No date for session {old.session} is {_interval_words(course)} from the "
                "sessions that stay around it.",
                old.session,
            )
        if before is not None:
            # Nothing after it stays: its first possible day may already be too far from the
            # session before it (a lapsed course). Said as the checker says it.
            far = [
                v
                for v in spacing_violations(
                    session=old.session,
                    start=day_start(r.first_day, r.tz),
                    previous=before,
                    following=None,
                    course=course,
                    tz=r.tz,
                    today=local_date(r.now, r.tz),
                )
                if v.code == "spacing_too_far"
            ]
            if far:
                return far[0]
        return Violation(
            "practitioner_unavailable",
            f"No date for session {old.session} is left before the end of the booking horizon "
            f"({long_day_text(r.horizon_end)}).",
            old.session,
        )

    def place(self, position: int, plan: list[Slot]) -> Moves | None:
        """Place the run's sessions from `position` on after `plan`; the answer is every move of
        the re-plan so far as the checker confirms it, or None."""
        r = self.r
        tz = r.tz
        same_day = (
            tuple(s for s in plan if local_date(s.start, tz) == local_date(plan[-1].start, tz))
            if plan
            else ()
        )
        key = (position, same_day)
        if key in self.dead_ends:
            return None
        old = r.sequence[position]
        earliest, latest = self.window(position, plan)
        if earliest > latest:
            r.note(position, self.no_day(old, position, plan))
        anchor = r.anchor(old)
        planned = [
            BookedSession(
                0, r.enrolment_id, r.sequence[self.first + i].session, s.start, s.end, r.course
            )
            for i, s in enumerate(plan)
        ]
        extra = self.earlier + planned
        held = [*r.placed.values(), *plan]
        for day in _nearest_days(local_date(old.start, tz) + r.push, earliest, latest):
            r.visits += 1
            if r.visits > MAX_DAY_VISITS:
                raise _GaveUp
            if day.month not in r.course.months:
                season = season_violation(
                    session=old.session, start=day_start(day, tz), course=r.course, tz=tz
                )
                assert season is not None  # the rule's answer for a day out of its months
                r.note(position, season)
                continue
            chosen = self._slot_on(position, old, day, anchor, held, extra)
            if chosen is None:
                continue
            found: Moves | None
            if position == self.last:
                moves = dict(r.placed)
                for i, slot in enumerate([*plan, chosen]):
                    moves[r.sequence[self.first + i].appointment_id] = slot
                found = r.confirmed(moves)
            else:
                found = self.place(position + 1, [*plan, chosen])
            if found is not None:
                return found
        self.dead_ends.add(key)
        return None

    def _slot_on(
        self,
        position: int,
        old: BookedSession,
        day: date,
        anchor: Anchor,
        held: list[Slot],
        extra: list[BookedSession],
    ) -> Slot | None:
        """The first slot of the day, in the anchored order, that every rule accepts."""
        r = self.r
        day_search = r.day_search(day, self.replacing, held)
        nothing = day_search.nothing_free
        if nothing is not None:
            r.note(position, nothing)
            return None
        verdicts: dict[datetime, bool] = {}
        for slot in day_search.anchored(anchor):
            ok = verdicts.get(slot.start)
            if ok is None:
                problems = self.judge.violations(
                    session=old.session, start=slot.start, end=slot.end, extra=extra
                )
                if slot.start >= old.start:
                    # Moved later: the pre-care the client keeps for the old date holds.
                    problems = [v for v in problems if v.code != "precare_not_kept"]
                for v in problems:
                    r.note(position, v)
                ok = verdicts[slot.start] = not problems
            if ok:
                return slot
        return None


def _nearest_days(centre: date, earliest: date, latest: date) -> Iterator[date]:
    """The days from `earliest` to `latest`, nearest to `centre` first, the later first
    between equals."""
    if earliest > latest:
        return
    centre = min(max(centre, earliest), latest)
    one = timedelta(days=1)
    after, before = centre, centre - one
    while after <= latest or before >= earliest:
        if after <= latest and (before < earliest or (after - centre) <= (centre - before)):
            yield after
            after += one
        else:
            yield before
            before -= one


def minimal_replan(
    *,
    snapshot: Snapshot,
    course: CourseRules,
    client: ClientState,
    enrolment_id: int,
    broken: frozenset[int],
    now: datetime,
    by_staff: bool = True,
    keep: frozenset[int] = frozenset(),
    push_days: int = 0,
) -> Replan:
    """New slots for the broken future sessions of an enrolment (appointment ids `broken`),
    moving as few sessions as possible: later sessions move only when the broken one cannot
    be placed between its neighbours, and each stays where it still holds.

    `client.sessions` holds the client's live sessions (the enrolment's among them) and
    `snapshot` the changed world. `keep`: appointment ids of sessions that must not move
    (a broken one moves regardless). The moves pass `check_course` together, the other
    sessions fixed; a session moved later keeps its confirmed pre-care, one moved earlier must
    not have its pre-care begun (rule 11). See the module's docstring for the algorithm.

    `push_days` (> 0) pushes the broken sessions later: the first of them to no earlier than
    its old day plus `push_days`, each one aimed at its old day plus `push_days` (the nearest
    day the rules allow), so that a course pushed after a severe reaction keeps its rhythm.
    """
    tz = snapshot.clinic.tz
    sequence = sorted(
        (s for s in client.sessions if s.enrolment_id == enrolment_id),
        key=lambda s: (s.session, s.start),
    )
    broken = frozenset(
        s.appointment_id for s in sequence if s.appointment_id in broken and s.start > now
    )
    if not broken:
        return Replan(())
    first_broken = next(s for s in sequence if s.appointment_id in broken)

    allowed_from = earliest_allowed_by_contraindications(
        course, client.conditions, client.phototype
    )
    if allowed_from is not None and push_days > 0:
        pushed = local_date(first_broken.start, tz) + timedelta(days=push_days)
        allowed_from = max(allowed_from, pushed)
    if allowed_from is None:
        return Replan(
            (),
            tuple(
                contraindication_violations(
                    session=first_broken.session,
                    start=first_broken.start,
                    course=course,
                    conditions=client.conditions,
                    tz=tz,
                    phototype=client.phototype,
                )
            ),
        )

    replanner = _Replanner(
        snapshot=snapshot,
        course=course,
        client=client,
        enrolment_id=enrolment_id,
        sequence=sequence,
        broken=broken,
        now=now,
        by_staff=by_staff,
        allowed_from=allowed_from,
        push_days=push_days,
    )
    # A client cannot move a session inside the change notice (rule 10): staff must.
    late = [replanner.notice_violation(s) for s in sequence if s.appointment_id in broken]
    if any(late):
        return Replan((), tuple(v for v in late if v is not None))
    keep_fixed = keep - broken
    for position, s in enumerate(sequence):
        if s.appointment_id not in broken or s.appointment_id in replanner.placed:
            continue
        if not replanner.run(position, keep_fixed):
            return Replan((), replanner.explain(s))
    # `placed` is the checker's answer for every move, in session order. A broken session
    # whose best place is where it is (it was broken only by a neighbour that moved) stays.
    by_id = {s.appointment_id: s for s in sequence}
    return Replan(
        tuple(
            (aid, slot)
            for aid, slot in replanner.placed.items()
            if not replanner.unchanged(by_id[aid], slot)
        )
    )
