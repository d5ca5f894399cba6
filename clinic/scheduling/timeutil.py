"""Wall-clock arithmetic in the clinic's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time on a local date."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return at(day, time(0, 0), tz)


def add_wall_hours(moment: datetime, hours: int, tz: ZoneInfo) -> datetime:
    """`moment` plus `hours` of local wall-clock time.

    Restrictions and spacing are counted on the clinic's clock: a 7-day restriction from a
    Monday 10:00 session ends the next Monday 10:00 even across a daylight-saving change.
    """
    wall = moment.astimezone(tz).replace(tzinfo=None) + timedelta(hours=hours)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def days_between(a: datetime, b: datetime, tz: ZoneInfo) -> int:
    """Calendar days from a to b, counted on the clinic's local dates."""
    return (local_date(b, tz) - local_date(a, tz)).days


def same_wall_clock(day: date, like: datetime, tz: ZoneInfo) -> datetime:
    """`day` at the local time of day of `like`."""
    return at(day, like.astimezone(tz).time().replace(tzinfo=None), tz)
