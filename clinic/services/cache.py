"""Each worker's memory of the catalogue and the calendar, checked on every question.

Planning reads the same things over and over: the clinic's hours, the practitioners with
their hours and time off, the devices and rooms, the courses, and the appointments of the
days ahead. A worker keeps what it has read, tagged with the database's change counters
(`cache_versions`, moved on by triggers in the writing transaction: clinic/models/versions.py).
Each question reads the counters once, in its own transaction, and uses what the worker holds
only if they are the same; otherwise it starts afresh. So a question sees exactly what its
transaction would have read from the tables, at the cost of one small SELECT.

What a transaction reads after it has written is its own, uncommitted state: it is used for
that transaction alone and never kept (`dbsetup.wrote`). Generations are replaced, never
changed in place, so a request still holding an older one keeps a consistent view; only a
generation at least as new as the current one is kept. Within a generation the calendar
fills its days lazily (`ResourceBook`); two threads filling the same day add the same rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, select

from clinic.dbsetup import wrote
from clinic.models import CacheVersions
from clinic.scheduling import ClinicRules, Equipment, ResourceBook
from clinic.scheduling.types import PractitionerCalendar
from clinic.services.db import per_transaction, session

_KEY = "clinic.cache"


@dataclass(frozen=True, slots=True)
class Versions:
    catalogue: int
    occupancy: int
    clients: int

    def at_least(self, other: Versions) -> bool:
        return (
            self.catalogue >= other.catalogue
            and self.occupancy >= other.occupancy
            and self.clients >= other.clients
        )


@dataclass(slots=True)
class Catalogue:
    """What the scheduling snapshot reads from the catalogue tables, as plain values."""

    version: int
    rules: ClinicRules
    practitioners: tuple[PractitionerCalendar, ...]
    devices: tuple[Equipment, ...]
    rooms: tuple[Equipment, ...]
    # Values read from the catalogue tables alone, filled on first use by the service that
    # reads them (snapshot.from_catalogue: courses, procedures, the calendar's rows).
    kept: dict[object, object] = field(default_factory=dict)


@dataclass(slots=True)
class Calendar:
    versions: Versions
    book: ResourceBook
    # Other values read from appointments, clients and the catalogue, by the service that
    # reads them (the reception calendar's entries).
    kept: dict[object, object] = field(default_factory=dict)


@dataclass(slots=True)
class Held:
    """What one question uses: a catalogue and a calendar of the same versions."""

    catalogue: Catalogue
    calendar: Calendar
    shared: bool


class WorkerCache:
    """One app's memory (an app is one database; tests make many apps in one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.catalogue: Catalogue | None = None
        self.calendar: Calendar | None = None


def _mine() -> WorkerCache:
    cache: WorkerCache | None = current_app.extensions.get(_KEY)
    if cache is None:
        cache = current_app.extensions.setdefault(_KEY, WorkerCache())
    return cache


def versions() -> Versions | None:
    """The counters as this transaction sees them; None once it has written (or if the
    counters' row is missing: then nothing is kept)."""
    s = session()
    if s.new or s.dirty or s.deleted:
        s.flush()  # a pending change is a write too: send it before deciding
    if wrote(s.connection()):
        return None
    return per_transaction("cache_versions", _read_versions)


def _read_versions() -> Versions | None:
    row = (
        session()
        .execute(select(CacheVersions.catalogue, CacheVersions.occupancy, CacheVersions.clients))
        .first()
    )
    return None if row is None else Versions(row.catalogue, row.occupancy, row.clients)


def with_counters(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`query` with the three counters as more columns, so that a statement the request makes
    anyway (the logged-in user, the API token) reads them too: on PostgreSQL under load a
    request costs about its number of round trips (bench/README.md)."""
    return query.add_columns(
        select(CacheVersions.catalogue).scalar_subquery().label("cache_catalogue"),
        select(CacheVersions.occupancy).scalar_subquery().label("cache_occupancy"),
        select(CacheVersions.clients).scalar_subquery().label("cache_clients"),
    )


def note_counters(row: Row[Any]) -> None:
    """Remember the counters a `with_counters` statement read, for this transaction."""
    counters = (row.cache_catalogue, row.cache_occupancy, row.cache_clients)
    if None in counters or wrote(session().connection()):
        return
    per_transaction("cache_versions", lambda: Versions(*counters))


def held(
    load_catalogue: Callable[[int], Catalogue],
    new_book: Callable[[Catalogue, bool], ResourceBook],
) -> Held:
    """The catalogue and calendar for this transaction: the worker's own when the counters
    match, else loaded afresh (and kept for the next questions if newer than what is held)."""
    now = versions()
    if now is None:
        catalogue = load_catalogue(-1)
        return Held(
            catalogue, Calendar(Versions(-1, -1, -1), new_book(catalogue, False)), shared=False
        )
    cache = _mine()
    kept = cache.catalogue
    if kept is not None and kept.version == now.catalogue:
        catalogue = kept
    else:
        catalogue = load_catalogue(now.catalogue)
        with cache.lock:
            if cache.catalogue is None or now.catalogue > cache.catalogue.version:
                cache.catalogue = catalogue
    calendar = cache.calendar
    if calendar is None or calendar.versions != now:
        calendar = Calendar(now, new_book(catalogue, True))
        with cache.lock:
            if cache.calendar is None or now.at_least(cache.calendar.versions):
                cache.calendar = calendar
    shared = catalogue is cache.catalogue and calendar is cache.calendar
    return Held(catalogue, calendar, shared)


def drop(book: ResourceBook) -> None:
    """Stop keeping the calendar of `book`: a transaction that has written is about to read
    into it (a snapshot taken before writing and used after; the services do not do that)."""
    cache = _mine()
    with cache.lock:
        if cache.calendar is not None and cache.calendar.book is book:
            cache.calendar = None


def forget() -> None:
    """Drop what this app's worker holds (the benchmarks' cold figures)."""
    cache = _mine()
    with cache.lock:
        cache.catalogue = None
        cache.calendar = None
