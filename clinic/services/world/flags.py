"""The attention flags of booked sessions: read for a client's page, dropped when a session is
moved, cancelled or finished. Which sessions are flagged, and why, is decided by the world
changes (services/lifetime)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from clinic.models import AttentionFlag
from clinic.scheduling import Violation
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


# The cause of the flag of a session staff booked past a rule they may book past (a consent
# form not signed yet: `Violation.staff_may_book`).
BOOKED_PAST = "Booked by the clinic before the consent form was signed"


def raise_for(
    flagged: Mapping[int, Sequence[Violation]], *, now: datetime, cause: str = BOOKED_PAST
) -> None:
    """Put booked sessions (appointment id -> the rules they break) on the attention list, as
    a change of the world flags them (services/lifetime/attention.py): staff booked or moved
    them past a rule they may book past, and they wait there until it holds (signing mends
    them, `clinical.consents`). A session with nothing to flag is left as it is."""
    s = db_session()
    for appointment_id, violations in flagged.items():
        if not violations:
            continue
        errors = [{"code": v.code, "message": v.message} for v in dict.fromkeys(violations)]
        flag = s.get(AttentionFlag, appointment_id)
        if flag is None:
            s.add(
                AttentionFlag(
                    appointment_id=appointment_id, errors=errors, cause=cause, flagged_at=now
                )
            )
        else:
            known = {(e["code"], e["message"]) for e in flag.errors}
            flag.errors = flag.errors + [
                e for e in errors if (e["code"], e["message"]) not in known
            ]


def by_session(
    violations: Sequence[Violation], appointments: Iterable[tuple[int, int]]
) -> dict[int, list[Violation]]:
    """Violations of numbered sessions (`Violation.session`) by appointment id, given the
    (session number, appointment id) of each booked session."""
    ids = dict(appointments)
    out: dict[int, list[Violation]] = {}
    for v in violations:
        if v.session in ids:
            out.setdefault(ids[v.session], []).append(v)
    return out


# A flag that asks a person to review a session rather than naming a rule it breaks (a
# severe reaction after the session before it, services/clinical/records.py). A change of the
# world that finds the session holding keeps such an entry; accepting a re-plan of the course
# (or "nothing to move") is the review, and clears it.
REACTION_REVIEW = "reaction_review"
KEPT_UNTIL_REVIEWED = frozenset({REACTION_REVIEW})


def kept_until_reviewed(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of a flag's errors that only a review clears."""
    return [e for e in errors if e.get("code") in KEPT_UNTIL_REVIEWED]
