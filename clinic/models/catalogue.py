"""The clinic's set-up: settings, hours, rooms, devices, restrictions, procedures, courses."""

from __future__ import annotations

import secrets
from datetime import date, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model, db

RESTRICTION_KINDS = ("sun", "makeup", "other")
ALL_MONTHS_MASK = (1 << 12) - 1


def months_to_mask(months: list[int] | None) -> int:
    if not months:
        return ALL_MONTHS_MASK
    mask = 0
    for m in months:
        mask |= 1 << (m - 1)
    return mask


def mask_to_months(mask: int) -> list[int]:
    return [m for m in range(1, 13) if mask & (1 << (m - 1))]


# The Fitzpatrick skin phototypes I to VI a course may treat, as bits like the months.
ALL_PHOTOTYPES_MASK = (1 << 6) - 1


def phototypes_to_mask(phototypes: list[int] | None) -> int:
    if not phototypes:
        return ALL_PHOTOTYPES_MASK
    mask = 0
    for p in phototypes:
        mask |= 1 << (p - 1)
    return mask


def mask_to_phototypes(mask: int) -> list[int]:
    return [p for p in range(1, 7) if mask & (1 << (p - 1))]


class ClinicSettings(Model):
    """The single row of clinic-wide settings and policies."""

    __tablename__ = "clinic_settings"
    __table_args__ = (
        CheckConstraint("slot_minutes BETWEEN 5 AND 120", name="slot_minutes"),
        CheckConstraint("client_change_notice_hours >= 0", name="notice"),
        CheckConstraint("horizon_days BETWEEN 1 AND 1100", name="horizon"),
        CheckConstraint("screening_valid_days >= 1", name="screening_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(60))
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    client_change_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    horizon_days: Mapped[int] = mapped_column(Integer, default=365)
    screening_valid_days: Mapped[int] = mapped_column(Integer, default=180)
    # A missed session is used up (True) or the course gets a make-up session (False).
    no_show_uses_session: Mapped[bool] = mapped_column(Boolean, default=False)
    # Clients see their own before/after photos on My sessions (if they consented too).
    photos_shown_to_clients: Mapped[bool] = mapped_column(Boolean, default=False)
    # The postal address, lines separated by newlines: with `name`, the LOCATION of every
    # session in the clients' calendar files.
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A random clinic-wide key each session's calendar UID is derived from (not in the
    # catalogue file: a clinic's own, kept across imports).
    calendar_key: Mapped[str] = mapped_column(
        String(64), default=lambda: secrets.token_hex(16), server_default=""
    )


class OpeningHours(Model):
    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("closes > opens", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class Holiday(Model):
    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")


class Room(Model):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Device(Model):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Restriction(Model):
    """An aftercare or pre-care restriction such as `no_uv`; its kind links it to client plans."""

    __tablename__ = "restrictions"
    __table_args__ = (CheckConstraint("kind IN ('sun','makeup','other')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    text: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default="other")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


procedure_blocked_by = Table(
    "procedure_blocked_by",
    db.metadata,
    Column("procedure_id", ForeignKey("procedures.id", ondelete="CASCADE"), primary_key=True),
    Column("restriction_id", ForeignKey("restrictions.id"), primary_key=True),
)


# A patch test's window before a course's first session: at least 1 hour to 30 days, at most
# a year (the client's sessions are read that far back: models.calendar.LOOKBACK).
PATCH_TEST_MAX_HOURS = 720
PATCH_TEST_MAX_DAYS = 365


class Procedure(Model):
    __tablename__ = "procedures"
    __table_args__ = (
        CheckConstraint("duration_min > 0 AND duration_min <= 720", name="duration"),
        CheckConstraint("buffer_min >= 0 AND buffer_min <= 240", name="buffer"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint(
            f"patch_test_min_hours BETWEEN 1 AND {PATCH_TEST_MAX_HOURS}", name="patch_test_min"
        ),
        CheckConstraint(
            f"patch_test_max_days BETWEEN 1 AND {PATCH_TEST_MAX_DAYS}", name="patch_test_max"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    duration_min: Mapped[int] = mapped_column(Integer)
    buffer_min: Mapped[int] = mapped_column(Integer, default=0)
    qualification: Mapped[str] = mapped_column(String(60))
    device_kind: Mapped[str | None] = mapped_column(String(60))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    description: Mapped[str] = mapped_column(Text, default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    # The patch test this procedure needs before a course's first session, if any: the code
    # of the test's own procedure, and how long before (all three or none: the catalogue
    # file's reader checks it, services/catalogue/schema.py).
    patch_test_procedure: Mapped[str | None] = mapped_column(String(60))
    patch_test_min_hours: Mapped[int | None] = mapped_column(Integer)
    patch_test_max_days: Mapped[int | None] = mapped_column(Integer)
    # The treatment record's own fields for this procedure ([{"code", "label", "kind",
    # "unit"?, "choices"?}]); None: the default for its device kind or qualification
    # (services/clinical/record_templates.py).
    record_template: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    blocked_by: Mapped[list[Restriction]] = relationship(
        secondary=procedure_blocked_by, order_by="Restriction.code"
    )


class Course(Model):
    """A course template: one procedure repeated with spacing, aftercare, pre-care and rules."""

    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("sessions BETWEEN 1 AND 30", name="sessions"),
        CheckConstraint("min_interval_days >= 0", name="min_interval"),
        CheckConstraint(
            "max_interval_days IS NULL OR max_interval_days >= min_interval_days",
            name="max_interval",
        ),
        CheckConstraint(
            "ideal_interval_days IS NULL OR (ideal_interval_days >= min_interval_days"
            " AND (max_interval_days IS NULL OR ideal_interval_days <= max_interval_days))",
            name="ideal_interval",
        ),
        CheckConstraint("months_mask BETWEEN 1 AND 4095", name="months"),
        CheckConstraint("phototypes_mask BETWEEN 1 AND 63", name="phototypes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    sessions: Mapped[int] = mapped_column(Integer)
    min_interval_days: Mapped[int] = mapped_column(Integer, default=0)
    max_interval_days: Mapped[int | None] = mapped_column(Integer)
    # The spacing the planner aims for, between min and max; None: as early as allowed.
    ideal_interval_days: Mapped[int | None] = mapped_column(Integer)
    months_mask: Mapped[int] = mapped_column(Integer, default=ALL_MONTHS_MASK)
    # The skin phototypes (I-VI) the course may treat; all by default (the database's too,
    # for the rows written before migration 0014).
    phototypes_mask: Mapped[int] = mapped_column(
        Integer, default=ALL_PHOTOTYPES_MASK, server_default=str(ALL_PHOTOTYPES_MASK)
    )
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    procedure: Mapped[Procedure] = relationship()
    care: Mapped[list[CourseRestriction]] = relationship(
        cascade="all, delete-orphan", order_by="(CourseRestriction.phase, CourseRestriction.id)"
    )
    contraindications: Mapped[list[CourseContraindication]] = relationship(
        cascade="all, delete-orphan", order_by="CourseContraindication.code"
    )

    @property
    def months(self) -> list[int]:
        return mask_to_months(self.months_mask)

    @property
    def phototypes(self) -> list[int]:
        return mask_to_phototypes(self.phototypes_mask)

    @property
    def aftercare(self) -> list[CourseRestriction]:
        return [c for c in self.care if c.phase == "after"]

    @property
    def precare(self) -> list[CourseRestriction]:
        return [c for c in self.care if c.phase == "before"]


class CourseRestriction(Model):
    """A restriction each session of a course starts (phase 'after') or needs kept before it ('before')."""

    __tablename__ = "course_restrictions"
    __table_args__ = (
        CheckConstraint("hours > 0 AND hours <= 8760", name="hours"),
        CheckConstraint("phase IN ('after','before')", name="phase"),
        UniqueConstraint(
            "course_id", "restriction_id", "phase", name="uq_course_restrictions_triple"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    restriction_id: Mapped[int] = mapped_column(ForeignKey("restrictions.id"))
    phase: Mapped[str] = mapped_column(String(10))
    hours: Mapped[int] = mapped_column(Integer)

    restriction: Mapped[Restriction] = relationship(lazy="joined")


class CourseContraindication(Model):
    __tablename__ = "course_contraindications"
    __table_args__ = (
        CheckConstraint("lookback_days >= 0", name="lookback"),
        UniqueConstraint("course_id", "code", name="uq_course_contraindications_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    lookback_days: Mapped[int] = mapped_column(Integer, default=0)
