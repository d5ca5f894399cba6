"""A client's declared periods: a beach holiday, a wedding or event, which the planner must
respect (DOMAIN.md "Rules every booking must satisfy", rule 3; a new period is a change of the
world, "A course over its lifetime").

The validation of a declared period lives here, so the client pages and the JSON API refuse the
same input with the same words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from clinic.models import PERIOD_KINDS, ClientPeriod, utcnow
from clinic.services.core import date_range
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.db import transaction
from clinic.services.core.errors import InvalidData, NotFound
from clinic.services.lifetime import attention
from clinic.services.people.clients import get_client, locked_client

PERIOD_LABELS = {"sun_exposure": "Beach holiday or other sun", "needs_makeup": "Wedding or event"}
MAX_NOTE = 200
MAX_PERIOD_DAYS = 366
MAX_PERIOD_AHEAD_DAYS = 3 * 366


def validate_period(
    *, kind: str, start_on: date | None, end_on: date | None, note: str, today: date
) -> list[dict[str, Any]]:
    """Field errors for a declared period, as {code, message, field}."""
    errors: list[dict[str, Any]] = []

    def err(field: str, code: str, message: str) -> None:
        errors.append({"code": code, "message": message, "field": field})

    if kind not in PERIOD_KINDS:
        err("kind", "unknown_kind", "Choose a beach holiday or a wedding or event.")
    if start_on is None:
        err("start", "required", "Give the first day.")
    if end_on is None:
        err("end", "required", "Give the last day.")
    if len(note) > MAX_NOTE:
        err("note", "too_long", f"Keep the note under {MAX_NOTE} characters.")
    if start_on is None or end_on is None:
        return errors
    if end_on < start_on:
        err("end", "end_before_start", "The last day is before the first day.")
    elif end_on < today:
        err("end", "in_the_past", "This period is already over.")
    elif (end_on - start_on).days >= MAX_PERIOD_DAYS:
        err("end", "too_long", "A period can last at most a year; add several if you need to.")
    elif start_on > today + timedelta(days=MAX_PERIOD_AHEAD_DAYS):
        err("start", "too_far", "This is more than three years ahead.")
    return errors


def list_periods(*, actor: Actor, client_id: int | None = None) -> list[ClientPeriod]:
    return list(get_client(actor=actor, client_id=client_id).periods)


def add_period(
    *,
    actor: Actor,
    client_id: int | None = None,
    kind: str,
    start_on: date | None,
    end_on: date | None,
    note: str = "",
    now: datetime | None = None,
) -> tuple[ClientPeriod, attention.WorldChange]:
    """Declare a period the planner must respect (rule 3 of DOMAIN.md). It can break the
    client's booked sessions (aftercare over a beach holiday): the change is kept and they
    are flagged for the attention list (the change lists them)."""
    now = now or utcnow()
    note = " ".join(note.split())
    errors = validate_period(
        kind=kind, start_on=start_on, end_on=end_on, note=note, today=date_range.clinic_today(now)
    )
    if errors:
        raise InvalidData(errors)
    assert start_on is not None and end_on is not None
    label = PERIOD_LABELS.get(kind, kind)
    cause = f"New period: {label}, {start_on.isoformat()} to {end_on.isoformat()}"
    with (
        attention.world_change(actor=actor, cause=cause, confirm=True, now=now) as change,
        transaction() as s,
    ):
        client = locked_client(actor, client_id)
        change.concerns(attention.of_client(client.id))
        period = ClientPeriod(kind=kind, start_on=start_on, end_on=end_on, note=note)
        client.periods.append(period)
        s.flush()
        record(
            s,
            actor,
            "add_period",
            "client_period",
            period.id,
            client_id=client.id,
            kind=kind,
            start=start_on.isoformat(),
            end=end_on.isoformat(),
        )
    return period, change


def remove_period(
    *, actor: Actor, client_id: int | None = None, period_id: int, now: datetime | None = None
) -> attention.WorldChange:
    """Drop a declared period: the sessions it had broken are judged again and lose their
    flags if they hold now. Removing a period cannot break a booking."""
    with (
        attention.world_change(
            actor=actor, cause="Period removed", confirm=True, now=now, mends=True
        ) as change,
        transaction() as s,
    ):
        client = locked_client(actor, client_id)
        change.concerns(attention.of_client(client.id))
        period = next((p for p in client.periods if p.id == period_id), None)
        if period is None:
            raise NotFound("There is no such period.")
        client.periods.remove(period)
        record(
            s,
            actor,
            "remove_period",
            "client_period",
            period_id,
            client_id=client.id,
            kind=period.kind,
            start=period.start_on.isoformat(),
            end=period.end_on.isoformat(),
        )
    return change
