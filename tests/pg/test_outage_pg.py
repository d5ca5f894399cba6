"""PostgreSQL going away under load (issue 15, defect 7): gunicorn keeps answering, every
request during the outage is a 503 with `Retry-After` and the sentence that the clinic's
system is briefly unavailable (a page, or the API's JSON error), never a 500; `/healthz` says
503; after the restart everything works again by itself, and nothing is half-written.

The test has a server of its own (it is stopped and started again), not the session's one.
"""

from __future__ import annotations

import functools
import json
import threading
import time as clock
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from clinic import create_app
from clinic.errors import database_unavailable
from clinic.extensions import db
from clinic.models import Appointment, Enrolment
from clinic.services.core.db import BUSY
from tests import factories as f
from tests.clock import monday
from tests.conftest import missing
from tests.ops.test_database_errors import error_of
from tests.pg.http import Server, gunicorn
from tests.pg.server import (
    PgServer,
    ServerUnavailable,
    pause_server,
    resume_server,
    start_server,
    stop_server,
)
from tests.pg.test_race_http import at, make_racers
from tests.ports import free_port

pytestmark = pytest.mark.pg

UNAVAILABLE = {
    "errors": [
        {
            "code": "unavailable",
            "message": "The clinic's system is briefly unavailable; please try again in a minute.",
        }
    ]
}
RACERS = 120  # 3 weeks x 5 days x 8 hours: the sessions 21 and 42 days on never meet
LOADERS = 6
OUTAGE_SECONDS = 5


@dataclass
class Answer:
    kind: str
    status: int
    retry_after: str | None
    body: bytes
    at: float
    retried: bool = False


@pytest.fixture(scope="module")
def own_pg() -> Iterator[tuple[PgServer, str]]:
    try:
        server = start_server("clinic_outage")
    except ServerUnavailable as exc:
        missing(str(exc))
        raise AssertionError("unreachable") from exc
    url = server.url("clinic_outage")
    try:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield server, url
    finally:
        stop_server(server)


def fetch(server: Server, kind: str, path: str, token: str, body: bytes | None) -> Answer:
    request = urllib.request.Request(
        server.base + path,
        data=body,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return Answer(kind, response.status, None, response.read(), clock.monotonic())
    except urllib.error.HTTPError as refused:
        with refused:
            retry = refused.headers.get("Retry-After")
            return Answer(kind, refused.code, retry, refused.read(), clock.monotonic())


def _busy(answer: Answer) -> bool:
    if answer.status != 409:
        return False
    return any(e["message"] == BUSY for e in json.loads(answer.body)["errors"])


def healthz(server: Server) -> int:
    return fetch(server, "healthz", "/healthz", "", None).status


def test_postgresql_stopped_under_load_answers_503_then_recovers(own_pg) -> None:
    pg, url = own_pg
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
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
        # Each client books a course of three sessions at times nobody else asks for.
        weekdays = [monday(3) + timedelta(weeks=w, days=d) for w in range(3) for d in range(5)]
        bookings = []
        for i, token in enumerate(tokens):
            day, hour = weekdays[i // 8], 9 + i % 8
            sessions = [
                {"start": at(day + timedelta(days=21 * n), hour), "practitioner": practitioner.id}
                for n in range(3)
            ]
            bookings.append((token, json.dumps({"course": "three", "sessions": sessions}).encode()))
        db.session.remove()
        db.engine.dispose()

    with gunicorn(url, workers=2) as server:
        jobs: list[Callable[[], Answer]] = []
        for n, (token, body) in enumerate(bookings):
            jobs.append(functools.partial(fetch, server, "book", "/api/v1/enrolments", token, body))
            jobs.append(functools.partial(fetch, server, "api", "/api/v1/courses", token, None))
            if n % 2:
                jobs.append(functools.partial(fetch, server, "page", "/courses", "", None))
        jobs.reverse()
        answers: list[Answer] = []
        lock = threading.Lock()
        stop = threading.Event()

        retried: set[int] = set()

        def load() -> None:
            while not stop.is_set():
                with lock:
                    if not jobs:
                        return
                    job = jobs.pop()
                answer = job()
                with lock:
                    answer.retried = id(job) in retried
                    answers.append(answer)
                    if answer.status == 503:  # tried again later, as a client would
                        retried.add(id(job))
                        jobs.insert(0, job)
                if answer.status == 503:
                    clock.sleep(0.05)

        loaders = [threading.Thread(target=load) for _ in range(LOADERS)]
        for t in loaders:
            t.start()
        try:
            clock.sleep(1.5)
            down = clock.monotonic()
            pause_server(pg)
            health_during = healthz(server)
            clock.sleep(OUTAGE_SECONDS)
            resume_server(pg)
            up = clock.monotonic()
            deadline = up + 60
            while healthz(server) != 200 and clock.monotonic() < deadline:
                clock.sleep(0.2)
            clock.sleep(2)  # the load goes on against the restarted server
        finally:
            stop.set()
            for t in loaders:
                t.join(120)

    statuses = Counter((a.kind, a.status) for a in answers)
    assert health_during == 503, statuses
    # A refusal only for a booking tried again after a 503 whose first try had committed
    # after all (the connection went while the answer was being read back): the client holds
    # that course already (422) or its times (409). Counted below among the enrolments.
    odd = [(a.kind, a.status, a.body[:300]) for a in answers if a.status not in (200, 201, 503)]
    # A first try may also meet a lock it could not take while the server restarts: 409 "the
    # calendar is busy; please try again" (services/db.py), the other answer that says retry.
    first = [a for a in answers if not a.retried and not _busy(a)]
    assert {a.status for a in first} <= {200, 201, 503}, (statuses, odd[:3])
    assert {a.status for a in answers if a.retried} <= {200, 201, 409, 422, 503}, odd[:3]
    late = [a for a in answers if a.retried and a.status in (409, 422)]
    unavailable = [a for a in answers if a.status == 503]
    assert unavailable, f"no request met the outage: {statuses}"
    for a in unavailable:
        assert a.retry_after is not None and int(a.retry_after) > 0, a
        if a.kind == "page":
            assert b"briefly unavailable" in a.body, a.body[:300]
        else:
            assert json.loads(a.body) == UNAVAILABLE, a.body[:300]
    assert all(down - 1 <= a.at for a in unavailable), "503 before the outage"
    # It recovered by itself: bookings and pages succeed after the restart.
    after = Counter(a.kind for a in answers if a.at > up and a.status in (200, 201))
    assert after["book"] and after["api"] and after["page"], statuses
    booked = {json.loads(a.body)["id"] for a in answers if a.status == 201}
    with app.app_context():
        # Nothing half-written: every enrolment has its three sessions, every 201 is kept.
        sessions = Counter(db.session.scalars(select(Appointment.enrolment_id)))
        enrolments = set(db.session.scalars(select(Enrolment.id)))
        assert booked <= enrolments
        assert len(enrolments) >= len(booked) + len(late)
        assert all(sessions[e] == 3 for e in enrolments), sessions
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 3 * len(
            enrolments
        )
        db.session.remove()
        db.engine.dispose()


def test_which_postgresql_errors_are_unavailable(pg_url: str) -> None:
    # Real errors from a real server: gone or timed out is a 503; a bug or a bad value is not.
    refused = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    assert database_unavailable(error_of(refused, "SELECT 1"))
    assert database_unavailable(
        error_of(pg_url, "SET LOCAL statement_timeout = 10", "SELECT pg_sleep(1)")
    )
    assert not database_unavailable(error_of(pg_url, "SELECT * FROM no_such_table"))
    assert not database_unavailable(error_of(pg_url, "SELECT 1 / 0"))
    assert not database_unavailable(
        error_of(pg_url, "CREATE TEMP TABLE t (x int UNIQUE)", "INSERT INTO t VALUES (1), (1)")
    )
