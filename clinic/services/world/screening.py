"""Whether a client's health screening is current: a client books only with a confirmed
screening no older than the clinic's `screening_valid_days` (staff book at the desk, where the
screening is taken on paper)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clinic.models import Client
from clinic.models.types import utcnow
from clinic.scheduling import Violation
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.errors import NotFound, RuleViolation
from clinic.services.core.permissions import is_client
from clinic.services.world import client_reads


@dataclass(frozen=True, slots=True)
class ScreeningStatus:
    confirmed_at: datetime | None
    valid_until: datetime | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def current(self, now: datetime) -> bool:
        return self.valid_until is not None and now < self.valid_until


def screening_status(client: Client) -> ScreeningStatus:
    confirmed = client.screening_confirmed_at
    if confirmed is None:
        return ScreeningStatus(None, None)
    days = clinic_setup.settings().screening_valid_days
    return ScreeningStatus(confirmed, confirmed + timedelta(days=days))


def screening_violation(client: Client, now: datetime) -> Violation | None:
    """Why this client cannot book yet, if the screening is missing or too old."""
    status = screening_status(client)
    if status.current(now):
        return None
    if not status.confirmed:
        return Violation(
            "screening_required",
            "Please fill in and confirm your health screening before your first booking.",
        )
    return Violation(
        "screening_expired",
        "Your health screening is older than the clinic accepts; "
        "please check and confirm it again before booking.",
    )


def require_current_screening(*, actor: Actor, client_id: int, now: datetime | None = None) -> None:
    """Refuse a client's booking while its screening is missing or expired. Staff book for a
    client at the desk, where the screening is taken on paper, so the check is the client's.
    `client_id`: the client the booking is for, as already resolved for the actor
    (client_reads.resolve_client_id); a client's own, then."""
    if not is_client(actor):
        return
    if client_id != actor.client_id:
        raise NotFound("There is no such client.", field="client")
    problem = screening_violation(client_reads.get_client(client_id), now or utcnow())
    if problem is not None:
        raise RuleViolation([problem])
