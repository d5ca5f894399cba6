"""Sending the outbox (`flask messages send`; DOMAIN.md "What clients are told": the clinic
configures SMTP).

Sending is safe to run every minute from cron, and from two machines at once: a sender first
claims a message with a conditional UPDATE (only one sender's UPDATE matches), then sends it,
then marks it sent. A failed send leaves the message queued with its error and a later retry
time; nothing is lost. If a sender dies between sending and marking, the claim expires and the
message is sent again (at least once, never silently dropped). A message that cannot be made
into an email at all (a header with a line break, from text stored before such text was
refused) is marked failed with its reason at once, and the run goes on with the others: one
bad message never holds up the rest.

Texts (channel "text") go through the same claim, retry and back-off as emails, through the
clinic's `TextSender` (`texts`): without one they wait, queued. Every email to a client ends
with the link to their choices, and one that may be switched off carries RFC 8058's one-click
`List-Unsubscribe` (`Links`).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from clinic.models import OutboxMessage
from clinic.services.core.db import db_session, transaction
from clinic.services.messages import calendar_files
from clinic.services.messages.choices import REQUIRED_TOPICS, topic_of
from clinic.services.messages.outbox import unclaimed
from clinic.services.messages.texts import Text, TextNotSent, TextSender, short_text
from clinic.services.messages.wording import choices_footer

CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(hours=1)
SMTP_TIMEOUT = 15


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    failed: int = 0  # every failure of this run, `given_up` included
    skipped: int = 0
    given_up: int = 0  # marked failed: no later run tries them again


@dataclass(frozen=True, slots=True)
class Links:
    """The addresses in an email: a client's choices page, and the one-click link that
    switches one topic's emails off (both work without logging in)."""

    choices: Callable[[int], str]
    unsubscribe: Callable[[int, str], str]


def _email(message: OutboxMessage, sender: str, links: Links | None = None) -> EmailMessage:
    email = EmailMessage()
    for name, value in (("From", sender), ("To", message.to_email), ("Subject", message.subject)):
        try:
            email[name] = value
        except ValueError as exc:  # the reason names the header and its text
            raise ValueError(f"{name} {value!r}: {exc}") from exc
    email["Message-ID"] = f"<outbox-{message.id}@clinic-scheduler>"
    body = message.body
    topic = topic_of(message.kind)
    if links is not None and message.client_id is not None and topic is not None:
        body += "\n" + choices_footer(links.choices(message.client_id))
        if topic not in REQUIRED_TOPICS:
            email["List-Unsubscribe"] = f"<{links.unsubscribe(message.client_id, topic)}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(body)
    if message.ics:
        email.add_attachment(
            message.ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="sessions.ics",
            params={"method": calendar_files.method_of(message.ics)},
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
                    unclaimed(now),
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
    texts: TextSender | None = None,
    links: Links | None = None,
) -> SendReport:
    """Send every queued message due by `now` through the SMTP server, or as a text through
    `texts`, each at most once among concurrent senders. A failure to reach the server or a
    refusal keeps the message queued for a later retry; a message that cannot be made into an
    email or text, or that the SMTP client or the gateway refuses for good, is marked failed
    with its reason. Either way the run goes on. Without `texts`, texts stay queued."""
    channels = ("email", "text") if texts is not None else ("email",)
    due = list(
        db_session().scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "queued",
                OutboxMessage.due_at <= now,
                OutboxMessage.channel.in_(channels),
                unclaimed(now),
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
        outgoing: EmailMessage | Text | None = None
        # Whatever stops one message (a header with a line break, an address the email
        # package cannot write) is that message's failure, never the end of the run.
        try:
            if message.channel == "text" and message.to_phone:
                body = short_text(message.subject, message.body, message.text)
                outgoing = Text(message.to_phone, body, f"outbox-{message.id}")
            else:
                outgoing = _email(message, sender, links)
        except Exception as exc:
            error = f"The message could not be built: {_reason(exc)}"
        db_session().rollback()  # hold no database lock while talking to the SMTP server
        if isinstance(outgoing, Text):
            assert texts is not None  # only then are texts claimed
            try:
                texts.send(outgoing)
            except TextNotSent as exc:
                error, final = f"The gateway did not take the text: {exc}", not exc.temporary
            except Exception as exc:
                error = f"The text could not be sent: {_reason(exc)}"
        elif outgoing is not None:
            try:
                with smtplib.SMTP(smtp_host, smtp_port, timeout=SMTP_TIMEOUT) as smtp:
                    smtp.send_message(outgoing)
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
