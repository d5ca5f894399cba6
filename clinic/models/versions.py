"""Change counters that let each worker keep the catalogue and the calendar in memory.

One row. Database triggers (migration 0004, `VERSIONED_TABLES`) add one to `catalogue` when
any table the scheduling snapshot reads from changes, to `occupancy` when appointments
change and to `clients` when clients, their screening or declared periods do, inside the
writing transaction. A worker that reads the same numbers as when it
filled its cache knows nothing it holds has changed (clinic/services/cache.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import db

# counter -> the tables whose every INSERT, UPDATE and DELETE moves it on.
VERSIONED_TABLES: dict[str, tuple[str, ...]] = {
    "catalogue": (
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
    ),
    "occupancy": ("appointments",),
    "clients": ("clients", "client_conditions", "client_periods"),
}


class CacheVersions(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "cache_versions"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalogue: Mapped[int] = mapped_column(BigInteger, default=0)
    occupancy: Mapped[int] = mapped_column(BigInteger, default=0)
    clients: Mapped[int] = mapped_column(BigInteger, default=0)
