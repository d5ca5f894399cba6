"""The transaction helper: the one place that commits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, UOWTransaction

from clinic.dbsetup import writing
from clinic.extensions import db
from clinic.models import Client
from clinic.services.core.errors import Conflict

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
    # Two sign-ups (or desks) with one email at the same instant: the second is told why.
    "uq_users_email": ("email_taken", "An account with this email address exists already."),
    "uq_clients_email": ("email_taken", "A client with this email address exists already."),
}
# SQLite names the column instead of the constraint.
SQLITE_UNIQUE = {"users.email": "uq_users_email", "clients.email": "uq_clients_email"}
# SQLSTATEs of a transaction that lost a race for a lock: serialization failure, deadlock,
# lock not available. Trying again may well succeed.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}

T = TypeVar("T")
_CACHE = "clinic.per_transaction"
_WRITE = "clinic.write_transaction"
_FLUSHED = "clinic.flushed"


def db_session() -> Session:
    """The request's (or CLI command's) session."""
    return db.session()


def per_transaction(key: str, load: Callable[[], T], *, through_writes: bool = False) -> T:
    """`load()`'s answer, remembered until the session's transaction ends.

    For rows a request reads again and again (the clinic's settings): within one transaction
    the database answers the same anyway, and the cached ORM row is the session's own object,
    so a change made in this transaction shows in it. A write (flush), a commit or a rollback
    forgets it, and the next call loads afresh; nothing is kept across requests.
    `through_writes`: a flush cannot change the answer (the settings row, the session's own
    object; the catalogue's version, which only `catalogue_changed` moves and which is then
    not asked), so it is kept until the transaction ends.
    """
    s = db_session()
    cache: dict[str, tuple[object, T, bool]] = s.info.setdefault(_CACHE, {})
    tx = s.get_transaction()
    hit = cache.get(key)
    if tx is not None and hit is not None and hit[0] is tx:
        return hit[1]
    value = load()
    tx = s.get_transaction()
    if tx is not None:
        cache[key] = (tx, value, through_writes)
    return value


def keep_for_transaction(key: str, value: object) -> None:
    """Keep `value` under `key` until the transaction ends or writes (as `per_transaction`
    does with what it loads), replacing what was kept."""
    s = db_session()
    tx = s.get_transaction()
    if tx is not None:
        s.info.setdefault(_CACHE, {})[key] = (tx, value, False)


def kept_for_transaction(key: str) -> object | None:
    """What `per_transaction(key, ...)` keeps for this transaction, or None: without loading."""
    s = db_session()
    cache: dict[str, tuple[object, object, bool]] = s.info.get(_CACHE, {})
    hit = cache.get(key)
    return hit[1] if hit is not None and hit[0] is s.get_transaction() else None


@event.listens_for(Session, "after_flush")
def _forget_reads(s: Session, flush_context: UOWTransaction) -> None:
    # What per_transaction() kept was read before this write: read it again when asked.
    cache: dict[str, tuple[object, object, bool]] = s.info.get(_CACHE, {})
    for key in [k for k, (_, _, kept) in cache.items() if not kept]:
        del cache[key]
    s.info[_FLUSHED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _ended(s: Session) -> None:
    s.info.pop(_FLUSHED, None)


def _only_read(s: Session) -> bool:
    """Whether the session's open transaction has read but neither written nor anything
    pending to write."""
    return not (s.new or s.dirty or s.deleted or s.info.get(_FLUSHED))


def only_reads() -> bool:
    """Whether the request's session is not in a transaction that writes (`transaction()`)
    and has written nothing yet: what it reads may come from a worker's memory."""
    s = db_session()
    return not s.info.get(_WRITE) and _only_read(s)


def commit_if_only_read() -> None:
    """At the end of a request (clinic/errors.py): commit its transaction if it only read.

    The same to the database as the rollback that closing the session does, but psycopg
    forgets every prepared statement of a connection at a ROLLBACK: with read-only requests
    rolled back, PostgreSQL parsed and planned each of their statements afresh every time
    (about half of what a plan cost the server, bench/README.md). A transaction that wrote
    and was not committed (an error) is still rolled back by the close."""
    if not db.session.registry.has():
        return
    s = db_session()
    if s.in_transaction() and only_reads():
        # Nothing is lost if it fails (the database gone): the close then rolls back, and
        # clinic/errors.py handles a connection that went away.
        with contextlib.suppress(SQLAlchemyError):
            s.commit()


def _diag(exc: DBAPIError) -> tuple[str | None, str | None]:
    """The SQLSTATE and constraint name the driver reports (psycopg), if any."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    return sqlstate, getattr(diag, "constraint_name", None)


def _constraint(exc: IntegrityError) -> str:
    _, constraint = _diag(exc)
    if constraint:
        return constraint
    text = str(exc.orig)
    return next((name for column, name in SQLITE_UNIQUE.items() if column in text), "")


def _conflict(exc: IntegrityError) -> Conflict:
    code, message = CONSTRAINT_RULES.get(_constraint(exc), ("slot_taken", TAKEN))
    field = "email" if code == "email_taken" else None
    return Conflict(message, code=code, field=field)


@contextmanager
def transaction() -> Iterator[Session]:
    """Run a service call as one transaction: commit on success, roll back and re-raise on error.

    The transaction is opened as one that writes (on SQLite it takes the write lock before
    reading: dbsetup.writing); what the request read before is left behind. A service called
    from inside another's transaction joins it. A refusal by the database (a unique or
    exclusion constraint, a PostgreSQL deadlock or serialisation failure) means someone else
    took the slot first, and becomes a `Conflict`; SQLite's write lock not had in time is the
    database being busy, and stays a database error (503 with Retry-After).
    """
    s = db_session()
    if s.info.get(_WRITE):
        yield s  # the outer service call commits or rolls back
        return
    if s.in_transaction() and _only_read(s) and s.get_bind().dialect.name == "sqlite":
        s.rollback()  # a read transaction cannot take the write lock: start afresh
    s.info[_WRITE] = True
    try:
        with writing():
            s.connection()  # BEGIN now, as a writer
        yield s
        s.commit()
    except IntegrityError as exc:
        s.rollback()
        raise _conflict(exc) from exc
    except OperationalError as exc:
        s.rollback()
        sqlstate, _ = _diag(exc)
        if sqlstate in RETRYABLE_SQLSTATES or "could not serialize" in str(exc).lower():
            raise Conflict(BUSY) from exc
        # SQLite's write lock not had within its busy timeout (someone holds it: a backup, a
        # migration), a database away: nothing was written, the request answers 503 with
        # Retry-After (clinic/errors.py), not a refusal of this request.
        raise
    except BaseException:
        s.rollback()
        raise
    finally:
        s.info[_WRITE] = False


def lock_client(client_id: int) -> None:
    """Serialise every change to one client's sessions: the caller's transaction waits here
    until any other change to this client has committed, and then reads that client's state
    afresh. On PostgreSQL a row lock on the client; on SQLite writers are serialised anyway
    (BEGIN IMMEDIATE). Take it before reading the state the change is judged on."""
    s = db_session()
    if s.get_bind().dialect.name == "postgresql":
        s.execute(select(Client.id).where(Client.id == client_id).with_for_update())
    s.expire_all()  # what was read before the lock may be stale: read it again
    s.info.pop(_CACHE, None)
