"""A client's calendar feed (issue 22): a secret URL a phone's calendar subscribes to, so it
follows every booking, move and cancellation by itself (calendar_files.feed_ics).

The secret is random, shown once when made and stored only as its SHA-256 (as API tokens
are); the client revokes it or makes a new one (which ends the old) from the profile. The feed
shows sessions and care instructions, no screening answers or conditions: it is not health
data in the sense of the `view_screening` audit (docs/DECISIONS.md, "Health data shown"),
and reading it writes no audit row. Whoever holds the URL reads it, without logging in, as
with any calendar subscription; erasing the client ends it.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from clinic.models import Client
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import NotFound, PermissionDenied
from clinic.services.core.permissions import is_client
from clinic.services.messages import calendar_files
from clinic.services.people.tokens import digest

# A calendar app keeps the URL in its settings: long enough that guessing one is hopeless.
TOKEN_BYTES = 32


def _own_client(actor: Actor) -> Client:
    if not is_client(actor) or actor.client_id is None:
        raise PermissionDenied("Only a client has a calendar feed, from their own profile.")
    client = db_session().get(Client, actor.client_id)
    if client is None or client.anonymised_at is not None:
        raise NotFound("There is no such client.")
    return client


def has_calendar_feed(*, actor: Actor) -> bool:
    """Whether the client has a live feed URL (its secret is not shown again)."""
    return _own_client(actor).calendar_feed_hash is not None


def issue_calendar_feed(*, actor: Actor) -> str:
    """A new secret feed token for the client, replacing any earlier one (whose URL answers
    404 from now on). Returned once: only its hash is kept."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction() as s:
        client = _own_client(actor)
        renewed = client.calendar_feed_hash is not None
        client.calendar_feed_hash = digest(token)
        record(s, actor, "create", "calendar_feed", client.id, client_id=client.id, renewed=renewed)
    return token


def revoke_calendar_feed(*, actor: Actor) -> None:
    """End the client's feed: its URL answers 404 from now on."""
    with transaction() as s:
        client = _own_client(actor)
        if client.calendar_feed_hash is None:
            return
        client.calendar_feed_hash = None
        record(s, actor, "revoke", "calendar_feed", client.id, client_id=client.id)


def calendar_feed(token: str) -> bytes:
    """The feed behind a secret URL, as text/calendar; `NotFound` for a token that is not (or
    no longer) a client's."""
    with transaction():
        client_id = db_session().scalar(
            select(Client.id).where(
                Client.calendar_feed_hash == digest(token), Client.anonymised_at.is_(None)
            )
        )
        if client_id is None:
            raise NotFound("There is no such calendar.")
        return calendar_files.feed_ics(client_id)
