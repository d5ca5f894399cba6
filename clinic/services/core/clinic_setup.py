"""The clinic's set-up as the engine sees it: its settings and clock (the one source of the
clinic's time zone for services, pages, emails and .ics), opening hours and holidays,
practitioners with their hours and time off, devices and rooms.

Each worker keeps it under the catalogue's version (clinic/services/cache.py); values derived
from catalogue tables alone can be kept with it (`from_catalogue`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import selectinload

from clinic.models import (
    ClinicSettings,
    Device,
    Holiday,
    OpeningHours,
    Practitioner,
    Room,
)
from clinic.scheduling import (
    ClinicRules,
    Equipment,
    PractitionerCalendar,
)
from clinic.scheduling.types import WeeklyHours
from clinic.services.core import cache
from clinic.services.core.db import db_session, per_transaction

T = TypeVar("T")


def settings() -> ClinicSettings:
    """The clinic's settings row, read once per transaction (a request asks for it often);
    a write in the transaction changes this same object, so it is not read again."""
    return per_transaction("settings", _load_settings, through_writes=True)


def _load_settings() -> ClinicSettings:
    row = db_session().scalar(select(ClinicSettings).limit(1))
    if row is None:
        row = ClinicSettings(
            name="Clinic",
            timezone=current_app.config["CLINIC_TIMEZONE"],
            slot_minutes=15,
            client_change_notice_hours=24,
            horizon_days=365,
            screening_valid_days=180,
            no_show_uses_session=False,
        )
    return row


def clinic_tz() -> ZoneInfo:
    return clinic_rules().tz


def clinic_rules() -> ClinicRules:
    return kept_catalogue().rules


def _load_clinic_rules() -> ClinicRules:
    row = settings()
    opening: dict[int, list[tuple[time, time]]] = {}
    for oh in db_session().scalars(
        select(OpeningHours).order_by(OpeningHours.weekday, OpeningHours.opens)
    ):
        opening.setdefault(oh.weekday, []).append((oh.opens, oh.closes))
    holidays = frozenset(db_session().scalars(select(Holiday.day)))
    return ClinicRules(
        tz=ZoneInfo(row.timezone),
        opening={k: tuple(v) for k, v in opening.items()},
        holidays=holidays,
        slot_minutes=row.slot_minutes,
        change_notice=timedelta(hours=row.client_change_notice_hours),
        horizon_days=row.horizon_days,
    )


def _weekly(rows: Iterable[tuple[int, time, time]]) -> WeeklyHours:
    out: dict[int, list[tuple[time, time]]] = {}
    for weekday, a, b in rows:
        out.setdefault(weekday, []).append((a, b))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _load_catalogue(version: int) -> cache.Catalogue:
    rules = _load_clinic_rules()
    practitioners = db_session().scalars(
        select(Practitioner)
        .options(
            selectinload(Practitioner.qualifications),
            selectinload(Practitioner.hours),
            selectinload(Practitioner.time_off),
        )
        .where(Practitioner.active.is_(True))
        .order_by(Practitioner.id)
    )
    calendars = tuple(
        PractitionerCalendar(
            id=p.id,
            name=p.name,
            qualifications=frozenset(p.qualification_codes),
            hours=_weekly((h.weekday, h.starts, h.ends) for h in p.hours),
            time_off=tuple((t.start_on, t.end_on) for t in p.time_off),
        )
        for p in practitioners
    )
    devices = tuple(
        Equipment(d.id, d.name, d.kind)
        for d in db_session().scalars(
            select(Device).where(Device.active.is_(True)).order_by(Device.id)
        )
    )
    rooms = tuple(
        Equipment(r.id, r.name)
        for r in db_session().scalars(select(Room).where(Room.active.is_(True)).order_by(Room.id))
    )
    return cache.Catalogue(version, rules, calendars, devices, rooms)


def kept_catalogue() -> cache.Catalogue:
    """The catalogue for this transaction (the worker's own while its version holds)."""
    return cache.catalogue(_load_catalogue)


def from_catalogue(key: object, load: Callable[[], T]) -> T:
    """`load()`'s answer, which must read the catalogue tables only (clinic/models/versions.py),
    kept by the worker until the catalogue changes. A `load()` that raises keeps nothing."""
    return cache.derived(kept_catalogue(), key, load)


def resource_codes() -> dict[str, dict[int, str]]:
    """Codes of devices and rooms by id, for answers that name them."""

    def load() -> dict[str, dict[int, str]]:
        # One round trip for both.
        both = union_all(
            select(literal("devices").label("kind"), Device.id, Device.code),
            select(literal("rooms").label("kind"), Room.id, Room.code),
        )
        codes: dict[str, dict[int, str]] = {"devices": {}, "rooms": {}}
        for kind, i, code in db_session().execute(both):
            codes[kind][i] = code
        return codes

    return from_catalogue("resource_codes", load)
