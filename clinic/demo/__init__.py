"""The demo clinic: the catalogue in `clinic/demo/catalogue.json`, accounts and a few weeks of
appointments, loaded in one transaction and safe to load twice.

Choices in the demo catalogue that DOMAIN.md leaves to a cosmetologist (every figure is the
clinic's to change, in the file or later in the staff pages):

- `blocked_by`: both peels are blocked by `no_resurfacing` (no peel on skin still recovering
  from another peel or a laser) and by `no_actives` (acids or retinoids in force means the
  skin is already being exfoliated; a peel on top over-exfoliates). The CO2 laser is blocked
  by `no_resurfacing` only. Facial massage, microcurrent and facial taping are blocked by
  `no_makeup`: while makeup is still forbidden the treated skin has not closed, and rubbing,
  gel and probes or tape adhesive do not belong on it either. `no_retinoids` blocks nothing;
  it exists as pre-care (stop retinoids 5 days before a peel).
- Beyond DOMAIN.md's figures, the medium TCA peel also gets the peel pre-care (no sun 14 days,
  no retinoids 5 days before), `no_actives` 14 days and `no_resurfacing` 28 days after, and
  the contraindications active herpes and pregnancy, as for the superficial peel: a deeper
  peel is never gentler than a lighter one.
- Every course whose aftercare blocks its own procedure keeps that restriction no longer
  than its minimum interval, so each course can be booked at its stated spacing.

Demo passwords are for the demo only and are printed by `flask --app clinic demo`.

Modules: `logins` (staff accounts and their demo passwords), `clients` (the demo's clients
with their screening and declared plans), `appointments` (their past and future sessions).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from clinic.demo.appointments import DemoCalendar
from clinic.demo.clients import add_clients
from clinic.demo.consents import add_consents
from clinic.demo.logins import DemoAccounts, DemoLogins, Login, add_staff
from clinic.models import ClinicSettings, Enrolment
from clinic.services.catalogue import import_into
from clinic.services.core.cache import catalogue_transaction
from clinic.services.core.errors import InvalidRequest

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.json"

__all__ = ["CATALOGUE_PATH", "DemoLogins", "Login", "demo_catalogue", "load_demo"]


def demo_catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return data


def load_demo(now: datetime, *, force: bool = False) -> DemoLogins:
    """Load the demo clinic as of `now` (timezone-aware). Running it again changes nothing.

    Refuses a database that holds another clinic's set-up unless `force`: the demo's
    opening hours and time zone would replace that clinic's.
    """
    if now.tzinfo is None:
        raise InvalidRequest("`now` must be timezone-aware.")
    data = demo_catalogue()
    with catalogue_transaction() as s:
        settings = s.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
        if settings is not None and settings.name != data["clinic"]["name"] and not force:
            raise InvalidRequest(
                f"This database holds the set-up of {settings.name!r}; loading the demo would "
                "replace its hours, time zone and policies. Use an empty database."
            )
        result = DemoLogins(catalogue=import_into(s, data))
        accounts = DemoAccounts(s, result)
        add_staff(accounts, data)
        clients = add_clients(accounts, data, now)
        s.flush()
        if not s.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.client_id.in_(c.id for c, _ in clients)
            )
        ):
            result.appointments_created = DemoCalendar(s, now).fill(clients)
        add_consents(s, clients, ZoneInfo(data["clinic"]["timezone"]), now)
    return result
