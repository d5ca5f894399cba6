"""Who is acting: a plain value the services get instead of the request's user."""

from __future__ import annotations

from dataclasses import dataclass

from clinic.models import User


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    role: str
    client_id: int | None = None
    practitioner_id: int | None = None


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=user.role,
        client_id=user.client.id if user.client is not None else None,
        practitioner_id=user.practitioner.id if user.practitioner is not None else None,
    )
