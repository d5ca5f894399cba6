"""Practitioners' time off: whole days, both ends included (DOMAIN.md "A course over its
lifetime": time off is a change of the world; the sessions it breaks are shown first and
flagged once confirmed)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from clinic.models import TimeOff
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidData, InvalidRequest, NotFound
from clinic.services.lifetime import attention
from clinic.services.staffing.common import days_text, import_values, require_admin
from clinic.services.staffing.practitioners import get_practitioner, practitioner_values


def add_time_off(
    *,
    actor: Actor,
    practitioner_id: int,
    start_on: date,
    end_on: date,
    note: str = "",
    confirm: bool = False,
    now: datetime | None = None,
) -> attention.WorldChange:
    """Whole days off, both ends included; overlapping periods are refused. Booked sessions
    of those days break: without `confirm` nothing is saved if any would (the answer lists
    them); with it they are flagged for the attention list."""
    require_admin(actor)
    if len(note) > 200:
        raise InvalidRequest("Keep the note under 200 characters.", field="note")
    p = get_practitioner(practitioner_id)
    cause = f"Time off for {p.name}, {days_text(start_on, end_on)}"
    with attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change:
        # The scope before the write: its days are in the clinic's time zone, which time off
        # cannot change, read from the worker's catalogue; after the write this transaction
        # reads a catalogue of its own, once more for each question.
        change.concerns(attention.practitioner_days(p.id, start_on, end_on))
        _add_time_off(actor, p.id, start_on, end_on, note)
    return change


def _add_time_off(
    actor: Actor, practitioner_id: int, start_on: date, end_on: date, note: str
) -> None:
    with catalogue_transaction() as s:
        p = get_practitioner(practitioner_id)
        values = practitioner_values(p)
        values["time_off"].append([start_on.isoformat(), end_on.isoformat()])
        index = len(values["time_off"]) - 1
        try:
            import_values(s, {"practitioners": [values]})
        except InvalidData as exc:
            # Only the new period can be wrong; say so on the form's fields.
            raise InvalidData(
                [
                    {
                        **e,
                        "field": {
                            f"time_off[{index}][0]": "start_on",
                            f"time_off[{index}][1]": "end_on",
                        }.get(str(e["field"]), "start_on"),
                    }
                    for e in exc.errors
                ]
            ) from exc
        row: TimeOff | None = s.scalar(
            select(TimeOff).where(
                TimeOff.practitioner_id == p.id,
                TimeOff.start_on == start_on,
                TimeOff.end_on == end_on,
            )
        )
        assert row is not None
        row.note = note.strip()
        s.flush()
        record(
            s,
            actor,
            "add",
            "time_off",
            row.id,
            practitioner=p.id,
            start=start_on.isoformat(),
            end=end_on.isoformat(),
        )


def remove_time_off(
    *, actor: Actor, time_off_id: int, now: datetime | None = None
) -> attention.WorldChange:
    """Remove a period off: the sessions it had broken are judged again (and unflagged if they
    hold now). Removing time off cannot break a booking, so it never asks."""
    require_admin(actor)
    row = db_session().get(TimeOff, time_off_id)
    if row is None:
        raise NotFound("There is no such time off.")
    cause = f"Time off removed, {days_text(row.start_on, row.end_on)}"
    with (
        attention.world_change(
            actor=actor, cause=cause, confirm=True, now=now, mends=True
        ) as change,
        catalogue_transaction() as s,
    ):
        row = s.get(TimeOff, time_off_id)
        if row is None:
            raise NotFound("There is no such time off.")
        s.delete(row)
        record(s, actor, "remove", "time_off", time_off_id, practitioner=row.practitioner_id)
        change.concerns(attention.practitioner_days(row.practitioner_id, row.start_on, row.end_on))
    return change
