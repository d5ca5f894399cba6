"""Who is acting: a plain value the services get instead of the request's user."""

from __future__ import annotations

from dataclasses import dataclass

from clinic.models import User
from clinic.services import permissions


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    role: str
    client_id: int | None = None
    practitioner_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return permissions.is_staff(self)

    @property
    def is_desk(self) -> bool:
        """Receptionists and admins act for any client."""
        return permissions.is_desk(self)


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=user.role,
        client_id=user.client.id if user.client is not None else None,
        practitioner_id=user.practitioner.id if user.practitioner is not None else None,
    )
