"""Which days the clinic works with, in one place: the days it books (today up to its booking
horizon) and the days its calendars and lists show. The API's schemas, the pages' forms and
the calendar views all ask here, so a far date is refused with a sentence before any date
arithmetic could overflow, and every caller refuses it the same way.

Decisions (docs/DECISIONS.md, "Hardening of input"):
- Booking, moving, availability and plans take a day from today (in the clinic's time zone)
  up to the horizon ahead (`clinic_settings.horizon_days`, read from the kept catalogue). A past day is `in_the_past` (rule 10's code);
  a day beyond the horizon is `date_out_of_range`.
- Calendars and appointment lists show ten years back and up to the longest horizon a
  clinic can set (1100 days), so sessions booked under a longer horizon stay visible after
  the horizon is shortened. A day outside that is `date_out_of_range`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clinic.models import utcnow
from clinic.scheduling import Violation
from clinic.scheduling.wording import long_day_text
from clinic.services.core import clinic_setup
from clinic.services.core.errors import InvalidRequest, RuleViolation

# The longest booking horizon a clinic may set (clinic_settings' check constraint).
MAX_HORIZON_DAYS = 1100
VIEW_DAYS_BACK = 3653  # ten years

OUT_OF_RANGE = "date_out_of_range"
IN_THE_PAST = "in_the_past"


@dataclass(frozen=True, slots=True)
class DateProblem:
    """Why a day is refused: a stable code and a sentence."""

    code: str
    message: str


class DateOutOfRange(InvalidRequest):
    """A day or moment outside the days the clinic books or shows: the clinic's policy, so
    422 like rule 10's `in_the_past`."""

    status = 422
    code = OUT_OF_RANGE


def clinic_today(now: datetime | None = None) -> date:
    """Today in the clinic's time zone."""
    return (now or utcnow()).astimezone(clinic_setup.clinic_tz()).date()


def bookable_days(now: datetime | None = None) -> tuple[date, date]:
    """The first and last day the clinic takes bookings on: today to today + horizon."""
    today = clinic_today(now)
    return today, today + timedelta(days=clinic_setup.clinic_rules().horizon_days)


def viewable_days(now: datetime | None = None) -> tuple[date, date]:
    """The first and last day calendars and appointment lists show."""
    today = clinic_today(now)
    return today - timedelta(days=VIEW_DAYS_BACK), today + timedelta(days=MAX_HORIZON_DAYS)


def bookable_day_problem(day: date, *, now: datetime | None = None) -> DateProblem | None:
    """Why `day` cannot be booked (or have its free times looked up), or None."""
    first, last = bookable_days(now)
    if day < first:
        return DateProblem(
            IN_THE_PAST,
            f"{long_day_text(day)} has already passed; choose today or a later day.",
        )
    if day > last:
        return DateProblem(
            OUT_OF_RANGE,
            f"The clinic takes bookings up to {long_day_text(last)}; choose a day until then.",
        )
    return None


def bookable_moment_problem(moment: datetime, *, now: datetime | None = None) -> DateProblem | None:
    """Why a session cannot start at `moment` (an aware datetime) as far as its day goes, or
    None. A moment earlier today is left to the booking rules (rule 10, `in_the_past`)."""
    return bookable_day_problem(_local_day(moment), now=now)


def viewable_day_problem(day: date, *, now: datetime | None = None) -> DateProblem | None:
    """Why a calendar or list cannot show `day`, or None."""
    first, last = viewable_days(now)
    if first <= day <= last:
        return None
    return DateProblem(
        OUT_OF_RANGE,
        f"Calendars and lists show {long_day_text(first)} to {long_day_text(last)}; "
        f"choose a day in between.",
    )


def check_bookable_day(day: date, *, field: str, now: datetime | None = None) -> None:
    """Raise `DateOutOfRange` (with the problem's code and `field`) unless `day` is bookable."""
    _raise(bookable_day_problem(day, now=now), field)


def check_starts(starts: Iterable[tuple[int, datetime]], *, now: datetime | None = None) -> None:
    """Raise `RuleViolation` naming each session (number, start) whose day the clinic does not
    book, before any rule's arithmetic could overflow on it; a page shows it like rule 10."""
    violations = [
        Violation(problem.code, problem.message, number)
        for number, start in starts
        if (problem := bookable_moment_problem(start, now=now)) is not None
    ]
    if violations:
        raise RuleViolation(violations)


def _raise(problem: DateProblem | None, field: str) -> None:
    if problem is not None:
        raise DateOutOfRange(problem.message, field=field, code=problem.code)


def _local_day(moment: datetime) -> date:
    """The moment's day in the clinic's zone; at the ends of the calendar, where converting
    would overflow, its own day (a day that far off is refused either way)."""
    try:
        return moment.astimezone(clinic_setup.clinic_tz()).date()
    except OverflowError:
        return moment.date()
