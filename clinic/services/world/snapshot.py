"""What the engine needs to judge or plan: the clinic's set-up and a book of who and what is
busy when.

Resource occupancy is loaded lazily, a few days at a time (see `ResourceBook`): a question about
a few days reads the appointments of those days only, whatever the size of the database. The
set-up is the worker's (clinic_setup); appointments are read by each question in its own
transaction, or for a question that only reads kept by the worker day by day and forgotten
as soon as a committed change touches the day (world/day_memory.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, text, union_all

from clinic.models import HOLDING_STATUSES, Appointment
from clinic.models.calendar import status_in
from clinic.models.types import raw_timestamp, utc_from_driver
from clinic.scheduling import (
    Occupancy,
    ResourceBook,
    Snapshot,
)
from clinic.scheduling.timeutil import day_start
from clinic.services.core.clinic_setup import kept_catalogue
from clinic.services.core.db import db_session, only_reads
from clinic.services.world import day_memory

# The statuses as a literal, the very text of `ix_appointments_holding`'s WHERE: SQLite uses a
# partial index only for a query whose WHERE names its condition.
_HOLDING = text(status_in(HOLDING_STATUSES))


def _occupancy_query(first: date, last: date, tz: ZoneInfo) -> Select[*tuple[Any, ...]]:
    """What holds a resource over the local days [first, last), read from the covering index."""
    table = Appointment.__table__
    lo, hi = day_start(first, tz), day_start(last, tz)
    return select(
        table.c.id,
        table.c.practitioner_id,
        table.c.device_id,
        table.c.room_id,
        raw_timestamp(table.c.start_at),
        raw_timestamp(table.c.busy_until_at),
    ).where(
        _HOLDING,
        table.c.start_at >= lo - timedelta(days=1),
        table.c.start_at < hi,
        table.c.busy_until_at > lo,
    )


def _occupancies(rows: Iterable[Any]) -> list[Occupancy]:
    return [
        Occupancy(i, p, d, r, utc_from_driver(s), utc_from_driver(u)) for i, p, d, r, s, u in rows
    ]


def _occupancy_loader(tz: ZoneInfo) -> Callable[[date, date], list[Occupancy]]:
    def load(first: date, last: date) -> list[Occupancy]:
        return _occupancies(db_session().connection().execute(_occupancy_query(first, last, tz)))

    return load


def _ranges_loader(tz: ZoneInfo) -> Callable[[Sequence[tuple[date, date]]], list[Occupancy]]:
    def load(ranges: Sequence[tuple[date, date]]) -> list[Occupancy]:
        # One statement, each range still read through the start index (a UNION ALL of the
        # ranges' own queries; an appointment in two of them comes twice, the book keeps one).
        union = union_all(*(_occupancy_query(first, last, tz) for first, last in ranges))
        return _occupancies(db_session().connection().execute(union))

    return load


def _new_book(tz: ZoneInfo, max_days: int | None = None) -> ResourceBook:
    # Three days per load: the planner walks a few days in a row, then jumps two weeks or so
    # to the next session. One day per load cost a round trip per visited day (12 for a plan,
    # the most expensive part of a plan on PostgreSQL); a week per load read seven times the
    # rows a jump uses. Measured in bench/README.md ("Statements per request").
    return ResourceBook(
        tz,
        loader=_occupancy_loader(tz),
        chunk_days=3,
        ranges_loader=_ranges_loader(tz),
        max_days=max_days,
    )


def load_snapshot(*, remembered: bool = False) -> Snapshot:
    """Practitioners, devices and rooms (the worker's own while the catalogue has not
    changed) with an occupancy book, filled lazily.

    `remembered`: for a question that only reads (a plan, a day's availability), the worker's
    book of days it has read before, brought up to date first (world/day_memory.py). In a
    transaction that writes, or has written, the book is always this transaction's own."""
    c = kept_catalogue()
    tz = c.rules.tz
    if remembered and c.version >= 0 and only_reads():
        book = day_memory.remembered_book(partial(_new_book, tz), c.version, tz)
    else:
        book = _new_book(tz)
    return Snapshot(c.rules, c.practitioners, c.devices, c.rooms, book)
