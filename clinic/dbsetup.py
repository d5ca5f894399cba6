"""Database engine set-up that the ORM does not do by itself.

SQLite: foreign keys on, a busy timeout (`SQLITE_BUSY_TIMEOUT_MS`, `engine_options`) and WAL
for files, so that readers run side by side
and never wait for each other. A transaction that will write (`services.db.transaction`)
opens with BEGIN IMMEDIATE and so takes the one write lock before it reads anything: a
booking's check and its insert cannot interleave with another booking's. Every other
transaction opens with a plain BEGIN and reads without taking that lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

# Set while a write transaction is being opened (services.db.transaction).
_WRITING: ContextVar[bool] = ContextVar("clinic.writing", default=False)


# How long this connection waits for another's write lock (SQLite's busy timeout), in ms.
_BUSY_MS = "clinic.busy_ms"
# How often a writer asks again for the write lock while another holds it.
_POLL_SECONDS = 0.001


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        connection_record.info[_BUSY_MS] = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
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
        if _WRITING.get():
            _begin_writing(conn)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_writing(conn: Connection) -> None:
    """BEGIN IMMEDIATE, asking again every millisecond while another connection holds the
    write lock, for as long as the busy timeout. SQLite's own wait sleeps 1, 2, 5, 10, 15,
    20, 25... up to 100 ms between tries, so that with eight desks booking at once the lock
    often lay free while they slept: 54 bookings a second where a 15 ms lock allows 66,
    against 63 asking every millisecond (bench/README.md). The last refusal is SQLAlchemy's
    "database is locked", as before (a 503 with Retry-After, clinic/errors.py)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    wait_ms = int(conn.connection.info.get(_BUSY_MS, 0))
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as refused:
            if not _locked(refused.orig):
                raise
            last = refused
        deadline = time.monotonic() + wait_ms / 1000
        while time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as busy:
                if not _locked(busy):
                    raise
        raise last
    finally:
        raw.execute(f"PRAGMA busy_timeout = {wait_ms}")


def _locked(exc: BaseException | None) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside this block will write: on SQLite they take the write lock
    at BEGIN (elsewhere this changes nothing)."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)
