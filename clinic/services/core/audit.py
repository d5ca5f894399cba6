"""The audit trail: written inside the caller's transaction, read by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic.models import AuditEntry
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidRequest, PermissionDenied
from clinic.services.core.permissions import is_admin


def record(
    s: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    client_id: int | None = None,
    **detail: Any,
) -> None:
    s.add(
        AuditEntry(
            actor_id=actor.user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            client_id=client_id,
            detail=detail,
        )
    )


# --- reading (admins only) ----------------------------------------------------------------------

# What the admin's audit page can show: every view and change of screening data, every
# override of a rule with its reason, and the client's privacy requests (export, erasure).
SCREENING_ACTIONS = ("view_screening", "screening")
PRIVACY_ACTIONS = ("export", "erase")
AUDIT_KINDS = ("all", "screening", "overrides", "privacy")
MAX_AUDIT_ROWS = 500


def list_entries(
    *, actor: Actor, kind: str = "all", client_id: int | None = None, limit: int = 200
) -> list[AuditEntry]:
    """The newest audit entries of a kind, optionally for one client; for admins only."""
    if not is_admin(actor):
        raise PermissionDenied("The audit trail is for the clinic's admin.")
    if kind not in AUDIT_KINDS:
        raise InvalidRequest(f"Choose one of {', '.join(AUDIT_KINDS)}.", field="kind")
    query = select(AuditEntry).options(selectinload(AuditEntry.actor))
    if kind == "screening":
        query = query.where(AuditEntry.action.in_(SCREENING_ACTIONS))
    elif kind == "privacy":
        query = query.where(AuditEntry.action.in_(PRIVACY_ACTIONS))
    elif kind == "overrides":
        reason = AuditEntry.detail["override_reason"].as_string()
        query = query.where(reason.is_not(None), reason != "")
    if client_id is not None:
        query = query.where(AuditEntry.client_id == client_id)
    limit = max(1, min(limit, MAX_AUDIT_ROWS))
    return list(
        db_session().scalars(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
    )
