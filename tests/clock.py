"""The tests' one clock: the clinic's time zone, a fixed "now" and local times.

Service tests pass `now=NOW` and book on fixed dates after it; pages, the API and servers book
against the real clock, so their tests use `today()` and `next_monday()`. The engine's tests
keep their own calendar (tests/scheduling/builders.py: no app, another year).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import overload
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")  # the clinic's zone in factories.make_clinic and the config

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wed 25 Nov 2026, 09:00 in Berlin


@overload
def local(day: date, hour: int, minute: int = 0, /) -> datetime: ...
@overload
def local(year: int, month: int, day: int, hour: int, minute: int = 0, /) -> datetime: ...
def local(*parts: date | int) -> datetime:
    """A wall-clock time in Berlin: `local(monday, 10)` or `local(2026, 12, 1, 10, 30)`."""
    first, *rest = parts
    if isinstance(first, date):
        return datetime(first.year, first.month, first.day, *rest, tzinfo=BERLIN)
    return datetime(first, *rest, tzinfo=BERLIN)


def local_day(moment: datetime) -> date:
    """The Berlin calendar day of an instant."""
    return moment.astimezone(BERLIN).date()


def today() -> date:
    """Today in Berlin by the real clock."""
    return datetime.now(BERLIN).date()


def monday(weeks: int) -> date:
    """The Monday `weeks` weeks after this week's (before it when negative), by the real clock."""
    day = today()
    return day + timedelta(days=7 * weeks - day.weekday())


def next_monday(weeks_ahead: int = 2) -> date:
    """A Monday safely in the future: for what books against the real clock."""
    return monday(weeks_ahead)
