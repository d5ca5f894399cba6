"""The messages due later, recomputed from a client's live sessions after every change: a
reminder the day before each session and a notice the day each restriction ends (DOMAIN.md
"What clients are told"); and withdrawing unsent messages whose session no longer is as they
tell."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session, selectinload

from clinic.models import (
    LOOKBACK,
    RESTRICTING_STATUSES,
    Appointment,
    Client,
    Enrolment,
    OutboxMessage,
)
from clinic.scheduling import CareWindow
from clinic.scheduling.intervals import join
from clinic.scheduling.timeutil import at, local
from clinic.scheduling.wording import day_text, moment_text
from clinic.services.core import clinic_setup
from clinic.services.core.errors import NotFound
from clinic.services.messages.outbox import HOLDS_WHILE, SCHEDULED_KINDS, message, queue, unclaimed
from clinic.services.messages.wording import care_lines, session_title
from clinic.services.world.aftercare import aftercare_for

REMINDER_AT = time(10, 0)  # local time, the day before the session
RESTRICTION_NOTICE_AT = time(8, 0)  # local time, the day a restriction ends


def _unsent(client: Client, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The client's messages not sent and not being sent (a claimed one is, right now)."""
    return (
        OutboxMessage.client_id == client.id,
        OutboxMessage.status == "queued",
        unclaimed(now),
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


def refresh(
    s: Session,
    client_id: int,
    now: datetime,
    known: Sequence[tuple[Appointment, tuple[CareWindow, ...]]] = (),
) -> None:
    """Recompute, in the caller's transaction, the client's future reminders and restriction
    notices from its live sessions, and withdraw its unsent messages whose session no longer
    is as they tell (`HOLDS_WHILE`); the booking services call it after every change.
    `known`: sessions the caller holds with their care windows (those it just booked), not
    read again."""
    client = s.get(Client, client_id)
    if client is None:
        raise NotFound("There is no such client.")
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
            f"a reminder: your {session_title(a)} is tomorrow, "
            f"{moment_text(local(a.start_at, tz))}, with {a.practitioner.name}, {a.room.name}.",
        ]
        if before:
            body += ["", "Before it:", *care_lines(before, tz, due)]
        scheduled.append(
            message(
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
            message(
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
    queue(s, *scheduled)
