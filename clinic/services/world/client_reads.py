"""A client as the checks read it: the record with screening and declared periods, and the
sessions that can still restrict a new one. Read by each transaction, never kept."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, inspect, or_, select
from sqlalchemy.orm import joinedload, selectinload

from clinic.models import (
    LOOKBACK,
    RESTRICTING_STATUSES,
    Appointment,
    ClientCondition,
    ClientPeriod,
    Enrolment,
)
from clinic.models import Client as ClientRow
from clinic.scheduling import (
    BookedSession,
    ClientState,
    ConditionState,
    DeclaredPeriod,
)
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session, per_transaction
from clinic.services.core.errors import InvalidRequest, NotFound, PermissionDenied
from clinic.services.core.permissions import is_client, is_practitioner, practitioner_treats
from clinic.services.world.aftercare import enrolment_rules
from clinic.services.world.course_catalogue import course_options


def _client_row(client_id: int) -> ClientRow | None:
    """The client's ORM row (with its screening and declared periods), for those that change
    or show it, kept for the transaction: the session's identity map holds rows weakly, so
    without this one request would read the same row two or three times."""
    row = per_transaction(f"client:{client_id}", lambda: _load_client(client_id))
    if row is not None and (inspect(row).deleted or inspect(row).detached):
        return db_session().get(ClientRow, client_id)
    return row


def _load_client(client_id: int) -> ClientRow | None:
    return db_session().scalars(_client_query(), {"client_id": client_id}).unique().first()


@functools.cache
def _client_query() -> Select[ClientRow]:
    # Built once: building it cost as much as running it.
    return (
        select(ClientRow)
        .options(joinedload(ClientRow.conditions), joinedload(ClientRow.periods))
        .where(ClientRow.id == bindparam("client_id"))
    )


def get_client(client_id: int) -> ClientRow:
    client = _client_row(client_id)
    if client is None or client.anonymised_at is not None:
        raise NotFound("There is no such client.", field="client")
    return client


@dataclasses.dataclass(frozen=True, slots=True)
class ClientFacts:
    """What planning needs of a client, as plain values."""

    id: int
    anonymised: bool
    conditions: dict[str, ConditionState]
    periods: tuple[DeclaredPeriod, ...]
    has_sessions: bool


def client_facts(client_id: int) -> ClientFacts | None:
    """The client's facts as this transaction reads them (None: there is no such client):
    read once per transaction as plain rows (no ORM objects: every plan asks), again after a
    write. Pending changes are flushed first, as before any ORM read, so that a change made
    in this transaction (a new period appended to the row) shows, whether read or kept."""
    s = db_session()
    if s.autoflush and (s.new or s.dirty or s.deleted):
        s.flush()
    return per_transaction(f"client_facts:{client_id}", lambda: _read_facts(client_id))


def _read_facts(client_id: int) -> ClientFacts | None:
    rows = db_session().execute(_facts_query(), {"client_id": client_id}).all()
    if not rows:
        return None
    conditions: dict[str, ConditionState] = {}
    periods: dict[int, DeclaredPeriod] = {}
    # One row per pair of a condition and a period (a client has a few of each at most).
    for row in rows:
        if row.code is not None:
            conditions[row.code] = ConditionState(row.present, row.last_on)
        if row.period_id is not None:
            periods[row.period_id] = DeclaredPeriod(row.kind, row.start_on, row.end_on, row.note)
    return ClientFacts(
        id=client_id,
        anonymised=rows[0].anonymised_at is not None,
        conditions=dict(sorted(conditions.items())),
        periods=tuple(periods[i] for i in sorted(periods, key=lambda i: (periods[i].start_on, i))),
        has_sessions=bool(rows[0].has_sessions),
    )


@functools.cache
def _facts_query() -> Select[*tuple[Any, ...]]:
    # The client, whether it has any session that could restrict (a new client has none, and
    # then client_state need not look), its screening and its declared periods: one statement.
    has_sessions = (
        exists()
        .where(
            Appointment.client_id == ClientRow.id,
            Appointment.status.in_(RESTRICTING_STATUSES),
        )
        .label("has_sessions")
    )
    return (
        select(
            ClientRow.anonymised_at,
            has_sessions,
            ClientCondition.code,
            ClientCondition.present,
            ClientCondition.last_on,
            ClientPeriod.id.label("period_id"),
            ClientPeriod.kind,
            ClientPeriod.start_on,
            ClientPeriod.end_on,
            ClientPeriod.note,
        )
        .outerjoin(ClientCondition, ClientCondition.client_id == ClientRow.id)
        .outerjoin(ClientPeriod, ClientPeriod.client_id == ClientRow.id)
        .where(ClientRow.id == bindparam("client_id"))
    )


def require_client(client_id: int) -> None:
    """NotFound unless the client exists and is not anonymised."""
    facts = client_facts(client_id)
    if facts is None or facts.anonymised:
        raise NotFound("There is no such client.", field="client")


def client_state(client_id: int, now: datetime, *, enrolments: Collection[int]) -> ClientState:
    """The client's screening, declared periods and live sessions that can still matter: those
    inside the look-back (what other courses contribute: restrictions, the client's overlap)
    and every session of `enrolments`, the enrolments concerned (the one booked into, moved in
    or re-planned; none for a new course), whatever their age: rule 1 spaces a course's own
    sessions however long ago the last one was (DOMAIN.md rule 1). Only those are added, so
    the read stays bounded by the look-back and the enrolments' own sessions."""
    facts = client_facts(client_id)
    if facts is None:
        raise NotFound("There is no such client.", field="client")
    appointments: Iterable[Appointment] = ()
    # A client with no session at all has none to look up.
    if facts.has_sessions:
        appointments = db_session().scalars(
            select(Appointment)
            .options(
                selectinload(Appointment.enrolment)
                .selectinload(Enrolment.course)
                .options(*course_options())  # type: ignore[arg-type]
            )
            .where(
                Appointment.client_id == client_id,
                Appointment.status.in_(RESTRICTING_STATUSES),
                or_(
                    Appointment.start_at >= now - LOOKBACK,
                    Appointment.enrolment_id.in_(enrolments),
                )
                if enrolments
                else Appointment.start_at >= now - LOOKBACK,
            )
            .order_by(Appointment.start_at)
        )
    # Each session is judged by its own enrolment's rules, the ones it was booked under.
    sessions = [
        BookedSession(
            a.id, a.enrolment_id, a.session, a.start_at, a.end_at, enrolment_rules(a.enrolment)
        )
        for a in appointments
    ]
    return ClientState(
        id=facts.id,
        conditions=dict(facts.conditions),
        periods=facts.periods,
        sessions=tuple(sessions),
    )


def named_client_id(actor: Actor, client_id: int | None) -> int:
    """The client an action names, judged without reading anything (so that a change can lock
    the client before the read it is judged on): a client always itself; staff the one they
    name. `resolve_client_id` is this and `require_visible_client`."""
    if is_client(actor):
        if actor.client_id is None:
            raise PermissionDenied("This account has no client record.")
        if client_id is not None and client_id != actor.client_id:
            raise NotFound("There is no such client.", field="client")
        return actor.client_id
    if client_id is None:
        raise InvalidRequest("Say which client this is for.", field="client")
    return client_id


def require_visible_client(actor: Actor, client_id: int) -> None:
    """NotFound unless the client named (`named_client_id`) exists for this actor: a client's
    own record always; reception any client; a practitioner only a client it treats."""
    if is_client(actor):
        return
    require_client(client_id)
    if is_practitioner(actor) and not practitioner_treats(actor, client_id):
        raise NotFound("There is no such client.", field="client")


def resolve_client_id(actor: Actor, client_id: int | None) -> int:
    """The client an action is for: a client always itself; reception the one it names; a
    practitioner only a client it treats. Anything else is 'no such client' (404), so a
    request for another client's record reveals nothing."""
    named = named_client_id(actor, client_id)
    require_visible_client(actor, named)
    return named
