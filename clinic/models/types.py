"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every database.

    SQLite keeps no offset, so values are written as naive UTC and read back as aware UTC;
    PostgreSQL gets a real `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value  # the driver's value for a DateTime column
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def raw_timestamp(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A UTCDateTime column as the driver gives it, without SQLAlchemy's per-value processing
    (a third of a plan's time at 100,000 appointments, bench/README.md): for reads of many rows,
    each value then passed through `utc_from_driver`."""
    return type_coerce(column, NullType())


def utc_from_driver(value: datetime | str) -> datetime:
    """A driver's timestamp as an aware UTC datetime: PostgreSQL's driver gives an aware
    datetime, SQLite's a naive UTC string (UTCDateTime writes naive UTC there)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
