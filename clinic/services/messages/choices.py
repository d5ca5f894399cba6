"""The client's choices of how they hear from the clinic (DOMAIN.md "What clients are told"):
per topic (reminders, care timeline, changes) by email, by text message, or both; reminders and
care messages may also be switched off, changes and cancellations never. What a choice means
for one message is `channels_for`, the one rule the outbox follows when it queues a message
and again when a choice or the phone changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.models import MESSAGE_TOPICS, Client, MessageChoice
from clinic.services.core import phones
from clinic.services.core.db import per_transaction

# The topic of each kind of message. A kind not listed tells of a change (the safe side: it
# cannot be switched off); None: an account message (a password reset) that goes by email only.
TOPIC_OF: dict[str, str | None] = {
    "reminder": "reminders",
    "restriction_ends": "care",
    "care_timeline": "care",
    "next_session_due": "reminders",
    "sessions_cancelled": "changes",
    "booking_confirmation": "changes",
    "sessions_moved": "changes",
    "missed_session": "changes",
    "password_reset": None,
}
REQUIRED_TOPICS = frozenset({"changes"})
CHANNELS = ("email", "text")


def topic_of(kind: str) -> str | None:
    return TOPIC_OF.get(kind, "changes")


@dataclass(frozen=True, slots=True)
class Choice:
    email: bool = True
    text: bool = False
    # Reminders only: the client's own alarm in their calendar files, this many hours before
    # a session (`ALARM_HOURS`), besides the evening before's; None: that one only.
    alarm_hours: int | None = None


DEFAULT = Choice()


@dataclass(frozen=True, slots=True)
class Reach:
    """What the outbox needs of one client: their choices and the number texts go to."""

    choices: dict[str, Choice]
    text_to: str | None  # E.164 of a mobile number; None: texts go by email

    def channels(self, kind: str) -> tuple[str, ...]:
        topic = topic_of(kind)
        if topic is None:
            return ("email",)
        return channels_for(self.choices.get(topic, DEFAULT), topic, self.text_to)


def channels_for(choice: Choice, topic: str, text_to: str | None) -> tuple[str, ...]:
    """The channels one message of `topic` goes by: those chosen, a text by email when there
    is no mobile number to send it to, and a required topic never by none (email then)."""
    wanted: list[str] = []
    if choice.email:
        wanted.append("email")
    if choice.text:
        wanted.append("text" if text_to else "email")
    if not wanted and topic in REQUIRED_TOPICS:
        wanted.append("email")
    return tuple(dict.fromkeys(wanted))


def reach_of(s: Session, client_ids: Iterable[int]) -> dict[int, Reach]:
    """Each client's `Reach`, in one query (two when someone chose texts), read once per
    transaction until it writes (a booking's calendar file and its messages ask in turn)."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    if s.new or s.dirty or s.deleted:
        s.flush()  # a choice changed in this transaction shows (a flush forgets what was kept)
    return per_transaction(f"messages.reach:{ids}", lambda: _read_reach(s, ids))


def _read_reach(s: Session, ids: list[int]) -> dict[int, Reach]:
    chosen: dict[int, dict[str, Choice]] = {i: {} for i in ids}
    for row in s.scalars(select(MessageChoice).where(MessageChoice.client_id.in_(ids))):
        chosen[row.client_id][row.topic] = Choice(row.email, row.text, row.alarm_hours)
    texting = [i for i, c in chosen.items() if any(choice.text for choice in c.values())]
    numbers: dict[int, str | None] = {}
    if texting:
        for client_id, phone in s.execute(
            select(Client.id, Client.phone).where(Client.id.in_(texting))
        ):
            numbers[client_id] = phones.text_number(phone or "")
    return {i: Reach(chosen[i], numbers.get(i)) for i in ids}


def alarm_hours_of(s: Session, client_ids: Iterable[int]) -> dict[int, int]:
    """The alarm hours each client chose for their calendar files (clients without one are
    left out), from their `Reach`."""
    out = {}
    for client_id, reach in reach_of(s, client_ids).items():
        hours = reach.choices.get("reminders", DEFAULT).alarm_hours
        if hours is not None:
            out[client_id] = hours
    return out


def all_topics(choices: dict[str, Choice]) -> dict[str, Choice]:
    """Every topic's choice, the default where none was made."""
    return {topic: choices.get(topic, DEFAULT) for topic in MESSAGE_TOPICS}
