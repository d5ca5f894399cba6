"""What the engine needs to judge or plan: the clinic's set-up and a book of who and what is
busy when.

Resource occupancy is loaded lazily, a few days at a time (see `ResourceBook`): a question about
a few days reads the appointments of those days only, whatever the size of the database. The
set-up is the worker's (clinic_setup); appointments are read by each question in its own
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, union_all

from clinic.models import (
    HOLDING_STATUSES,
    Appointment,
)
from clinic.scheduling import (
    Occupancy,
    ResourceBook,
    Snapshot,
)
from clinic.scheduling.timeutil import day_start
from clinic.services.core.clinic_setup import kept_catalogue
from clinic.services.core.db import db_session


def _occupancy_query(first: date, last: date, tz: ZoneInfo) -> Select[*tuple[Any, ...]]:
    """What holds a resource over the local days [first, last)."""
    table = Appointment.__table__
    lo, hi = day_start(first, tz), day_start(last, tz)
    # Core, not ORM: these rows become plain values at once, and the ORM's per-row
    # bookkeeping was a third of a plan's time (bench/README.md).
    return select(
        table.c.id,
        table.c.practitioner_id,
        table.c.device_id,
        table.c.room_id,
        table.c.start_at,
        table.c.busy_until_at,
    ).where(
        table.c.start_at >= lo - timedelta(days=1),
        table.c.start_at < hi,
        table.c.busy_until_at > lo,
        table.c.status.in_(HOLDING_STATUSES),
    )


def _occupancy_loader(tz: ZoneInfo) -> Callable[[date, date], list[Occupancy]]:
    def load(first: date, last: date) -> list[Occupancy]:
        rows = db_session().connection().execute(_occupancy_query(first, last, tz))
        return [Occupancy(*r) for r in rows]

    return load


def _ranges_loader(tz: ZoneInfo) -> Callable[[Sequence[tuple[date, date]]], list[Occupancy]]:
    def load(ranges: Sequence[tuple[date, date]]) -> list[Occupancy]:
        # One statement, each range still read through the start index (a UNION ALL of the
        # ranges' own queries; an appointment in two of them comes twice, the book keeps one).
        union = union_all(*(_occupancy_query(first, last, tz) for first, last in ranges))
        return [Occupancy(*r) for r in db_session().connection().execute(union)]

    return load


def _new_book(tz: ZoneInfo) -> ResourceBook:
    # Three days per load: the planner walks a few days in a row, then jumps two weeks or so
    # to the next session. One day per load cost a round trip per visited day (12 for a plan,
    # the most expensive part of a plan on PostgreSQL); a week per load read seven times the
    # rows a jump uses. Measured in bench/README.md ("Statements per request").
    return ResourceBook(
        tz, loader=_occupancy_loader(tz), chunk_days=3, ranges_loader=_ranges_loader(tz)
    )


def load_snapshot() -> Snapshot:
    """Practitioners, devices and rooms (the worker's own while the catalogue has not
    changed) with an occupancy book of this transaction, filled lazily."""
    c = kept_catalogue()
    return Snapshot(c.rules, c.practitioners, c.devices, c.rooms, _new_book(c.rules.tz))
