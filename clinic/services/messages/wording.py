"""How the messages to a client name a session and its care dates (DOMAIN.md "What clients
are told": concrete calendar dates for each session's pre-care and aftercare)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from clinic.models import Appointment
from clinic.scheduling import CareWindow, describe_window


def session_title(a: Appointment) -> str:
    enrolment = a.enrolment
    return f"{enrolment.course.procedure.name} (session {a.session} of {enrolment.course_sessions})"


def care_lines(windows: Sequence[CareWindow], tz: Any, now: datetime) -> list[str]:
    """The care dates as the client reads them at `now`: a pre-care window already begun
    is told without its past date (rule 11)."""
    return [f"  - {describe_window(w, tz, now)}" for w in windows]


def choices_footer(link: str) -> str:
    """The last lines of every email to a client: where they choose what they receive."""
    return "\n".join(
        [
            "",
            "-- ",
            "Choose which messages you receive, by email or text message (no login needed):",
            link,
        ]
    )
