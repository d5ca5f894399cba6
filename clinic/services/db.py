"""The transaction helper: the one place that commits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clinic.extensions import db
from clinic.services.errors import Conflict

TAKEN = "That time was just taken by another booking. Please choose another."
BUSY = "The calendar is busy; please try again."

# PostgreSQL's exclusion constraints (migration 0003) name the rule the refused booking broke.
CONSTRAINT_RULES = {
    "ex_appointments_practitioner_busy": (
        "practitioner_unavailable",
        "The practitioner was just booked by someone else at that time. Please choose another.",
    ),
    "ex_appointments_device_busy": (
        "device_unavailable",
        "The device was just booked by someone else at that time. Please choose another.",
    ),
    "ex_appointments_room_busy": (
        "room_unavailable",
        "The room was just booked by someone else at that time. Please choose another.",
    ),
    "ex_appointments_client_busy": (
        "client_double_booked",
        "The client was just booked for another session at that time.",
    ),
}
# SQLSTATEs of a transaction that lost a race for a lock: serialization failure, deadlock,
# lock not available. Trying again may well succeed.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}

T = TypeVar("T")
_CACHE = "clinic.per_transaction"


def session() -> Session:
    """The request's (or CLI command's) session."""
    return db.session()


def per_transaction(key: str, load: Callable[[], T]) -> T:
    """`load()`'s answer, remembered until the session's transaction ends.

    For rows a request reads again and again (the clinic's settings): within one transaction
    the database answers the same anyway, and the cached ORM row is the session's own object,
    so a change made in this transaction shows in it. A commit or rollback starts a new
    transaction, and the next call loads afresh; nothing is kept across requests.
    """
    s = session()
    cache: dict[str, tuple[object, T]] = s.info.setdefault(_CACHE, {})
    tx = s.get_transaction()
    hit = cache.get(key)
    if tx is not None and hit is not None and hit[0] is tx:
        return hit[1]
    value = load()
    tx = s.get_transaction()
    if tx is not None:
        cache[key] = (tx, value)
    return value


def _diag(exc: DBAPIError) -> tuple[str | None, str | None]:
    """The SQLSTATE and constraint name the driver reports (psycopg), if any."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    return sqlstate, getattr(diag, "constraint_name", None)


def _conflict(exc: IntegrityError) -> Conflict:
    _, constraint = _diag(exc)
    code, message = CONSTRAINT_RULES.get(constraint or "", ("slot_taken", TAKEN))
    conflict = Conflict(message)
    conflict.code = code
    return conflict


@contextmanager
def transaction() -> Iterator[Session]:
    """Run a service call as one transaction: commit on success, roll back and re-raise on error.

    A refusal by the database (a unique or exclusion constraint, a lock that could not be
    taken) means someone else took the slot first, and becomes a `Conflict`.
    """
    s = session()
    try:
        yield s
        s.commit()
    except IntegrityError as exc:
        s.rollback()
        raise _conflict(exc) from exc
    except OperationalError as exc:
        s.rollback()
        sqlstate, _ = _diag(exc)
        text = str(exc).lower()
        if sqlstate in RETRYABLE_SQLSTATES or "locked" in text or "could not serialize" in text:
            raise Conflict(BUSY) from exc
        raise
    except BaseException:
        s.rollback()
        raise
