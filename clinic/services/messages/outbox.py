"""The outbox: emails to clients, queued in the database and sent by `flask messages send`
(DOMAIN.md "What clients are told").

Queueing happens inside ordinary service transactions, so a message exists exactly when the
change it tells about was committed. What each change tells is in `notices`, the reminders and
restriction notices in `reminders`, the sending in `sending`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.orm import Session

from clinic.models import OutboxMessage
from clinic.services.core.db import db_session

KINDS = (
    "booking_confirmation",
    "sessions_moved",
    "reminder",
    "restriction_ends",
    "password_reset",
    "missed_session",
    "care_timeline",
    "next_session_due",
    "sessions_cancelled",
)
# The care timeline is recomputed from the live sessions after each change (`reminders`);
# "restriction_ends" is what it queued before issue 22, replaced like the rest.
SCHEDULED_KINDS = ("reminder", "restriction_ends", "care_timeline", "next_session_due")
# Messages that tell of one session's state (`appointment_id`), and the session statuses in
# which what they tell still holds. `reminders.refresh`, run after every change of a client's
# sessions, withdraws such a message unsent once its session has left them: a no-show
# corrected to done must not tell the client they missed it, nor offer a make-up.
HOLDS_WHILE: dict[str, tuple[str, ...]] = {"missed_session": ("no_show",)}


def message(
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
    """A queued message's columns, checked; `queue` adds them to the outbox."""
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


def queue(s: Session, *messages: dict[str, Any]) -> None:
    """Add `messages` (each made by `message`) to the outbox inside the caller's transaction,
    in one statement (the ORM would insert them one by one, to learn their ids)."""
    if messages:
        s.execute(insert(OutboxMessage), list(messages))


def unclaimed(now: datetime) -> ColumnElement[bool]:
    """Messages no sender is sending right now (a sender's claim ends at `claimed_until`)."""
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)


def list_messages(*, client_id: int | None = None, limit: int = 200) -> list[OutboxMessage]:
    """The outbox, newest due first; only one client's messages when `client_id` is given."""
    query = select(OutboxMessage).order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
    if client_id is not None:
        query = query.where(OutboxMessage.client_id == client_id)
    return list(db_session().scalars(query.limit(limit)))
