"""The care timeline: when a client's restrictions really start and end, across sessions.

A session's care windows (`aftercare_calendar`) overlap those of its neighbours: the no-sun
aftercare of one peel runs on into the no-sun pre-care of the next. What the client lives is
each restriction's merged stretch (`CareSpan`), and what they are told follows it: a stretch
opening with a pre-care window is told the morning it opens; a stretch's end is told on its
day only where the client regains the restriction for good (no later stretch of it is
booked); a stretch of a day or two is told with its session, never on a day of its own.
Each session's own message tells every aftercare window by the end of its stretch, so the
ends in between are told, as dates, without a message each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.scheduling.intervals import join
from clinic.scheduling.types import CareWindow

# A stretch this short is told with its session (the reminder's "after it"), not on its own day.
SHORT_STRETCH = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class CareSpan:
    """One restriction in force without a break, over one or more sessions' windows.
    `opened_by`: the session (its key) whose pre-care window opens the stretch, if one does;
    `last`: no later stretch of the same restriction is booked; `after`: the stretch ends with
    aftercare (a stretch of pre-care alone ends as its session begins, told with it)."""

    code: str
    text: str
    start: datetime
    end: datetime
    opened_by: int | None
    last: bool
    after: bool

    @property
    def short(self) -> bool:
        return self.end - self.start <= SHORT_STRETCH


@dataclass(frozen=True, slots=True)
class CareDay:
    """What a day of the timeline tells: the stretches opening and those ending for good."""

    day: date
    starts: tuple[CareSpan, ...]
    ends: tuple[CareSpan, ...]


def care_spans(windows: Iterable[tuple[int, CareWindow]]) -> list[CareSpan]:
    """Each restriction's merged stretches, from the sessions' windows keyed by session;
    ordered by start, then code."""
    by_code: dict[str, list[tuple[int, CareWindow]]] = {}
    for key, w in windows:
        by_code.setdefault(w.code, []).append((key, w))
    out: list[CareSpan] = []
    for code, keyed in by_code.items():
        keyed.sort(key=lambda kw: (kw[1].window.start, kw[1].phase != "before"))
        merged = join((w.window.start, w.window.end) for _, w in keyed)
        for i, (start, end) in enumerate(merged):
            first = next(kw for kw in keyed if kw[1].window.start == start)
            closing = [w for _, w in keyed if w.window.end == end]
            out.append(
                CareSpan(
                    code=code,
                    text=first[1].text,
                    start=start,
                    end=end,
                    opened_by=first[0] if first[1].phase == "before" else None,
                    last=i == len(merged) - 1,
                    after=any(w.phase == "after" for w in closing),
                )
            )
    out.sort(key=lambda span: (span.start, span.code))
    return out


def span_of(spans: Sequence[CareSpan], window: CareWindow) -> CareSpan:
    """The stretch a session's window belongs to."""
    for span in spans:
        if span.code == window.code and span.start <= window.window.start < span.end:
            return span
    raise ValueError(f"no stretch holds the window {window!r}")


def care_days(spans: Sequence[CareSpan], *, now: datetime, tz: ZoneInfo) -> list[CareDay]:
    """The days the timeline tells something, after `now`, each once: the stretches a
    pre-care window opens (longer than `SHORT_STRETCH`) on the day they open, and the
    stretches of aftercare ending for good (longer than `SHORT_STRETCH`) on the day they end."""
    starts: dict[date, list[CareSpan]] = {}
    ends: dict[date, list[CareSpan]] = {}
    for span in spans:
        if span.short:
            continue
        if span.opened_by is not None and span.start > now:
            starts.setdefault(span.start.astimezone(tz).date(), []).append(span)
        if span.last and span.after and span.end > now:
            ends.setdefault(span.end.astimezone(tz).date(), []).append(span)
    return [
        CareDay(
            day,
            tuple(starts.get(day, ())),
            tuple(sorted(ends.get(day, ()), key=lambda s: (s.end, s.code))),
        )
        for day in sorted(starts.keys() | ends.keys())
    ]
