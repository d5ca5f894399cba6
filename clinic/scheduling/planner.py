"""Planning a whole course: every session as early as the rules allow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

from clinic.scheduling.check import ClientJudge
from clinic.scheduling.daysearch import Anchor, DaySearch, kept_day_search
from clinic.scheduling.plan_notes import next_season_notes, why_no_plan
from clinic.scheduling.resources import (
    DayResources,
    Snapshot,
    day_resources,
    held_by,
    qualification_violation,
    wished_hours_violation,
)
from clinic.scheduling.rules import (
    consent_violations,
    contraindication_violations,
    earliest_allowed_by_contraindications,
    next_allowed_month_start,
    next_session_days,
    patch_test_violation,
    spacing_violations,
)
from clinic.scheduling.timeutil import day_start, local, local_date
from clinic.scheduling.types import (
    BookedSession,
    ClientState,
    CourseRules,
    PlanResult,
    Preferences,
    Slot,
    Violation,
)

# How many (session, day) visits one plan may make before it gives up: a bound on the work of
# an impossible plan, far above what a possible one needs.
MAX_DAY_VISITS = 4000


class _Search:
    def __init__(
        self,
        *,
        snapshot: Snapshot,
        course: CourseRules,
        client: ClientState,
        now: datetime,
        prefs: Preferences,
        first_session: int,
        last_session: int,
        enrolment_id: int,
        replacing: frozenset[int],
        horizon_end: date,
        by_staff: bool = False,
    ) -> None:
        self.snapshot = snapshot
        self.tz = snapshot.clinic.tz
        self.course = course
        self.client = client
        self.now = now
        self.prefs = prefs
        self.first_session = first_session
        self.last_session = last_session
        self.enrolment_id = enrolment_id
        self.replacing = replacing
        self.horizon_end = horizon_end
        self.existing = [s for s in client.sessions if s.appointment_id not in replacing]
        # Judging a start against the client's booked sessions is the planner's main work
        # when a client has many; the judge remembers it across the days the search revisits.
        self.judge = ClientJudge(
            course=course,
            enrolment_id=enrolment_id,
            client=client,
            fixed=self.existing,
            tz=self.tz,
            now=now,
            by_staff=by_staff,
        )
        # What a day offers this search (its resources, free slots, why none): kept with the
        # book's day for every plan asking with the same preferences (`kept_day_search`),
        # unless sessions are set aside (then this search's own).
        self.own_searches: dict[date, DaySearch] = {}
        self.open_days: dict[date, bool] = {}
        self.visits = 0
        self.reasons: dict[int, Counter[str]] = {}
        self.examples: dict[tuple[int, str], Violation] = {}
        self.deepest_session = first_session
        # (session, local day of the session before it) known to lead nowhere. Later sessions
        # depend on earlier ones almost only through that day, so this prunes repeated work; a
        # plan it finds is still checked against every session placed before.
        self.dead_ends: set[tuple[int, date | None]] = set()

    def note(self, session: int, violation: Violation) -> None:
        counts = self.reasons.get(session)
        if counts is None:
            counts = self.reasons[session] = Counter()
        counts[violation.code] += 1
        self.examples.setdefault((session, violation.code), violation)

    def day_search(self, day: date) -> DaySearch:
        if self.replacing:
            own = self.own_searches.get(day)
            if own is None:
                own = self.own_searches[day] = DaySearch(self._day_resources(day), self.prefs)
            return own
        return kept_day_search(self.snapshot, self.course.procedure, day, self.prefs)

    def _day_resources(self, day: date) -> DayResources:
        return day_resources(self.snapshot, self.course.procedure, day, self.replacing)

    def with_plan(self, day_search: DaySearch, plan: list[Slot]) -> DaySearch:
        """The day as this plan sees it: sessions planned on the same day (a minimum interval
        of 0) hold their resources too."""
        day = day_search.resources.day
        same_day = (
            [held_by(s, self.course.procedure) for s in plan if local_date(s.start, self.tz) == day]
            if plan and self.course.min_interval_days == 0
            else None
        )
        if same_day:
            resources = DayResources(
                self.snapshot, self.course.procedure, day, self.replacing, same_day
            )
            return DaySearch(resources, self.prefs)
        return day_search

    def possible(self, session: int, day_search: DaySearch, anchor: Anchor | None) -> bool:
        """Whether any start of the day is free and passes the client's rules against its
        booked sessions alone. Sessions a plan adds only ever forbid more, so a day that fails
        this fails for every plan: the search remembers it and skips the day at once. Starts
        are tried in the order the plan will try them, so its first is usually judged here."""
        day = day_search.resources.day
        known = self.open_days.get(day)
        if known is not None:
            return known
        found = False
        for slot in day_search.candidates(anchor):
            problems = self.judge.violations(
                session=session, start=slot.start, end=slot.end, extra=()
            )
            if not problems:
                found = True
                break
            for v in problems:
                self.note(session, v)
        self.open_days[day] = found
        return found

    def place(
        self,
        session: int,
        earliest: date,
        latest: date,
        plan: list[Slot],
        target: date | None = None,
    ) -> list[Slot] | None:
        key = (session, local_date(plan[-1].start, self.tz) if plan else None)
        if key in self.dead_ends:
            return None
        found = self._place(session, earliest, latest, plan, target)
        if found is None and self.visits <= MAX_DAY_VISITS:
            self.dead_ends.add(key)
        return found

    def _days(
        self, session: int, earliest: date, last_day: date, target: date | None
    ) -> Iterator[date]:
        """The days a session may take, in the order the plan tries them: from `earliest` on;
        with a `target` (the course's ideal spacing) nearest to it first, the earlier first
        between equals. Days outside the wanted weekdays and the season are left out."""
        course, weekdays = self.course, self.prefs.weekdays
        if target is None or target <= earliest:
            day = earliest
            while day <= last_day:
                self.visits += 1
                if self.visits > MAX_DAY_VISITS:
                    return
                if weekdays is not None and day.weekday() not in weekdays:
                    day += timedelta(days=1)
                    continue
                if day.month not in course.months:
                    season_start = self._out_of_season(session, day)
                    if season_start is None:
                        return
                    day = season_start
                    continue
                yield day
                day += timedelta(days=1)
            return
        span = (last_day - earliest).days + 1
        ordered = sorted(
            (earliest + timedelta(days=i) for i in range(max(span, 0))),
            key=lambda d: (abs((d - target).days), d),
        )
        for day in ordered:
            self.visits += 1
            if self.visits > MAX_DAY_VISITS:
                return
            if weekdays is not None and day.weekday() not in weekdays:
                continue
            if day.month not in course.months:
                self._out_of_season(session, day)
                continue
            yield day

    def _out_of_season(self, session: int, day: date) -> date | None:
        season_start = next_allowed_month_start(day, self.course.months)
        self.note(
            session,
            Violation(
                "out_of_season",
                f"{self.course.procedure.name} is only done in some months of the year.",
                session,
                season_start,
            ),
        )
        return season_start

    def _place(
        self,
        session: int,
        earliest: date,
        latest: date,
        plan: list[Slot],
        target: date | None,
    ) -> list[Slot] | None:
        self.deepest_session = max(self.deepest_session, session)
        # Later sessions prefer the first one's practitioner and time of day.
        anchor: Anchor | None = (
            (_minutes_after_midnight(local(plan[0].start, self.tz)), plan[0].practitioner_id)
            if plan
            else None
        )
        last_day = min(latest, self.horizon_end)
        if anchor is not None and target is not None and target > earliest:
            # Aiming for the ideal spacing, the course keeps its practitioner on any day the
            # spacing allows before it turns to another practitioner on the ideal day.
            found = self._walk(
                session, self._days(session, earliest, last_day, target), plan, anchor, anchor[1]
            )
            if found is not None or self.visits > MAX_DAY_VISITS:
                return found
        return self._walk(
            session, self._days(session, earliest, last_day, target), plan, anchor, None
        )

    def _walk(
        self,
        session: int,
        days: Iterator[date],
        plan: list[Slot],
        anchor: Anchor | None,
        only: int | None,
    ) -> list[Slot] | None:
        """Try the days in order; `only` keeps to one practitioner."""
        course = self.course
        placed_planned = [
            BookedSession(0, self.enrolment_id, self.first_session + i, s.start, s.end, course)
            for i, s in enumerate(plan)
        ]
        keeping = (
            next((p for p in self.snapshot.practitioners if p.id == only), None)
            if only is not None
            else None
        )
        for day in days:
            if keeping is not None and (
                not keeping.hours.get(day.weekday()) or keeping.is_off(day)
            ):
                continue  # not that practitioner's day: no need to look at the calendar
            day_search = self.day_search(day)
            if day_search.nothing_free is not None:
                # The common step on a busy calendar: a full day, its reason kept with it.
                if day not in self.open_days:
                    self.note(session, day_search.nothing_free)
                    self.open_days[day] = False
                continue
            searched = self.with_plan(day_search, plan)
            if searched is day_search and not self.possible(session, day_search, anchor):
                continue
            verdicts: dict[datetime, list[Violation]] = {}
            any_free = False
            chosen: Slot | None = None
            candidates: Iterable[Slot] = searched.candidates(anchor)
            if only is not None:
                # The anchor's practitioner comes first in the anchored order.
                candidates = takewhile(lambda s: s.practitioner_id == only, candidates)
            for slot in candidates:
                # Resources first (free slots only): on a busy day most starts are taken, and
                # that is the cheap question. The client's rules depend on the time only:
                # judge each start once.
                start = slot.start
                any_free = True
                problems = verdicts.get(start)
                if problems is None:
                    problems = verdicts[start] = self.judge.violations(
                        session=session, start=start, end=slot.end, extra=placed_planned
                    )
                    for v in problems:
                        self.note(session, v)
                if not problems:
                    chosen = slot
                    break
            if not any_free and only is None:
                # the day's free slots were taken by this plan's sessions
                self.note(session, day_search.why_none_free())
            if chosen is not None:
                if session == self.last_session:
                    return [*plan, chosen]
                next_earliest, next_target, next_latest = next_session_days(day, course)
                result = self.place(
                    session + 1,
                    next_earliest,
                    next_latest if next_latest is not None else self.horizon_end,
                    [*plan, chosen],
                    next_target if course.ideal_interval_days is not None else None,
                )
                if result is not None:
                    return result
                # Later that same day rarely helps the next sessions; try the next day.
        return None


def _unsigned_notes(
    course: CourseRules, client: ClientState, plan: list[Slot], first_session: int, tz: ZoneInfo
) -> tuple[Violation, ...]:
    """For reception: each consent form the plan's sessions lack, said once (the first session
    that lacks it), so they can ask the client to sign before booking or book and follow up."""
    seen: dict[str | None, Violation] = {}
    for i, slot in enumerate(plan):
        for v in consent_violations(
            session=first_session + i,
            start=slot.start,
            procedure=course.procedure,
            consents=client.consents,
            tz=tz,
        ):
            seen.setdefault(v.form, v)
    return tuple(seen.values())


def _minutes_after_midnight(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def plan_course(
    *,
    snapshot: Snapshot,
    course: CourseRules,
    client: ClientState,
    earliest: date,
    now: datetime,
    prefs: Preferences | None = None,
    first_session: int = 1,
    last_session: int | None = None,
    enrolment_id: int = 0,
    previous_start: datetime | None = None,
    replacing: frozenset[int] = frozenset(),
    by_staff: bool = False,
) -> PlanResult:
    """Propose a start, practitioner, device and room for sessions `first_session` to
    `last_session` (default: the whole course), each as early as every rule allows after
    `earliest`, preferring the first session's practitioner and time of day.

    `previous_start` is the fixed session before `first_session` when re-planning the rest of
    a course. Books nothing; when no plan exists within the clinic's horizon the violations
    say which rule made it impossible. `by_staff`: reception plans past a consent not signed
    (as `check_course` books past it), and the plan's notes say which sessions lack it; a
    client is refused at once when the first day already lacks it.
    """
    prefs = prefs or Preferences()
    tz = snapshot.clinic.tz
    last = last_session or course.sessions
    today = local_date(now, tz)
    horizon_end = today + timedelta(days=snapshot.clinic.horizon_days)

    allowed_from = earliest_allowed_by_contraindications(
        course, client.conditions, client.phototype
    )
    if allowed_from is None:
        # What blocks whatever the date: a present condition, the skin type (no look-back
        # ends them, so the date judged does not matter).
        lasting = contraindication_violations(
            session=first_session,
            start=now,
            course=course,
            conditions=client.conditions,
            tz=tz,
            phototype=client.phototype,
        )
        return PlanResult((), tuple(v for v in lasting if v.earliest is None))
    rule = course.procedure.patch_test
    if first_session == 1 and rule is not None:
        # A patch test the skin reacted to rules the course out; without any patch test the
        # caller plans one first (`plan_with_patch_test`): no date of the search can help.
        blocked = patch_test_violation(
            session=1,
            start=day_start(max(earliest, today, allowed_from), tz),
            course=course,
            sessions=client.sessions,
            tz=tz,
            now=now,
        )
        if blocked is not None and (
            blocked.earliest is None
            or not any(s.course.procedure.code == rule.procedure for s in client.sessions)
        ):
            return PlanResult((), (blocked,))
    if not course.months:
        return PlanResult(
            (),
            (
                Violation(
                    "out_of_season",
                    "This course has no months in which it is offered.",
                    first_session,
                ),
            ),
        )

    # What the wishes alone make impossible, whatever the calendar: said as it is, not as
    # whatever the search met last.
    wished = qualification_violation(
        snapshot.practitioners, course.procedure, prefs.practitioner_id, first_session
    ) or wished_hours_violation(
        snapshot.clinic,
        course.procedure,
        weekdays=prefs.weekdays,
        time_from=prefs.time_from,
        time_to=prefs.time_to,
        session=first_session,
    )
    if wished is not None:
        return PlanResult((), (wished,))

    first_day = max(earliest, today, allowed_from)
    last_day = horizon_end
    target = None
    if previous_start is not None:
        after, aim, latest = next_session_days(local_date(previous_start, tz), course)
        first_day = max(first_day, after)
        if latest is not None:
            last_day = latest
            if first_day > latest:
                # No day is left that keeps the spacing (a lapsed course, or an earliest
                # date asked after the latest): rule 1 says so, as the checker would.
                return PlanResult(
                    (),
                    tuple(
                        spacing_violations(
                            session=first_session,
                            start=day_start(first_day, tz),
                            previous=previous_start,
                            following=None,
                            course=course,
                            tz=tz,
                            today=today,
                        )
                    ),
                )
        if course.ideal_interval_days is not None:
            target = aim

    if not by_staff:
        unsigned = consent_violations(
            session=first_session,
            start=day_start(first_day, tz),
            procedure=course.procedure,
            consents=client.consents,
            tz=tz,
        )
        if unsigned:
            return PlanResult((), tuple(unsigned))

    search = _Search(
        snapshot=snapshot,
        course=course,
        client=client,
        now=now,
        prefs=prefs,
        first_session=first_session,
        last_session=last,
        enrolment_id=enrolment_id,
        replacing=replacing,
        horizon_end=horizon_end,
        by_staff=by_staff,
    )
    result = search.place(first_session, first_day, last_day, [], target)
    if result is not None:
        notes: tuple[Violation, ...] = ()
        if previous_start is None:
            notes = next_season_notes(course, first_day, result, tz, last - first_session + 1)
        if by_staff:
            notes += _unsigned_notes(course, client, result, first_session, tz)
        return PlanResult(tuple(result), (), notes)
    return PlanResult(
        (),
        tuple(
            why_no_plan(
                course,
                session=search.deepest_session,
                reasons=search.reasons.get(search.deepest_session, Counter()),
                examples=search.examples,
                first_session=search.first_session,
                horizon_end=search.horizon_end,
                gave_up=search.visits > MAX_DAY_VISITS,
            )
        ),
    )


def plan_with_patch_test(
    *,
    snapshot: Snapshot,
    course: CourseRules,
    test_course: CourseRules,
    client: ClientState,
    earliest: date,
    now: datetime,
    prefs: Preferences | None = None,
    by_staff: bool = False,
) -> tuple[Slot | None, PlanResult]:
    """A course whose procedure needs a patch test the client has not had, planned with the
    test: the test's slot (a session of `test_course`, whose procedure is the patch test) and
    the course's plan, which keeps the test's spacing (`PatchTestRule`). Books nothing.

    The course is placed first as though the test were no obstacle (no earlier than a test
    booked now allows), then the test as early as that first session's `max_days_before`
    allows, then the course again with the test among the client's sessions, so that the
    checker judges the plan as it will judge the booking (rule 9 included: the client is
    never in the test and a session at once). No slot when the test or the course cannot be
    planned; the result then says why."""
    rule = course.procedure.patch_test
    if rule is None:
        return None, plan_course(
            snapshot=snapshot,
            course=course,
            client=client,
            earliest=earliest,
            now=now,
            prefs=prefs,
            by_staff=by_staff,
        )
    tz = snapshot.clinic.tz
    wait = timedelta(hours=rule.min_hours_before)
    unguarded = replace(course, procedure=replace(course.procedure, patch_test=None))
    first = plan_course(
        snapshot=snapshot,
        course=unguarded,
        client=client,
        earliest=max(earliest, local_date(now + wait, tz)),
        now=now,
        prefs=prefs,
        by_staff=by_staff,
    )
    if not first.ok:
        return None, first
    first_start = first.slots[0].start
    test = plan_course(
        snapshot=snapshot,
        course=test_course,
        client=client,
        earliest=max(earliest, local_date(first_start - timedelta(days=rule.max_days_before), tz)),
        now=now,
        # On the client's days and hours, with whoever is free: the test need not be with the
        # course's practitioner.
        prefs=replace(prefs, practitioner_id=None) if prefs is not None else None,
        by_staff=by_staff,
    )
    if not test.ok:
        return None, PlanResult((), test.violations)
    slot = test.slots[0]
    taken = BookedSession(
        0, -1, 1, slot.start, slot.start + test_course.procedure.duration, test_course
    )
    with_test = replace(client, sessions=(*client.sessions, taken))
    return slot, plan_course(
        snapshot=snapshot,
        course=course,
        client=with_test,
        earliest=earliest,
        now=now,
        prefs=prefs,
        by_staff=by_staff,
    )
