"""A client's own data: export everything we hold about them, and erase them on request.

Erasure anonymises the person (name, email, phone, notes, screening answers, declared plans,
the login), deletes their treatment records, photos and photo consent, and keeps the clinic's
appointment history, so calendars and statistics stay whole without saying who the client was. Future sessions are cancelled,
which frees their slots. Both actions are recorded in the audit trail.

Who may: a client for itself, and the clinic's admin for any client.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from clinic.models import (
    ApiToken,
    Appointment,
    AuditEntry,
    Client,
    ClientConsent,
    Enrolment,
    LoginSession,
    OutboxMessage,
    utcnow,
)
from clinic.services.clinical import records
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import NotFound, PermissionDenied
from clinic.services.core.permissions import is_admin, is_client
from clinic.services.messages.choices import all_topics, reach_of
from clinic.services.people import logins

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: can never be a real address
# Keys of audit details that may quote the person (profile before/after, screening answers).
PERSONAL_DETAIL_KEYS = frozenset({"before", "after", "changes", "email", "name", "phone", "note"})


def _client_for(actor: Actor, client_id: int | None) -> Client:
    """The client this request is about, if the actor may handle its personal data."""
    if is_client(actor):
        if actor.client_id is None:
            raise PermissionDenied("This account has no client record.")
        if client_id is not None and client_id != actor.client_id:
            raise NotFound("There is no such client.", field="client")
        client_id = actor.client_id
    elif not is_admin(actor):
        raise PermissionDenied("Only the client or the clinic's admin can do this.")
    if client_id is None:
        raise NotFound("There is no such client.", field="client")
    client: Client | None = db_session().scalar(
        select(Client)
        .options(
            selectinload(Client.conditions),
            selectinload(Client.periods),
            selectinload(Client.user),
        )
        .where(Client.id == client_id)
    )
    if client is None or client.anonymised_at is not None:
        raise NotFound("There is no such client.", field="client")
    return client


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_client_data(
    *, actor: Actor, client_id: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the clinic holds about one client, as JSON-ready values.

    The export itself is recorded in the audit trail.
    """
    now = now or utcnow()
    with transaction() as s:
        client = _client_for(actor, client_id)
        user = client.user
        enrolments = s.scalars(
            select(Enrolment)
            .options(
                selectinload(Enrolment.course),
                selectinload(Enrolment.appointments).selectinload(Appointment.practitioner),
                selectinload(Enrolment.appointments).selectinload(Appointment.room),
                selectinload(Enrolment.appointments).selectinload(Appointment.device),
            )
            .where(Enrolment.client_id == client.id)
            .order_by(Enrolment.created_at, Enrolment.id)
        ).all()
        messages = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.client_id == client.id)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        ).all()
        audit = s.scalars(
            select(AuditEntry)
            .options(selectinload(AuditEntry.actor))
            .where(AuditEntry.client_id == client.id)
            .order_by(AuditEntry.at, AuditEntry.id)
        ).all()
        tokens = (
            s.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
            ).all()
            if user is not None
            else []
        )
        sign_ins = (
            s.scalars(
                select(LoginSession)
                .where(LoginSession.user_id == user.id)
                .order_by(LoginSession.created_at)
            ).all()
            if user is not None
            else []
        )
        choices = all_topics(reach_of(s, [client.id])[client.id].choices)
        data: dict[str, Any] = {
            "exported_at": now.isoformat(),
            "client": {
                "id": client.id,
                "name": client.name,
                "email": client.email,
                "phone": client.phone,
                "notes": client.notes,
                "created_at": _iso(client.created_at),
                "screening_confirmed_at": _iso(client.screening_confirmed_at),
            },
            "account": None
            if user is None
            else {
                "email": user.email,
                "name": user.name,
                "role": user.role,
                "active": user.active,
                "created_at": _iso(user.created_at),
            },
            "screening": [
                {
                    "code": c.code,
                    "present": c.present,
                    "last_date": _iso(c.last_on),
                    "updated_at": _iso(c.updated_at),
                }
                for c in client.conditions
            ],
            "periods": [
                {
                    "kind": p.kind,
                    "start": _iso(p.start_on),
                    "end": _iso(p.end_on),
                    "note": p.note,
                }
                for p in client.periods
            ],
            "consents": [
                {
                    "form": c.form.code,
                    "title": c.form.title,
                    "version": c.version.number,
                    "text": c.version.text,
                    "text_sha256": c.text_sha256,
                    "signed_name": c.signed_name,
                    "how": c.how,
                    "signed_at": _iso(c.signed_at),
                    "valid_until": _iso(c.valid_until),
                }
                for c in db_session().scalars(
                    select(ClientConsent)
                    .where(ClientConsent.client_id == client.id)
                    .order_by(ClientConsent.signed_at, ClientConsent.id)
                )
            ],
            "enrolments": [
                {
                    "id": e.id,
                    "course": e.course.code,
                    "course_name": e.course.name,
                    "status": e.status,
                    "created_at": _iso(e.created_at),
                    "appointments": [
                        {
                            "id": a.id,
                            "session": a.session,
                            "start": _iso(a.start_at),
                            "end": _iso(a.end_at),
                            "status": a.status,
                            "practitioner": a.practitioner.name,
                            "room": a.room.name,
                            "device": a.device.name if a.device is not None else None,
                            "note": a.note,
                            "override_reason": a.override_reason,
                        }
                        for a in e.appointments
                    ],
                }
                for e in enrolments
            ],
            # How they chose to hear from the clinic (the default where they chose nothing).
            "message_choices": {
                topic: {"email": c.email, "text": c.text}
                | ({"calendar_alarm_hours": c.alarm_hours} if topic == "reminders" else {})
                for topic, c in choices.items()
            },
            "messages": [
                {
                    "kind": m.kind,
                    "channel": m.channel,
                    "to": m.to_email,
                    "to_phone": m.to_phone,
                    "subject": m.subject,
                    "body": m.body,
                    "due_at": _iso(m.due_at),
                    "status": m.status,
                    "sent_at": _iso(m.sent_at),
                }
                for m in messages
            ],
            "api_tokens": [
                {
                    "created_at": _iso(t.created_at),
                    "expires_at": _iso(t.expires_at),
                    "revoked_at": _iso(t.revoked_at),
                }
                for t in tokens
            ],
            "logins": [
                {
                    "created_at": _iso(x.created_at),
                    "last_seen_at": _iso(x.last_seen_at),
                    "ended_at": _iso(x.ended_at),
                }
                for x in sign_ins
            ],
            # Treatment records, before/after photos and the photo consent (health data).
            **records.export_records(client.id),
            # Who looked at or changed this client's data, and when (GDPR art. 15).
            "access_log": [
                {
                    "at": _iso(e.at),
                    "action": e.action,
                    "entity": e.entity,
                    "entity_id": e.entity_id,
                    "by_role": e.actor.role if e.actor is not None else "system",
                }
                for e in audit
            ],
        }
        record(s, actor, "export", "client", client.id, client_id=client.id)
    return data


def erase_client(
    *, actor: Actor, client_id: int | None = None, now: datetime | None = None
) -> Client:
    """Anonymise a client and its login; keep its appointment history, cancel future sessions.

    After this the client is no longer found by the services (`NotFound`), its login no longer
    works (every login of it is ended), and its API tokens are revoked.
    """
    now = now or utcnow()
    with transaction() as s:
        client = _client_for(actor, client_id)
        label = f"Erased client {client.id}"
        client.name = label
        client.email = f"client-{client.id}@{ERASED_DOMAIN}"
        client.phone = ""
        client.notes = ""
        client.calendar_feed_hash = None  # the secret feed URL answers 404 from now on
        client.conditions.clear()
        client.periods.clear()
        # Consents are health data (issue 21): erased with the screening.
        s.execute(delete(ClientConsent).where(ClientConsent.client_id == client.id))
        clinical = records.erase_records(client.id)
        client.screening_confirmed_at = None
        client.anonymised_at = now
        user = client.user
        if user is not None:
            user.email = f"user-{user.id}@{ERASED_DOMAIN}"
            user.name = label
            user.active = False
            user.set_password(secrets.token_urlsafe(32))  # no one knows it
            logins.end_user_logins(s, user_id=user.id, now=now)  # and its API tokens

        future = s.scalars(
            select(Appointment).where(
                Appointment.client_id == client.id,
                Appointment.status == "booked",
                Appointment.start_at > now,
            )
        ).all()
        for appointment in future:
            appointment.status = "cancelled"
            appointment.revise()
        for enrolment in s.scalars(
            select(Enrolment).where(Enrolment.client_id == client.id, Enrolment.status == "active")
        ):
            # A course with nothing left to attend is stopped; past sessions keep their status.
            if not any(a.status == "booked" for a in enrolment.appointments):
                enrolment.status = "cancelled"

        for message in s.scalars(select(OutboxMessage).where(OutboxMessage.client_id == client.id)):
            message.to_email = client.email
            message.subject = "(erased)"
            message.body = ""
            message.ics = None
            if message.status == "queued":
                message.status = "failed"
                message.last_error = "The client's data was erased."

        for entry in s.scalars(select(AuditEntry).where(AuditEntry.client_id == client.id)):
            if entry.detail and PERSONAL_DETAIL_KEYS & set(entry.detail):
                entry.detail = {
                    k: ("(erased)" if k in PERSONAL_DETAIL_KEYS else v)
                    for k, v in entry.detail.items()
                }
        record(
            s,
            actor,
            "erase",
            "client",
            client.id,
            client_id=client.id,
            cancelled=[a.id for a in future],
            **clinical,
        )
    return client
