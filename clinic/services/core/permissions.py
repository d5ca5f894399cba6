"""Who may do what: every permission question the services, views and templates ask.

Each question is answered here once, from the named role sets below (the web gates ask these
questions too: clinic/auth/access.py `permission_required`).
The role predicates take anything with a `role` (the services' `Actor`, the request's user in a
template, or an anonymous visitor, who has none); the others need an `Actor`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Exists, exists, select, true

from clinic.models import (
    STAFF_ROLES,
    Appointment,
    Client,
    Enrolment,
    TreatmentRecord,
    User,
)
from clinic.scheduling import Violation
from clinic.scheduling.rules import change_notice_violation
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    PermissionDenied,
    RuleViolation,
    ServiceError,
)

# Reception's desk: books, moves and cancels for any client.
DESK_ROLES = ("admin", "receptionist")
# Cosmetologists define the courses; the clinic manager may too.
CATALOGUE_ROLES = ("admin", "practitioner")
ADMIN_ROLES = ("admin",)
CLIENT_ROLES = ("client",)


def _role(who: object) -> str | None:
    role = getattr(who, "role", None)
    return role if isinstance(role, str) else None


# --- roles ------------------------------------------------------------------------------------


def is_admin(who: object) -> bool:
    """The clinic's manager: staff accounts, set-up, the audit trail."""
    return _role(who) in ADMIN_ROLES


def is_desk(who: object) -> bool:
    """Reception (and admins): act for any client."""
    return _role(who) in DESK_ROLES


def is_staff(who: object) -> bool:
    """Anyone working at the clinic: reads the calendar and clients, may override a soft rule."""
    return _role(who) in STAFF_ROLES


def is_practitioner(who: object) -> bool:
    """A cosmetologist: sees their own sessions and the clients they treat."""
    return _role(who) == "practitioner"


def practitioner_accounts() -> ColumnElement[bool]:
    """`is_practitioner` in SQL, for a query of user accounts."""
    return User.role == "practitioner"


def is_client(who: object) -> bool:
    """A client acting for themselves."""
    return _role(who) in CLIENT_ROLES


def can_edit_catalogue(who: object) -> bool:
    """Cosmetologists define procedures and courses; the clinic manager may too."""
    return _role(who) in CATALOGUE_ROLES


# --- clients, appointments, courses -----------------------------------------------------------


def can_change_course_rules(who: object) -> bool:
    """Reception (and admins) move a booked course to its template's current rules."""
    return is_desk(who)


def can_book_for(actor: Actor, client_id: int | None) -> bool:
    """Whether the actor books, moves and cancels sessions for this client (None: the actor
    itself): reception for anyone, a client for themselves; practitioners only read."""
    if is_desk(actor):
        return True
    return is_client(actor) and (client_id is None or client_id == actor.client_id)


def can_see_appointment(actor: Actor, appointment: Appointment) -> bool:
    """Reception sees every session, a practitioner their own, a client theirs."""
    if is_desk(actor):
        return True
    if is_practitioner(actor):
        return appointment.practitioner_id == actor.practitioner_id
    return actor.client_id is not None and appointment.client_id == actor.client_id


def can_record_outcome(actor: Actor, appointment: Appointment) -> bool:
    """Whether the actor records how this session went (done, no-show): reception for any
    session, a practitioner for their own; a client never."""
    return is_staff(actor) and can_see_appointment(actor, appointment)


def can_cancel_enrolment(actor: Actor, enrolment: Enrolment) -> bool:
    return can_book_for(actor, enrolment.client_id)


def can_see_enrolment(actor: Actor, enrolment: Enrolment) -> bool:
    """As for appointments: reception every course booking, a client theirs, a practitioner
    one with a session of theirs in it."""
    if is_desk(actor):
        return True
    if is_practitioner(actor):
        return any(can_see_appointment(actor, a) for a in enrolment.appointments)
    return actor.client_id is not None and enrolment.client_id == actor.client_id


def notice_violation(actor: Actor, appointment: Appointment, now: datetime) -> Violation | None:
    """Rule 10 for changing this session now: a client only up to the clinic's notice (so
    never once it has begun), staff any time."""
    rules = clinic_setup.clinic_rules()
    return change_notice_violation(
        session=appointment.session,
        current_start=appointment.start_at,
        now=now,
        notice=rules.change_notice,
        by_staff=is_staff(actor),
        tz=rules.tz,
    )


def change_refusal(
    actor: Actor, appointment: Appointment, now: datetime | None
) -> ServiceError | None:
    """Why the actor may not move or cancel this (visible) session now, or None if they may:
    practitioners only read; only a booked session changes; a client changes only up to the
    notice. `now=None` leaves the notice out: a move's notice is judged by the engine together
    with the move's other rules (clinic/scheduling/check.py)."""
    if not can_book_for(actor, appointment.client_id):
        return PermissionDenied("Reception moves and cancels sessions.")
    if appointment.status != "booked":
        # 409: the request was meant for a session that has since been cancelled or held.
        return Conflict(
            f"This session is {appointment.status.replace('_', ' ')}; it can no longer change.",
            code="appointment_changed",
        )
    if now is not None and (late := notice_violation(actor, appointment, now)) is not None:
        return RuleViolation([late])
    return None


def can_change(actor: Actor, appointment: Appointment, now: datetime) -> bool:
    """Whether the actor may move or cancel this session now (see `change_refusal`)."""
    return change_refusal(actor, appointment, now) is None


def practitioner_treats(actor: Actor, client_id: int) -> bool:
    """Whether a practitioner has (or had) a session with this client."""
    return bool(db_session().scalar(select(treated_by(actor, Client.id == client_id))))


def treated_by(actor: Actor, client: ColumnElement[bool] | None = None) -> Exists:
    """SQL: the practitioner has (or had) a session with the client (a practitioner sees the
    clients they treat). `client` says which client; by default the `clients` row of the
    statement it is used in."""
    return exists().where(
        Appointment.client_id == Client.id,
        Appointment.practitioner_id == (actor.practitioner_id or 0),
        *((client,) if client is not None else ()),
    )


def visible_appointments(actor: Actor) -> ColumnElement[bool]:
    """SQL form of `can_see_appointment`: reception every session, a practitioner their own,
    a client theirs."""
    if is_desk(actor):
        return true()
    if is_practitioner(actor):
        return Appointment.practitioner_id == (actor.practitioner_id or 0)
    return Appointment.client_id == (actor.client_id or 0)


MAX_OVERRIDE_REASON = 500


def require_booker(actor: Actor) -> None:
    if not can_book_for(actor, None):
        raise PermissionDenied("Bookings are made by reception or by clients themselves.")


def override_allowed(actor: Actor, reason: str) -> bool:
    reason = reason.strip()
    if not reason:
        return False
    if not is_staff(actor):
        raise PermissionDenied("Only clinic staff can override a rule.", field="override_reason")
    if len(reason) > MAX_OVERRIDE_REASON:
        raise InvalidRequest(
            f"Keep the reason under {MAX_OVERRIDE_REASON} characters.", field="override_reason"
        )
    return True


def precare_confirmation_allowed(actor: Actor, confirmed: bool) -> bool:
    """Rule 11: only staff say a client has kept a pre-care already begun, on the client's
    word at the desk or on the phone, where they ask about it (docs/DECISIONS.md)."""
    if confirmed and not is_staff(actor):
        raise PermissionDenied(
            "Only clinic staff can confirm that the pre-care was kept; please call the clinic.",
            field="precare_confirmed",
        )
    return confirmed


# --- treatment records and photos (health data) ------------------------------------------------


def reads_clinical_records(who: object) -> bool:
    """The roles that read treatment records and photos at all: practitioners (of the clients
    they treat) and admins. Reception books; it does not read clinical notes."""
    return is_admin(who) or is_practitioner(who)


def can_see_clinical_records(actor: Actor, client_id: int) -> bool:
    """A client's treatment records and photos: an admin, or a practitioner who treats them."""
    if is_admin(actor):
        return True
    return is_practitioner(actor) and practitioner_treats(actor, client_id)


def can_write_treatment_record(actor: Actor, appointment: Appointment) -> bool:
    """The practitioner who held the session writes its record and takes its photos."""
    return is_practitioner(actor) and appointment.practitioner_id == actor.practitioner_id


def can_see_record_entry(actor: Actor, entry: TreatmentRecord) -> bool:
    """A signed entry is for everyone who reads the record; a draft only for its author
    until it is signed off."""
    return entry.status == "signed" or entry.created_by_id == actor.user_id


def can_record_photo_consent(actor: Actor, client_id: int) -> bool:
    """A client's photo consent: reception at the desk, a practitioner who treats the client,
    or the client themselves."""
    if is_desk(actor):
        return True
    if is_practitioner(actor):
        return practitioner_treats(actor, client_id)
    return is_client(actor) and actor.client_id == client_id
