"""Each worker's memory of the catalogue, kept under the catalogue's version.

Planning reads the same catalogue over and over: the clinic's hours and holidays, the
practitioners with their hours and time off, the devices, rooms and courses. A worker keeps
what it has read, tagged with the version in `catalogue_version` (clinic/models/versions.py).
Every service that writes the catalogue calls `catalogue_changed()` in its transaction, which
moves the version on; each question reads the version once, in its own transaction, and uses
what the worker holds only if it is the same. A transaction that has moved the version reads
its own, uncommitted catalogue: it is used for that transaction alone and never kept.

Clients are read by each request. The days' occupancy is kept per worker thread for questions
that only read, forgotten through an append-only log (world/day_memory.py); a booking is
always judged on what its own transaction reads, and touches no row that other bookings write.

A commit that wrote a catalogue table without `catalogue_changed()` is refused (`_guard`),
so a new catalogue-writing service cannot leave the workers' memory stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from flask import current_app
from sqlalchemy import Row, Select, event, select, update
from sqlalchemy.orm import Session, UOWTransaction

from clinic.models import CATALOGUE_TABLES, CatalogueVersion
from clinic.scheduling import ClinicRules, Equipment
from clinic.scheduling.types import PractitionerCalendar
from clinic.services.core.db import db_session, per_transaction, transaction

T = TypeVar("T")

_KEY = "clinic.catalogue_memory"
_CHANGED = "clinic.catalogue_changed"  # session.info: this transaction moved the version
_TOUCHED = "clinic.catalogue_touched"  # session.info: this transaction wrote a catalogue table


@dataclass(slots=True)
class Catalogue:
    """What the scheduling snapshot reads from the catalogue tables, as plain values."""

    version: int
    rules: ClinicRules
    practitioners: tuple[PractitionerCalendar, ...]
    devices: tuple[Equipment, ...]
    rooms: tuple[Equipment, ...]
    # Other values read from the catalogue tables alone, filled on first use by the service
    # that reads them (clinic_setup.from_catalogue: courses, procedures, the calendar's rows).
    derived: dict[object, object] = field(default_factory=dict)


class _Memory:
    """One app's memory (an app is one database; tests make many apps in one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.catalogue: Catalogue | None = None


def _memory() -> _Memory:
    memory: _Memory | None = current_app.extensions.get(_KEY)
    if memory is None:
        memory = current_app.extensions.setdefault(_KEY, _Memory())
    return memory


def catalogue_changed() -> None:
    """Say that this transaction writes the catalogue: every worker reads it afresh once the
    transaction commits. Catalogue-writing services call it before they write."""
    s = db_session()
    if not s.info.get(_CHANGED):
        s.execute(update(CatalogueVersion).values(version=CatalogueVersion.version + 1))
        s.info[_CHANGED] = True


@contextmanager
def catalogue_transaction() -> Iterator[Session]:
    """`db.transaction()` for a service that writes the catalogue (catalogue_changed first)."""
    with transaction() as s:
        catalogue_changed()
        yield s


def _version() -> int | None:
    """The catalogue's version as this transaction sees it; None if this transaction has
    written the catalogue (or the version's row is missing: then nothing is kept)."""
    if db_session().info.get(_CHANGED):
        return None
    return per_transaction("catalogue_version", _read_version, through_writes=True)


def _read_version() -> int | None:
    return db_session().scalar(select(CatalogueVersion.version))


def with_version(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`query` with the catalogue's version as one more column, so that a statement every
    request makes anyway (the logged-in user, the API token) reads it too: on PostgreSQL a
    request costs about its number of round trips (bench/README.md)."""
    return query.add_columns(
        select(CatalogueVersion.version).scalar_subquery().label("catalogue_version")
    )


def note_version(row: Row[Any]) -> None:
    """Remember the version a `with_version` statement read, for this transaction."""
    version = row.catalogue_version
    if version is not None and not db_session().info.get(_CHANGED):
        per_transaction("catalogue_version", lambda: version, through_writes=True)


def catalogue(load: Callable[[int], Catalogue]) -> Catalogue:
    """The catalogue for this transaction: the worker's own when the version matches, else
    `load(version)`'s, kept for the next questions if it is newer than what is held."""
    version = _version()
    if version is None:
        # This transaction wrote the catalogue: its own reading, kept until it writes again
        # (a change of the world judges many sessions after one edit: reading the catalogue
        # for each of them made a day's time-off dry run 2-3 times slower).
        return per_transaction("catalogue.written", lambda: load(-1))
    memory = _memory()
    held = memory.catalogue
    if held is not None and held.version == version:
        return held
    fresh = load(version)
    with memory.lock:
        if memory.catalogue is None or version > memory.catalogue.version:
            memory.catalogue = fresh
    return fresh


def derived(held: Catalogue, key: object, load: Callable[[], T]) -> T:
    """`load()`'s answer, which must read the catalogue tables only, kept with `held`."""
    if key not in held.derived:
        held.derived[key] = load()
    return cast(T, held.derived[key])


def forget() -> None:
    """Drop what this app's worker holds (the benchmarks' cold figures)."""
    memory = _memory()
    with memory.lock:
        memory.catalogue = None


# --- the guard: no catalogue write without catalogue_changed() -------------------------------


@event.listens_for(Session, "after_flush")
def _note_catalogue_writes(s: Session, flush_context: UOWTransaction) -> None:
    for obj in (*s.new, *s.dirty, *s.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in CATALOGUE_TABLES and (obj not in s.dirty or s.is_modified(obj)):
            s.info[_TOUCHED] = True
            return


def wrote_catalogue() -> bool:
    """Whether this transaction has flushed a write to a catalogue table."""
    return bool(db_session().info.get(_TOUCHED))


@event.listens_for(Session, "before_commit")
def _guard(s: Session) -> None:
    if s.new or s.dirty or s.deleted:
        s.flush()
    touched, changed = s.info.get(_TOUCHED), s.info.get(_CHANGED)
    if touched and not changed:
        raise RuntimeError(
            "A catalogue table was written without services.cache.catalogue_changed(): "
            "the workers would keep a stale catalogue."
        )


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end(s: Session) -> None:
    s.info.pop(_TOUCHED, None)
    s.info.pop(_CHANGED, None)
