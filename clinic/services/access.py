"""Who may act for which client: the permission questions every service asks."""

from __future__ import annotations

from sqlalchemy import select

from clinic.models import Appointment
from clinic.services import client_reads
from clinic.services.actors import Actor
from clinic.services.db import db_session
from clinic.services.errors import InvalidRequest, NotFound, PermissionDenied
from clinic.services.permissions import is_client, is_practitioner


def practitioner_treats(actor: Actor, client_id: int) -> bool:
    """Whether a practitioner has (or had) a session with this client."""
    found = db_session().scalar(
        select(Appointment.id)
        .where(
            Appointment.client_id == client_id,
            Appointment.practitioner_id == (actor.practitioner_id or 0),
        )
        .limit(1)
    )
    return found is not None


def resolve_client_id(actor: Actor, client_id: int | None) -> int:
    """The client an action is for: a client always itself; reception the one it names; a
    practitioner only a client it treats. Anything else is 'no such client' (404), so a
    request for another client's record reveals nothing."""
    if is_client(actor):
        if actor.client_id is None:
            raise PermissionDenied("This account has no client record.")
        if client_id is not None and client_id != actor.client_id:
            raise NotFound("There is no such client.", field="client")
        return actor.client_id
    if client_id is None:
        raise InvalidRequest("Say which client this is for.", field="client")
    client_reads.require_client(client_id)
    if is_practitioner(actor) and not practitioner_treats(actor, client_id):
        raise NotFound("There is no such client.", field="client")
    return client_id
