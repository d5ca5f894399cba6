"""The outbox: emails to clients, queued in the database and sent by `flask messages send`.

Queueing happens inside ordinary service transactions, so a message exists exactly when the
change it tells about was committed. Sending is safe to run every minute from cron, and from
two machines at once: a sender first claims a message with a conditional UPDATE (only one
sender's UPDATE matches), then sends it, then marks it sent. A failed send leaves the message
queued with its error and a later retry time; nothing is lost. If a sender dies between sending
and marking, the claim expires and the message is sent again (at least once, never silently
dropped). A message that cannot be made into an email at all (a header with a line break,
from text stored before such text was refused) is marked failed with its reason at once, and
the run goes on with the others: one bad message never holds up the rest.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    LOOKBACK,
    RESTRICTING_STATUSES,
    Appointment,
    Client,
    Enrolment,
    OutboxMessage,
    User,
    utcnow,
)
from clinic.scheduling import CareWindow, describe_window
from clinic.scheduling.intervals import join
from clinic.scheduling.timeutil import at, local
from clinic.scheduling.wording import day_text, moment_text
from clinic.services.core import clinic_setup
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import NotFound
from clinic.services.messages import calendar_files
from clinic.services.world.aftercare import aftercare_for
from clinic.services.world.progress import Progress

KINDS = (
    "booking_confirmation",
    "sessions_moved",
    "reminder",
    "restriction_ends",
    "password_reset",
    "missed_session",
)
# Reminders and restriction notices are recomputed from the live sessions after each change.
SCHEDULED_KINDS = ("reminder", "restriction_ends")
# Messages that tell of one session's state (`appointment_id`), and the session statuses in
# which what they tell still holds. `refresh`, run after every change of a client's
# sessions, withdraws such a message unsent once its session has left them: a no-show
# corrected to done must not tell the client they missed it, nor offer a make-up.
HOLDS_WHILE: dict[str, tuple[str, ...]] = {"missed_session": ("no_show",)}
REMINDER_AT = time(10, 0)  # local time, the day before the session
RESTRICTION_NOTICE_AT = time(8, 0)  # local time, the day a restriction ends
CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(hours=1)
SMTP_TIMEOUT = 15


def queue(
    s: Session,
    *,
    kind: str,
    to_email: str,
    subject: str,
    body: str,
    due_at: datetime,
    client_id: int | None = None,
    appointment_id: int | None = None,
    ics: str | None = None,
) -> OutboxMessage:
    """Add a message to the outbox inside the caller's transaction."""
    message = OutboxMessage(
        **_queued(
            kind=kind,
            to_email=to_email,
            subject=subject,
            body=body,
            due_at=due_at,
            client_id=client_id,
            appointment_id=appointment_id,
            ics=ics,
        )
    )
    s.add(message)
    return message


def _queued(
    *,
    kind: str,
    to_email: str,
    subject: str,
    body: str,
    due_at: datetime,
    client_id: int | None = None,
    appointment_id: int | None = None,
    ics: str | None = None,
) -> dict[str, Any]:
    """A queued message's columns (`queue` writes one; `_refresh` writes many in one go)."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    if kind in HOLDS_WHILE and appointment_id is None:
        raise ValueError(f"a {kind!r} message tells of a session: give its appointment")
    return dict(
        kind=kind,
        to_email=to_email,
        subject=subject[:200],
        body=body,
        ics=ics,
        due_at=due_at,
        client_id=client_id,
        appointment_id=appointment_id,
        status="queued",
        attempts=0,
        last_error="",
    )


# --- what is queued ------------------------------------------------------------------------


def _session_title(a: Appointment) -> str:
    enrolment = a.enrolment
    return f"{enrolment.course.procedure.name} (session {a.session} of {enrolment.course_sessions})"


def _care_lines(windows: Sequence[CareWindow], tz: Any, now: datetime) -> list[str]:
    """The care dates as the client reads them at `now`: a pre-care window already begun
    is told without its past date (rule 11)."""
    return [f"  - {describe_window(w, tz, now)}" for w in windows]


def confirm_booking(
    s: Session,
    enrolment: Enrolment,
    now: datetime,
    appointments: Sequence[Appointment] | None = None,
    care: Mapping[int, tuple[CareWindow, ...]] | None = None,
) -> OutboxMessage:
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
            f"{_session_title(a)}: {moment_text(local(a.start_at, tz))}, "
            f"with {a.practitioner.name}, {a.room.name}"
        )
        lines += _care_lines(windows[a.id], tz, now)
        lines.append("")
    lines += [
        "The attached calendar file adds the sessions and their aftercare to your phone.",
        "You can change or cancel online up to "
        f"{clinic_setup.settings().client_change_notice_hours} hours before a session.",
    ]
    message = queue(
        s,
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
    )
    _refresh(s, client, now, [(a, windows[a.id]) for a in live])
    return message


def tell_missed_session(
    s: Session,
    appointment: Appointment,
    progress: Progress,
    link: str,
    now: datetime,
    offer: datetime | None = None,
) -> OutboxMessage:
    """Queue, in the caller's transaction, the message to a client who missed a session: the
    course keeps a make-up session to book from My sessions (`link`), with the earliest date
    its rules allow (`offer`, its start), or, under the policy `no_show_uses_session`, the session is
    used up."""
    client = appointment.client
    course = appointment.enrolment.course
    when = day_text(local(appointment.start_at, clinic_setup.clinic_tz()).date())
    missed = f"You missed session {appointment.session} of {course.procedure.name} on {when}"
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
    return queue(
        s,
        kind="missed_session",
        to_email=client.email,
        subject=f"You missed your {course.procedure.name} session",
        body="\n".join([f"Hello {client.name},", "", told]),
        due_at=now,
        client_id=client.id,
        appointment_id=appointment.id,
    )


def tell_sessions_moved(
    s: Session,
    enrolment: Enrolment,
    moved: Sequence[tuple[Appointment, datetime]],
    now: datetime,
) -> OutboxMessage:
    """Queue, in the caller's transaction, the message that the clinic moved sessions of a
    course (an accepted re-plan): each moved session's new date and time, what it was, and its
    new care dates, with the course's sessions as an .ics attachment. Also refreshes the
    client's reminders and restriction notices, which follow the new dates."""
    client = enrolment.client
    tz = clinic_setup.clinic_tz()
    lines = [
        f"Hello {client.name},",
        "",
        f"the clinic has had to move sessions of your {enrolment.course.name}:",
        "",
    ]
    for a, was in sorted(moved, key=lambda m: m[0].session):
        lines.append(
            f"{_session_title(a)}: now {moment_text(local(a.start_at, tz))} "
            f"(was {moment_text(local(was, tz))}), with {a.practitioner.name}, {a.room.name}"
        )
        lines += _care_lines(aftercare_for(a), tz, now)
        lines.append("")
    lines += [
        "Your other sessions stay as booked. The attached calendar file has the new dates.",
        "If a new date does not suit you, please call the clinic.",
    ]
    first = min((a for a, _ in moved), key=lambda a: a.start_at)
    message = queue(
        s,
        kind="sessions_moved",
        to_email=client.email,
        subject=f"New dates for your {enrolment.course.name}",
        body="\n".join(lines),
        due_at=now,
        client_id=client.id,
        appointment_id=first.id,
        ics=calendar_files.enrolment_ics(client.id, enrolment.id).decode(),
    )
    refresh(s, client.id, now)
    return message


def refresh(s: Session, client_id: int, now: datetime) -> None:
    """Recompute, in the caller's transaction, the client's future reminders and restriction
    notices from its live sessions, and withdraw its unsent messages whose session no longer
    is as they tell (`HOLDS_WHILE`); the booking services call it after every change."""
    client = s.get(Client, client_id)
    if client is None:
        raise NotFound("There is no such client.")
    _refresh(s, client, now)


def _unsent(client: Client, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The client's messages not sent and not being sent (a claimed one is, right now)."""
    return (
        OutboxMessage.client_id == client.id,
        OutboxMessage.status == "queued",
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _withdraw_outdated(s: Session, client: Client, now: datetime) -> None:
    """Withdraw the client's unsent messages whose session has left the statuses in which
    what they tell holds (`HOLDS_WHILE`). A message already sent stays, as sent."""
    for kind, statuses in HOLDS_WHILE.items():
        left = select(Appointment.id).where(
            Appointment.client_id == client.id, Appointment.status.not_in(statuses)
        )
        s.execute(
            delete(OutboxMessage)
            .where(
                *_unsent(client, now),
                OutboxMessage.kind == kind,
                OutboxMessage.appointment_id.in_(left),
            )
            .execution_options(synchronize_session="fetch")
        )


def _refresh(
    s: Session,
    client: Client,
    now: datetime,
    known: Sequence[tuple[Appointment, tuple[CareWindow, ...]]] = (),
) -> None:
    """`known`: sessions the caller holds with their care windows (those it just booked),
    not read again."""
    _withdraw_outdated(s, client, now)
    # Unsent, unclaimed scheduled messages are replaced; a claimed one is being sent right now.
    s.execute(
        delete(OutboxMessage)
        .where(
            *_unsent(client, now),
            OutboxMessage.kind.in_(SCHEDULED_KINDS),
            OutboxMessage.attempts == 0,
        )
        .execution_options(synchronize_session="fetch")
    )
    tz = clinic_setup.clinic_tz()
    since = now - LOOKBACK
    held = {
        a.id: (a, care)
        for a, care in known
        if a.status in RESTRICTING_STATUSES and a.end_at > since
    }
    query = (
        select(Appointment)
        .options(
            selectinload(Appointment.enrolment).selectinload(Enrolment.course),
            selectinload(Appointment.practitioner),
            selectinload(Appointment.room),
        )
        .where(
            Appointment.client_id == client.id,
            Appointment.status.in_(RESTRICTING_STATUSES),
            Appointment.end_at > since,
        )
        .order_by(Appointment.start_at)
    )
    if held:
        query = query.where(Appointment.id.not_in(list(held)))
    read = list(s.scalars(query))
    appointments = sorted(
        [*((a, aftercare_for(a)) for a in read), *held.values()], key=lambda pair: pair[0].start_at
    )
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    texts: dict[str, str] = {}
    scheduled: list[dict[str, Any]] = []
    for a, care in appointments:
        for w in care:
            if w.phase == "after":
                windows.setdefault(w.code, []).append((w.window.start, w.window.end))
                texts[w.code] = w.text
        if a.status != "booked" or a.start_at <= now:
            continue
        due = at(local(a.start_at, tz).date() - timedelta(days=1), REMINDER_AT, tz)
        if due <= now:
            continue
        before = [w for w in care if w.phase == "before"]
        body = [
            f"Hello {client.name},",
            "",
            f"a reminder: your {_session_title(a)} is tomorrow, "
            f"{moment_text(local(a.start_at, tz))}, with {a.practitioner.name}, {a.room.name}.",
        ]
        if before:
            body += ["", "Before it:", *_care_lines(before, tz, due)]
        scheduled.append(
            _queued(
                kind="reminder",
                to_email=client.email,
                subject=f"Tomorrow: {a.enrolment.course.procedure.name} at "
                f"{local(a.start_at, tz):%H:%M}",
                body="\n".join(body),
                due_at=due,
                client_id=client.id,
                appointment_id=a.id,
            )
        )
    # A restriction ends when no session keeps it going: merge each restriction's windows.
    ending: dict[Any, list[tuple[datetime, str]]] = {}
    for code, spans in windows.items():
        for _, end in join(spans):
            if end > now:
                ending.setdefault(local(end, tz).date(), []).append((end, code))
    for day, items in sorted(ending.items()):
        items.sort()
        due = min(at(day, RESTRICTION_NOTICE_AT, tz), items[0][0])
        if due <= now:
            due = now
        lines = [f"  - {texts[code]}: until today, {local(end, tz):%H:%M}" for end, code in items]
        scheduled.append(
            _queued(
                kind="restriction_ends",
                to_email=client.email,
                subject=f"Your aftercare ends today ({day_text(day)})",
                body="\n".join(
                    [f"Hello {client.name},", "", "these restrictions end today:", *lines]
                ),
                due_at=due,
                client_id=client.id,
            )
        )
    if scheduled:
        # One statement for all (the ORM would insert them one by one, to learn their ids).
        s.execute(insert(OutboxMessage), scheduled)


def queue_password_reset(*, user: User, link: str, now: datetime | None = None) -> None:
    """The email with a password reset link; queued in its own transaction."""
    now = now or utcnow()
    with transaction() as s:
        queue(
            s,
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
        )


def list_messages(*, client_id: int | None = None, limit: int = 200) -> list[OutboxMessage]:
    """The outbox, newest due first; only one client's messages when `client_id` is given."""
    query = select(OutboxMessage).order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
    if client_id is not None:
        query = query.where(OutboxMessage.client_id == client_id)
    return list(db_session().scalars(query.limit(limit)))


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    failed: int = 0  # every failure of this run, `given_up` included
    skipped: int = 0
    given_up: int = 0  # marked failed: no later run tries them again


def _email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    for name, value in (("From", sender), ("To", message.to_email), ("Subject", message.subject)):
        try:
            email[name] = value
        except ValueError as exc:  # the reason names the header and its text
            raise ValueError(f"{name} {value!r}: {exc}") from exc
    email["Message-ID"] = f"<outbox-{message.id}@clinic-scheduler>"
    email.set_content(message.body)
    if message.ics:
        email.add_attachment(
            message.ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="sessions.ics",
            params={"method": "PUBLISH"},
        )
    email.as_bytes()  # what the SMTP client will write: a header it cannot fold raises here
    return email


def _claim(message_id: int, now: datetime) -> bool:
    with transaction() as s:
        result = cast(
            CursorResult[Any],
            s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == "queued",
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .values(claimed_until=now + CLAIM)
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount == 1


def _finish(
    message_id: int, now: datetime, error: str | None, attempts: int, *, final: bool = False
) -> bool:
    """Record a send: sent, or its error and a later retry; failed for good when `final` or
    after the last attempt (True then)."""
    values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1}
    given_up = False
    if error is None:
        values.update(status="sent", sent_at=now, claimed_until=None, last_error="")
    else:
        backoff = min(timedelta(minutes=2**attempts), MAX_BACKOFF)
        values.update(last_error=error[:2000], claimed_until=now + backoff)
        given_up = final or attempts + 1 >= MAX_ATTEMPTS
        if given_up:
            values.update(status="failed", claimed_until=None)
    with transaction() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return given_up


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def send_due(
    now: datetime,
    smtp_host: str,
    smtp_port: int,
    *,
    sender: str = "clinic@localhost",
    limit: int = 100,
) -> SendReport:
    """Send every queued message due by `now` through the SMTP server, each at most once
    among concurrent senders. A failure to reach the server or a refusal keeps the message
    queued for a later retry; a message that cannot be made into an email, or that the SMTP
    client refuses to send, is marked failed with its reason. Either way the run goes on."""
    due = list(
        db_session().scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "queued",
                OutboxMessage.due_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
        )
    )
    db_session().rollback()  # end the read transaction before claiming
    sent = failed = skipped = given_up = 0
    for message_id in due:
        if not _claim(message_id, now):
            skipped += 1
            continue
        message = db_session().get(OutboxMessage, message_id, populate_existing=True)
        assert message is not None
        attempts = message.attempts
        error: str | None = None
        final = True  # no retry can mend a message that cannot be built
        # Whatever stops one message (a header with a line break, an address the email
        # package cannot write) is that message's failure, never the end of the run.
        try:
            email = _email(message, sender)
        except Exception as exc:
            error = f"The message could not be built: {_reason(exc)}"
        db_session().rollback()  # hold no database lock while talking to the SMTP server
        if error is None:
            try:
                with smtplib.SMTP(smtp_host, smtp_port, timeout=SMTP_TIMEOUT) as smtp:
                    smtp.send_message(email)
            except (smtplib.SMTPException, OSError) as exc:
                error, final = _reason(exc), False  # the server, or the way to it: retry
            except Exception as exc:
                error = f"The message could not be sent: {_reason(exc)}"
        given_up += _finish(message_id, now, error, attempts, final=final)
        if error is None:
            sent += 1
        else:
            failed += 1
    return SendReport(sent, failed, skipped, given_up)
