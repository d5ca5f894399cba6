"""Database engine set-up that the ORM does not do by itself.

SQLite: foreign keys on, a busy timeout, WAL for files, and every transaction opened with
BEGIN IMMEDIATE, so that write transactions are serialized: a booking's check and its insert
cannot interleave with another booking's.

Every database: a connection notes whether its current transaction has written (`wrote`), so
that what such a transaction reads is never kept for others (clinic/services/cache.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


WROTE = "clinic.wrote"
_WRITES = ("INSERT", "UPDATE", "DELETE")


@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    conn.info[WROTE] = False
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Engine, "before_cursor_execute")
def _on_execute(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if not conn.info.get(WROTE) and statement.lstrip()[:6].upper() in _WRITES:
        conn.info[WROTE] = True


def wrote(conn: Connection) -> bool:
    """Whether the connection's current transaction has sent an INSERT, UPDATE or DELETE."""
    return bool(conn.info.get(WROTE))
