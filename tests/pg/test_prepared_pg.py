"""Requests that only read end with a commit, so psycopg keeps its prepared statements
(services/core/db.py, `commit_if_only_read`): PostgreSQL then plans a request's statements once
per connection, not on every request."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from clinic import create_app
from clinic.extensions import db

pytestmark = pytest.mark.pg


def test_read_only_requests_keep_their_prepared_statements(pg_url: str) -> None:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=pg_url)
    client = app.test_client()
    try:
        for _ in range(8):  # psycopg prepares a statement at its fifth use on a connection
            assert client.get("/courses").status_code == 200
        with app.app_context():
            prepared = db.session.scalars(text("SELECT statement FROM pg_prepared_statements"))
            statements = list(prepared)
    finally:
        with app.app_context():
            db.engine.dispose()
    assert any("FROM courses" in s for s in statements), statements
