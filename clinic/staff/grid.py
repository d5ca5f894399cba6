"""Laying out one day of the calendar as a table: a row per slot, a column per practitioner or
device, each appointment one cell spanning its rows (HTML rowspan, so no inline styles are
needed under the CSP), followed by a cell for its buffer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from clinic.services.courses.schedule import CalendarWindow, Entry

DEFAULT_DAY = (9 * 60, 18 * 60)


@dataclass(slots=True)
class GridCell:
    kind: str  # appointment, buffer, free, closed, off
    rowspan: int = 1
    entry: Entry | None = None
    extra: list[Entry] = field(default_factory=list)
    label: str = ""


@dataclass(slots=True)
class GridRow:
    minute: int
    cells: list[GridCell | None]

    @property
    def label(self) -> str:
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}"

    @property
    def on_the_hour(self) -> bool:
        return self.minute % 60 == 0


def _minutes(t: time | datetime) -> int:
    return t.hour * 60 + t.minute


def _minutes_on(day: date, moment: datetime) -> int:
    """Minutes since local midnight of `day`; clamped to the day."""
    if moment.date() < day:
        return 0
    if moment.date() > day:
        return 24 * 60
    return _minutes(moment)


def day_grid(window: CalendarWindow, day: date) -> list[GridRow]:
    step = window.slot_minutes
    spans: list[tuple[int, int]] = list(
        (_minutes(a), _minutes(b)) for a, b in window.opening.get(day, [])
    )
    for column in window.columns:
        spans += [(_minutes(a), _minutes(b)) for a, b in window.hours.get((column.id, day), [])]
        spans += [
            (_minutes_on(day, e.start), _minutes_on(day, e.busy_until))
            for e in window.cell(column.id, day)
        ]
    lo = min((a for a, _ in spans), default=DEFAULT_DAY[0])
    hi = max((b for _, b in spans), default=DEFAULT_DAY[1])
    lo, hi = lo - lo % step, hi + (-hi) % step
    if hi <= lo:
        lo, hi = DEFAULT_DAY
    rows = [GridRow(m, []) for m in range(lo, hi, step)]
    count = len(rows)

    def row_of(minute: int, up: bool) -> int:
        index = (minute - lo + (step - 1 if up else 0)) // step
        return max(0, min(count, index))

    for column in window.columns:
        cells: list[GridCell | None] = [None] * count
        covered = [False] * count
        hours = window.hours.get((column.id, day), [])
        off = window.off.get((column.id, day))
        last: GridCell | None = None
        last_end = 0
        entries = sorted(window.cell(column.id, day), key=lambda e: e.start)
        for i, entry in enumerate(entries):
            r0 = row_of(_minutes_on(day, entry.start), up=False)
            r1 = max(r0 + 1, row_of(_minutes_on(day, entry.end), up=True))
            if last is not None and r0 < last_end:
                last.extra.append(entry)  # overlapping: shown in the same cell
                continue
            r1 = min(r1, count)
            last = GridCell("appointment", r1 - r0, entry)
            cells[r0] = last
            for r in range(r0, r1):
                covered[r] = True
            last_end = r1
            rb = row_of(_minutes_on(day, entry.busy_until), up=True)
            if i + 1 < len(entries):
                rb = min(rb, row_of(_minutes_on(day, entries[i + 1].start), up=False))
            if rb > r1:
                cells[r1] = GridCell("buffer", rb - r1, entry)
                for r in range(r1, rb):
                    covered[r] = True
                last_end = rb
        if off is not None and not entries:
            cells = [GridCell("off", count, label=off)] + [None] * (count - 1)
        else:
            for r, row in enumerate(rows):
                if covered[r]:
                    continue
                inside = any(_minutes(a) <= row.minute < _minutes(b) for a, b in hours)
                cells[r] = GridCell("off" if off else "free" if inside else "closed")
        for r, row in enumerate(rows):
            row.cells.append(cells[r])
    return rows
