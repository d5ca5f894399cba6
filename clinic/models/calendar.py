"""Bookings: a client's enrolment in a course and its appointments (sessions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BindParameter,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.catalogue import Course, Device, Room
from clinic.models.people import Client, Practitioner
from clinic.models.types import UTCDateTime, utcnow

APPOINTMENT_STATUSES = ("booked", "done", "no_show", "cancelled")
# Statuses whose time is still held: a no-show still used the practitioner's hour.
HOLDING_STATUSES = ("booked", "done", "no_show")
# Statuses that start a client's restrictions (and show on their calendar): a no-show does not,
# a cancellation lifts them.
RESTRICTING_STATUSES = ("booked", "done")
# What staff record once a session has started (services/courses/outcomes.record_outcome).
OUTCOME_STATUSES = ("done", "no_show")
ENROLMENT_STATUSES = ("active", "cancelled", "completed")


def status_in(statuses: tuple[str, ...]) -> str:
    """The CHECK of a status column, written from its one list of statuses."""
    return "status IN (" + ",".join(f"'{s}'" for s in statuses) + ")"


# How far back a client's sessions can still restrict a new one (the longest restriction).
LOOKBACK = timedelta(days=366)


class Enrolment(Model):
    __tablename__ = "enrolments"
    __table_args__ = (CheckConstraint(status_in(ENROLMENT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The course rules this enrolment was booked under (sessions, spacing, care windows,
    # contraindications, months), as `services.aftercare` writes and reads them: a later edit
    # of the template does not change a booked course unless staff move it to the new rules.
    # Never NULL (migration 0008 filled the enrolments booked before it).
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)

    client: Mapped[Client] = relationship()
    course: Mapped[Course] = relationship()
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="enrolment", order_by="(Appointment.session, Appointment.id)"
    )

    @property
    def course_sessions(self) -> int:
        """How many sessions the course has as booked (its kept rules, not the template's)."""
        return int(self.rules["sessions"])


class Appointment(Model):
    """One session of an enrolment.

    `busy_until_at` is the end plus the procedure's buffer: the practitioner, device and room
    are held until then, the client only until `end_at`.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(status_in(APPOINTMENT_STATUSES), name="status"),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("busy_until_at >= end_at", name="busy_after_end"),
        CheckConstraint("session >= 1", name="session"),
        Index("ix_appointments_start_at", "start_at"),
        Index("ix_appointments_client_start", "client_id", "start_at"),
        Index("ix_appointments_practitioner_start", "practitioner_id", "start_at"),
        # What holds a resource, read by every plan and day of availability (world/snapshot)
        # and by the staff calendar (courses/schedule): only the holding rows (cancelled ones
        # were 59% of the bench clinic's table at 100k), with every column those reads need
        # (the status too: SQLite's covering index must hold every column the query names),
        # so the table itself is never visited. The calendar's columns come last.
        Index(
            "ix_appointments_holding",
            "start_at",
            "busy_until_at",
            "practitioner_id",
            "room_id",
            "device_id",
            "id",
            "status",
            "end_at",
            "client_id",
            "enrolment_id",
            "session",
            sqlite_where=text(status_in(HOLDING_STATUSES)),
            postgresql_where=text(status_in(HOLDING_STATUSES)),
        ),
        # One live appointment per session number of an enrolment.
        Index(
            "uq_appointments_live_session",
            "enrolment_id",
            "session",
            unique=True,
            sqlite_where=text("status <> 'cancelled'"),
            postgresql_where=text("status <> 'cancelled'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    session: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    busy_until_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="booked")
    note: Mapped[str] = mapped_column(Text, default="")
    override_reason: Mapped[str] = mapped_column(Text, default="")
    # A patch test the skin reacted to: the practitioner's note (None: no reaction recorded).
    reaction_note: Mapped[str | None] = mapped_column(Text)
    # The iCalendar SEQUENCE of the session's event: raised by every change of the session
    # (`revise`), so a calendar app replaces its copy of the event (same UID) with the new one.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="appointments")
    client: Mapped[Client] = relationship()
    practitioner: Mapped[Practitioner] = relationship()
    device: Mapped[Device | None] = relationship()
    room: Mapped[Room] = relationship()

    def revise(self) -> None:
        """Count a change of the session (moved, cancelled, marked done or missed): the one
        place its calendar SEQUENCE is raised."""
        self.sequence = (self.sequence or 0) + 1

    def is_to_come(self, now: datetime) -> bool:
        """Booked and not yet begun: a session still to come (in SQL: `to_come`)."""
        return self.status == "booked" and self.start_at > now

    @classmethod
    def to_come(cls, now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
        """SQL: the session is booked and not yet begun (`is_to_come` in Python)."""
        return and_(cls.status == "booked", cls.start_at > now)


class AttentionFlag(Model):
    """A booked session that a change of the world has broken (DOMAIN.md, "A course over its
    lifetime"): the rules it now breaks, as codes and sentences, and what changed. Reception
    works these on the attention list; a flag goes when the session holds again (the cause
    was undone, or the session was moved, cancelled or re-planned)."""

    __tablename__ = "attention_flags"

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    # [{"code": ..., "message": ...}], the checker's violations of the session as booked.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    cause: Mapped[str] = mapped_column(Text, default="")
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    appointment: Mapped[Appointment] = relationship()


# The database itself refuses double bookings (DOMAIN.md rules 6, 7 and 9), so that two
# bookings checked at the same instant cannot both be written. On PostgreSQL these are
# exclusion constraints over time ranges (btree_gist, migration 0003); SQLite has no such
# constraint and serializes write transactions instead (clinic/dbsetup.py). They are
# DEFERRABLE INITIALLY DEFERRED so that a transaction that rearranges several sessions (a
# move with a re-plan) is judged on its final state, not on each UPDATE in between.
def _busy(until: Column[datetime]) -> ColumnElement[object]:
    return func.tstzrange(Appointment.__table__.c.start_at, until)


_LIVE = "status <> 'cancelled'"
_table = cast(Table, Appointment.__table__)  # a mapped class's table; typed as a FromClause
EXCLUSIONS = {
    "ex_appointments_practitioner_busy": (_table.c.practitioner_id, _table.c.busy_until_at, _LIVE),
    "ex_appointments_device_busy": (
        _table.c.device_id,
        _table.c.busy_until_at,
        f"{_LIVE} AND device_id IS NOT NULL",
    ),
    "ex_appointments_room_busy": (_table.c.room_id, _table.c.busy_until_at, _LIVE),
    # The client is held until the session ends; the buffer is the clinic's time, not theirs.
    "ex_appointments_client_busy": (_table.c.client_id, _table.c.end_at, _LIVE),
}
for _name, (_who, _until, _where) in EXCLUSIONS.items():
    _table.append_constraint(
        ExcludeConstraint(
            (_who, "="),
            (_busy(_until), "&&"),
            name=_name,
            using="gist",
            where=text(_where),
            deferrable=True,
            initially="DEFERRED",
        ).ddl_if(dialect="postgresql")
    )
