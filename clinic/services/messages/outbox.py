"""The outbox: emails to clients, queued in the database and sent by `flask messages send`
(DOMAIN.md "What clients are told").

Queueing happens inside ordinary service transactions, so a message exists exactly when the
change it tells about was committed. What each change tells is in `notices`, the reminders and
restriction notices in `reminders`, the sending in `sending`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.orm import Session

from clinic.models import OutboxMessage
from clinic.services.core.db import db_session
from clinic.services.messages.choices import Reach, reach_of

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
    text: str | None = None,
) -> dict[str, Any]:
    """A queued message's columns, checked; `queue` adds them to the outbox. `text`: its own
    short wording as a text message (else the text is cut from the subject and body)."""
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
        text=text,
        channel="email",
        to_phone="",
        due_at=due_at,
        client_id=client_id,
        appointment_id=appointment_id,
        status="queued",
        attempts=0,
        last_error="",
    )


def queue(s: Session, *messages: dict[str, Any]) -> None:
    """Add `messages` (each made by `message`) to the outbox inside the caller's transaction,
    in one statement (the ORM would insert them one by one, to learn their ids). Each goes
    by the channels its client chose for its kind (`choices`): one row per channel, none for
    a kind switched off."""
    if not messages:
        return
    reach = reach_of(s, (m["client_id"] for m in messages if m.get("client_id") is not None))
    rows = [row for m in messages for row in _by_channel(m, reach.get(m.get("client_id") or 0))]
    if rows:
        s.execute(insert(OutboxMessage), rows)


def _by_channel(columns: dict[str, Any], reach: Reach | None) -> list[dict[str, Any]]:
    if reach is None:
        return [columns]
    return [
        {**columns, "channel": channel, "to_phone": reach.text_to if channel == "text" else ""}
        for channel in reach.channels(columns["kind"])
    ]


def follow_choices(s: Session, client_id: int, now: datetime) -> None:
    """After a client's choices or phone changed, in the caller's transaction: their messages
    not yet sent (nor being sent, nor tried) go by the channels now chosen, as `queue` would
    have queued them; a message switched off is withdrawn."""
    rows = list(
        s.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.client_id == client_id,
                OutboxMessage.status == "queued",
                OutboxMessage.attempts == 0,
                unclaimed(now),
            )
            .order_by(OutboxMessage.id)
        )
    )
    reach = reach_of(s, [client_id])[client_id]
    same: dict[tuple[Any, ...], list[OutboxMessage]] = {}
    for row in rows:  # one message's rows, one per channel
        key = (row.kind, row.due_at, row.appointment_id, row.subject, row.body)
        same.setdefault(key, []).append(row)
    gone: list[int] = []
    added: list[dict[str, Any]] = []
    for group in same.values():
        first = group[0]
        columns = {
            c: getattr(first, c)
            for c in (
                "kind", "to_email", "subject", "body", "ics", "text", "due_at", "client_id",
                "appointment_id", "status", "attempts", "last_error",
            )
        }  # fmt: skip
        wanted = {row["channel"]: row for row in _by_channel(columns, reach)}
        for row in group:
            if row.channel not in wanted:
                gone.append(row.id)
            else:
                row.to_phone = wanted.pop(row.channel)["to_phone"]
        added += wanted.values()
    if gone:
        s.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(gone))
            .execution_options(synchronize_session="fetch")
        )
    if added:
        s.execute(insert(OutboxMessage), added)


def unclaimed(now: datetime) -> ColumnElement[bool]:
    """Messages no sender is sending right now (a sender's claim ends at `claimed_until`)."""
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)


def list_messages(*, client_id: int | None = None, limit: int = 200) -> list[OutboxMessage]:
    """The outbox, newest due first; only one client's messages when `client_id` is given."""
    query = select(OutboxMessage).order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
    if client_id is not None:
        query = query.where(OutboxMessage.client_id == client_id)
    return list(db_session().scalars(query.limit(limit)))
