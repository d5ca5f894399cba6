"""A client's own record: sign-up and profile (DOMAIN.md "Who uses it": a client signs up online;
reception and admins keep contact details). The client's screening is in `health_screening`,
declared periods in `declared_periods`, what the client may book in `booking_choices`."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.models import Client, User, utcnow
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import lock_client, transaction
from clinic.services.core.errors import InvalidRequest, PermissionDenied
from clinic.services.core.permissions import is_desk, is_practitioner, is_staff
from clinic.services.messages import outbox
from clinic.services.people import accounts
from clinic.services.world import client_reads
from clinic.services.world.client_reads import resolve_client_id

MAX_NAME = accounts.MAX_NAME


def _clean_name(name: str, field: str = "name") -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidRequest("Tell us your name.", field=field)
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"Keep the name under {MAX_NAME} characters.", field=field)
    return name


def sign_up(*, email: str, name: str, password: str) -> User:
    """Create a client account with its client record; the screening comes next.

    If the clinic already holds a record for this email (made at the desk), sign-up does not
    take it over: only the owner of the mailbox may, through the emailed password link."""
    clean = _clean_name(name)
    with transaction() as s:
        known = s.scalar(
            select(Client.id).where(
                func.lower(Client.email) == email.strip().lower(), Client.user_id.is_(None)
            )
        )
        if known is not None:
            raise InvalidRequest(
                "The clinic already has a record for this email address. Use “Forgot your "
                "password?” to get a link by email and set your password.",
                field="email",
                code="email_known",
            )
        # The account and its client record are written in this transaction (create_user
        # joins it), so a sign-up is all or nothing.
        user = accounts.create_user(email=email, role="client", password=password, name=clean)
        client = s.scalar(select(Client).where(Client.user_id == user.id))
        record(
            s,
            Actor(user.id, "client", client.id if client else None),
            "sign_up",
            "user",
            user.id,
            client_id=client.id if client else None,
        )
    return user


def get_client(*, actor: Actor, client_id: int | None = None) -> Client:
    """The client record the actor may read: a client its own, staff the one named."""
    return client_reads.get_client(resolve_client_id(actor, client_id))


def update_profile(
    *,
    actor: Actor,
    client_id: int | None = None,
    name: str,
    phone: str,
    notes: str | None = None,
) -> Client:
    """Change a client's name and phone (the email is the login and stays): the client its
    own, reception and admins any client's, with the clinic's notes (notes=None keeps them).
    Practitioners read contact details but do not change them."""
    if is_practitioner(actor):
        raise PermissionDenied("Reception and admins change a client's contact details.")
    if notes is not None and not is_desk(actor):
        raise PermissionDenied("The notes are the clinic's; reception and admins write them.")
    (clean, phone, notes), errors = accounts.contact_problems(
        name=name,
        phone=phone,
        notes=notes,
        name_message="Give the client's name." if is_staff(actor) else "Tell us your name.",
    )
    accounts.refuse(errors)
    with transaction() as s:
        client = get_client(actor=actor, client_id=client_id)
        before = {"name": client.name, "phone": client.phone}
        client.name = clean
        client.phone = phone
        if client.user is not None:
            client.user.name = clean
        after = {"name": client.name, "phone": client.phone}
        if before["phone"] != phone:  # texts go to the new number, or by email without one
            s.flush()
            outbox.follow_choices(s, client.id, utcnow())
        if notes is not None:
            before["notes"], after["notes"] = client.notes, notes
            client.notes = notes
        if before != after:
            record(
                s,
                actor,
                "update_profile",
                "client",
                client.id,
                client_id=client.id,
                before=before,
                after=after,
            )
    return client


def locked_client(actor: Actor, client_id: int | None) -> Client:
    """The client the actor may change, with every other change to their sessions waiting
    (their state is read afresh; the change is judged on it)."""
    lock_client(resolve_client_id(actor, client_id))
    return get_client(actor=actor, client_id=client_id)
