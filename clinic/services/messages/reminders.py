"""The messages due later, recomputed from a client's live sessions after every change (DOMAIN.md
"What clients are told"): the care timeline (a reminder the day before each session, a message
the morning a stretch of pre-care opens and the day a restriction ends for good, at most one a
day, `scheduling.timeline`), a nudge when a course's next session is due; and withdrawing
unsent messages whose session no longer is as they tell."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from clinic.scheduling.timeline import CareSpan, care_days, care_spans, span_of
from clinic.scheduling.timeutil import at, local
from clinic.services.core import clinic_setup
from clinic.services.core.errors import NotFound
from clinic.services.messages.outbox import HOLDS_WHILE, SCHEDULED_KINDS, message, queue, unclaimed
from clinic.services.messages.wording import (
    ENDING_INTRO,
    aftercare_line,
    care_day_subject,
    care_lines,
    ending_line,
    next_session_due,
    opening_intro,
    opening_line,
    reminder_body,
    reminder_subject,
)
from clinic.services.world.aftercare import aftercare_for, enrolment_rules
from clinic.services.world.progress import enrolment_progress

REMINDER_AT = time(10, 0)  # local time, the day before the session
RESTRICTION_NOTICE_AT = time(8, 0)  # local time, the day a stretch of care opens or ends


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
    scheduled = _reminders(client, appointments, now, tz)
    scheduled += _nudges(
        client, [a for a, _ in appointments if a.status in RESTRICTING_STATUSES], now, tz
    )
    queue(s, *scheduled)


def _reminders(
    client: Client,
    appointments: Sequence[tuple[Appointment, tuple[CareWindow, ...]]],
    now: datetime,
    tz: ZoneInfo,
) -> list[dict[str, Any]]:
    """The care timeline (`scheduling.timeline`): each booked session's day-before message,
    and one message on each day a restriction's stretch opens or ends for good."""
    spans = care_spans((a.id, w) for a, care in appointments for w in care)
    by_id = {a.id: a for a, _ in appointments}
    out: list[dict[str, Any]] = []
    for a, care in appointments:
        if a.status != "booked" or a.start_at <= now:
            continue
        due = at(local(a.start_at, tz).date() - timedelta(days=1), REMINDER_AT, tz)
        if due <= now:
            continue
        after = []
        for w in care:
            if w.phase == "after" and w.window.end > w.window.start:  # an empty one is no stretch
                span = span_of(spans, w)
                after.append(aftercare_line(w.text, span.end, span.end > w.window.end, tz))
        out.append(
            message(
                kind="reminder",
                to_email=client.email,
                subject=reminder_subject(a, tz),
                body=reminder_body(
                    client.name,
                    a,
                    tz,
                    care_lines([w for w in care if w.phase == "before"], tz, due),
                    after,
                ),
                due_at=due,
                client_id=client.id,
                appointment_id=a.id,
            )
        )
    for day in care_days(spans, now=now, tz=tz):
        lines = [f"Hello {client.name},"]
        opened: dict[int, list[CareSpan]] = {}
        for span in day.starts:
            assert span.opened_by is not None  # care_days opens only stretches a session opens
            opened.setdefault(span.opened_by, []).append(span)
        for key, opening in opened.items():
            session = by_id[key]
            lines += ["", opening_intro(session, tz)]
            lines += [opening_line(sp.text, sp.end, session.start_at, tz) for sp in opening]
        if day.ends:
            lines += ["", ENDING_INTRO, *(ending_line(sp.text, sp.end, tz) for sp in day.ends)]
        moments = [sp.start for sp in day.starts] + [sp.end for sp in day.ends]
        due = max(now, min(at(day.day, RESTRICTION_NOTICE_AT, tz), *moments))
        out.append(
            message(
                kind="care_timeline",
                to_email=client.email,
                subject=care_day_subject(day.day, bool(day.starts), bool(day.ends)),
                body="\n".join(lines),
                due_at=due,
                client_id=client.id,
            )
        )
    return out


def _nudges(
    client: Client, appointments: Sequence[Appointment], now: datetime, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """A course with sessions left to book: a message the morning its next session may be
    held, the spacing counted from its last session held or booked."""
    out: list[dict[str, Any]] = []
    held: dict[int, list[Appointment]] = {}
    for a in appointments:
        held.setdefault(a.enrolment_id, []).append(a)
    for sessions in held.values():
        enrolment = sessions[0].enrolment
        # As many sessions held or booked as the course has: nothing to book (whatever was
        # missed), known without reading the rest of the course or its rules.
        if enrolment.status != "active" or len(sessions) >= enrolment.course_sessions:
            continue
        rules = enrolment_rules(enrolment)
        remaining = enrolment_progress(enrolment, rules.sessions).remaining
        last = max(
            (a.start_at for a in enrolment.appointments if a.status in RESTRICTING_STATUSES),
            default=None,
        )
        if not remaining or last is None:
            continue
        earliest = local(last, tz).date() + timedelta(days=rules.min_interval_days)
        due = at(earliest, RESTRICTION_NOTICE_AT, tz)
        if due <= now:
            continue
        subject, body = next_session_due(
            client.name,
            enrolment.course.name,
            remaining,
            earliest,
            None
            if rules.max_interval_days is None
            else local(last, tz).date() + timedelta(days=rules.max_interval_days),
        )
        out.append(
            message(
                kind="next_session_due",
                to_email=client.email,
                subject=subject,
                body=body,
                due_at=due,
                client_id=client.id,
            )
        )
    return out
