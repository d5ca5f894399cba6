"""Each worker's memory of the days' occupancy, for questions that only read (DOMAIN.md,
"Resources": who and what is busy when).

A plan looks at about twenty days, and a worker answers the same days again and again: reading
them (and judging their free starts) on every request was most of a plan's cost at 100,000
appointments (bench/README.md). So a worker keeps an engine `ResourceBook` between requests,
with what the engine worked out from each day (`ResourceBook.kept`), and forgets a day as soon
as a committed transaction changed its occupancy:

- Every change to what holds time inserts rows into the append-only `occupancy_changes` (the
  trigger of migration 0012). Before a question uses the memory, it reads the rows it has not
  seen and forgets the local days they touch, then reads the days it lacks from the database,
  in the same transaction.
- SQLite: writers are serialised and a row's id is taken under the write lock, so ids commit
  in order: "every row after the last id seen" is exact.
- PostgreSQL: ids are taken at insert, and a transaction that took a smaller id can commit
  after one that took a larger (insert order is not commit order). So each row carries its
  writing transaction's id (xid), and a refresh reads, in one statement (one snapshot), the
  oldest transaction still running (`pg_snapshot_xmin`) and every row whose xid is at or
  above the horizon read the time before. A transaction below the new horizon had ended when
  that snapshot was taken, so its rows (if it committed) were in it; one above it that commits
  later is read at the next refresh, however small its row ids. Rows already applied are
  remembered until the horizon passes them. `tests/pg/test_day_memory_pg.py` commits a
  smaller id after a larger one and checks the day is forgotten.
- A memory not refreshed for `IDLE_SECONDS` is dropped whole: `flask --app clinic occupancy
  prune` deletes log rows older than a day, far longer than that.
- A new catalogue (another version) drops it too: what was judged depends on hours and rooms.

The memory is never used by a transaction that writes (bookings, moves, cancellations judge
what they read under the client lock): `load_snapshot(remembered=True)` falls back to a book
of the transaction's own there. It is per app (tests run many) and per thread (the development
server's threads; gunicorn's sync workers have one), and holds at most `MAX_DAYS` days, the
least recently used going first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
)

from clinic.models import OccupancyChange, utcnow
from clinic.scheduling import ResourceBook
from clinic.scheduling.timeutil import local_date
from clinic.services.core.db import (
    db_session,
    keep_for_transaction,
    kept_for_transaction,
    transaction,
)

_KEY = "clinic.day_memory"
# Days a worker keeps (about 66 live sessions and the judged starts of a few procedures each:
# `make bench` measures the worker's memory with it full).
MAX_DAYS = 400
# A memory not refreshed for this long is dropped: the log keeps a day of rows.
IDLE_SECONDS = 600.0
# How long the change log keeps a row (`prune_log`): far longer than IDLE_SECONDS.
LOG_KEPT = timedelta(days=1)
# `with_log_check` lists the rows applied at or above the horizon; past this many (a long
# transaction holding the horizon back) it answers "unseen" and the log is read as before.
_MOST_APPLIED_CHECKED = 64
_NEVER = 2**62  # a position no row reaches: that half of `with_log_check` finds nothing
_CHECKED = "occupancy_log_checked"
# A change spanning more than this many days (a TRUNCATE logs year 1 to 9999) forgets every day.
_WIDEST = 31

_changes = OccupancyChange.__table__


@dataclass(slots=True)
class _Held:
    """One thread's memory: the book, and how far into the change log it has read."""

    book: ResourceBook
    catalogue_version: int
    position: int  # SQLite: the last row id applied; PostgreSQL: the xid horizon
    applied: set[int] = field(default_factory=set)  # PostgreSQL: row ids at or above it
    refreshed: float = 0.0


def _threads() -> threading.local:
    held: threading.local | None = current_app.extensions.get(_KEY)
    if held is None:
        held = current_app.extensions.setdefault(_KEY, threading.local())
    return held


def _days(first: datetime, last: datetime, tz: ZoneInfo) -> list[date] | None:
    """The local days a logged span touches; None for a span too wide to list (forget all)."""
    if last - first > timedelta(days=_WIDEST):
        return None
    day, end = local_date(first, tz), local_date(last - timedelta(microseconds=1), tz)
    days = []
    while day <= end:
        days.append(day)
        day += timedelta(days=1)
    return days


def _on_postgresql() -> bool:
    return db_session().get_bind().dialect.name == "postgresql"


def _log_start() -> tuple[int, set[int]]:
    """Where a new memory starts reading the log: everything before is in what it will load."""
    s = db_session()
    if _on_postgresql():
        xmin = s.scalar(select(literal_column("pg_snapshot_xmin(pg_current_snapshot())::text")))
        horizon = int(xmin or 0)
        applied = set(s.scalars(select(_changes.c.id).where(_changes.c.xid >= horizon)))
        return horizon, applied
    return int(s.scalar(select(func.coalesce(func.max(_changes.c.id), 0))) or 0), set()


def _refresh(held: _Held, tz: ZoneInfo) -> bool:
    """Apply the log rows `held` has not seen; False if it must be dropped whole."""
    forget: set[date] = set()
    spans = _unseen_postgresql(held) if _on_postgresql() else _unseen_sqlite(held)
    for start, until in spans:
        days = _days(start, until, tz)
        if days is None:
            return False
        forget.update(days)
    held.book.forget(forget)
    return True


def _unseen_sqlite(held: _Held) -> list[tuple[datetime, datetime]]:
    rows = db_session().execute(
        select(_changes.c.id, _changes.c.start_at, _changes.c.busy_until_at)
        .where(_changes.c.id > held.position)
        .order_by(_changes.c.id)
    )
    spans = []
    for row_id, start, until in rows:
        spans.append((start, until))
        held.position = row_id
    return spans


def _unseen_postgresql(held: _Held) -> list[tuple[datetime, datetime]]:
    # The horizon and the rows at or above the last one in one statement: one snapshot.
    xmin: ColumnElement[str] = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text")
    horizon_now = select(xmin.label("xmin")).subquery()
    rows = (
        db_session()
        .execute(
            select(
                horizon_now.c.xmin,
                _changes.c.id,
                _changes.c.xid,
                _changes.c.start_at,
                _changes.c.busy_until_at,
            )
            .select_from(horizon_now)
            .outerjoin(_changes, _changes.c.xid >= held.position)
        )
        .all()
    )
    horizon = int(rows[0].xmin)
    spans, applied = [], set()
    for _, row_id, xid, start, until in rows:
        if row_id is None:
            continue
        if row_id not in held.applied:
            spans.append((start, until))
        if xid >= horizon:
            applied.add(row_id)
    held.position, held.applied = horizon, applied
    return spans


def with_log_check(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`query` with one more column, `log_unseen`: whether the change log holds rows this
    thread's memory has not applied (`log_check_params` gives the statement where the memory
    stands). The statement every API request makes anyway (its token) asks it, and a plan
    that then finds nothing unseen does not read the log: one statement fewer per plan.
    SQLite: any row after the last id applied. PostgreSQL: any row at or above the horizon
    that is not among those applied (the same question `_unseen_postgresql` asks)."""
    # Both halves use an index whatever the parameters, as PostgreSQL's generic plan of a
    # prepared statement does not know them (an `id > :after` or `xid >= :horizon` range
    # was planned as a scan of the whole log). The newest id; and, of the rows at or above
    # the horizon, the newest by xid one more than the most applied rows checked: if any
    # row there is not applied, one of those is not.
    newest = select(func.coalesce(func.max(_changes.c.id), 0)).scalar_subquery()
    after = newest > bindparam("log_after")
    recent = (
        select(_changes.c.id)
        .where(_changes.c.xid >= bindparam("log_horizon"))
        .order_by(_changes.c.xid.desc())
        .limit(_MOST_APPLIED_CHECKED + 1)
        .subquery()
    )
    late = exists().where(recent.c.id.not_in(bindparam("log_applied", expanding=True)))
    return query.add_columns(or_(after, late).label("log_unseen"))


def log_check_params() -> dict[str, object]:
    """The parameters of `with_log_check` for this thread's memory (none held: a check that
    is never used, as a new memory starts from the log's end)."""
    held: _Held | None = getattr(_threads(), "held", None)
    if held is None or len(held.applied) > _MOST_APPLIED_CHECKED:
        return {"log_after": -1, "log_horizon": -1, "log_applied": []}
    if _on_postgresql():
        return {"log_after": _NEVER, "log_horizon": held.position, "log_applied": [*held.applied]}
    return {"log_after": held.position, "log_horizon": _NEVER, "log_applied": []}


def note_log_check(row: Row[Any]) -> None:
    """Remember, for this transaction, what a `with_log_check` statement found, and for
    which position of the memory: `remembered_book` skips reading the log when nothing was
    unseen from where the memory still stands. A write forgets it (per_transaction)."""
    held: _Held | None = getattr(_threads(), "held", None)
    if held is not None and not row.log_unseen:
        _note_checked(held)


def _note_checked(held: _Held) -> None:
    keep_for_transaction(_CHECKED, (held, held.position, frozenset(held.applied)))


def _nothing_unseen(held: _Held) -> bool:
    """Whether this transaction's `with_log_check` found nothing unseen from where `held`
    stands now."""
    return kept_for_transaction(_CHECKED) == (held, held.position, frozenset(held.applied))


def remembered_book(
    new_book: Callable[[int], ResourceBook], catalogue_version: int, tz: ZoneInfo
) -> ResourceBook:
    """This thread's book, brought up to date with the change log in this transaction; a new
    one from `new_book(max_days)` if there is none, it is idle, or the catalogue changed."""
    threads = _threads()
    held: _Held | None = getattr(threads, "held", None)
    now = time.monotonic()
    if (
        held is not None
        and held.catalogue_version == catalogue_version
        and now - held.refreshed < IDLE_SECONDS
        and (_nothing_unseen(held) or _refresh(held, tz))
    ):
        held.refreshed = now
        _note_checked(held)  # up to date for the rest of this transaction
        return held.book
    position, applied = _log_start()
    held = _Held(new_book(MAX_DAYS), catalogue_version, position, applied, now)
    threads.held = held
    return held.book


def forget_all() -> None:
    """Drop this thread's memory (the benchmarks' cold figures, tests)."""
    _threads().held = None


def prune_log(now: datetime | None = None) -> int:
    """Delete the change log's rows older than `LOG_KEPT` (run daily: README, "Command line");
    a worker that has not read the log for that long has dropped its memory long before.
    Returns how many rows were deleted."""
    cutoff = (now or utcnow()) - LOG_KEPT
    with transaction() as s:
        result = s.execute(delete(OccupancyChange).where(OccupancyChange.changed_at < cutoff))
        return int(result.rowcount)  # type: ignore[attr-defined]
