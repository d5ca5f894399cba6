"""The worker's memory of days on PostgreSQL, where the change log's ids are taken at insert and
a transaction with a smaller id can commit after one with a larger (services/world/day_memory.py
follows commit order through the writing transactions' ids)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, text

from clinic.extensions import db
from clinic.models import Appointment
from tests.services.test_day_memory import _answers, _at, _fresh, world  # noqa: F401

pytestmark = pytest.mark.pg


def _insert(conn, ids, day: int, who: int, session: int) -> None:  # type: ignore[no-untyped-def]
    start = _at(day, 4)
    conn.execute(
        insert(Appointment).values(
            enrolment_id=ids["enrolment"],
            session=session,
            client_id=ids["client"],
            practitioner_id=ids["practitioners"][who],
            room_id=ids["rooms"][who],
            start_at=start,
            end_at=start + timedelta(minutes=45),
            busy_until_at=start + timedelta(minutes=60),
            status="booked",
            note="",
            override_reason="",
        )
    )


def test_a_day_changed_by_a_transaction_that_commits_late_is_forgotten(world) -> None:  # noqa: F811
    before = _answers(world)  # the memory holds days 0 and 1 now
    late = db.engine.connect()
    late_tx = late.begin()
    _insert(late, world, 0, 0, 1)  # day 0: takes the smaller log id, commits last
    with db.engine.begin() as early:
        _insert(early, world, 1, 1, 2)  # day 1: the larger log id, committed first
    seen_early = _answers(world)  # reads the log: the larger id is there, the smaller not yet
    assert seen_early != before
    late_tx.commit()
    late.close()
    after = _answers(world)
    # A reader that followed ids ("everything after the last id I saw") would keep day 0
    # as it was before the late transaction and answer `seen_early` again.
    assert after != seen_early
    assert after == _fresh(world)


def test_a_truncate_of_the_appointments_makes_every_reader_forget_every_day(world) -> None:  # noqa: F811
    with db.engine.begin() as conn:
        _insert(conn, world, 0, 0, 1)
        _insert(conn, world, 1, 1, 2)
    booked = _answers(world)  # the memory holds days 0 and 1 with their sessions
    with db.engine.begin() as conn:
        conn.execute(text("TRUNCATE appointments CASCADE"))  # fires no row trigger
    after = _answers(world)
    assert after != booked
    assert after == _fresh(world)
