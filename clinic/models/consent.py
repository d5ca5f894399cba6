"""Consent forms (catalogue), their versions, and clients' signatures (issue 21, "Consent").

A form's text is never edited in place: each text is a version row with its number, its
text's SHA-256 and when it was made, so a signature always shows exactly the text it signed
(`ClientConsent.version`). The form's current text is its highest version.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model, db
from clinic.models.catalogue import Procedure
from clinic.models.people import Client, User
from clinic.models.types import UTCDateTime, utcnow

CONSENT_HOW = ("online", "paper")

consent_form_procedures = Table(
    "consent_form_procedures",
    db.metadata,
    Column("form_id", ForeignKey("consent_forms.id", ondelete="CASCADE"), primary_key=True),
    Column("procedure_id", ForeignKey("procedures.id", ondelete="CASCADE"), primary_key=True),
)


class ConsentForm(Model):
    """A consent form of the catalogue: which procedures need it signed, and for how long a
    signature stays valid."""

    __tablename__ = "consent_forms"
    __table_args__ = (CheckConstraint("valid_days BETWEEN 1 AND 3650", name="valid_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    valid_days: Mapped[int] = mapped_column(Integer, default=365)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    procedures: Mapped[list[Procedure]] = relationship(
        secondary=consent_form_procedures, order_by="Procedure.code"
    )
    versions: Mapped[list[ConsentFormVersion]] = relationship(
        back_populates="form", cascade="all, delete-orphan", order_by="ConsentFormVersion.number"
    )

    @property
    def current(self) -> ConsentFormVersion | None:
        """The version a new signature signs: the latest."""
        return self.versions[-1] if self.versions else None


class ConsentFormVersion(Model):
    """One text of a consent form, kept for ever: the signatures of it show this very text."""

    __tablename__ = "consent_form_versions"
    __table_args__ = (
        UniqueConstraint("form_id", "number", name="uq_consent_form_versions_number"),
        CheckConstraint("number >= 1", name="number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("consent_forms.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    form: Mapped[ConsentForm] = relationship(back_populates="versions")


class ClientConsent(Model):
    """A client's signature of one version of a consent form: online (the client typed their
    name and ticked the statement) or on paper at the desk (reception recorded it). It covers
    sessions on the clinic's local dates `signed_on` to `valid_until`, both included."""

    __tablename__ = "client_consents"
    __table_args__ = (
        CheckConstraint("how IN ('online','paper')", name="how"),
        CheckConstraint("valid_until >= signed_on", name="valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("consent_forms.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("consent_form_versions.id"))
    # The SHA-256 of the text as it was shown and signed (the version's own, kept with the
    # signature so that a later change of the row would show).
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_name: Mapped[str] = mapped_column(String(120))
    how: Mapped[str] = mapped_column(String(10))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # Who signed online (the client's account) or recorded the paper signature (staff).
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client: Mapped[Client] = relationship()
    form: Mapped[ConsentForm] = relationship()
    version: Mapped[ConsentFormVersion] = relationship()
    recorded_by: Mapped[User | None] = relationship()
