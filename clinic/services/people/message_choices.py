"""The client's choices of messages (issue 22, "The client's choices"): set from the profile,
or through the link in every email, which works without logging in (a signed token naming the
client); the one-click unsubscribe of RFC 8058 switches one topic's emails off the same way.
What a choice means for a message is `messages.choices.channels_for`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from clinic.models import ALARM_HOURS, MESSAGE_TOPICS, Client, MessageChoice, utcnow
from clinic.services.core import phones
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidData, InvalidRequest, NotFound
from clinic.services.messages import outbox
from clinic.services.messages.choices import REQUIRED_TOPICS, Choice, all_topics, reach_of
from clinic.services.world.client_reads import resolve_client_id

SALT = "message-choices"
INVALID = "This link is not valid: open the newest message from the clinic, or log in."
TOPIC_NAMES = {"reminders": "Reminders", "care": "Care timeline", "changes": "Changes"}


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def choices_token(client_id: int, secret: str) -> str:
    """The token of a client's choices link. It does not expire: an email read months later
    still unsubscribes (RFC 8058); it opens the client's message choices and nothing else."""
    return _serializer(secret).dumps({"c": client_id})


def client_for_token(token: str, secret: str) -> Client:
    """The client a choices link is for; InvalidRequest when it is forged or the client gone."""
    try:
        data: Any = _serializer(secret).loads(token)
    except BadSignature as exc:
        raise InvalidRequest(INVALID, field="token") from exc
    client_id = data.get("c") if isinstance(data, dict) else None
    client = db_session().get(Client, client_id) if isinstance(client_id, int) else None
    if client is None or client.anonymised_at is not None:
        raise InvalidRequest(INVALID, field="token")
    return client


def get_message_choices(*, actor: Actor, client_id: int | None = None) -> dict[str, Choice]:
    """Every topic's choice of the client the actor may read (the default where none made)."""
    cid = resolve_client_id(actor, client_id)
    return all_topics(reach_of(db_session(), [cid])[cid].choices)


def choices_of(client: Client) -> dict[str, Choice]:
    """Every topic's choice of `client` (for the page the link opens)."""
    return all_topics(reach_of(db_session(), [client.id])[client.id].choices)


def _problems(client: Client, choices: Mapping[str, Choice]) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    texts = any(choice.text for choice in choices.values())
    for topic, choice in choices.items():
        if topic not in MESSAGE_TOPICS:
            errors.append({"code": "unknown_topic", "field": topic, "message": "No such topic."})
        elif choice.alarm_hours is not None and (
            topic != "reminders" or choice.alarm_hours not in ALARM_HOURS
        ):
            errors.append(
                {
                    "code": "alarm_hours",
                    "field": "alarm_hours",
                    "message": "Choose a calendar alarm of "
                    + ", ".join(str(h) for h in ALARM_HOURS)
                    + " hours before, or none.",
                }
            )
        elif topic in REQUIRED_TOPICS and not (choice.email or choice.text):
            errors.append(
                {
                    "code": "required",
                    "field": f"{topic}_email",
                    "message": "Changes and cancellations always reach you: choose email, "
                    "a text message or both.",
                }
            )
    if texts and phones.text_number(client.phone) is None:
        first = next(topic for topic, choice in choices.items() if choice.text)
        errors.append(
            {
                "code": "no_mobile",
                "field": f"{first}_text",
                "message": "Text messages need a mobile phone number: add yours to your "
                "profile first."
                if not client.phone
                else f"Text messages need a mobile phone number; {client.phone} is not one.",
            }
        )
    return errors


def _save(client: Client, choices: Mapping[str, Choice], actor: Actor, now: datetime) -> None:
    errors = _problems(client, choices)
    if errors:
        raise InvalidData(errors)
    with transaction() as s:
        rows = {
            row.topic: row
            for row in s.scalars(select(MessageChoice).where(MessageChoice.client_id == client.id))
        }
        before = {t: (r.email, r.text, r.alarm_hours) for t, r in rows.items()}
        for topic, choice in choices.items():
            row = rows.get(topic)
            if row is None:
                row = MessageChoice(client_id=client.id, topic=topic)
                s.add(row)
            row.email, row.text, row.updated_at = choice.email, choice.text, now
            row.alarm_hours = choice.alarm_hours
        s.flush()
        outbox.follow_choices(s, client.id, now)
        after = {t: (c.email, c.text, c.alarm_hours) for t, c in choices.items()}
        record(s, actor, "set_message_choices", "client", client.id, client_id=client.id,
               before=before, after=after)  # fmt: skip


def set_message_choices(
    *,
    actor: Actor,
    choices: Mapping[str, Choice],
    client_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Save the client's choices (the client its own, reception any client's); their queued
    messages follow them at once. Refused, with every field's error, when changes would reach
    them by no channel or texts are chosen without a mobile number."""
    client = db_session().get(Client, resolve_client_id(actor, client_id))
    if client is None:
        raise NotFound("There is no such client.")
    _save(client, choices, actor, now or utcnow())


def set_message_choices_by_link(
    *, token: str, secret: str, choices: Mapping[str, Choice], now: datetime | None = None
) -> None:
    """Save the choices through the link in an email, without logging in."""
    client = client_for_token(token, secret)
    _save(client, choices, _link_actor(client), now or utcnow())


def unsubscribe(*, token: str, secret: str, topic: str, now: datetime | None = None) -> None:
    """RFC 8058 one-click: no more emails of `topic` (texts, if chosen, go on). A topic that
    cannot be switched off is refused."""
    client = client_for_token(token, secret)
    if topic not in MESSAGE_TOPICS or topic in REQUIRED_TOPICS:
        raise InvalidRequest("These messages cannot be switched off.", field="topic")
    current = choices_of(client)[topic]
    _save(
        client,
        {topic: replace(current, email=False)},
        _link_actor(client),
        now or utcnow(),
    )


def _link_actor(client: Client) -> Actor:
    # Through the link: the client themselves, whether or not they have a login.
    return Actor(client.user_id, "client", client.id)
