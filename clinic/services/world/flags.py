"""The attention flags of booked sessions: read for a client's page, dropped when a session is
moved, cancelled or finished. Which sessions are flagged, and why, is decided by the world
changes (services/lifetime)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select

from clinic.models import AttentionFlag
from clinic.services.core.db import db_session


def flags_of(appointment_ids: Iterable[int]) -> dict[int, AttentionFlag]:
    """The flags of these sessions, by appointment id (a client's page shows its own)."""
    ids = list(appointment_ids)
    if not ids:
        return {}
    rows = db_session().scalars(select(AttentionFlag).where(AttentionFlag.appointment_id.in_(ids)))
    return {f.appointment_id: f for f in rows}


def forget(appointment_ids: Iterable[int]) -> None:
    """Drop the flags of sessions that were moved, cancelled or finished (a move is judged
    by the checker as it is made; a session no longer booked needs no attention)."""
    ids = list(appointment_ids)
    if ids:
        db_session().execute(delete(AttentionFlag).where(AttentionFlag.appointment_id.in_(ids)))


# A flag that asks a person to review a session rather than naming a rule it breaks (a
# severe reaction after the session before it, services/clinical/records.py). A change of the
# world that finds the session holding keeps such an entry; accepting a re-plan of the course
# (or "nothing to move") is the review, and clears it.
REACTION_REVIEW = "reaction_review"
KEPT_UNTIL_REVIEWED = frozenset({REACTION_REVIEW})


def kept_until_reviewed(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of a flag's errors that only a review clears."""
    return [e for e in errors if e.get("code") in KEPT_UNTIL_REVIEWED]
