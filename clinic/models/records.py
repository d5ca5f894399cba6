"""Treatment records: a practitioner's entry for a held session, before/after photos and the
client's photo consent. All of it is health data (services/core/audit.shown_health_data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.calendar import Appointment
from clinic.models.people import User
from clinic.models.types import UTCDateTime, utcnow

RECORD_STATUSES = ("draft", "signed")
PHOTO_KINDS = ("before", "after")
# The skin's reaction after a session, graded 0 (none) to 3 (severe: the practitioner reviews
# the course's next session, services/clinical/records.py).
REACTION_GRADES = (0, 1, 2, 3)


class TreatmentRecord(Model):
    """One entry of a held session's treatment record. A draft may be edited; a signed entry
    never changes: it is amended by a new entry that names it (`amends_id`), so the history
    of a session's record is every entry of it, oldest first."""

    __tablename__ = "treatment_records"
    __table_args__ = (
        CheckConstraint("status IN ('draft','signed')", name="status"),
        CheckConstraint("reaction IS NULL OR reaction BETWEEN 0 AND 3", name="reaction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # The procedure's template as it was when the entry was written: [{"code", "label",
    # "kind", "unit"?, "choices"?}], so an old entry reads as it was filled in.
    template: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The template's values by field code, as text ("12.5", "glycolic acid").
    values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    areas: Mapped[str] = mapped_column(Text, default="")
    # [{"name", "batch"}]
    products: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reaction: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_records.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    appointment: Mapped[Appointment] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])


class PhotoConsent(Model):
    """A client's word on photos: whether they may be taken at all, and whether the client
    may be shown them (My sessions, if the clinic's policy allows it too)."""

    __tablename__ = "photo_consents"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    may_take: Mapped[bool] = mapped_column(Boolean, default=False)
    may_show_client: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Photo(Model):
    """A before or after photo of a held session. The image itself lives in the photo store
    (services/clinical/photo_store.py) under `screen_key` (sized for a screen) and
    `thumb_key` (a thumbnail), never under the web root."""

    __tablename__ = "photos"
    __table_args__ = (CheckConstraint("kind IN ('before','after')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    screen_key: Mapped[str] = mapped_column(String(80))
    thumb_key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    appointment: Mapped[Appointment] = relationship()


class StoredBlob(Model):
    """The database's photo store: bytes by key, so that every app server of a chain sees
    them and a database backup holds them."""

    __tablename__ = "stored_blobs"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
