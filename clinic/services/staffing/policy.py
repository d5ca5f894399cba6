"""The clinic's policy: its name, slot grid, change-notice hours, booking horizon, how long a
screening stays valid, and whether a no-show uses its session up (DOMAIN.md "A course over its
lifetime": no-show and make-up)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from clinic.models import ClinicSettings
from clinic.services.core.actors import Actor
from clinic.services.core.audit import record
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.errors import InvalidData
from clinic.services.staffing.common import clinic_section, import_values, require_admin

MAX_SCREENING_VALID_DAYS = 3650


def update_policy(
    *,
    actor: Actor,
    name: str,
    slot_minutes: int,
    notice_hours: int,
    horizon_days: int,
    screening_valid_days: int,
    no_show_uses_session: bool = False,
    photos_shown_to_clients: bool | None = None,
    address: str | None = None,
) -> ClinicSettings:
    """The clinic's name and postal address (None: as it is), slot grid, change-notice policy, booking horizon, how long a
    screening stays valid, and whether a no-show uses its session up (no make-up)."""
    require_admin(actor)
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
        section = clinic_section()
        section.update(name=name, slot_minutes=slot_minutes)
        if address is not None:
            section["address"] = address
        section["policy"] = {
            "client_change_notice_hours": notice_hours,
            "horizon_days": horizon_days,
            "no_show_uses_session": no_show_uses_session,
            # None: as it is (callers that do not ask about photos leave them alone).
            "photos_shown_to_clients": section["policy"].get("photos_shown_to_clients", False)
            if photos_shown_to_clients is None
            else photos_shown_to_clients,
        }
        try:
            import_values(s, {"clinic": section})
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
            photos_shown_to_clients=section["policy"]["photos_shown_to_clients"],
            address=row.address,
        )
    return row


def _policy_fields(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {
        "address": "address",
        "policy.client_change_notice_hours": "notice_hours",
        "policy.horizon_days": "horizon_days",
    }
    return [{**e, "field": names.get(str(e.get("field")), e.get("field"))} for e in errors]
