"""When the clinic is open: its weekly opening hours and its holidays (DOMAIN.md "A course over
its lifetime": shorter hours or a new holiday break the sessions booked then, shown first,
flagged once confirmed; opening again judges them again)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from clinic.models import Holiday, utcnow
from clinic.services import catalogue
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidRequest, NotFound
from clinic.services.lifetime import attention
from clinic.services.staffing.common import clinic_section, days_text, import_values, require_admin


def opening_hours_json() -> dict[str, list[list[str]]]:
    return dict(clinic_section()["opening_hours"])


def set_opening_hours(
    *,
    actor: Actor,
    hours: dict[str, list[list[str]]],
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """The clinic's weekly opening hours. Shorter hours can break booked sessions on the
    weekdays whose hours changed (only those are judged): shown first, flagged once
    confirmed."""
    require_admin(actor)
    now = now or utcnow()
    with (
        attention.world_change(
            actor=actor, cause="Opening hours changed", confirm=confirm, now=now
        ) as change,
        catalogue_transaction() as s,
    ):
        section = clinic_section()
        before = section["opening_hours"]
        section["opening_hours"] = hours
        import_values(s, {"clinic": section})
        record(s, actor, "update", "opening_hours", None, hours=hours)
        after = opening_hours_json()
        changed = [
            i for i, d in enumerate(catalogue.WEEKDAYS) if before.get(d, []) != after.get(d, [])
        ]
        change.concerns(attention.on_weekdays(changed, now=now))
    return change


def list_holidays() -> list[Holiday]:
    return list(db_session().scalars(select(Holiday).order_by(Holiday.day)))


def add_holiday(
    *,
    actor: Actor,
    day: date,
    name: str,
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """The clinic is closed on `day`: the sessions booked that day break (shown first,
    flagged once confirmed)."""
    require_admin(actor)
    if len(name) > 120:
        raise InvalidRequest("Keep the name under 120 characters.", field="name")
    cause = f"Holiday on {days_text(day, day)}"
    with (
        attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change,
        catalogue_transaction() as s,
    ):
        if s.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
            raise InvalidRequest(f"{day.isoformat()} is already a holiday.", field="day")
        row = Holiday(day=day, name=name.strip())
        s.add(row)
        s.flush()
        record(s, actor, "add", "holiday", row.id, day=day.isoformat())
        change.concerns(attention.on_days(day, day))
    return change


def remove_holiday(
    *, actor: Actor, holiday_id: int, now: datetime | None = None
) -> attention.WorldChange:
    """Open again on a holiday: the sessions of that day are judged again and the flags of
    those that hold go. Opening cannot break a booking, so it never asks."""
    require_admin(actor)
    with (
        attention.world_change(
            actor=actor, cause="Holiday removed", confirm=True, now=now, mends=True
        ) as change,
        catalogue_transaction() as s,
    ):
        row = s.get(Holiday, holiday_id)
        if row is None:
            raise NotFound("There is no such holiday.")
        s.delete(row)
        record(s, actor, "remove", "holiday", holiday_id)
        change.concerns(attention.on_days(row.day, row.day))
    return change
