"""Practitioners: who they are, their qualifications and weekly working hours, and whether
they take bookings (DOMAIN.md "Who uses it"). Fewer hours or qualifications, or a practitioner
deactivated, can break booked sessions: shown first, flagged once confirmed (DOMAIN.md "A course
over its lifetime", changes of the world)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clinic.models import Practitioner, User
from clinic.services.core import permissions
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidData, NotFound
from clinic.services.lifetime import attention
from clinic.services.staffing.common import import_values, require_admin, week_json


def list_practitioners() -> list[Practitioner]:
    return list(
        db_session().scalars(
            select(Practitioner)
            .options(
                selectinload(Practitioner.hours),
                selectinload(Practitioner.time_off),
                selectinload(Practitioner.qualifications),
            )
            .order_by(Practitioner.active.desc(), Practitioner.name)
        )
    )


def get_practitioner(practitioner_id: int) -> Practitioner:
    p = db_session().get(Practitioner, practitioner_id)
    if p is None:
        raise NotFound("There is no such practitioner.")
    return p


def practitioner_values(p: Practitioner) -> dict[str, Any]:
    """A practitioner in the catalogue file's shape."""
    return {
        "email": p.email,
        "name": p.name,
        "qualifications": p.qualification_codes,
        "hours": week_json([(h.weekday, h.starts, h.ends) for h in p.hours]),
        "time_off": [[t.start_on.isoformat(), t.end_on.isoformat()] for t in p.time_off],
    }


def save_practitioner(
    *,
    actor: Actor,
    practitioner_id: int | None,
    name: str,
    email: str,
    qualifications: list[str],
    hours: dict[str, list[list[str]]],
    confirm: bool = False,
    now: datetime | None = None,
) -> tuple[Practitioner | None, attention.WorldChange]:
    """Create a practitioner or change one's name, qualifications and weekly hours. Fewer hours
    or qualifications can break the practitioner's booked sessions: without `confirm` nothing
    is saved if any would (the practitioner is None then, the change lists them); with it they
    are flagged for the attention list."""
    require_admin(actor)
    cause = f"Working hours or qualifications of {name.strip() or 'a practitioner'} changed"
    row: Practitioner | None = None
    with attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change:
        row = _save_practitioner(actor, practitioner_id, name, email, qualifications, hours)
        change.concerns(attention.of_practitioner(row.id))
    return (row if change.saved else None), change


def _save_practitioner(
    actor: Actor,
    practitioner_id: int | None,
    name: str,
    email: str,
    qualifications: list[str],
    hours: dict[str, list[list[str]]],
) -> Practitioner:
    with catalogue_transaction() as s:
        time_off: list[list[str]] = []
        if practitioner_id is not None:
            current = get_practitioner(practitioner_id)
            email = current.email  # the key the file matches on; it does not change here
            time_off = practitioner_values(current)["time_off"]
        elif s.scalar(
            select(Practitioner.id).where(func.lower(Practitioner.email) == email.strip().lower())
        ):
            raise InvalidData(
                [
                    {
                        "code": "duplicate",
                        "field": "email",
                        "message": "A practitioner with this email exists already.",
                    }
                ]
            )
        values = {
            "email": email,
            "name": name,
            "qualifications": qualifications,
            "hours": hours,
            "time_off": time_off,
        }
        import_values(s, {"practitioners": [values]})
        row: Practitioner | None = s.scalar(
            select(Practitioner).where(func.lower(Practitioner.email) == email.strip().lower())
        )
        assert row is not None
        if row.user_id is None:  # an account with this email becomes this practitioner's
            user = s.scalar(
                select(User).where(
                    func.lower(User.email) == row.email.lower(), permissions.practitioner_accounts()
                )
            )
            if user is not None:
                row.user_id = user.id
        s.flush()
        record(s, actor, "update" if practitioner_id else "create", "practitioner", row.id)
    return row


def set_practitioner_active(
    *,
    actor: Actor,
    practitioner_id: int,
    active: bool,
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """Deactivate a practitioner (no new bookings; their booked sessions break and, once
    confirmed, are flagged) or activate them again (their flags are judged again)."""
    require_admin(actor)
    p = get_practitioner(practitioner_id)
    cause = f"{p.name} {'activated again' if active else 'deactivated'}"
    with (
        attention.world_change(
            actor=actor, cause=cause, confirm=confirm, now=now, mends=active
        ) as change,
        catalogue_transaction() as s,
    ):
        p = get_practitioner(practitioner_id)
        p.active = active
        record(s, actor, "activate" if active else "deactivate", "practitioner", p.id)
        change.concerns(attention.of_practitioner(p.id))
    return change
