"""The audit trail: written inside the caller's transaction, read by admins.

It also keeps the clinic's promise about health data (docs/DECISIONS.md, "Health data
shown"): whichever page or API call shows staff a client's screening answers, or a sentence
naming one of her conditions, writes one `view_screening` entry per client shown. The rule
is `shown_health_data`; every service that hands such data to a viewer calls it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from clinic.models import AuditEntry
from clinic.scheduling import Violation
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidRequest, PermissionDenied
from clinic.services.core.permissions import is_admin, is_staff


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


# --- health data shown -------------------------------------------------------------------------

HEALTH_DATA_SHOWN = "view_screening"
# The rule codes whose sentences name a client's condition (rule 4, "contraindicated": "...
# while you have pregnancy or breastfeeding"). Every other code's sentence names none.
NAMING_A_CONDITION = frozenset({"contraindicated"})
# The clients whose health data this answer has shown, and to whom: kept on the request's
# session until written (see `write_shown`), so one answer writes one entry per client.
_SHOWN = "clinic.health_data_shown"
_WRITTEN = "clinic.health_data_written"


def names_a_condition(codes: Iterable[str]) -> bool:
    """Whether rule codes (a refusal's, a flag's) include one whose sentence names a condition."""
    return any(code in NAMING_A_CONDITION for code in codes)


def shown_health_data(actor: Actor | None, client_ids: Iterable[int], where: str) -> None:
    """The one rule: staff shown clients' health data (screening answers, or a sentence that
    names a condition) get one `view_screening` entry per client, per answer (request),
    however many parts of the answer show it. A client reading her own is not recorded, nor
    a command line without a person (`actor` None).

    The entries are written with the answer's own transaction if it commits, otherwise
    (a read, or a refusal that rolled back) when the answer is sent (`write_shown`): a refusal
    that names a condition is recorded although it wrote nothing else."""
    if actor is None or not is_staff(actor):
        return
    s = db_session()
    shown: dict[int, tuple[int | None, str]] = s.info.setdefault(_SHOWN, {})
    written: set[int] = s.info.setdefault(_WRITTEN, set())
    for client_id in client_ids:
        if client_id not in written:
            shown.setdefault(client_id, (actor.user_id, where))


def shown_in_errors(
    actor: Actor | None, errors: Iterable[tuple[int, Iterable[str]]], where: str
) -> None:
    """`shown_health_data` for the clients among `(client_id, rule codes)` whose codes name
    a condition: a list of flags, a refusal, a preview of what a change breaks."""
    shown_health_data(actor, [c for c, codes in errors if names_a_condition(codes)], where)


def shown_in_violations(
    actor: Actor | None, client_id: int, violations: Iterable[Violation], where: str
) -> None:
    """`shown_in_errors` for one client's violations, e.g. a refusal about to be raised."""
    shown_in_errors(actor, [(client_id, [v.code for v in violations])], where)


def _entries(s: Session) -> None:
    shown: dict[int, tuple[int | None, str]] = s.info.get(_SHOWN, {})
    for client_id, (actor_id, where) in sorted(shown.items()):
        s.add(
            AuditEntry(
                actor_id=actor_id,
                action=HEALTH_DATA_SHOWN,
                entity="client",
                entity_id=client_id,
                client_id=client_id,
                detail={"where": where},
            )
        )


@event.listens_for(Session, "before_commit")
def _with_the_answer(s: Session) -> None:
    _entries(s)


@event.listens_for(Session, "after_commit")
def _written(s: Session) -> None:
    shown = s.info.pop(_SHOWN, None)
    if shown:
        s.info.setdefault(_WRITTEN, set()).update(shown)


def write_shown() -> None:
    """Write what the answer showed and no commit has written yet (a read, a refusal), in a
    transaction of its own; then forget it: the next answer is another showing. Called once
    per request, when the answer is ready (clinic/security.py)."""
    s = db_session()
    if s.info.get(_SHOWN):
        with transaction():
            pass  # the commit writes them (`_with_the_answer`)
    forget_shown()


def forget_shown() -> None:
    s = db_session()
    s.info.pop(_SHOWN, None)
    s.info.pop(_WRITTEN, None)


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
