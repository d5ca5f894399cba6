"""API tokens and the outbox of messages to clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.people import User
from clinic.models.types import UTCDateTime, utcnow


class ApiToken(Model):
    """A bearer token for the JSON API; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class OutboxMessage(Model):
    """An email waiting to be sent (or sent): confirmations, reminders, password resets.

    A sender claims a message by setting `claimed_until` in a conditional update, so two
    senders running at once never send the same message.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('queued','sent','failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("channel IN ('email','text')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    kind: Mapped[str] = mapped_column(String(40))
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)
    # How it goes out: "email", or "text" (an SMS to `to_phone`, E.164). A text keeps the
    # email's subject and body too, so it can go as an email when the phone cannot take it;
    # `text` is its own short wording, when the message was given one.
    channel: Mapped[str] = mapped_column(String(5), default="email")
    to_phone: Mapped[str] = mapped_column(String(20), default="")
    text: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


MESSAGE_TOPICS = ("reminders", "care", "changes")
# The hours before a session at which a client may ask their calendar files to ring as well
# (issue 22: "a VALARM the evening before and one at a time the client chooses").
ALARM_HOURS = (1, 2, 3, 24)


class MessageChoice(Model):
    """How a client wants one topic of messages (`MESSAGE_TOPICS`): by email, by text message,
    both, or (not for changes) neither. No row: the default, email only. The reminders row
    also holds `alarm_hours`: the client's own alarm in their calendar files, this many hours
    before a session (none: only the evening before)."""

    __tablename__ = "message_choices"
    __table_args__ = (
        CheckConstraint("topic IN ('reminders','care','changes')", name="topic"),
        CheckConstraint(
            "alarm_hours IS NULL OR (topic = 'reminders' AND alarm_hours IN (1,2,3,24))",
            name="alarm_hours",
        ),
    )

    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(20), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    text: Mapped[bool] = mapped_column(Boolean, default=False)
    alarm_hours: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
