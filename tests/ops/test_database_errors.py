"""Which database errors are "briefly unavailable" (503) and which stay what they are: real
errors from a real SQLite, not built by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from clinic import create_app
from clinic.api.openapi import document
from clinic.errors import database_unavailable
from clinic.extensions import db


def error_of(url: str, *statements: str) -> DBAPIError:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


def test_a_read_only_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).close()
    exc = error_of(f"sqlite:///file:{path}?mode=ro&uri=true", "CREATE TABLE t (x INTEGER)")
    assert "readonly" in str(exc) and database_unavailable(exc)


def test_a_missing_file_is_unavailable(tmp_path: Path) -> None:
    exc = error_of(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}", "SELECT 1")
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "statements",
    [
        ("SELECT * FROM no_such_table",),  # a programming error (OperationalError on SQLite)
        ("SELEC 1",),
        (
            "CREATE TABLE t (x INTEGER UNIQUE)",
            "INSERT INTO t VALUES (1)",
            "INSERT INTO t VALUES (1)",
        ),
        ("CREATE TABLE t (x INTEGER NOT NULL)", "INSERT INTO t VALUES (NULL)"),
    ],
)
def test_bugs_and_constraints_are_not_unavailable(statements: tuple[str, ...]) -> None:
    assert not database_unavailable(error_of("sqlite://", *statements))


def test_a_bug_in_a_query_stays_a_500(own_app: Flask) -> None:
    app = own_app
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/broken-query")
    def broken() -> str:
        from clinic.extensions import db

        db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    response = app.test_client().get("/broken-query")
    assert response.status_code == 500 and "Retry-After" not in response.headers


def test_the_openapi_document_lists_503_with_retry_after_for_every_operation() -> None:
    for path, operations in document()["paths"].items():
        if path.endswith("/openapi.json"):
            continue
        for method, operation in operations.items():
            unavailable = operation["responses"].get("503")
            assert unavailable is not None, (method, path)
            assert "Retry-After" in unavailable["headers"]


def test_messages_send_with_the_database_away_says_so_in_one_line(tmp_path: Path) -> None:
    unreachable = tmp_path / "no-such-dir" / "clinic.db"
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{unreachable}", SMTP_HOST="127.0.0.1"
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["messages", "send"])
        db.engine.dispose()
    assert result.exit_code == 1, result.output
    assert "The database is unavailable" in result.output
    assert "Traceback" not in result.output
