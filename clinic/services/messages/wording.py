"""How the messages to a client name a session and its care dates (DOMAIN.md "What clients
are told": concrete calendar dates for each session's pre-care and aftercare)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from clinic.models import Appointment
from clinic.scheduling import CareWindow, describe_window
from clinic.scheduling.timeutil import local
from clinic.scheduling.wording import day_text, moment_text
from clinic.services.world.progress import session_place


def session_count(a: Appointment) -> str:
    """ "session 5 of 6", or "session 5 of 6 (make-up for session 3)": the count the client
    reads in emails, calendar files and pages (`progress.session_place`)."""
    place = session_place(a)
    if place.makes_up is None:
        return f"session {place.number} of {place.of}"
    return f"session {place.number} of {place.of} (make-up for session {place.makes_up})"


def session_title(a: Appointment) -> str:
    """'Glycolic peel (session 2 of 6)'; a make-up, whose count has brackets of its own:
    'Glycolic peel, session 5 of 6 (make-up for session 3)'."""
    name = a.enrolment.course.procedure.name
    if session_place(a).makes_up is None:
        return f"{name} ({session_count(a)})"
    return f"{name}, {session_count(a)}"


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


# --- the care timeline (reminders.refresh) --------------------------------------------------

BRING = "Please bring a list of the skincare products and medicines you use now."


def reminder_body(
    name: str, a: Appointment, tz: Any, before: Sequence[str], after: Sequence[str]
) -> str:
    """The day-before message of a session: when and where, what to do before it and bring,
    and every restriction after it until the day the client really regains it."""
    lines = [
        f"Hello {name},",
        "",
        f"a reminder: your {session_title(a)} is tomorrow, "
        f"{moment_text(local(a.start_at, tz))}, with {a.practitioner.name}, {a.room.name}.",
    ]
    if before:
        lines += ["", "Before it:", *before]
    lines += ["", BRING]
    if after:
        lines += ["", "After it:", *after]
    return "\n".join(lines)


def reminder_subject(a: Appointment, tz: Any) -> str:
    return f"Tomorrow: {a.enrolment.course.procedure.name} at {local(a.start_at, tz):%H:%M}"


def aftercare_line(text: str, end: datetime, runs_on: bool, tz: Any) -> str:
    """One restriction after a session, told until the end of its stretch: `runs_on` when it
    goes on into the next session's care, so the client does not resume it in between."""
    until = f"  - {text} until {moment_text(local(end, tz))}"
    return f"{until} (it goes on into the care of your next session)" if runs_on else until


def opening_line(text: str, end: datetime, session_start: datetime, tz: Any) -> str:
    if end <= session_start:
        return f"  - {text}: from today until the session"
    return f"  - {text}: from today until {moment_text(local(end, tz))}, through your sessions"


def opening_intro(a: Appointment, tz: Any) -> str:
    return f"from today, before your {session_title(a)} on {moment_text(local(a.start_at, tz))}:"


def ending_line(text: str, end: datetime, tz: Any) -> str:
    return f"  - {text}: until today, {local(end, tz):%H:%M}"


ENDING_INTRO = "these restrictions end today, and no session you have booked brings them back:"


def care_day_subject(day: date, opening: bool, ending: bool) -> str:
    if opening and ending:
        return f"Your care from today ({day_text(day)})"
    if opening:
        return f"Your pre-care starts today ({day_text(day)})"
    return f"Your aftercare ends today ({day_text(day)})"


def next_session_due(
    name: str, course: str, remaining: int, earliest: date, latest: date | None
) -> tuple[str, str]:
    """The subject and body of the nudge the day a course's next session may be held."""
    left = "1 session" if remaining == 1 else f"{remaining} sessions"
    return (
        f"Your next {course} session is due",
        "\n".join(
            [
                f"Hello {name},",
                "",
                f"your {course} has {left} still to book. From today, "
                f"{day_text(earliest)}, your next session keeps the course's spacing.",
                *(
                    []
                    if latest is None
                    else [
                        f"To keep the course working, hold it by {day_text(latest)} at the latest."
                    ]
                ),
                "Book it from My sessions.",
            ]
        ),
    )


# --- changes told (notices) -----------------------------------------------------------------


def moved_intro(course: str, by_client: bool) -> str:
    if by_client:
        return f"your sessions of {course} are moved as you asked:"
    return f"the clinic has had to move sessions of your {course}:"


def moved_closing(by_client: bool) -> list[str]:
    lines = [
        "Your other sessions stay as booked. The attached calendar file has the new dates; "
        "your reminders follow them.",
    ]
    if not by_client:
        lines.append("If a new date does not suit you, please call the clinic.")
    return lines


def cancelled_subject(course: str, whole_course: bool) -> str:
    return f"Cancelled: {course}" if whole_course else f"A session of your {course} is cancelled"


def cancelled_intro(course: str, whole_course: bool, any_session: bool, by_client: bool) -> str:
    if whole_course and not any_session:
        if by_client:
            return f"your {course} is cancelled as you asked; it had no sessions still to come."
        return f"the clinic has cancelled your {course}; it had no sessions still to come."
    if whole_course:
        if by_client:
            return f"your {course} is cancelled as you asked; these sessions will not take place:"
        return f"the clinic has cancelled your {course}; these sessions will not take place:"
    if by_client:
        return f"this session of your {course} is cancelled as you asked:"
    return f"the clinic has cancelled this session of your {course}:"


def reason_line(reason: str) -> str:
    return f"The reason given: {reason}"


CANCELLED_CARE = (
    "Their pre-care and aftercare no longer apply, and their reminders will not be sent. "
    "The attached calendar file marks them cancelled."
)


def next_session_line(title: str, moment: str) -> str:
    return f"Your next session stays as booked: {title}, {moment}. Its care dates:"
