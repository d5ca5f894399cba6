"""The client record as staff see it: contact, screening, plans, courses, restrictions, audit.

Reading a client's screening is itself recorded (action `view_screening`), so the record
shows who looked at the health data and who changed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from clinic.models import (
    LOOKBACK,
    RESTRICTING_STATUSES,
    Appointment,
    AuditEntry,
    Client,
    Course,
    Enrolment,
    Practitioner,
    utcnow,
)
from clinic.scheduling import CareWindow
from clinic.services.core import clinic_setup, phones
from clinic.services.core.actors import Actor
from clinic.services.core.audit import shown_health_data
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidRequest, NotFound, PermissionDenied
from clinic.services.core.permissions import (
    is_practitioner,
    is_staff,
    practitioner_treats,
    treated_by,
)
from clinic.services.world import client_reads, course_catalogue
from clinic.services.world.aftercare import aftercare_for, keeps_other_rules
from clinic.services.world.progress import enrolment_progress

MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class EnrolmentProgress:
    enrolment: Enrolment
    sessions: list[Appointment]
    done: int
    total: int  # the course's sessions and a make-up for each no-show (services/progress.py)
    # The template's rules differ from the ones it was booked under (rules as booked), and
    # it has sessions to come: reception may move it to the current rules.
    rules_changed: bool = False
    remaining: int = 0  # still to book

    @property
    def booked(self) -> int:
        return sum(1 for a in self.sessions if a.status == "booked")


@dataclass(frozen=True, slots=True)
class UpcomingCare:
    appointment: Appointment
    window: CareWindow


@dataclass(frozen=True, slots=True)
class ClientRecord:
    client: Client
    enrolments: list[EnrolmentProgress]
    upcoming_care: list[UpcomingCare]
    screening_audit: list[AuditEntry]
    screening_stale: bool


def _require_staff(actor: Actor) -> None:
    if not is_staff(actor):
        raise PermissionDenied("Client records are for clinic staff.")


def list_clients(*, actor: Actor, query: str = "") -> list[Client]:
    """Clients matching a name, email or phone fragment; a practitioner sees only their own."""
    _require_staff(actor)
    query = query.strip()
    if len(query) > 100:
        raise InvalidRequest("Search with at most 100 characters.", field="q")
    stmt = select(Client).where(Client.anonymised_at.is_(None))
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Client.name).like(like),
                func.lower(Client.email).like(like),
                Client.phone.like(f"%{query}%"),
                # A whole number, however it is written, finds the number as stored.
                Client.phone == (phones.to_e164(query) or "-"),
            )
        )
    if is_practitioner(actor):
        stmt = stmt.where(treated_by(actor))
    return list(db_session().scalars(stmt.order_by(Client.name, Client.id).limit(MAX_LISTED)))


def get_client_record(*, actor: Actor, client_id: int, now: datetime | None = None) -> ClientRecord:
    """Everything staff need about one client; records that the screening was viewed."""
    now = now or utcnow()
    _require_staff(actor)
    with transaction():  # written now, so the record lists this reading too
        client = client_reads.get_client(client_id)
        if is_practitioner(actor) and not practitioner_treats(actor, client_id):
            raise NotFound("There is no such client.", field="client")
        shown_health_data(actor, [client.id], "client record")
    return _load_record(client_id, now)


def _load_record(client_id: int, now: datetime) -> ClientRecord:
    client = db_session().scalar(
        select(Client)
        .options(selectinload(Client.conditions), selectinload(Client.periods))
        .where(Client.id == client_id)
    )
    if client is None:
        raise NotFound("There is no such client.", field="client")
    enrolments = list(
        db_session().scalars(
            select(Enrolment)
            .options(
                selectinload(Enrolment.course).selectinload(Course.procedure),
                selectinload(Enrolment.course).selectinload(Course.care),
                selectinload(Enrolment.appointments).selectinload(Appointment.practitioner),
            )
            .where(Enrolment.client_id == client_id)
            .order_by(Enrolment.created_at.desc(), Enrolment.id.desc())
        )
    )
    progress: list[EnrolmentProgress] = []
    upcoming: list[UpcomingCare] = []
    for e in enrolments:
        live = [a for a in e.appointments if a.status != "cancelled"]
        counts = enrolment_progress(e)
        to_come = any(a.is_to_come(now) for a in e.appointments)
        changed = to_come and keeps_other_rules(e, course_catalogue.course_rules(e.course))
        progress.append(
            EnrolmentProgress(
                e, list(e.appointments), counts.held, counts.total, changed, counts.remaining
            )
        )
        for a in live:
            if a.status not in RESTRICTING_STATUSES or a.start_at < now - LOOKBACK:
                continue
            for w in aftercare_for(a):
                if w.window.end > now:
                    upcoming.append(UpcomingCare(a, w))
    upcoming.sort(key=lambda u: (u.window.window.start, u.window.code))
    audit = list(
        db_session().scalars(
            select(AuditEntry)
            .options(selectinload(AuditEntry.actor))
            .where(AuditEntry.client_id == client_id, AuditEntry.action.like("%screening%"))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(50)
        )
    )
    valid_days = clinic_setup.settings().screening_valid_days
    stale = client.screening_confirmed_at is None or (
        client.screening_confirmed_at < now - timedelta(days=valid_days)
    )
    return ClientRecord(client, progress, upcoming, audit, stale)


def list_practitioners() -> list[Practitioner]:
    """Active practitioners by name (for choosing one in a form)."""
    return list(
        db_session().scalars(
            select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.name)
        )
    )
