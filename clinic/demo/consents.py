"""The demo's consent signatures (issue 21): most clients booked on a peel or the CO2 laser
signed their form, online or on paper; Clara Zimmermann has not (her CO2 sessions wait on the
attention list, "consent missing"), and Marie Klein signed on paper long ago, so her signature
ends inside her peel course and only its later sessions wait there."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic.demo.logins import DEMO_DOMAIN
from clinic.models import Appointment, Client, ClientConsent, ConsentForm, Enrolment, User
from clinic.scheduling import SignedConsent
from clinic.scheduling.rules import consent_violations
from clinic.scheduling.timeutil import local_date
from clinic.services.world import flags
from clinic.services.world.course_catalogue import procedure_rules

UNSIGNED = "Clara Zimmermann"
# (client, how, days ago): a paper signature this old ends inside the client's course.
SIGNED_LONG_AGO = {"Marie Klein": ("paper", 340)}


def add_consents(
    s: Session, clients: list[tuple[Client, str | None]], tz: ZoneInfo, now: datetime
) -> None:
    """Sign the forms of the demo clients' courses (only for clients without any signature, so
    a second load changes nothing), then flag the future sessions that still lack one."""
    forms = list(
        s.scalars(
            select(ConsentForm).options(
                selectinload(ConsentForm.procedures), selectinload(ConsentForm.versions)
            )
        )
    )
    # The demo's front desk (demo/logins.py) recorded the paper signatures.
    desk = s.scalar(select(User).where(User.email == f"reception@{DEMO_DOMAIN}"))
    for index, (client, _) in enumerate(clients):
        if client.name == UNSIGNED or s.scalar(
            select(ClientConsent.id).where(ClientConsent.client_id == client.id).limit(1)
        ):
            continue
        enrolled = {
            e.course.procedure_id
            for e in s.scalars(select(Enrolment).where(Enrolment.client_id == client.id))
        }
        if not enrolled:
            continue
        how, ago = SIGNED_LONG_AGO.get(client.name, ("online" if index % 2 else "paper", 20))
        signed_at = now - timedelta(days=ago)
        for form in forms:
            version = form.current
            if version is None or not enrolled & {p.id for p in form.procedures}:
                continue
            signed_on = local_date(signed_at, tz)
            s.add(
                ClientConsent(
                    client_id=client.id,
                    form_id=form.id,
                    version_id=version.id,
                    text_sha256=version.sha256,
                    signed_name=client.name,
                    how=how,
                    signed_at=signed_at,
                    signed_on=signed_on,
                    valid_until=signed_on + timedelta(days=form.valid_days),
                    recorded_by_id=client.user_id if how == "online" else desk.id if desk else None,
                )
            )
    s.flush()
    _flag_unsigned(s, [c for c, _ in clients], tz, now)


def _flag_unsigned(s: Session, clients: list[Client], tz: ZoneInfo, now: datetime) -> None:
    """Put the demo's future sessions that lack a valid consent on the attention list, as
    booking them at the desk would have (world.flags.raise_for)."""
    for client in clients:
        signed = tuple(
            SignedConsent(c.form.code, c.version.number, c.signed_on, c.valid_until)
            for c in s.scalars(select(ClientConsent).where(ClientConsent.client_id == client.id))
        )
        flagged = {}
        for a in s.scalars(
            select(Appointment).where(Appointment.client_id == client.id, Appointment.to_come(now))
        ):
            procedure = procedure_rules(a.enrolment.course.procedure)
            missing = consent_violations(
                session=a.session, start=a.start_at, procedure=procedure, consents=signed, tz=tz
            )
            if missing:
                flagged[a.id] = missing
        flags.raise_for(flagged, now=now)
