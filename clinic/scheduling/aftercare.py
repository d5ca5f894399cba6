"""What a client is told: each restriction of a session with its concrete dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from clinic.scheduling.rules import care_windows
from clinic.scheduling.timeutil import local
from clinic.scheduling.types import CareStretch, CareWindow, CourseRules, TimeRange
from clinic.scheduling.wording import day_text, moment_text


def aftercare_calendar(
    *, start: datetime, course: CourseRules, tz: ZoneInfo
) -> tuple[CareWindow, ...]:
    """Every pre-care and aftercare window of a session starting at `start`, in time order."""
    return care_windows(start, course, tz)


def care_stretches(*, windows: Iterable[tuple[int, CareWindow]]) -> tuple[CareStretch, ...]:
    """The care windows of several sessions (`(session key, window)` pairs) as stretches: per
    restriction, windows that overlap or touch joined into one, across sessions and across
    pre-care and aftercare (an aftercare "no sun" running into the next session's pre-care "no
    sun" is one stretch). In order of start, then code."""
    by_code: dict[str, list[tuple[int, CareWindow]]] = {}
    for key, window in windows:
        by_code.setdefault(window.code, []).append((key, window))
    out: list[CareStretch] = []
    for pairs in by_code.values():
        pairs.sort(key=lambda p: (p[1].window.start, p[1].window.end, p[0]))
        runs: list[tuple[list[tuple[int, CareWindow]], datetime]] = []
        for key, window in pairs:
            if runs and window.window.start <= runs[-1][1]:
                run, end = runs[-1]
                run.append((key, window))
                runs[-1] = (run, max(end, window.window.end))
            else:
                runs.append(([(key, window)], window.window.end))
        out += [_stretch(run, end) for run, end in runs]
    return tuple(sorted(out, key=lambda s: (s.window.start, s.code)))


def _stretch(run: list[tuple[int, CareWindow]], end: datetime) -> CareStretch:
    first = run[0][1]
    return CareStretch(
        code=first.code,
        text=first.text,
        kind=first.kind,
        window=TimeRange(first.window.start, end),
        phases=frozenset(w.phase for _, w in run),
        sessions=tuple(dict.fromkeys(key for key, _ in run)),
    )


def describe_window(window: CareWindow, tz: ZoneInfo, now: datetime | None = None) -> str:
    """'No makeup until Thu 27 Nov 2026, 10:30' or 'Avoid sun from Sat 22 Nov 2026'; a pre-care
    window that has begun by `now` is told without its past date ('Avoid sun until the
    session'), since the client can no longer start it then (rule 11)."""
    if window.phase == "before" and now is not None and window.window.start < now:
        return f"{window.text} until the session"
    if window.phase == "before":
        return f"{window.text} from {day_text(local(window.window.start, tz).date())}"
    return f"{window.text} until {moment_text(local(window.window.end, tz))}"
