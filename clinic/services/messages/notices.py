"""What a change tells the client, queued in the change's own transaction (DOMAIN.md "What
clients are told"): a booking's confirmation with its care dates and calendar file, sessions
the clinic moved, a missed session and its make-up, and a password reset link."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from clinic.models import Appointment, Enrolment, User, utcnow
from clinic.scheduling import CareWindow
from clinic.scheduling.timeutil import local
from clinic.scheduling.wording import day_text, moment_text
from clinic.services.core import clinic_setup
from clinic.services.core.db import transaction
from clinic.services.messages import calendar_files, reminders
from clinic.services.messages.outbox import message, queue
from clinic.services.messages.wording import (
    CANCELLED_CARE,
    cancelled_intro,
    cancelled_subject,
    care_lines,
    moved_closing,
    moved_intro,
    next_session_line,
    reason_line,
    session_title,
)
from clinic.services.world.aftercare import aftercare_for
from clinic.services.world.progress import Progress, session_place


def confirm_booking(
    s: Session,
    enrolment: Enrolment,
    now: datetime,
    appointments: Sequence[Appointment] | None = None,
    care: Mapping[int, tuple[CareWindow, ...]] | None = None,
) -> None:
    """Queue, in the caller's transaction, the confirmation of a new course booking: every
    session with its care dates, and the sessions as an .ics attachment. Also refreshes the
    client's reminders and restriction notices. `appointments`: only these sessions, when more
    sessions were booked into a course the client holds (the message tells only the new ones).
    `care`: the sessions' care windows by appointment id, if the booking has them already;
    the message, its .ics and the reminders all use the same windows."""
    client = enrolment.client
    tz = clinic_setup.clinic_tz()
    added = appointments is not None
    live = (
        list(appointments)
        if appointments is not None
        else [a for a in enrolment.appointments if a.status == "booked"]
    )
    intro = (
        f"more sessions of {enrolment.course.name} are booked for you:"
        if added
        else f"you are booked for {enrolment.course.name}:"
    )
    lines = [f"Hello {client.name},", "", intro, ""]
    windows = {a.id: care[a.id] if care and a.id in care else aftercare_for(a) for a in live}
    for a in live:
        lines.append(
            f"{session_title(a)}: {moment_text(local(a.start_at, tz))}, "
            f"with {a.practitioner.name}, {a.room.name}"
        )
        lines += care_lines(windows[a.id], tz, now)
        lines.append("")
    lines += [
        "The attached calendar file adds the sessions and their aftercare to your phone.",
        "You can change or cancel online up to "
        f"{clinic_setup.settings().client_change_notice_hours} hours before a session.",
    ]
    queue(
        s,
        message(
            kind="booking_confirmation",
            to_email=client.email,
            subject=f"Your booking: {enrolment.course.name}",
            body="\n".join(lines),
            due_at=now,
            client_id=client.id,
            appointment_id=live[0].id if live else None,
            # A new enrolment's sessions are all `live`: its .ics is theirs.
            ics=calendar_files.sessions_ics(
                sorted(live, key=lambda a: (a.start_at, a.id)), windows
            ).decode(),
        ),
    )
    reminders.refresh(s, client.id, now, [(a, windows[a.id]) for a in live])


def tell_missed_session(
    s: Session,
    appointment: Appointment,
    progress: Progress,
    link: str,
    now: datetime,
    offer: datetime | None = None,
) -> None:
    """Queue, in the caller's transaction, the message to a client who missed a session: the
    course keeps a make-up session to book from My sessions (`link`), with the earliest date
    its rules allow (`offer`, its start), or, under the policy `no_show_uses_session`, the session is
    used up."""
    client = appointment.client
    course = appointment.enrolment.course
    when = day_text(local(appointment.start_at, clinic_setup.clinic_tz()).date())
    number = session_place(appointment).number
    missed = f"You missed session {number} of {course.procedure.name} on {when}"
    where = f"My sessions: {link}" if link else "My sessions"
    if clinic_setup.settings().no_show_uses_session:
        told = f"{missed}; under the clinic's policy a missed session is used up."
        if progress.remaining:
            left = f"{progress.remaining} session{'s' if progress.remaining > 1 else ''}"
            told += f" Your course has {left} still to book: book from {where}"
        elif progress.booked:
            told += " Your other booked sessions stay as they are."
        else:
            told += f" It was the last session of {course.name}."
    else:
        told = f"{missed}; your course keeps a make-up session: book it from {where}"
        if offer is not None:
            told += (
                f"\nThe earliest date that keeps your course's spacing is "
                f"{moment_text(local(offer, clinic_setup.clinic_tz()))}; "
                "My sessions shows it with other times."
            )
    queue(
        s,
        message(
            kind="missed_session",
            to_email=client.email,
            subject=f"You missed your {course.procedure.name} session",
            body="\n".join([f"Hello {client.name},", "", told]),
            due_at=now,
            client_id=client.id,
            appointment_id=appointment.id,
            # The missed session, marked so in the client's calendar (its care is lifted).
            ics=calendar_files.appointment_ics(appointment).decode(),
        ),
    )


def tell_sessions_moved(
    s: Session,
    enrolment: Enrolment,
    moved: Sequence[tuple[Appointment, datetime]],
    now: datetime,
    by_client: bool = False,
) -> None:
    """Queue, in the caller's transaction, the message that sessions of a course moved (an
    accepted re-plan, a move by reception, or the client's own move, `by_client`): each moved
    session's new date and time, what it was, and its new care dates, with the course's
    sessions as an .ics attachment. Also refreshes the client's care timeline, which follows
    the new dates (the message says its reminders follow them)."""
    client = enrolment.client
    tz = clinic_setup.clinic_tz()
    intro = moved_intro(enrolment.course.name, by_client)
    lines = [f"Hello {client.name},", "", intro, ""]
    for a, was in sorted(moved, key=lambda m: m[0].start_at):
        lines.append(
            f"{session_title(a)}: now {moment_text(local(a.start_at, tz))} "
            f"(was {moment_text(local(was, tz))}), with {a.practitioner.name}, {a.room.name}"
        )
        lines += care_lines(aftercare_for(a), tz, now)
        lines.append("")
    lines += moved_closing(by_client)
    first = min((a for a, _ in moved), key=lambda a: a.start_at)
    queue(
        s,
        message(
            kind="sessions_moved",
            to_email=client.email,
            subject=f"New dates for your {enrolment.course.name}",
            body="\n".join(lines),
            due_at=now,
            client_id=client.id,
            appointment_id=first.id,
            ics=calendar_files.enrolment_ics(client.id, enrolment.id).decode(),
        ),
    )
    reminders.refresh(s, client.id, now)


def tell_sessions_cancelled(
    s: Session,
    enrolment: Enrolment,
    cancelled: Sequence[Appointment],
    now: datetime,
    *,
    reason: str = "",
    whole_course: bool = False,
    by_client: bool = False,
) -> None:
    """Queue, in the caller's transaction, the message that sessions (or the whole course,
    `whole_course`) are cancelled, with the reason staff gave, the care dates that go with
    them and what still holds, and the cancelled sessions as an .ics whose events say
    CANCELLED. Also refreshes the client's care timeline: the cancelled sessions' reminders
    and care messages are replaced by this one, never dropped unsaid."""
    client = enrolment.client
    tz = clinic_setup.clinic_tz()
    course = enrolment.course.name
    lines = [f"Hello {client.name},", ""]
    lines.append(cancelled_intro(course, whole_course, bool(cancelled), by_client))
    lines += [
        f"  - {session_title(a)}: {moment_text(local(a.start_at, tz))}"
        for a in sorted(cancelled, key=lambda a: a.start_at)
    ]
    if reason:
        lines += ["", reason_line(reason)]
    if cancelled:
        lines += ["", CANCELLED_CARE]
    to_come = sorted(
        (a for a in enrolment.appointments if a.is_to_come(now)), key=lambda a: a.start_at
    )
    if to_come and not whole_course:
        nxt = to_come[0]
        lines += [
            "",
            next_session_line(session_title(nxt), moment_text(local(nxt.start_at, tz))),
            *care_lines(aftercare_for(nxt), tz, now),
        ]
    queue(
        s,
        message(
            kind="sessions_cancelled",
            to_email=client.email,
            subject=cancelled_subject(course, whole_course),
            body="\n".join(lines),
            due_at=now,
            client_id=client.id,
            appointment_id=cancelled[0].id if cancelled else None,
            ics=calendar_files.cancelled_ics(cancelled).decode() if cancelled else None,
        ),
    )
    reminders.refresh(s, client.id, now)


def queue_password_reset(*, user: User, link: str, now: datetime | None = None) -> None:
    """The email with a password reset link; queued in its own transaction."""
    now = now or utcnow()
    with transaction() as s:
        queue(
            s,
            message(
                kind="password_reset",
                to_email=user.email,
                subject="Reset your password",
                body="\n".join(
                    [
                        f"Hello {user.name},",
                        "",
                        "someone (we hope you) asked to reset the password of your account.",
                        f"Open this link within an hour to choose a new one: {link}",
                        "",
                        "If it was not you, ignore this message; your password stays as it is.",
                    ]
                ),
                due_at=now,
                client_id=user.client.id if user.client is not None else None,
            ),
        )
