"""The worker's memory of days (services/world/day_memory.py): what it answers is what the
database answers, whatever changed in between, and a transaction that writes never uses it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select, update

from clinic.extensions import db
from clinic.models import Appointment, Enrolment, OccupancyChange, Room
from clinic.services.core.db import transaction
from clinic.services.courses import enrol, reads
from clinic.services.people import tokens
from clinic.services.world import course_catalogue, day_memory
from clinic.services.world.aftercare import rules_record
from clinic.services.world.snapshot import load_snapshot
from tests import factories as f

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FIRST = date(2026, 12, 1)
# The open days a plan of the peel course from 1 Dec walks, and some after.
DAYS = [FIRST + timedelta(days=i) for i in range(40) if (FIRST + timedelta(days=i)).weekday() < 5]


@pytest.fixture
def world(app):
    f.make_clinic()
    first = f.make_practitioner()
    second = f.make_practitioner(email="second@clinic.test", name="Second")
    course = f.make_course()
    planning = f.make_client(email="planning@clinic.test")
    booked = f.make_client(email="booked@clinic.test")
    rules = rules_record(course_catalogue.course_rules(course))
    enrolment = Enrolment(client_id=booked.id, course_id=course.id, rules=rules)
    db.session.add(enrolment)
    desk = f.make_user("receptionist", email="desk@clinic.test")
    f.commit()
    token = tokens.issue_token(email=desk.email, password="password123", now=NOW)
    day_memory.forget_all()
    return {
        "practitioners": [first.id, second.id],
        "rooms": list(db.session.scalars(select(Room.id))),
        "enrolment": enrolment.id,
        "client": booked.id,
        "planning": planning.id,
        "token": token,
    }


def _answers(world) -> tuple[object, ...]:
    """A plan of the course for a new client and every day's free starts, as a read sees them:
    as the API asks, its token's statement first (which also asks whether the change log holds
    anything the memory has not applied: day_memory.with_log_check)."""
    desk = tokens.actor_for_token(world["token"], now=NOW)
    plan = enrol.plan_course_for(
        actor=desk,
        course_code="peel_course",
        client_id=world["planning"],
        earliest=FIRST,
        now=NOW,
    )
    days = tuple(tuple(reads.availability(procedure_code="peel", day=d)) for d in DAYS[:12])
    db.session.rollback()
    return plan, days


def _fresh(world) -> tuple[object, ...]:
    day_memory.forget_all()
    return _answers(world)


def _at(day: int, quarter: int) -> datetime:
    # 08:00 UTC is 09:00 in Berlin: the practitioners' hours are 09-17.
    return datetime.combine(DAYS[day % len(DAYS)], datetime.min.time(), UTC) + timedelta(
        hours=8, minutes=15 * quarter
    )


def _book(world, day: int, quarter: int, who: int, room: int) -> None:
    session = (db.session.scalar(select(func.max(Appointment.session))) or 0) + 1
    start = _at(day, quarter)
    db.session.add(
        Appointment(
            enrolment_id=world["enrolment"],
            session=session,
            client_id=world["client"],
            practitioner_id=world["practitioners"][who % 2],
            room_id=world["rooms"][room % len(world["rooms"])],
            start_at=start,
            end_at=start + timedelta(minutes=45),
            busy_until_at=start + timedelta(minutes=60),
        )
    )


def _apply(world, op: tuple[str, int, int, int, int]) -> None:
    kind, day, quarter, who, pick = op
    ids = list(db.session.scalars(select(Appointment.id).order_by(Appointment.id)))
    if kind == "book" or not ids:
        _book(world, day, quarter, who, pick)
        return
    target = ids[pick % len(ids)]
    if kind == "move":
        start = _at(day, quarter)
        values = {"start_at": start, "end_at": start + timedelta(minutes=45)}
        values["busy_until_at"] = start + timedelta(minutes=60)
        db.session.execute(update(Appointment).where(Appointment.id == target).values(**values))
    elif kind == "other_practitioner":
        db.session.execute(
            update(Appointment)
            .where(Appointment.id == target)
            .values(practitioner_id=world["practitioners"][who % 2])
        )
    elif kind in ("cancelled", "booked", "done", "no_show"):
        db.session.execute(update(Appointment).where(Appointment.id == target).values(status=kind))
    else:
        db.session.execute(delete(Appointment).where(Appointment.id == target))


OPS = st.tuples(
    st.sampled_from(
        ["book", "book", "move", "other_practitioner", "cancelled", "booked", "done", "delete"]
    ),
    st.integers(0, 14),
    st.integers(0, 28),
    st.integers(0, 1),
    st.integers(0, 50),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rounds=st.lists(st.lists(OPS, min_size=1, max_size=4), min_size=1, max_size=4))
def test_plans_and_days_with_the_memory_are_those_read_afresh_whatever_changed(
    world, rounds
) -> None:
    _answers(world)  # the memory holds the days now
    for ops in rounds:
        for op in ops:
            _apply(world, op)
        f.commit()
        remembered = _answers(world)
        assert remembered == _fresh(world)


def test_a_booking_on_a_remembered_day_is_seen_by_the_next_plan(world) -> None:
    before = _answers(world)
    first_start = before[0].sessions[0].slot.start  # type: ignore[attr-defined]
    free = before[1][0]
    assert any(s.start == first_start for s in free)
    # Book every practitioner at the plan's first start, through the ORM as services do.
    for who in (0, 1):
        start = first_start
        db.session.add(
            Appointment(
                enrolment_id=world["enrolment"],
                session=who + 1,
                client_id=world["client"],
                practitioner_id=world["practitioners"][who],
                room_id=world["rooms"][who],
                start_at=start,
                end_at=start + timedelta(minutes=45),
                busy_until_at=start + timedelta(minutes=60),
            )
        )
    f.commit()
    after = _answers(world)
    assert after[0].sessions[0].slot.start != first_start  # type: ignore[attr-defined]
    assert after == _fresh(world)


def test_the_log_is_read_only_when_the_token_statement_found_rows_unseen(world) -> None:
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    def log_reads() -> int:
        return sum(s.startswith("SELECT occupancy_changes.id") for s in seen)

    _answers(world)  # the memory holds the days now
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        _answers(world)
        assert log_reads() == 0  # nothing changed: the token's statement said so
        _book(world, 0, 4, 0, 0)
        f.commit()
        seen.clear()
        _answers(world)
        assert log_reads() == 1  # a booking: the log is read, and its day forgotten
        seen.clear()
        _answers(world)
        assert log_reads() == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_only_changes_of_held_time_are_logged(world) -> None:
    def logged() -> int:
        return db.session.scalar(select(func.count()).select_from(OccupancyChange)) or 0

    _book(world, 0, 0, 0, 0)
    f.commit()
    assert logged() == 1
    appointment = db.session.scalars(select(Appointment)).one()
    appointment.status = "done"  # still holds the same time
    f.commit()
    assert logged() == 1
    appointment.start_at += timedelta(hours=1)  # moved: the old span and the new
    appointment.end_at += timedelta(hours=1)
    appointment.busy_until_at += timedelta(hours=1)
    f.commit()
    assert logged() == 3
    appointment.status = "cancelled"  # frees the time
    f.commit()
    assert logged() == 4
    db.session.delete(appointment)  # a cancelled row held nothing
    f.commit()
    assert logged() == 4


def test_a_transaction_that_writes_never_uses_the_memory(world) -> None:
    _answers(world)
    remembered = load_snapshot(remembered=True).book
    db.session.rollback()
    assert load_snapshot(remembered=True).book is remembered  # a read: the worker's book
    db.session.rollback()
    with transaction():
        assert load_snapshot(remembered=True).book is not remembered
    _book(world, 0, 0, 0, 0)
    db.session.flush()  # written, not committed: this transaction's own book
    assert load_snapshot(remembered=True).book is not remembered
    db.session.rollback()


def test_the_memory_keeps_at_most_its_number_of_days(world, monkeypatch) -> None:
    monkeypatch.setattr(day_memory, "MAX_DAYS", 5)
    day_memory.forget_all()
    _answers(world)
    book = load_snapshot(remembered=True).book
    assert 0 < book.loaded_days() <= 5
    db.session.rollback()


def test_pruning_deletes_only_log_rows_older_than_a_day(world, runner) -> None:
    _book(world, 0, 0, 0, 0)
    _book(world, 1, 0, 0, 0)
    f.commit()
    first = db.session.scalars(select(OccupancyChange).order_by(OccupancyChange.id)).first()
    assert first is not None
    first.changed_at = datetime.now(UTC) - timedelta(days=1, minutes=1)
    f.commit()
    result = runner.invoke(args=["occupancy", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 occupancy changes" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(OccupancyChange)) == 1
