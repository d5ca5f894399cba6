"""Database engine set-up that the ORM does not do by itself.

SQLite: foreign keys on, a busy timeout (`SQLITE_BUSY_TIMEOUT_MS`, `engine_options`) and WAL
for files, so that readers run side by side
and never wait for each other. A transaction that will write (`services.db.transaction`)
opens with BEGIN IMMEDIATE and so takes the one write lock before it reads anything: a
booking's check and its insert cannot interleave with another booking's. Every other
transaction opens with a plain BEGIN and reads without taking that lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# Set while a write transaction is being opened (services.db.transaction).
_WRITING: ContextVar[bool] = ContextVar("clinic.writing", default=False)


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The engine options of `config`, with SQLite's busy timeout: how long a connection
    waits for another's write lock before SQLite says "database is locked" (a 503 with
    Retry-After, clinic/errors.py)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        seconds = int(config["SQLITE_BUSY_TIMEOUT_MS"]) / 1000
        options["connect_args"] = {**options.get("connect_args", {}), "timeout": seconds}
    return options


@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside this block will write: on SQLite they take the write lock
    at BEGIN (elsewhere this changes nothing)."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)
