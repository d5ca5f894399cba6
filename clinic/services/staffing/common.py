"""What every editor of the clinic's set-up shares (DOMAIN.md "Who uses it": the admin's part):
the admin check, writing through the catalogue file's checks, and the file's shapes.

Values that the catalogue file also carries (hours, rooms, devices, the policy) are checked
and written by the catalogue file's reader and writer (`catalogue.import_into`) with a small
file, so the browser and an imported file refuse the same values with the same messages.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from clinic.models import Holiday, OpeningHours
from clinic.services import catalogue
from clinic.services.core import clinic_setup
from clinic.services.core.actors import Actor
from clinic.services.core.db import db_session
from clinic.services.core.errors import InvalidData, PermissionDenied
from clinic.services.core.permissions import is_admin

_PATH = re.compile(r"^(?:\w+\[\d+\]|clinic)\.?")


def require_admin(actor: Actor) -> None:
    if not is_admin(actor):
        raise PermissionDenied("Only the clinic's admin changes its set-up.")


def import_values(s: Any, data: dict[str, Any]) -> None:
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
        out.setdefault(catalogue.WEEKDAYS[weekday], []).append(
            [start.strftime("%H:%M"), end.strftime("%H:%M")]
        )
    return out


def clinic_section() -> dict[str, Any]:
    """The clinic's section of the catalogue file, as stored."""
    row = clinic_setup.settings()
    return {
        "name": row.name,
        "address": row.address,
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
            "photos_shown_to_clients": row.photos_shown_to_clients,
        },
    }


def days_text(first: date, last: date) -> str:
    if first == last:
        return first.strftime("%a %d %b %Y")
    return f"{first.strftime('%a %d %b')} to {last.strftime('%a %d %b %Y')}"
