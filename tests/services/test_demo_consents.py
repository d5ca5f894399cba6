"""The demo's consents (issue 21): signed clients, one who has not signed, and one whose paper
signature ends inside her course; the attention list shows the sessions that wait."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from clinic.demo import load_demo
from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, Client, ClientConsent

WINTER = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def client(name: str) -> Client:
    return db.session.scalar(select(Client).where(Client.name == name))


def flagged(name: str) -> dict[int, list[str]]:
    rows = db.session.execute(
        select(Appointment.session, AttentionFlag.errors)
        .join(AttentionFlag, AttentionFlag.appointment_id == Appointment.id)
        .where(Appointment.client_id == client(name).id)
    )
    return {session: [e["code"] for e in errors] for session, errors in rows}


def sessions(name: str) -> list[int]:
    return sorted(
        db.session.scalars(
            select(Appointment.session).where(
                Appointment.client_id == client(name).id, Appointment.to_come(WINTER)
            )
        )
    )


def test_the_demo_shows_the_gate_signed_unsigned_and_expiring(app) -> None:
    load_demo(WINTER)

    signed = db.session.scalars(
        select(ClientConsent.how).where(ClientConsent.client_id == client("Sophie Braun").id)
    ).all()
    assert signed and set(signed) <= {"online", "paper"}
    assert (
        db.session.scalar(
            select(func.count()).where(ClientConsent.client_id == client("Clara Zimmermann").id)
        )
        == 0
    )
    clara = sessions("Clara Zimmermann")
    assert clara and flagged("Clara Zimmermann") == {n: ["consent_required"] for n in clara}
    marie = flagged("Marie Klein")
    assert marie and set(marie) < set(sessions("Marie Klein"))
    assert flagged("Sophie Braun") == {}


def test_loading_the_demo_again_adds_no_signature(app) -> None:
    load_demo(WINTER)
    before = db.session.scalar(select(func.count()).select_from(ClientConsent))
    load_demo(WINTER)
    assert db.session.scalar(select(func.count()).select_from(ClientConsent)) == before
