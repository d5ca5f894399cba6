"""Rooms and devices: which there are and whether they are in use (DOMAIN.md "A course over its
lifetime": one taken out of use breaks the sessions booked on it, shown first, flagged once
confirmed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from clinic.models import Device, Room
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.db import db_session
from clinic.services.core.errors import NotFound
from clinic.services.lifetime import attention
from clinic.services.staffing.common import import_values, require_admin


def list_rooms() -> list[Room]:
    return list(db_session().scalars(select(Room).order_by(Room.active.desc(), Room.code)))


def list_devices() -> list[Device]:
    return list(db_session().scalars(select(Device).order_by(Device.active.desc(), Device.code)))


def save_room(*, actor: Actor, code: str, name: str) -> Room:
    require_admin(actor)
    with catalogue_transaction() as s:
        import_values(s, {"rooms": [{"code": code, "name": name}]})
        row: Room | None = s.scalar(select(Room).where(Room.code == code))
        assert row is not None
        record(s, actor, "save", "room", row.id, code=code)
    return row


def save_device(
    *,
    actor: Actor,
    code: str,
    kind: str,
    name: str,
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """Add a device or change one; a device of another kind can break the sessions booked
    on it (shown first, flagged once confirmed)."""
    require_admin(actor)
    cause = f"Device {code} changed"
    with (
        attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change,
        catalogue_transaction() as s,
    ):
        import_values(s, {"devices": [{"code": code, "kind": kind, "name": name}]})
        row: Device | None = s.scalar(select(Device).where(Device.code == code))
        assert row is not None
        record(s, actor, "save", "device", row.id, code=code)
        change.concerns(attention.of_device(row.id))
    return change


def set_active(
    *,
    actor: Actor,
    kind: str,
    record_id: int,
    active: bool,
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """Take a room or device out of use or back into use. The sessions booked on one taken
    out of use break: shown first, flagged once confirmed; back in use, they are judged
    again and their flags go."""
    require_admin(actor)
    model = {"room": Room, "device": Device}.get(kind)
    if model is None:
        raise NotFound(f"Unknown kind {kind!r}.")
    row: Any = db_session().get(model, record_id)
    if row is None:
        raise NotFound(f"There is no such {kind}.")
    cause = f"{row.name} {'back in use' if active else 'out of use'}"
    scope = attention.of_room(record_id) if kind == "room" else attention.of_device(record_id)
    with (
        attention.world_change(
            actor=actor, cause=cause, confirm=confirm, now=now, mends=active
        ) as change,
        catalogue_transaction() as s,
    ):
        row = s.get(model, record_id)
        if row is None:
            raise NotFound(f"There is no such {kind}.")
        row.active = active
        record(s, actor, "activate" if active else "deactivate", kind, row.id)
        change.concerns(scope)
    return change
