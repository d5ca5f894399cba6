"""What a client's calendar says: the titles, places and notes of the events in calendar files
(calendar_files.py), whole sentences in one place."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from clinic.models import Appointment
from clinic.scheduling import CareStretch, CareWindow, describe_window
from clinic.scheduling.timeutil import local
from clinic.scheduling.wording import moment_text
from clinic.services.messages.wording import session_title

# A session that did not or will not take place for the client, as its event's title says.
_NOT_HELD = {"no_show": "Missed: ", "cancelled": "Cancelled: "}


def session_summary(appointment: Appointment) -> str:
    """'Glycolic peel (session 2 of 6)', or 'Cancelled: ...' / 'Missed: ...'."""
    return f"{_NOT_HELD.get(appointment.status, '')}{session_title(appointment)}"


def session_description(
    appointment: Appointment, short_care: Sequence[CareWindow], tz: ZoneInfo
) -> str:
    """The course, who and which room; then the aftercare too short for an event of its own."""
    lines = [
        f"{appointment.enrolment.course.name}. "
        f"With {appointment.practitioner.name}, {appointment.room.name}."
    ]
    if short_care:
        lines += ["", "Afterwards:"]
        lines += [f"{describe_window(w, tz)}." for w in short_care]
    return "\n".join(lines)


def location(name: str, address: str) -> str:
    """'Skin Studio, Hauptstrasse 1, 10115 Berlin': the clinic's name and address on one line."""
    return ", ".join([name, *(line.strip() for line in address.splitlines() if line.strip())])


def alarm_text(appointment: Appointment, tz: ZoneInfo) -> str:
    return (
        f"Tomorrow at {local(appointment.start_at, tz):%H:%M}: {session_title(appointment)}. "
        "See the event for what to do before it."
    )


def _numbers(sessions: Sequence[int]) -> str:
    if len(sessions) == 1:
        return f"session {sessions[0]}"
    if list(sessions) == list(range(sessions[0], sessions[-1] + 1)):
        return f"sessions {sessions[0]} to {sessions[-1]}"
    return "sessions " + ", ".join(str(n) for n in sessions)


def care_summary(stretch: CareStretch, procedure: str, sessions: Sequence[int]) -> str:
    """'No sun (before and after Glycolic peel sessions 1 to 6)'."""
    when = {
        frozenset({"before"}): "before",
        frozenset({"after"}): "after",
    }.get(stretch.phases, "before and after")
    return f"{stretch.text} ({when} {procedure} {_numbers(sorted(set(sessions)))})"


def care_description(stretch: CareStretch, tz: ZoneInfo) -> str:
    return (
        f"{stretch.text} from {moment_text(local(stretch.window.start, tz))} "
        f"until {moment_text(local(stretch.window.end, tz))}."
    )


def care_category(stretch: CareStretch) -> list[str]:
    return [
        {"before": "Pre-care", "after": "Aftercare"}[p]
        for p in sorted(stretch.phases, reverse=True)
    ]


def feed_name(clinic: str) -> str:
    return f"My sessions at {clinic}"


def cancelled_care_summary(text: str, appointment: Appointment) -> str:
    return f"Cancelled: {text} ({session_title(appointment)})"
