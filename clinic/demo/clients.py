"""The demo's clients: their accounts, screening answers and declared plans."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from clinic.demo.logins import DEMO_DOMAIN, DemoAccounts
from clinic.models import Client, ClientCondition, ClientPeriod
from clinic.scheduling.timeutil import local_date

# A condition: (code, present now, days since last seen); a declared period: (kind, first and
# last day counted from today, note).
_Condition = tuple[str, bool, int | None]
_Period = tuple[str, int, int, str]
# (name, conditions, declared periods, the course wanted, screening done)
_CLIENTS: list[tuple[str, list[_Condition], list[_Period], str | None, bool]] = [
    ("Sophie Braun", [], [], "glycolic_course", True),
    ("Laura Hoffmann", [("isotretinoin", False, 60)], [], "massage_course", True),
    ("Julia Wagner", [("rosacea", True, None)], [], "microcurrent_course", True),
    ("Hannah Koch", [("pregnancy", True, None)], [], "massage_course", True),
    (
        "Lea Richter",
        [],
        [("sun_exposure", 30, 44, "Beach holiday in Mallorca")],
        "glycolic_course",
        True,
    ),
    ("Marie Klein", [], [("needs_makeup", 12, 12, "Sister's wedding")], "glycolic_course", True),
    ("Katrin Wolf", [], [], "co2_course", True),
    ("Emma Schroeder", [("pacemaker", True, None)], [], "glycolic_course", True),
    ("Mia Neumann", [("active_herpes", False, 200)], [], "tca_course", True),
    ("Lina Schwarz", [], [], "microcurrent_course", True),
    ("Clara Zimmermann", [], [("sun_exposure", 60, 74, "Ski trip")], "co2_course", True),
    ("Nina Krueger", [], [], "massage_course", True),
    ("Paula Hartmann", [("isotretinoin", False, 400)], [], "tca_course", True),
    ("Sarah Lange", [], [], "kinesio_single", True),
    ("Johanna Werner", [], [("needs_makeup", 3, 3, "Gala evening")], "microcurrent_course", True),
    ("Tom Krause", [], [], "massage_course", True),
    ("Felix Meier", [("active_inflammation", True, None)], [], "kinesio_single", True),
    ("Greta Lehmann", [], [], None, False),
    ("Ida Schmitt", [], [], None, False),
    ("Maja Schmid", [], [], None, False),
]


# The skin phototype each screened client gave, in the order of `_CLIENTS`: mostly II to IV,
# as in a central European clinic, with a type V and a type VI (whom the CO2 laser and the
# TCA peel, for types I to IV, turn away).
_PHOTOTYPES = [2, 3, 2, 4, 3, 2, 2, 5, 3, 1, 3, 4, 2, 6, 3, 2, 4]


def _email(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{DEMO_DOMAIN}"


def add_clients(
    accounts: DemoAccounts, data: dict[str, Any], now: datetime
) -> list[tuple[Client, str | None]]:
    """Each demo client with an account, and the code of the course they want (if any). A
    client's screening and periods are written only with a new account, so a second load
    leaves what someone changed since."""
    s = accounts.s
    today = local_date(now, ZoneInfo(data["clinic"]["timezone"]))
    clients: list[tuple[Client, str | None]] = []
    for index, (name, conditions, periods, course, screened) in enumerate(_CLIENTS):
        email = _email(name)
        note = "; ".join(
            [c for c, present, _ in conditions if present]
            + [f"{c} {ago} days ago" for c, present, ago in conditions if not present]
            + [f"{note} in {start} days" for _, start, _, note in periods]
            + ([] if screened else ["no screening yet"])
        )
        user, created = accounts.get_or_create("client", email, name, note)
        client = s.scalar(select(Client).where(func.lower(Client.email) == email))
        if client is None:
            client = Client(email=email, name=name, phone=f"+49305550{100 + index:04d}")
            s.add(client)
        if client.user_id is None:
            client.user_id = user.id
        if created:
            if screened:
                client.screening_confirmed_at = now - timedelta(days=30 + index)
                client.phototype = _PHOTOTYPES[index % len(_PHOTOTYPES)]
            for code, present, ago in conditions:
                last_seen = None if ago is None else today - timedelta(days=ago)
                client.conditions.append(
                    ClientCondition(code=code, present=present, last_on=last_seen, updated_at=now)
                )
            for kind, first, last, period_note in periods:
                client.periods.append(
                    ClientPeriod(
                        kind=kind,
                        start_on=today + timedelta(days=first),
                        end_on=today + timedelta(days=last),
                        note=period_note,
                    )
                )
        s.flush()
        clients.append((client, course))
    return clients
