"""SQLite on a disk that goes read-only or full: 503 with Retry-After and the sentence that the
clinic's system is briefly unavailable (a page, or the API's JSON error), never a 500; and
`/healthz` says the database cannot be written (issue 15, defect 7)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from clinic import create_app
from clinic.extensions import db
from clinic.models import User
from tests import factories as f
from tests.ops.conftest import Disk

UNAVAILABLE = {
    "errors": [
        {
            "code": "unavailable",
            "message": "The clinic's system is briefly unavailable; please try again in a minute.",
        }
    ]
}


@pytest.fixture
def app_on_disk(migrated_template: Path, disk: Disk) -> Iterator[tuple[Flask, str]]:
    """The app on a SQLite file on `disk`, with a small clinic and a desk member's token."""
    path = disk.path / "clinic.db"
    shutil.copy(migrated_template, path)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        f.make_clinic()
        f.make_practitioner()
        f.make_course()
        f.make_user("receptionist", email="desk@clinic.example")
        f.commit()
        token = app.test_client().post(
            "/api/v1/token", json={"email": "desk@clinic.example", "password": "password123"}
        )
        assert token.status_code == 200, token.json
        db.session.remove()
        try:
            yield app, token.json["token"]
        finally:
            db.session.remove()
            db.engine.dispose()


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    assert "briefly unavailable" in response.get_data(as_text=True)


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json() == UNAVAILABLE


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def sign_up(client: FlaskClient, email: str):
    return client.post(
        "/signup",
        data={
            "email": email,
            "name": "New Person",
            "password": "a-long-password-1",
            "confirm": "a-long-password-1",
        },
    )


def test_a_read_only_disk_answers_503_everywhere_and_healthz_says_so(
    app_on_disk: tuple[Flask, str], disk: Disk
) -> None:
    app, token = app_on_disk
    before = users()
    db.session.remove()
    db.engine.dispose()
    disk.make_read_only()
    client = app.test_client()
    assert_unavailable_page(client.get("/courses"))
    assert_unavailable_page(sign_up(client, "new.person@example.com"))
    auth = {"Authorization": f"Bearer {token}"}
    assert_unavailable_json(client.get("/api/v1/courses", headers=auth))
    assert_unavailable_json(
        client.post("/api/v1/clients", headers=auth, json={"name": "X", "email": "x@example.com"})
    )
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable", "database": "read-only"}
    db.session.remove()
    db.engine.dispose()
    disk._mount("-o", "remount,rw")
    assert client.get("/healthz").status_code == 200
    assert users() == before  # nothing was written


def test_a_full_disk_answers_503_to_writes_and_healthz_says_so(
    app_on_disk: tuple[Flask, str], disk: Disk
) -> None:
    app, token = app_on_disk
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    before = users()
    db.session.remove()
    disk.fill()
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable", "database": "disk full"}
    assert_unavailable_page(sign_up(client, "new.person@example.com"))
    auth = {"Authorization": f"Bearer {token}"}
    body = {"name": "Newer Person", "email": "newer.person@example.com"}
    assert_unavailable_json(client.post("/api/v1/clients", headers=auth, json=body))
    (disk.path / "filler").unlink()
    assert client.get("/healthz").status_code == 200
    db.session.remove()
    assert users() == before  # nothing half-written
    assert sign_up(client, "new.person@example.com").status_code == 302


def test_a_database_opened_read_only_reads_but_refuses_writes_with_503(
    migrated_template: Path, tmp_path: Path
) -> None:
    # No mount needed: SQLite itself refuses every write (`mode=ro`), so this runs everywhere.
    path = tmp_path / "clinic.db"
    shutil.copy(migrated_template, path)
    writable = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with writable.app_context():
        f.make_clinic()
        f.make_course()
        db.session.remove()
        db.engine.dispose()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{path}?mode=ro&uri=true")
    with app.app_context():
        client = app.test_client()
        assert client.get("/courses").status_code == 200
        assert_unavailable_page(sign_up(client, "new.person@example.com"))
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"status": "unavailable", "database": "read-only"}
        db.session.remove()
        db.engine.dispose()
