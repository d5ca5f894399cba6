"""A SQLite write lock held by someone else (a backup, a migration, a stuck process): a write
waits at most SQLITE_BUSY_TIMEOUT_MS and then answers 503 with Retry-After, the page or the
API's `unavailable`, and writes nothing; never a 409 "taken" or a 422 on the form (issue 19,
defect 12). A genuine constraint stays a 409."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask, g
from sqlalchemy import func, select

from clinic import create_app
from clinic.extensions import db
from clinic.models import Appointment, Enrolment, User
from tests import factories as f
from tests.api.conftest import at, token_for
from tests.clock import local, next_monday
from tests.ops.test_sqlite_faults import UNAVAILABLE

BUSY_MS = 200


@pytest.fixture
def locked_app(migrated_template: Path, tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    path = tmp_path / "clinic.db"
    shutil.copy(migrated_template, path)
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT_MS=BUSY_MS
    )
    with app.app_context():
        f.make_clinic()
        f.make_practitioner()
        f.make_course()
        f.make_user("receptionist", email="desk@clinic.example")
        f.make_client(email="carla@example.com")
        f.commit()
        try:
            yield app, path
        finally:
            db.session.remove()
            db.engine.dispose()


class Holder:
    """Another connection to the file, holding SQLite's one write lock (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def __enter__(self) -> Holder:
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def count(model: type) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_held_write_lock_answers_503_with_retry_after_to_an_api_booking(
    locked_app: tuple[Flask, Path],
) -> None:
    app, path = locked_app
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(http, 'desk@clinic.example')}"}
    carla = db.session.scalar(select(User.id).where(User.email == "carla@example.com"))
    client_id = db.session.get(User, carla).client.id
    body = {
        "course": "peel_course",
        "client": client_id,
        "sessions": [{"start": at(next_monday(), 9)}],
    }
    db.session.remove()
    with Holder(path):
        started = time.monotonic()
        response = http.post("/api/v1/enrolments", headers=headers, json=body)
        waited = time.monotonic() - started
    assert response.status_code == 503, response.get_json()
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json() == UNAVAILABLE
    assert waited < 3  # the configured wait, not SQLite's or the old 10 s
    assert count(Appointment) == 0 and count(Enrolment) == 0
    # Once the lock is free the same call books.
    assert http.post("/api/v1/enrolments", headers=headers, json=body).status_code == 201


def test_a_held_write_lock_answers_the_unavailable_page_to_a_page_booking(
    locked_app: tuple[Flask, Path],
) -> None:
    app, path = locked_app
    web = app.test_client()
    user = f.make_user("client", email="mia@example.com")
    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()
    with web.session_transaction() as session:
        f.log_in(session, user.id)
    start = local(next_monday(), 9).astimezone(UTC)
    values = [f"{start:%Y%m%dT%H%MZ}-0"]
    db.session.remove()
    with Holder(path):
        response = web.post("/courses/peel_course/book", data={"s": values})
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert "briefly unavailable" in response.get_data(as_text=True)
    assert count(Appointment) == 0 and count(Enrolment) == 0
    g.pop("_login_user", None)  # Flask-Login's cache lives in the test's app context
    booked = web.post("/courses/peel_course/book", data={"s": values})
    assert booked.status_code == 302, booked.get_data(as_text=True)[:500]
    assert count(Appointment) == 1


def test_a_slot_taken_meanwhile_is_still_a_409_not_a_503(locked_app: tuple[Flask, Path]) -> None:
    # The lock is free: a unique constraint broken by the request stays a refusal (409).
    app, _ = locked_app
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(http, 'desk@clinic.example')}"}
    response = http.post(
        "/api/v1/clients",
        headers=headers,
        json={"name": "Carla Again", "email": "carla@example.com"},
    )
    assert response.status_code == 409, response.get_json()
    assert "Retry-After" not in response.headers


def test_the_busy_wait_defaults_to_a_few_seconds(migrated_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    shutil.copy(migrated_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        timeout = db.session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout == app.config["SQLITE_BUSY_TIMEOUT_MS"] == 5000
        db.session.remove()
        db.engine.dispose()


def test_a_write_lock_freed_within_the_wait_lets_the_booking_through(
    locked_app: tuple[Flask, Path],
) -> None:
    # The writer asks again for the lock while another holds it (dbsetup._begin_writing): once
    # it is free the booking goes ahead in that same request, whole.
    app, path = locked_app
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(http, 'desk@clinic.example')}"}
    carla = db.session.scalar(select(User.id).where(User.email == "carla@example.com"))
    body = {
        "course": "peel_course",
        "client": db.session.get(User, carla).client.id,
        "sessions": [{"start": at(next_monday(), 9)}],
    }
    db.session.remove()
    holder = Holder(path)
    holder.__enter__()
    release = threading.Timer(BUSY_MS / 1000 / 2, holder.__exit__)  # within the wait
    release.start()
    try:
        response = http.post("/api/v1/enrolments", headers=headers, json=body)
    finally:
        release.join()
    assert response.status_code == 201, response.get_json()
    assert count(Appointment) == 1 and count(Enrolment) == 1
