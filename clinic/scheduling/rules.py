"""The rules of DOMAIN.md, one function each. The checker and the planner both call these."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from clinic.scheduling.timeutil import add_wall_hours, day_start, local, local_date
from clinic.scheduling.types import (
    PHOTOTYPES,
    BookedSession,
    CareWindow,
    ConditionState,
    CourseRules,
    DeclaredPeriod,
    ProcedureRules,
    SignedConsent,
    TimeRange,
    Violation,
)
from clinic.scheduling.wording import (
    condition_label,
    day_text,
    duration_text,
    long_day_text,
    moment_text,
    phototype_label,
    phototypes_text,
)

PERIOD_KIND_FOR_RESTRICTION = {"sun": "sun_exposure", "makeup": "needs_makeup"}
PERIOD_WORDS = {"sun_exposure": "sun exposure", "needs_makeup": "an event that needs makeup"}


@lru_cache(maxsize=8192)
def care_windows(start: datetime, course: CourseRules, tz: ZoneInfo) -> tuple[CareWindow, ...]:
    """The restrictions a session starting at `start` puts in force (aftercare, [t, t+h)) and
    needs kept (pre-care, [t-h, t)), counted in wall-clock hours of the clinic."""
    out: list[CareWindow] = []
    for rule in course.care:
        if rule.phase == "after":
            window = TimeRange(start, add_wall_hours(start, rule.hours, tz))
        else:
            window = TimeRange(add_wall_hours(start, -rule.hours, tz), start)
        out.append(CareWindow(rule.code, rule.text, rule.kind, rule.phase, window))
    return tuple(sorted(out, key=lambda w: (w.window.start, w.code)))


@lru_cache(maxsize=16384)
def _windows_of(
    start: datetime, course: CourseRules, tz: ZoneInfo, codes: frozenset[str]
) -> tuple[CareWindow, ...]:
    """The care windows of a session whose restriction is one of `codes` (kept: rule 2 asks
    it for every session of the client at every start the planner judges)."""
    return tuple(w for w in care_windows(start, course, tz) if w.code in codes)


@lru_cache(maxsize=4096)
def _in_force(
    session: int, name: str, other: BookedSession, w: CareWindow, tz: ZoneInfo
) -> Violation:
    """Rule 2's first direction (kept: a planner judging the starts of a day before the
    window ends meets the same sentence at each of them)."""
    until = local(w.window.end, tz)
    return Violation(
        "restriction_conflict",
        f"{name} cannot start while \u201c{w.text}\u201d is in force for {_session_words(other, tz)}; "
        f"it lasts until {moment_text(until)}.",
        session,
        until.date() if w.phase == "after" else None,
    )


def _session_words(s: BookedSession, tz: ZoneInfo) -> str:
    return f"your {s.course.procedure.name} session on {moment_text(local(s.start, tz))}"


def spacing_violations(
    *,
    session: int,
    start: datetime,
    previous: datetime | None,
    following: datetime | None,
    course: CourseRules,
    tz: ZoneInfo,
    today: date,
) -> list[Violation]:
    """Rule 1: consecutive sessions min..max calendar days apart (local dates), whatever the
    sessions' age. A course whose latest date for the next session is already past (`today`,
    the clinic's local date) has lapsed: no date keeps its spacing, so staff may restart it
    with a written reason (the `spacing_too_far` is soft); otherwise rule 1 is firm."""
    out: list[Violation] = []
    day = local_date(start, tz)
    lo, hi = course.min_interval_days, course.max_interval_days
    if previous is not None:
        gap = (day - local_date(previous, tz)).days
        earliest = local_date(previous, tz) + timedelta(days=lo)
        if gap < lo:
            out.append(
                Violation(
                    "spacing_too_close",
                    f"Session {session} must be at least {lo} days after the one before it "
                    f"({day_text(local_date(previous, tz))}): the earliest date is {long_day_text(earliest)}.",
                    session,
                    earliest,
                )
            )
        elif hi is not None and gap > hi:
            latest = local_date(previous, tz) + timedelta(days=hi)
            lapsed = latest < today
            out.append(
                Violation(
                    "spacing_too_far",
                    f"Session {session} must be at most {hi} days after the one before it "
                    f"({day_text(local_date(previous, tz))}): "
                    + (
                        f"the latest date was {long_day_text(latest)}, so the course has lapsed; "
                        "only the clinic can restart it."
                        if lapsed
                        else f"the latest date is {long_day_text(latest)}."
                    ),
                    session,
                    soft=lapsed,
                )
            )
    if following is not None:
        gap = (local_date(following, tz) - day).days
        if gap < lo:
            out.append(
                Violation(
                    "spacing_too_close",
                    f"Session {session} must be at least {lo} days before the next session "
                    f"({day_text(local_date(following, tz))}).",
                    session,
                )
            )
        elif hi is not None and gap > hi:
            earliest = local_date(following, tz) - timedelta(days=hi)
            out.append(
                Violation(
                    "spacing_too_far",
                    f"Session {session} must be at most {hi} days before the next session "
                    f"({day_text(local_date(following, tz))}): the earliest date is {long_day_text(earliest)}.",
                    session,
                    earliest,
                )
            )
    return out


def restriction_violations(
    *,
    session: int,
    start: datetime,
    course: CourseRules,
    enrolment_id: int,
    others: Iterable[BookedSession],
    tz: ZoneInfo,
) -> list[Violation]:
    """Rule 2, both directions: this session may not start inside a blocking restriction of
    a session of another enrolment of the client, and its own windows may not cover such a
    session that they block. Sessions of enrolment `enrolment_id` (this one's) never block
    each other: the course's spacing says how close they may be."""
    out: list[Violation] = []
    blocked_by = course.procedure.blocked_by
    for other in others:
        if other.enrolment_id == enrolment_id:
            continue
        if blocked_by:
            for w in _windows_of(other.start, other.course, tz, blocked_by):
                if w.window.contains(start):
                    out.append(_in_force(session, course.procedure.name, other, w, tz))
        other_blocked = other.course.procedure.blocked_by
        if other_blocked:
            for w in _windows_of(start, course, tz, other_blocked):
                if w.window.contains(other.start):
                    out.append(
                        Violation(
                            "restriction_conflict",
                            f"\u201c{w.text}\u201d {'after' if w.phase == 'after' else 'before'} this "
                            f"{course.procedure.name} session would cover {_session_words(other, tz)}.",
                            session,
                        )
                    )
    return out


def client_plan_violations(
    *,
    session: int,
    start: datetime,
    course: CourseRules,
    periods: Sequence[DeclaredPeriod],
    tz: ZoneInfo,
) -> list[Violation]:
    """Rule 3 (soft): a sun restriction's window may not overlap declared sun exposure, nor a
    makeup restriction's window an event that needs makeup."""
    out: list[Violation] = []
    if not periods:
        return out
    for w in care_windows(start, course, tz):
        wanted = PERIOD_KIND_FOR_RESTRICTION.get(w.kind)
        if wanted is None:
            continue
        for p in periods:
            if p.kind != wanted:
                continue
            span = TimeRange(day_start(p.start_on, tz), day_start(p.end_on + timedelta(days=1), tz))
            if span.overlaps(w.window):
                label = f" ({p.note})" if p.note else ""
                out.append(
                    Violation(
                        "conflicts_with_client_plans",
                        f"\u201c{w.text}\u201d {'after' if w.phase == 'after' else 'before'} this session "
                        f"runs into your {PERIOD_WORDS[p.kind]}{label} from {day_text(p.start_on)} "
                        f"to {day_text(p.end_on)}.",
                        session,
                        soft=True,
                    )
                )
    return out


def contraindication_violations(
    *,
    session: int,
    start: datetime,
    course: CourseRules,
    conditions: Mapping[str, ConditionState],
    tz: ZoneInfo,
    phototype: int | None = None,
) -> list[Violation]:
    """Rule 4: a screened condition blocks sessions within its look-back (present: always),
    and a course that lists the skin phototypes it may treat blocks every other one (and a
    client whose phototype is not recorded yet: the course's list cannot be judged)."""
    out: list[Violation] = []
    wrong_skin = phototype_violation(session=session, course=course, phototype=phototype)
    if wrong_skin is not None:
        out.append(wrong_skin)
    day = local_date(start, tz)
    name = course.procedure.name
    for contra in course.contraindications:
        state = conditions.get(contra.condition)
        if state is None:
            continue
        label = condition_label(contra.condition)
        if state.present:
            wait = f" and for {contra.lookback_days} days after" if contra.lookback_days else ""
            out.append(
                Violation(
                    "contraindicated",
                    f"{name} is not possible while you have {label}{wait}.",
                    session,
                )
            )
        elif contra.lookback_days and state.last_on is not None:
            earliest = state.last_on + timedelta(days=contra.lookback_days)
            if day < earliest:
                out.append(
                    Violation(
                        "contraindicated",
                        f"{name} needs {contra.lookback_days} days after {label}: "
                        f"the earliest date is {long_day_text(earliest)}.",
                        session,
                        earliest,
                    )
                )
    return out


def patch_test_violation(
    *,
    session: int,
    start: datetime,
    course: CourseRules,
    sessions: Sequence[BookedSession],
    tz: ZoneInfo,
    now: datetime,
) -> Violation | None:
    """The patch test a course's procedure may need before its first session (`session` 1):
    a session of its patch-test procedure among the client's live `sessions` (booked or held),
    at least `min_hours_before` and at most `max_days_before` before `start`, like a
    contraindication's look-back with an earliest date. A patch test the skin reacted to rules
    out every session of the course (`contraindicated`)."""
    rule = course.procedure.patch_test
    if rule is None:
        return None
    name = course.procedure.name
    tests = [t for t in sessions if t.course.procedure.code == rule.procedure]
    for t in tests:
        if t.reaction is not None:
            note = f" ({t.reaction})" if t.reaction else ""
            return Violation(
                "contraindicated",
                f"{name} is not possible: the patch test on {day_text(local_date(t.start, tz))} "
                f"showed a reaction{note}.",
                session,
            )
    wait = timedelta(hours=rule.min_hours_before)
    longest = timedelta(days=rule.max_days_before)
    if session != 1 or any(start - longest <= t.start <= start - wait for t in tests):
        return None
    # The earliest a first session could be: after a patch test still to come (or taken too
    # late), else after one booked now.
    later = [t.start for t in tests if t.start > start - wait]
    earliest = local_date(min(later) + wait if later else now + wait, tz)
    return Violation(
        "patch_test_required",
        f"{name} needs a patch test at least {duration_text(rule.min_hours_before)} and at "
        f"most {rule.max_days_before} days before the first session: the earliest date is "
        f"{long_day_text(earliest)}.",
        session,
        earliest,
    )


def phototype_violation(
    *, session: int, course: CourseRules, phototype: int | None
) -> Violation | None:
    """Rule 4's skin type: a course that lists phototypes treats only those (no date helps)."""
    if course.phototypes >= PHOTOTYPES or phototype in course.phototypes:
        return None
    name, types = course.procedure.name, phototypes_text(course.phototypes)
    if phototype is None:
        message = (
            f"{name} treats skin types {types} only, and your health screening does not "
            "say your skin type yet."
        )
    else:
        message = f"{name} is not offered for {phototype_label(phototype)}: it treats skin types {types} only."
    return Violation("contraindicated", message, session)


def consent_violations(
    *,
    session: int,
    start: datetime,
    procedure: ProcedureRules,
    consents: Sequence[SignedConsent],
    tz: ZoneInfo,
) -> list[Violation]:
    """Issue 21, a precondition like rule 4's look-back: each consent form the procedure needs
    has a signature valid on the session's local date (from the day it was signed to its
    `valid_until`, both included; a signature of an older version of the form counts, see
    docs/DECISIONS.md). Staff may book a session without it (`staff_may_book`): it then waits
    on the attention list until the client signs."""
    if not procedure.consents:
        return []
    out: list[Violation] = []
    day = local_date(start, tz)
    for need in procedure.consents:
        signed = [c for c in consents if c.form == need.form and c.signed_on <= day]
        if any(c.covers(day) for c in signed):
            continue
        if signed:
            until = max(c.valid_until for c in signed)
            message = (
                f"Your signature of the consent form \u201c{need.title}\u201d was valid until "
                f"{long_day_text(until)}, before this {procedure.name} session on "
                f"{long_day_text(day)}: please sign it again."
            )
        else:
            message = (
                f"{procedure.name} needs the consent form \u201c{need.title}\u201d signed "
                "before the session: please read and sign it."
            )
        out.append(
            Violation("consent_required", message, session, staff_may_book=True, form=need.form)
        )
    return out


def latest_day_consented(
    procedure: ProcedureRules, consents: Sequence[SignedConsent], day: date
) -> date | None:
    """The last local date from `day` on through which every consent the procedure needs is
    validly signed (`date.max`: it needs none), or None when one is not signed for `day`."""
    latest = date.max
    for need in procedure.consents:
        covering = [c.valid_until for c in consents if c.form == need.form and c.covers(day)]
        if not covering:
            return None
        latest = min(latest, max(covering))
    return latest


def earliest_allowed_by_contraindications(
    course: CourseRules,
    conditions: Mapping[str, ConditionState],
    phototype: int | None = None,
) -> date | None:
    """The first date rule 4 allows, or None where a present condition, or the skin type,
    blocks indefinitely."""
    if phototype_violation(session=1, course=course, phototype=phototype) is not None:
        return None
    earliest = date.min
    for contra in course.contraindications:
        state = conditions.get(contra.condition)
        if state is None:
            continue
        if state.present:
            return None
        if contra.lookback_days and state.last_on is not None:
            earliest = max(earliest, state.last_on + timedelta(days=contra.lookback_days))
    return earliest


def next_allowed_month_start(day: date, months: frozenset[int]) -> date | None:
    d = date(day.year, day.month, 1)
    for _ in range(13):
        if d.month in months and d >= date(day.year, day.month, 1):
            return max(d, day)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return None


def season_end(day: date, months: frozenset[int]) -> date | None:
    """The last day of the run of allowed months that `day` lies in (October to March: 31
    March); None when `day` is out of season or the course is offered all year."""
    if day.month not in months or len(months) >= 12:
        return None
    year, month = day.year, day.month
    for _ in range(12):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if month not in months:
            return date(year, month, 1) - timedelta(days=1)
    return None


def latest_start_in_season(day: date, course: CourseRules, sessions: int) -> date | None:
    """Rules 1 and 5 together: the last day on which `sessions` sessions of the course can
    start, at their minimum spacing, and all still lie in the season `day` lies in."""
    end = season_end(day, course.months)
    if end is None:
        return None
    return end - timedelta(days=(sessions - 1) * course.min_interval_days)


def next_session_days(previous_day: date, course: CourseRules) -> tuple[date, date, date | None]:
    """Rule 1 seen from the session before: the earliest day of the next session, the day the
    planner aims for (the course's ideal interval, else its minimum) and the latest day."""
    lo, hi = course.min_interval_days, course.max_interval_days
    ideal = course.ideal_interval_days
    ideal = lo if ideal is None else max(lo, ideal if hi is None else min(ideal, hi))
    latest = previous_day + timedelta(days=hi) if hi is not None else None
    return previous_day + timedelta(days=lo), previous_day + timedelta(days=ideal), latest


def season_violation(
    *, session: int, start: datetime, course: CourseRules, tz: ZoneInfo
) -> Violation | None:
    """Rule 5: a session's local date lies in the course's months."""
    day = local_date(start, tz)
    if day.month in course.months:
        return None
    earliest = next_allowed_month_start(day, course.months)
    names = ", ".join(date(2000, m, 1).strftime("%B") for m in sorted(course.months))
    return Violation(
        "out_of_season",
        f"{course.procedure.name} is only done in {names}"
        + (f": the earliest date is {long_day_text(earliest)}." if earliest else "."),
        session,
        earliest,
    )


def precare_violation(
    *, session: int, start: datetime, course: CourseRules, now: datetime, tz: ZoneInfo
) -> Violation | None:
    """Rule 11: a session whose pre-care window has already begun at `now` (window start
    before now; beginning exactly now is fine, windows being half-open) cannot be kept by a
    client who learns of it only now. The earliest date is the one whose pre-care, all of it,
    starts at or after now."""
    begun = [rule for rule in course.precare if add_wall_hours(start, -rule.hours, tz) < now]
    if not begun:
        return None
    longest = max(rule.hours for rule in course.precare)
    earliest = local_date(add_wall_hours(now, longest, tz), tz)
    needs = " and ".join(
        f"\u201c{rule.text}\u201d for {duration_text(rule.hours)}" for rule in begun
    )
    return Violation(
        "precare_not_kept",
        f"{course.procedure.name} needs {needs} before it, and that time has already begun: "
        f"the earliest date is {long_day_text(earliest)}. If you have kept it already, the "
        "clinic can book this date for you.",
        session,
        earliest,
    )


def client_overlap_violation(
    *, session: int, span: TimeRange, others: Iterable[BookedSession], tz: ZoneInfo
) -> Violation | None:
    """Rule 9: the client is never in two sessions at once."""
    for other in others:
        if span.start < other.end and other.start < span.end:
            return Violation(
                "client_double_booked",
                f"This time overlaps {_session_words(other, tz)}.",
                session,
                conflict=True,
            )
    return None


def past_violation(*, session: int, start: datetime, now: datetime) -> Violation | None:
    """Rule 10: nothing is booked in the past."""
    if start <= now:
        return Violation(
            "in_the_past", "That time has already passed; choose a later one.", session
        )
    return None


def change_notice_violation(
    *,
    session: int,
    current_start: datetime,
    now: datetime,
    notice: timedelta,
    by_staff: bool,
    tz: ZoneInfo,
) -> Violation | None:
    """Rule 10: a client changes or cancels only up to the notice; staff may do it later."""
    if by_staff or current_start - now >= notice:
        return None
    hours = int(notice.total_seconds() // 3600)
    return Violation(
        "too_late_to_change",
        f"Sessions can be changed online up to {hours} hours before they start; "
        f"for the session on {moment_text(local(current_start, tz))}, please call the clinic.",
        session,
    )
