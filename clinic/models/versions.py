"""What lets each worker keep the catalogue and the days' occupancy in memory: the catalogue's
version and the occupancy change log.

One row. Every service that writes the catalogue calls `services.cache.catalogue_changed()`
in its transaction, which adds one to `version`; a worker that reads the version it filled its
memory under knows nothing it holds has changed. A booking never touches this row.

`occupancy_changes` is append-only: a trigger on `appointments` (migration 0012) inserts one row
per span of time whose occupancy an insert, update or delete changed (a booked session moved:
the old span and the new). Workers read the rows they have not seen and forget the local days
those spans touch (services/world/day_memory.py). No row is ever updated, so two bookings of
different days never wait for each other on it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model
from clinic.models.types import UTCDateTime

# The tables the worker keeps in memory (clinic/services/cache.py): writing any of them in a
# transaction that did not call catalogue_changed() is refused at commit. Every table of the
# schema is either here or in NOT_KEPT (tests/services/test_cache.py checks that).
CATALOGUE_TABLES = frozenset(
    {
        "clinic_settings",
        "opening_hours",
        "holidays",
        "rooms",
        "devices",
        "restrictions",
        "procedures",
        "procedure_blocked_by",
        "courses",
        "course_restrictions",
        "course_contraindications",
        "practitioners",
        "practitioner_qualifications",
        "working_hours",
        "time_off",
        "consent_forms",
        "consent_form_versions",
        "consent_form_procedures",
    }
)


class CatalogueVersion(Model):
    __tablename__ = "catalogue_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class OccupancyChange(Model):
    """A span of time whose occupancy a committed (or committing) transaction changed.

    `xid` is the writing transaction's id on PostgreSQL (NULL on SQLite), which lets a reader
    follow commit order rather than insert order (services/world/day_memory.py says how).
    Written only by the trigger of migration 0012; deleted only by `flask occupancy prune`.
    """

    __tablename__ = "occupancy_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    busy_until_at: Mapped[datetime] = mapped_column(UTCDateTime)
    xid: Mapped[int | None] = mapped_column(BigInteger, index=True)
    changed_at: Mapped[datetime] = mapped_column(
        UTCDateTime, server_default=text("CURRENT_TIMESTAMP")
    )
