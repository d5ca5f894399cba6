"""Writing the audit trail; always inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from clinic.models import AuditEntry
from clinic.services.actors import Actor


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
