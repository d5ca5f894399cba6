"""What a plan says besides its slots: why none exists, and why it starts in a later season."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from clinic.scheduling.rules import latest_start_in_season, season_end
from clinic.scheduling.timeutil import local_date
from clinic.scheduling.types import CourseRules, Slot, Violation
from clinic.scheduling.wording import long_day_text


def next_season_notes(
    course: CourseRules, first_day: date, plan: list[Slot], tz: ZoneInfo, sessions: int
) -> tuple[Violation, ...]:
    """Why a plan asked for in season starts only in a later season: said, not done silently."""
    season_over = season_end(first_day, course.months)
    starts_on = local_date(plan[0].start, tz)
    if season_over is None or starts_on <= season_over:
        return ()
    latest = latest_start_in_season(first_day, course, sessions)
    assert latest is not None
    if latest < first_day:
        why = (
            f"{sessions} sessions at least {course.min_interval_days} days apart must start by "
            f"{long_day_text(latest)} to finish by {long_day_text(season_over)}"
        )
    else:
        why = f"no plan for all {sessions} sessions fits before {long_day_text(season_over)}"
    return (
        Violation(
            "out_of_season",
            f"{course.procedure.name} is only done {_season_words(first_day, course.months)}, "
            f"and {why}: "
            f"the plan starts in the next season, on {long_day_text(starts_on)}.",
            None,
            starts_on,
        ),
    )


def _season_words(day: date, months: frozenset[int]) -> str:
    """'from October to March': the run of allowed months that `day` lies in."""
    first = last = day.month
    for _ in range(11):
        before = (first - 2) % 12 + 1
        if before not in months or before == last:
            break
        first = before
    for _ in range(11):
        after = last % 12 + 1
        if after not in months or after == first:
            break
        last = after
    start, end = date(2000, first, 1).strftime("%B"), date(2000, last, 1).strftime("%B")
    return f"in {start}" if first == last else f"from {start} to {end}"


def why_no_plan(
    course: CourseRules,
    *,
    session: int,
    reasons: Counter[str],
    examples: dict[tuple[int, str], Violation],
    first_session: int,
    horizon_end: date,
    gave_up: bool,
) -> list[Violation]:
    """Why no plan exists: the commonest reasons the deepest session reached met (`reasons`,
    with an example of each), or, with none, that no date or time was free at all."""
    counts = reasons
    where = f"within the booking horizon (until {long_day_text(horizon_end)})"
    if gave_up:
        where = "within the search limit"
    if not counts:
        gap = course.max_interval_days
        if session > first_session and gap is not None:
            return [
                Violation(
                    "spacing_too_far",
                    f"No date for session {session} fits {course.min_interval_days} to {gap} days after the one "
                    f"before it {where}.",
                    session,
                )
            ]
        return [
            Violation(
                "practitioner_unavailable",
                f"No free time was found for session {session} {where}.",
                session,
            )
        ]
    # Closed days (Sundays, holidays) are only the reason when nothing else stood in the way.
    if len(counts) > 1:
        counts = Counter({code: n for code, n in counts.items() if code != "clinic_closed"})
    out = []
    for code, _ in counts.most_common(2):
        example = examples[(session, code)]
        out.append(
            Violation(
                code,
                f"No plan for all {course.sessions} sessions {where}: session {session} cannot be placed. "
                f"{example.message}",
                session,
                example.earliest,
                soft=example.soft,
            )
        )
    return out
