"""The clinic's set-up for its admin: staff accounts and roles, practitioners' hours and time
off, rooms, devices, opening hours, holidays and the change-notice policy.

Values that the catalogue file also carries (hours, rooms, devices, the policy) are checked
and written by the catalogue file's reader and writer (`catalogue.import_into`) with a small
file, so the browser and an imported file refuse the same values with the same messages.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clinic.models import (
    STAFF_ROLES,
    ClinicSettings,
    Device,
    Holiday,
    OpeningHours,
    Practitioner,
    Room,
    TimeOff,
    User,
    utcnow,
)
from clinic.services import catalogue
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.db import db_session, transaction
from clinic.services.core.errors import InvalidData, InvalidRequest, NotFound, PermissionDenied
from clinic.services.core.permissions import is_admin
from clinic.services.lifetime import attention
from clinic.services.people import accounts, logins

WEEKDAYS = catalogue.WEEKDAYS
MAX_SCREENING_VALID_DAYS = 3650
_PATH = re.compile(r"^(?:\w+\[\d+\]|clinic)\.?")


def _require_admin(actor: Actor) -> None:
    if not is_admin(actor):
        raise PermissionDenied("Only the clinic's admin changes its set-up.")


def _import(s: Any, data: dict[str, Any]) -> None:
    """Write through the catalogue file's checks; errors come back with the record's own paths
    ('hours.mon[0]' rather than 'practitioners[0].hours.mon[0]')."""
    try:
        catalogue.import_into(s, data)
    except InvalidData as exc:
        raise InvalidData(
            [{**e, "field": _PATH.sub("", str(e.get("field", ""))) or "$"} for e in exc.errors]
        ) from exc


def week_json(rows: list[tuple[int, Any, Any]]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for weekday, start, end in sorted(rows):
        out.setdefault(WEEKDAYS[weekday], []).append(
            [start.strftime("%H:%M"), end.strftime("%H:%M")]
        )
    return out


# --- staff accounts ---------------------------------------------------------------------------


def list_staff() -> list[User]:
    return list(
        db_session().scalars(
            select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.role, User.name)
        )
    )


def create_staff_user(*, actor: Actor, email: str, name: str, role: str, password: str) -> User:
    """A staff account; a practitioner's is linked to the practitioner with the same email."""
    _require_admin(actor)
    if role not in STAFF_ROLES:
        raise InvalidRequest(f"Choose one of {', '.join(STAFF_ROLES)}.", field="role")
    user = accounts.create_user(email=email, role=role, password=password, name=name)
    with transaction() as s:
        record(s, actor, "create", "user", user.id, role=role, email=user.email)
    return user


def update_staff_user(
    *, actor: Actor, user_id: int, role: str, active: bool, now: datetime | None = None
) -> User:
    """An admin changes a staff account's role or deactivates it; deactivating ends every
    login and API token of the account, so that activating it again revives none of them."""
    _require_admin(actor)
    if role not in STAFF_ROLES:
        raise InvalidRequest(f"Choose one of {', '.join(STAFF_ROLES)}.", field="role")
    with transaction() as s:
        user = s.get(User, user_id)
        if user is None or user.role not in STAFF_ROLES:
            raise NotFound("There is no such staff account.")
        if user.id == actor.user_id and (role != "admin" or not active):
            raise InvalidRequest(
                "You cannot take away your own admin access; ask another admin.", field="role"
            )
        user.role, user.active = role, active
        if role == "practitioner" and user.practitioner is None:
            practitioner = s.scalar(
                select(Practitioner).where(func.lower(Practitioner.email) == user.email.lower())
            )
            if practitioner is not None and practitioner.user_id is None:
                practitioner.user_id = user.id
        ended: dict[str, int] = {}
        if not active:
            ended["logins"], ended["tokens"] = logins.end_user_logins(
                s, user_id=user.id, now=now or utcnow()
            )
        record(s, actor, "update", "user", user.id, role=role, active=active, **ended)
    return user


# --- practitioners ----------------------------------------------------------------------------


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
    _require_admin(actor)
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
        _import(s, {"practitioners": [values]})
        row: Practitioner | None = s.scalar(
            select(Practitioner).where(func.lower(Practitioner.email) == email.strip().lower())
        )
        assert row is not None
        if row.user_id is None:  # an account with this email becomes this practitioner's
            user = s.scalar(
                select(User).where(
                    func.lower(User.email) == row.email.lower(), User.role == "practitioner"
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
    _require_admin(actor)
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
    _require_admin(actor)
    if len(note) > 200:
        raise InvalidRequest("Keep the note under 200 characters.", field="note")
    p = get_practitioner(practitioner_id)
    cause = f"Time off for {p.name}, {_days_text(start_on, end_on)}"
    with attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change:
        _add_time_off(actor, p.id, start_on, end_on, note)
        change.concerns(attention.practitioner_days(p.id, start_on, end_on))
    return change


def _days_text(first: date, last: date) -> str:
    if first == last:
        return first.strftime("%a %d %b %Y")
    return f"{first.strftime('%a %d %b')} to {last.strftime('%a %d %b %Y')}"


def _add_time_off(
    actor: Actor, practitioner_id: int, start_on: date, end_on: date, note: str
) -> None:
    with catalogue_transaction() as s:
        p = get_practitioner(practitioner_id)
        values = practitioner_values(p)
        values["time_off"].append([start_on.isoformat(), end_on.isoformat()])
        index = len(values["time_off"]) - 1
        try:
            _import(s, {"practitioners": [values]})
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
    _require_admin(actor)
    row = db_session().get(TimeOff, time_off_id)
    if row is None:
        raise NotFound("There is no such time off.")
    cause = f"Time off removed, {_days_text(row.start_on, row.end_on)}"
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


# --- rooms and devices --------------------------------------------------------------------------


def list_rooms() -> list[Room]:
    return list(db_session().scalars(select(Room).order_by(Room.active.desc(), Room.code)))


def list_devices() -> list[Device]:
    return list(db_session().scalars(select(Device).order_by(Device.active.desc(), Device.code)))


def save_room(*, actor: Actor, code: str, name: str) -> Room:
    _require_admin(actor)
    with catalogue_transaction() as s:
        _import(s, {"rooms": [{"code": code, "name": name}]})
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
    _require_admin(actor)
    cause = f"Device {code} changed"
    with (
        attention.world_change(actor=actor, cause=cause, confirm=confirm, now=now) as change,
        catalogue_transaction() as s,
    ):
        _import(s, {"devices": [{"code": code, "kind": kind, "name": name}]})
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
    _require_admin(actor)
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


# --- opening hours, holidays, policy --------------------------------------------------------


def _clinic_section() -> dict[str, Any]:
    row = clinic_setup.settings()
    return {
        "name": row.name,
        "timezone": row.timezone,
        "slot_minutes": row.slot_minutes,
        "opening_hours": week_json(
            [(h.weekday, h.opens, h.closes) for h in db_session().scalars(select(OpeningHours))]
        ),
        "holidays": [
            h.day.isoformat() for h in db_session().scalars(select(Holiday).order_by(Holiday.day))
        ],
        "policy": {
            "client_change_notice_hours": row.client_change_notice_hours,
            "horizon_days": row.horizon_days,
            "no_show_uses_session": row.no_show_uses_session,
        },
    }


def opening_hours_json() -> dict[str, list[list[str]]]:
    return dict(_clinic_section()["opening_hours"])


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
    _require_admin(actor)
    now = now or utcnow()
    with (
        attention.world_change(
            actor=actor, cause="Opening hours changed", confirm=confirm, now=now
        ) as change,
        catalogue_transaction() as s,
    ):
        section = _clinic_section()
        before = section["opening_hours"]
        section["opening_hours"] = hours
        _import(s, {"clinic": section})
        record(s, actor, "update", "opening_hours", None, hours=hours)
        after = opening_hours_json()
        changed = [i for i, d in enumerate(WEEKDAYS) if before.get(d, []) != after.get(d, [])]
        change.concerns(attention.on_weekdays(changed, now=now))
    return change


def update_policy(
    *,
    actor: Actor,
    name: str,
    slot_minutes: int,
    notice_hours: int,
    horizon_days: int,
    screening_valid_days: int,
    no_show_uses_session: bool = False,
) -> ClinicSettings:
    """The clinic's name, slot grid, change-notice policy, booking horizon, how long a
    screening stays valid, and whether a no-show uses its session up (no make-up)."""
    _require_admin(actor)
    errors: list[dict[str, Any]] = []
    if not 1 <= screening_valid_days <= MAX_SCREENING_VALID_DAYS:
        errors.append(
            {
                "code": "out_of_range",
                "field": "screening_valid_days",
                "message": f"A screening stays valid from 1 to {MAX_SCREENING_VALID_DAYS} "
                f"days; got {screening_valid_days}.",
            }
        )
    with catalogue_transaction() as s:
        section = _clinic_section()
        section.update(name=name, slot_minutes=slot_minutes)
        section["policy"] = {
            "client_change_notice_hours": notice_hours,
            "horizon_days": horizon_days,
            "no_show_uses_session": no_show_uses_session,
        }
        try:
            _import(s, {"clinic": section})
        except InvalidData as exc:
            raise InvalidData([*_policy_fields(exc.errors), *errors]) from exc
        if errors:
            raise InvalidData(errors)
        row: ClinicSettings | None = s.scalar(
            select(ClinicSettings).order_by(ClinicSettings.id).limit(1)
        )
        assert row is not None
        row.screening_valid_days = screening_valid_days
        record(
            s,
            actor,
            "update",
            "policy",
            row.id,
            notice_hours=notice_hours,
            horizon_days=horizon_days,
            slot_minutes=slot_minutes,
            screening_valid_days=screening_valid_days,
            no_show_uses_session=no_show_uses_session,
        )
    return row


def _policy_fields(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {
        "policy.client_change_notice_hours": "notice_hours",
        "policy.horizon_days": "horizon_days",
    }
    return [{**e, "field": names.get(str(e.get("field")), e.get("field"))} for e in errors]


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
    _require_admin(actor)
    if len(name) > 120:
        raise InvalidRequest("Keep the name under 120 characters.", field="name")
    cause = f"Holiday on {_days_text(day, day)}"
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
    _require_admin(actor)
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


# --- the catalogue file -----------------------------------------------------------------------


def import_catalogue(
    *, actor: Actor, data: Any, confirm: bool = False, now: datetime | None = None
) -> tuple[catalogue.ImportReport, attention.WorldChange]:
    """Import a catalogue file from the admin page. A file can change anything, so every
    booked future session is judged: without `confirm` nothing is written if any would
    break (the change lists them); with it they are flagged for the attention list."""
    _require_admin(actor)
    if not isinstance(data, dict):
        raise InvalidData(
            [{"code": "wrong_type", "field": "$", "message": "The file must hold a JSON object."}]
        )
    with (
        attention.world_change(
            actor=actor, cause="Catalogue imported", confirm=confirm, now=now
        ) as change,
        catalogue_transaction() as s,
    ):
        report = catalogue.import_into(s, data)
        record(s, actor, "import", "catalogue", None, summary=report.summary())
        change.concerns(attention.every_session())
    return report, change


def import_catalogue_file(
    data: Any, *, dry_run: bool = False, now: datetime | None = None
) -> tuple[catalogue.ImportReport, attention.WorldChange]:
    """`flask catalogue import FILE` (API.md): the file is written and the booked future
    sessions it breaks are flagged; `dry_run` judges the same and writes nothing. A file can
    change anything, so every booked future session is judged."""
    with attention.world_change(
        actor=None, cause="Catalogue imported", confirm=True, now=now, dry_run=dry_run
    ) as change:
        report = catalogue.import_catalogue(data)
        change.concerns(attention.every_session())
    return report, change


def export_catalogue(*, actor: Actor) -> dict[str, Any]:
    _require_admin(actor)
    return catalogue.export_catalogue()
