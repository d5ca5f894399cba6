"""The transaction helper: the one place that commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clinic.extensions import db
from clinic.services.errors import Conflict


def session() -> Session:
    """The request's (or CLI command's) session."""
    return db.session()


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
        raise Conflict(
            "That time was just taken by another booking. Please choose another."
        ) from exc
    except OperationalError as exc:
        s.rollback()
        if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
            raise Conflict("The calendar is busy; please try again.") from exc
        raise
    except BaseException:
        s.rollback()
        raise
