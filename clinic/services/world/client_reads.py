"""A client as the checks read it: the record with screening and declared periods, and the
sessions that can still restrict a new one. Read by each transaction, never kept."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, inspect, or_, select
from sqlalchemy.orm import joinedload

from clinic.models import (
    LOOKBACK,
    RESTRICTING_STATUSES,
    Appointment,
    ClientCondition,
    ClientConsent,
    ClientPeriod,
    ConsentForm,
    ConsentFormVersion,
    Enrolment,
)
from clinic.models import Client as ClientRow
from clinic.scheduling import (
    BookedSession,
    ClientState,
    ConditionState,
    DeclaredPeriod,
    ProcedureRules,
    SignedConsent,
)
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session, per_transaction
from clinic.services.core.errors import InvalidRequest, NotFound, PermissionDenied
from clinic.services.core.permissions import is_client, is_practitioner, practitioner_treats
from clinic.services.world import course_catalogue
from clinic.services.world.aftercare import kept_rules

# An enrolment's kept rules and its course's procedure now (aftercare.kept_rules).
RulesRecord = tuple[Mapping[str, Any], ProcedureRules]


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
    phototype: int | None = None
    consents: tuple[SignedConsent, ...] = ()


def client_facts(client_id: int) -> ClientFacts | None:
    """The client's facts as this transaction reads them (None: there is no such client):
    read once per transaction as plain rows (no ORM objects: every plan asks), again after a
    write."""
    _flush_pending()
    return per_transaction(
        f"client_facts:{client_id}", lambda: _read_facts([client_id]).get(client_id)
    )


def _flush_pending() -> None:
    # Pending changes are flushed first, as before any ORM read, so that a change made in
    # this transaction (a period appended to the row) shows, whether read or kept (a flush
    # forgets what per_transaction kept).
    s = db_session()
    if s.autoflush and (s.new or s.dirty or s.deleted):
        s.flush()


def _read_facts(client_ids: Collection[int]) -> dict[int, ClientFacts]:
    rows = db_session().execute(_facts_query(), {"client_ids": sorted(client_ids)}).all()
    conditions: dict[int, dict[str, ConditionState]] = {}
    periods: dict[int, dict[int, DeclaredPeriod]] = {}
    first: dict[int, Any] = {}
    # One row per pair of a condition and a period (a client has a few of each at most).
    for row in rows:
        first.setdefault(row.id, row)
        if row.code is not None:
            conditions.setdefault(row.id, {})[row.code] = ConditionState(row.present, row.last_on)
        if row.period_id is not None:
            periods.setdefault(row.id, {})[row.period_id] = DeclaredPeriod(
                row.kind, row.start_on, row.end_on, row.note
            )
    signed = _signed_consents(first) if first else {}
    out = {}
    for client_id, row in first.items():
        own = periods.get(client_id, {})
        out[client_id] = ClientFacts(
            id=client_id,
            anonymised=row.anonymised_at is not None,
            conditions=dict(sorted(conditions.get(client_id, {}).items())),
            periods=tuple(own[i] for i in sorted(own, key=lambda i: (own[i].start_on, i))),
            has_sessions=bool(row.has_sessions),
            phototype=row.phototype,
            consents=tuple(signed.get(client_id, ())),
        )
    return out


def _signed_consents(client_ids: Collection[int]) -> dict[int, list[SignedConsent]]:
    """The clients' consent signatures, in one statement, and none at all where no procedure
    of the catalogue needs a consent (a clinic without forms pays nothing for them)."""
    if not course_catalogue.consent_needs():
        return {}
    rows = db_session().execute(_consents_query(), {"client_ids": sorted(client_ids)})
    out: dict[int, list[SignedConsent]] = {}
    for client_id, form, version, signed_on, valid_until in rows:
        out.setdefault(client_id, []).append(SignedConsent(form, version, signed_on, valid_until))
    return out


@functools.cache
def _consents_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            ClientConsent.client_id,
            ConsentForm.code,
            ConsentFormVersion.number,
            ClientConsent.signed_on,
            ClientConsent.valid_until,
        )
        .join(ConsentForm, ConsentForm.id == ClientConsent.form_id)
        .join(ConsentFormVersion, ConsentFormVersion.id == ClientConsent.version_id)
        .where(ClientConsent.client_id.in_(bindparam("client_ids", expanding=True)))
        .order_by(ClientConsent.client_id, ClientConsent.signed_at, ClientConsent.id)
    )


@functools.cache
def _facts_query() -> Select[*tuple[Any, ...]]:
    # The clients, whether each has any session that could restrict (a new client has none,
    # and then client_state need not look), their screening and declared periods: one
    # statement.
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
            ClientRow.id,
            ClientRow.anonymised_at,
            ClientRow.phototype,
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
        .where(ClientRow.id.in_(bindparam("client_ids", expanding=True)))
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
    return client_states({client_id: enrolments}, now)[client_id]


def client_states(
    concerned: Mapping[int, Collection[int]], now: datetime
) -> dict[int, ClientState]:
    """`client_state` of several clients (client id -> the enrolments concerned) in a fixed
    number of statements, however many clients: a change of the world judges the sessions of
    many clients, the attention list re-plans many enrolments (a statement per client and
    per course made most of their cost). NotFound if any of them does not exist."""
    facts = _facts_of(concerned)
    if any(f is None for f in facts.values()):
        raise NotFound("There is no such client.", field="client")
    # A client with no session at all has none to look up.
    reading = {c: set(concerned[c]) for c, f in facts.items() if f is not None and f.has_sessions}
    sessions: dict[int, list[BookedSession]] = {c: [] for c in concerned}
    if reading:
        for client_id, session in _restricting_sessions(reading, now):
            sessions[client_id].append(session)
    out = {}
    for client_id, f in facts.items():
        assert f is not None
        out[client_id] = ClientState(
            id=f.id,
            conditions=dict(f.conditions),
            periods=f.periods,
            sessions=tuple(sessions[client_id]),
            phototype=f.phototype,
            consents=f.consents,
        )
    return out


def _facts_of(client_ids: Iterable[int]) -> dict[int, ClientFacts | None]:
    """`client_facts` of each client; those this transaction has not read yet in one
    statement."""
    ids = sorted(set(client_ids))
    if len(ids) > 1:
        _flush_pending()
        found = _read_facts(ids)
        for i in ids:
            # Kept as `client_facts` keeps one (one read before in this transaction stays).
            per_transaction(f"client_facts:{i}", functools.partial(found.get, i))
    return {i: client_facts(i) for i in ids}


def _restricting_sessions(
    concerned: Mapping[int, set[int]], now: datetime
) -> list[tuple[int, BookedSession]]:
    """The clients' sessions that can still restrict (see `client_state`) with their client,
    each judged by its own enrolment's rules, the ones it was booked under: one statement for
    the sessions and their enrolments' kept rules, and one for the courses' procedures if
    this transaction has not worked out those rules yet. By client, then start (then id)."""
    every_enrolment = set().union(*concerned.values())
    since = now - LOOKBACK
    recent = Appointment.start_at >= since
    rows = db_session().execute(
        select(
            Appointment.id,
            Appointment.client_id,
            Appointment.enrolment_id,
            Appointment.session,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.reaction_note,
            Enrolment.rules,
            Enrolment.course_id,
        )
        .join(Enrolment, Enrolment.id == Appointment.enrolment_id)
        .where(
            Appointment.client_id.in_(sorted(concerned)),
            Appointment.status.in_(RESTRICTING_STATUSES),
            or_(recent, Appointment.enrolment_id.in_(sorted(every_enrolment)))
            if every_enrolment
            else recent,
        )
        .order_by(Appointment.client_id, Appointment.start_at, Appointment.id)
    )
    kept = [
        r
        for r in rows
        # An enrolment of another client of the batch does not bring its old sessions.
        if r.enrolment_id in concerned[r.client_id] or r.start_at >= since
    ]
    procedures: dict[int, ProcedureRules] = {}

    def record(rules: Mapping[str, Any], course_id: int) -> Callable[[], RulesRecord]:
        def read() -> RulesRecord:
            if not procedures:  # every course of the batch at once, on first need
                procedures.update(
                    course_catalogue.procedures_of_courses({r.course_id for r in kept})
                )
            return rules, procedures[course_id]

        return read

    return [
        (
            r.client_id,
            BookedSession(
                r.id,
                r.enrolment_id,
                r.session,
                r.start_at,
                r.end_at,
                kept_rules(r.enrolment_id, record(r.rules, r.course_id)),
                r.reaction_note,
            ),
        )
        for r in kept
    ]


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
