"""The clinic's set-up for its admin: staff accounts and roles, practitioners' hours and time
off, rooms, devices, opening hours, holidays and the change-notice policy.

Values that the catalogue file also carries (hours, rooms, devices, the policy) are checked
and written by the catalogue file's reader and writer (`catalogue.import_into`) with a small
file, so the browser and an imported file refuse the same values with the same messages.
"""

from __future__ import annotations

import re
from datetime import date
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
)
from clinic.services import accounts, catalogue, clinic_setup
from clinic.services.actors import Actor
from clinic.services.audit import record
from clinic.services.cache import catalogue_transaction
from clinic.services.db import db_session, transaction
from clinic.services.errors import InvalidData, InvalidRequest, NotFound, PermissionDenied
from clinic.services.permissions import is_admin

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


def update_staff_user(*, actor: Actor, user_id: int, role: str, active: bool) -> User:
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
        record(s, actor, "update", "user", user.id, role=role, active=active)
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
) -> Practitioner:
    """Create a practitioner or change one's name, qualifications and weekly hours."""
    _require_admin(actor)
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


def set_practitioner_active(*, actor: Actor, practitioner_id: int, active: bool) -> Practitioner:
    _require_admin(actor)
    with catalogue_transaction() as s:
        p = get_practitioner(practitioner_id)
        p.active = active
        record(s, actor, "activate" if active else "deactivate", "practitioner", p.id)
    return p


def add_time_off(
    *, actor: Actor, practitioner_id: int, start_on: date, end_on: date, note: str = ""
) -> TimeOff:
    """Whole days off, both ends included; overlapping periods are refused."""
    _require_admin(actor)
    if len(note) > 200:
        raise InvalidRequest("Keep the note under 200 characters.", field="note")
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
    return row


def remove_time_off(*, actor: Actor, time_off_id: int) -> None:
    _require_admin(actor)
    with catalogue_transaction() as s:
        row = s.get(TimeOff, time_off_id)
        if row is None:
            raise NotFound("There is no such time off.")
        s.delete(row)
        record(s, actor, "remove", "time_off", time_off_id, practitioner=row.practitioner_id)


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


def save_device(*, actor: Actor, code: str, kind: str, name: str) -> Device:
    _require_admin(actor)
    with catalogue_transaction() as s:
        _import(s, {"devices": [{"code": code, "kind": kind, "name": name}]})
        row: Device | None = s.scalar(select(Device).where(Device.code == code))
        assert row is not None
        record(s, actor, "save", "device", row.id, code=code)
    return row


def set_active(*, actor: Actor, kind: str, record_id: int, active: bool) -> None:
    """Take a room or device out of use (existing bookings keep it) or back into use."""
    _require_admin(actor)
    model = {"room": Room, "device": Device}.get(kind)
    if model is None:
        raise NotFound(f"Unknown kind {kind!r}.")
    with catalogue_transaction() as s:
        row: Any = s.get(model, record_id)
        if row is None:
            raise NotFound(f"There is no such {kind}.")
        row.active = active
        record(s, actor, "activate" if active else "deactivate", kind, row.id)


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


def set_opening_hours(*, actor: Actor, hours: dict[str, list[list[str]]]) -> None:
    _require_admin(actor)
    with catalogue_transaction() as s:
        section = _clinic_section()
        section["opening_hours"] = hours
        _import(s, {"clinic": section})
        record(s, actor, "update", "opening_hours", None, hours=hours)


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


def add_holiday(*, actor: Actor, day: date, name: str) -> Holiday:
    _require_admin(actor)
    if len(name) > 120:
        raise InvalidRequest("Keep the name under 120 characters.", field="name")
    with catalogue_transaction() as s:
        if s.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
            raise InvalidRequest(f"{day.isoformat()} is already a holiday.", field="day")
        row = Holiday(day=day, name=name.strip())
        s.add(row)
        s.flush()
        record(s, actor, "add", "holiday", row.id, day=day.isoformat())
    return row


def remove_holiday(*, actor: Actor, holiday_id: int) -> None:
    _require_admin(actor)
    with catalogue_transaction() as s:
        row = s.get(Holiday, holiday_id)
        if row is None:
            raise NotFound("There is no such holiday.")
        s.delete(row)
        record(s, actor, "remove", "holiday", holiday_id)


# --- the catalogue file -----------------------------------------------------------------------


def import_catalogue(*, actor: Actor, data: Any) -> catalogue.ImportReport:
    _require_admin(actor)
    if not isinstance(data, dict):
        raise InvalidData(
            [{"code": "wrong_type", "field": "$", "message": "The file must hold a JSON object."}]
        )
    with catalogue_transaction() as s:
        report = catalogue.import_into(s, data)
        record(s, actor, "import", "catalogue", None, summary=report.summary())
    return report


def export_catalogue(*, actor: Actor) -> dict[str, Any]:
    _require_admin(actor)
    return catalogue.export_catalogue()
