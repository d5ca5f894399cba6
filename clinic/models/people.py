"""People: user accounts, clients with their screening and plans, practitioners."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.extensions import Model
from clinic.models.types import UTCDateTime, utcnow

ROLES = ("admin", "receptionist", "practitioner", "client")
# The roles of staff accounts (the admin page's choices). Who may do what is asked of
# clinic/services/core/permissions.py, which holds the other role sets.
STAFF_ROLES = ("admin", "receptionist", "practitioner")
PERIOD_KINDS = ("sun_exposure", "needs_makeup")


class User(UserMixin, Model):  # type: ignore[misc]  # Flask-Login ships no types
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin','receptionist','practitioner','client')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client | None] = relationship(back_populates="user", uselist=False)
    practitioner: Mapped[Practitioner | None] = relationship(back_populates="user", uselist=False)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active


class LoginSession(Model):
    """One login in one browser, so that the server can end it: logging out ends it, a
    password change or reset ends the account's others, an admin ends a staff member's,
    deactivating an account ends all of its. The browser's signed session cookie carries
    `id`; a request's user is loaded only together with a live row (clinic/security.py), so
    ending one costs nothing per request. A row also ends by age: idle for too long
    (`last_seen_at`, noted every few minutes of use) or begun too long ago (`created_at`);
    services/people/logins.py says which rows are live."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Client(Model):
    __tablename__ = "clients"
    __table_args__ = (CheckConstraint("phototype BETWEEN 1 AND 6", name="phototype"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    screening_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Fitzpatrick skin phototype (1-6) the screening recorded; None: not asked yet.
    phototype: Mapped[int | None] = mapped_column(Integer)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The SHA-256 of the secret in the client's calendar feed URL; None: no feed.
    calendar_feed_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)

    user: Mapped[User | None] = relationship(back_populates="client")
    conditions: Mapped[list[ClientCondition]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="ClientCondition.code"
    )
    periods: Mapped[list[ClientPeriod]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="ClientPeriod.start_on"
    )


class ClientCondition(Model):
    """One answer of the health screening: a condition present now, or last seen on a date."""

    __tablename__ = "client_conditions"
    __table_args__ = (
        UniqueConstraint("client_id", "code", name="uq_client_conditions_client_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    last_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="conditions")


class ClientPeriod(Model):
    """A period the client declared: a beach holiday (sun exposure) or an event (needs makeup)."""

    __tablename__ = "client_periods"
    __table_args__ = (
        CheckConstraint("end_on >= start_on", name="end_after_start"),
        CheckConstraint("kind IN ('sun_exposure','needs_makeup')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")

    client: Mapped[Client] = relationship(back_populates="periods")


class Practitioner(Model):
    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[User | None] = relationship(back_populates="practitioner")
    qualifications: Mapped[list[PractitionerQualification]] = relationship(
        cascade="all, delete-orphan", order_by="PractitionerQualification.qualification"
    )
    hours: Mapped[list[WorkingHours]] = relationship(
        cascade="all, delete-orphan", order_by="(WorkingHours.weekday, WorkingHours.starts)"
    )
    time_off: Mapped[list[TimeOff]] = relationship(
        cascade="all, delete-orphan", order_by="TimeOff.start_on"
    )

    @property
    def qualification_codes(self) -> list[str]:
        return [q.qualification for q in self.qualifications]


class PractitionerQualification(Model):
    __tablename__ = "practitioner_qualifications"
    __table_args__ = (UniqueConstraint("practitioner_id", "qualification", name="uq_pq_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    qualification: Mapped[str] = mapped_column(String(60))


class WorkingHours(Model):
    """One working interval of a practitioner on a weekday (0 = Monday), local clinic time."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("ends > starts", name="ends_after_starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class TimeOff(Model):
    """Whole days off, both ends included."""

    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("end_on >= start_on", name="end_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id", ondelete="CASCADE"))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
