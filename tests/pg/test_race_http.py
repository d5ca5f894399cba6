"""Races over HTTP: gunicorn with 4 workers on PostgreSQL, 50 clients booking at once.

The app runs as in production (`CLINIC_ENV=production`, several worker processes, each with
threads), so the requests really are checked and written at the same time by different
processes; only the database's exclusion constraints can keep the calendar whole.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import ApiToken, Appointment, Client, Enrolment, User, utcnow
from tests import factories as f
from tests.clock import BERLIN, monday
from tests.pg.http import Server, at_once

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
RACERS = 50
WORKERS = 4


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=BERLIN).isoformat()


def make_racers(n: int) -> list[str]:
    """n screened clients, each with a bearer token (written directly: hashing n passwords
    is slow)."""
    password_hash = f.make_user("client").password_hash
    tokens = []
    for i in range(n):
        user = User(
            email=f"racer{i}@example.com",
            name=f"Racer {i}",
            role="client",
            password_hash=password_hash,
        )
        db.session.add(user)
        db.session.flush()
        # Screened now: clients book only with a current health screening.
        db.session.add(
            Client(
                user_id=user.id, name=user.name, email=user.email, screening_confirmed_at=utcnow()
            )
        )
        token = secrets.token_urlsafe(24)
        db.session.add(
            ApiToken(
                user_id=user.id,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        tokens.append(token)
    f.commit()
    return tokens


def race(server: Server, bodies: list[tuple[str, dict[str, object]]]) -> list[tuple[int, dict]]:
    """POST every (token, body) to /api/v1/enrolments at the same moment."""
    calls = [
        functools.partial(server.post, "/api/v1/enrolments", token, body) for token, body in bodies
    ]
    return at_once(calls)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def assert_one_winner(answers: list[tuple[int, dict]]) -> None:
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: RACERS - 1}, (statuses, [a for a in answers if a[0] != 409])
    for status, body in answers:
        if status == 409:
            assert body["errors"][0]["code"]  # a rule code or slot_taken, never a bare 409


def test_fifty_clients_booking_the_same_last_slot_get_one_201_and_409s(app, server) -> None:
    f.make_clinic()
    practitioner = f.make_practitioner()
    f.make_course()
    tokens = make_racers(RACERS)
    slot = {
        "course": "peel_course",
        "sessions": [{"start": at(monday(3), 10), "practitioner": practitioner.id}],
    }
    answers = race(server, [(t, slot) for t in tokens])
    assert_one_winner(answers)
    assert count(Appointment) == 1 and count(Enrolment) == 1


def test_fifty_clients_racing_for_a_device_two_practitioners_share_get_one_201(app, server) -> None:
    f.make_clinic()
    f.make_device()
    laser = f.make_procedure(
        code="co2",
        name="CO2 laser",
        duration_min=60,
        qualification="laser",
        device_kind="co2_laser",
        price=Decimal("250.00"),
    )
    f.make_course(
        code="co2_once",
        name="CO2 laser, one session",
        procedure=laser,
        sessions=1,
        aftercare=[],
        contraindications=[],
    )
    anna = f.make_practitioner(qualifications=["laser"])
    ben = f.make_practitioner(qualifications=["laser"])
    tokens = make_racers(RACERS)
    start = at(monday(3), 11)
    bodies = [
        (
            token,
            {
                "course": "co2_once",
                "sessions": [{"start": start, "practitioner": (anna, ben)[i % 2].id}],
            },
        )
        for i, token in enumerate(tokens)
    ]
    answers = race(server, bodies)
    assert_one_winner(answers)
    assert count(Appointment) == 1


def test_fifty_whole_course_bookings_whose_third_session_collides_write_one_course(
    app, server
) -> None:
    f.make_clinic()
    practitioner = f.make_practitioner()
    f.make_course(
        code="three",
        name="Peel, 3 sessions",
        sessions=3,
        min_interval_days=7,
        max_interval_days=60,
        aftercare=[],
        contraindications=[],
    )
    tokens = make_racers(RACERS)
    # Sessions 1 and 2 are each client's own (8 slots a day, 09:00-16:00, weekdays of two
    # weeks); session 3 is the same slot for everybody.
    weekdays = [monday(3) + timedelta(days=d) for d in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]
    third = at(monday(9), 10)
    bodies = []
    for i, token in enumerate(tokens):
        day, hour = weekdays[i // 8], 9 + i % 8
        sessions = [
            {"start": at(day, hour), "practitioner": practitioner.id},
            {"start": at(day + timedelta(days=21), hour), "practitioner": practitioner.id},
            {"start": third, "practitioner": practitioner.id},
        ]
        bodies.append((token, {"course": "three", "sessions": sessions}))
    answers = race(server, bodies)
    assert_one_winner(answers)
    # Only the winner's three sessions exist: no loser's first or second session was kept.
    assert count(Enrolment) == 1
    assert count(Appointment) == 3
