"""Who is acting: a plain value the services get instead of the request's user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select

from clinic.models import Client, Practitioner, User


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


def with_actor_ids(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`query`, which reads `User.id` and `User.role`, with the user's client's and
    practitioner's ids (`client_id`, `practitioner_id`): what `actor_from_row` needs, read in
    the statement a request makes anyway (the login, the API token). Only the ids: the unique
    indexes on `user_id` answer them, where joining the rows made SQLite scan `clients`."""
    return (
        query.add_columns(Client.id.label("client_id"), Practitioner.id.label("practitioner_id"))
        .outerjoin(Client, Client.user_id == User.id)
        .outerjoin(Practitioner, Practitioner.user_id == User.id)
    )


def actor_from_row(row: Row[Any]) -> Actor:
    """The actor of a row of a `with_actor_ids` statement."""
    return Actor(row.id, row.role, row.client_id, row.practitioner_id)
