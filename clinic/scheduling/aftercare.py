"""What a client is told: each restriction of a session with its concrete dates."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from clinic.scheduling.rules import care_windows
from clinic.scheduling.timeutil import local
from clinic.scheduling.types import CareWindow, CourseRules
from clinic.scheduling.wording import day_text, moment_text


def aftercare_calendar(
    *, start: datetime, course: CourseRules, tz: ZoneInfo
) -> tuple[CareWindow, ...]:
    """Every pre-care and aftercare window of a session starting at `start`, in time order."""
    return care_windows(start, course, tz)


def describe_window(window: CareWindow, tz: ZoneInfo, now: datetime | None = None) -> str:
    """'No makeup until Thu 27 Nov 2026, 10:30' or 'Avoid sun from Sat 22 Nov 2026'; a pre-care
    window that has begun by `now` is told without its past date ('Avoid sun until the
    session'), since the client can no longer start it then (rule 11)."""
    if window.phase == "before" and now is not None and window.window.start < now:
        return f"{window.text} until the session"
    if window.phase == "before":
        return f"{window.text} from {day_text(local(window.window.start, tz).date())}"
    return f"{window.text} until {moment_text(local(window.window.end, tz))}"
