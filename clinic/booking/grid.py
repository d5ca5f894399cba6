"""Month grids for the client's calendar: session days, aftercare days and declared periods.

Pure presentation: it takes sessions and care windows the services computed and lays them
out by local date; no rule is decided here.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.scheduling import CareWindow

SHORT = {"sun": "sun", "makeup": "makeup"}


@dataclass
class Day:
    day: date
    in_month: bool
    sessions: list[str] = field(default_factory=list)
    care: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)

    @property
    def css(self) -> str:
        classes = []
        if not self.in_month:
            classes.append("out")
        if self.sessions:
            classes.append("session")
        elif self.care:
            classes.append("care")
        if self.periods:
            classes.append("period")
        return " ".join(classes)

    @property
    def description(self) -> str:
        parts = [*self.sessions]
        if self.care:
            parts.append("aftercare: " + ", ".join(self.care))
        parts += self.periods
        return "; ".join(parts)


@dataclass
class Month:
    title: str
    weeks: list[list[Day]]


def _days(first: date, last: date) -> Iterable[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def month_grids(
    *,
    sessions: Sequence[tuple[datetime, str, Sequence[CareWindow]]],
    periods: Sequence[tuple[date, date, str]] = (),
    tz: ZoneInfo,
    max_months: int = 14,
) -> list[Month]:
    """Months from the first to the last marked day. `sessions` holds (start, label, care);
    a care window marks every local day it touches."""
    marks: dict[date, Day] = {}

    def mark(d: date) -> Day:
        return marks.setdefault(d, Day(d, True))

    for start, label, care in sessions:
        local_start = start.astimezone(tz)
        mark(local_start.date()).sessions.append(f"{label} at {local_start:%H:%M}")
        for w in care:
            if w.phase != "after":
                continue
            first = w.window.start.astimezone(tz).date()
            # A window ending at midnight does not touch the day that begins then.
            last = (w.window.end.astimezone(tz) - timedelta(microseconds=1)).date()
            for d in _days(first, last):
                text = w.text.lower()
                if text not in mark(d).care:
                    mark(d).care.append(text)
    for start_on, end_on, label in periods:
        for d in _days(start_on, end_on):
            if label not in mark(d).periods:
                mark(d).periods.append(label)
    if not marks:
        return []
    first_day, last_day = min(marks), max(marks)
    months: list[Month] = []
    year, month = first_day.year, first_day.month
    cal = calendar.Calendar(firstweekday=0)
    while (year, month) <= (last_day.year, last_day.month) and len(months) < max_months:
        weeks = []
        for week in cal.monthdatescalendar(year, month):
            row = []
            for d in week:
                cell = marks.get(d)
                if d.month != month:
                    row.append(Day(d, False))
                else:
                    row.append(cell if cell is not None else Day(d, True))
            weeks.append(row)
        months.append(Month(f"{calendar.month_name[month]} {year}", weeks))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
