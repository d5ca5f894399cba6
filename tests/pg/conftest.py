"""A throw-away PostgreSQL server for the tests in this folder.

The server is started once per test session (tests/pg/server.py, shared with bench/). The
real migrations are run against it, and each test gets the `app` fixture on that database;
the tables are emptied after each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from clinic import create_app
from clinic.extensions import db
from tests.conftest import ReusedApp, missing
from tests.pg.http import Server, gunicorn
from tests.pg.redis_server import start_redis, stop_redis
from tests.pg.server import PgServer, ServerUnavailable, start_server, stop_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = start_server()
    except ServerUnavailable as exc:
        missing(str(exc))
        raise AssertionError("unreachable") from exc  # missing() skips or fails
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throw-away Redis server (tests/pg/redis_server.py), for the rate limits."""
    try:
        server = start_redis()
    except ServerUnavailable as exc:
        missing(str(exc))
        raise AssertionError("unreachable") from exc
    try:
        yield server.url
    finally:
        stop_redis(server)


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """The test database, upgraded to head by the real migrations."""
    url = pg_server.url()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(pg_url: str) -> Iterator[Server]:
    """The app under gunicorn with 4 workers on the test database (tests/pg/http.py)."""
    with gunicorn(pg_url) as running:
        yield running


def _truncate_all() -> None:
    # The catalogue version's single row stays (migration 0005 writes it once).
    tables = ", ".join(
        f'"{t.name}"' for t in db.metadata.sorted_tables if t.name != "catalogue_version"
    )
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def reused_pg_app(pg_url: str) -> ReusedApp:
    return ReusedApp(pg_url)


@pytest.fixture
def app(reused_pg_app: ReusedApp) -> Iterator[Flask]:
    """The app on the PostgreSQL test database (it replaces the SQLite `app` in this folder)."""
    with reused_pg_app.fresh() as app:
        try:
            yield app
        finally:
            db.session.remove()
            _truncate_all()
