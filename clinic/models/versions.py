"""The catalogue's version, which lets each worker keep the catalogue in memory.

One row. Every service that writes the catalogue calls `services.cache.catalogue_changed()`
in its transaction, which adds one to `version`; a worker that reads the version it filled its
memory under knows nothing it holds has changed. Only the catalogue is kept this way:
appointments and clients are read by each request from the tables, so a booking or a change
to a client's record never touches this row.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model

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
    }
)


class CatalogueVersion(Model):
    __tablename__ = "catalogue_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
