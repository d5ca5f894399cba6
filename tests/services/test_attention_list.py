"""The attention list and accepting a re-plan, against a real (SQLite) database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, AuditEntry, OutboxMessage, TimeOff
from clinic.services.core.actors import actor_for
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.courses import cancellation, enrol
from clinic.services.courses.placing import SessionRequest
from clinic.services.lifetime import attention_list
from clinic.services.lifetime.attention_list import ReplanRequest
from tests import factories as f

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # a Wednesday
# Three Mondays 21 days apart (the course: 14 to 28 days).
MONDAYS = (date(2026, 12, 7), date(2026, 12, 28), date(2027, 1, 18))


def local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def world(app):
    f.make_clinic()
    lena = f.make_practitioner(name="Lena")
    f.make_course(code="peel3", name="Glycolic peel, 3 sessions", sessions=3)
    client = f.make_client(name="Carla")
    desk = f.actor("receptionist")
    enrolment = enrol.book_course(
        actor=desk,
        course_code="peel3",
        client_id=client.id,
        sessions=[SessionRequest(local(d, 10), lena.id) for d in MONDAYS],
        now=NOW,
    )
    sessions = sorted(enrolment.appointments, key=lambda a: a.session)
    return {
        "lena": lena,
        "client": client,
        "desk": desk,
        "enrolment": enrolment,
        "ids": [a.id for a in sessions],
    }


def take_off(practitioner_id: int, day: date) -> None:
    """Lena's day off over a booked session, and its flag, as services/attention.py writes it."""
    db.session.add(TimeOff(practitioner_id=practitioner_id, start_on=day, end_on=day))
    f.commit()


def flag(appointment_id: int, code: str = "practitioner_unavailable", cause: str = "") -> None:
    db.session.add(
        AttentionFlag(
            appointment_id=appointment_id,
            errors=[{"code": code, "message": f"Session broken: {code}."}],
            cause=cause or "Lena's time off",
            flagged_at=NOW,
        )
    )
    f.commit()


def starts(ids: list[int]) -> list[datetime]:
    return [db.session.get(Appointment, i).start_at for i in ids]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_attention_list_shows_a_flagged_session_with_its_errors_and_a_replan(world) -> None:
    second = world["ids"][1]
    take_off(world["lena"].id, MONDAYS[1])
    flag(second)
    items = attention_list.attention_list(actor=world["desk"], now=NOW)
    assert [i.appointment.id for i in items] == [second]
    item = items[0]
    assert item.appointment.client.name == "Carla"
    assert item.appointment.enrolment_id == world["enrolment"].id
    assert [(e.code, e.message) for e in item.errors] == [
        ("practitioner_unavailable", "Session broken: practitioner_unavailable.")
    ]
    assert item.cause == "Lena's time off"
    replan = item.replan
    assert replan.ok
    assert second in [m.appointment_id for m in replan.moves]
    moved = next(m for m in replan.moves if m.appointment_id == second)
    assert moved.start == local(MONDAYS[1], 10)
    assert moved.slot.start.astimezone(BERLIN).date() != MONDAYS[1]
    assert moved.new_practitioner == "Lena"
    assert 1 in replan.stays


def test_attention_list_is_ordered_by_start_and_filters_by_client(world) -> None:
    first, second, _ = world["ids"]
    flag(second)
    flag(first)
    items = attention_list.attention_list(actor=world["desk"], now=NOW)
    assert [i.appointment.id for i in items] == [first, second]
    # One re-plan per enrolment, shared by its flagged sessions.
    assert items[0].replan is items[1].replan
    other = f.make_client()
    assert attention_list.attention_list(actor=world["desk"], client_id=other.id, now=NOW) == []
    mine = attention_list.attention_list(actor=world["desk"], client_id=world["client"].id, now=NOW)
    assert len(mine) == 2


def test_attention_list_ignores_flags_of_past_and_cancelled_sessions(world) -> None:
    first, second, third = world["ids"]
    flag(first)
    flag(third)
    cancellation.cancel_appointment(actor=world["desk"], appointment_id=third, now=NOW)
    later = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # session 1 is past by then
    assert attention_list.attention_list(actor=world["desk"], now=later) == []
    assert attention_list.count_attention(actor=world["desk"], now=later) == 0
    flag(second)
    assert attention_list.count_attention(actor=world["desk"], now=later) == 1


def test_attention_list_is_for_staff_only(world) -> None:
    flag(world["ids"][0])
    with pytest.raises(PermissionDenied):
        attention_list.attention_list(actor=f.client_actor(world["client"]), now=NOW)
    with pytest.raises(PermissionDenied):
        attention_list.count_attention(actor=f.client_actor(world["client"]), now=NOW)


def test_a_practitioner_sees_only_flags_of_their_own_sessions(world) -> None:
    flag(world["ids"][0])
    me = f.actor("practitioner")
    assert attention_list.attention_list(actor=me, now=NOW) == []
    lena_user = f.make_user("practitioner")
    world["lena"].user_id = lena_user.id
    f.commit()
    lena = actor_for(lena_user)
    assert [i.appointment.id for i in attention_list.attention_list(actor=lena, now=NOW)] == [
        world["ids"][0]
    ]


def test_accept_replan_moves_the_sessions_clears_flags_and_tells_the_client(world) -> None:
    second = world["ids"][1]
    take_off(world["lena"].id, MONDAYS[1])
    flag(second)
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    moves = [
        ReplanRequest(m.appointment_id, m.slot.start, m.slot.practitioner_id)
        for m in item.replan.moves
    ]
    moved = attention_list.accept_replan(
        actor=world["desk"], enrolment_id=world["enrolment"].id, moves=moves, now=NOW
    )
    assert {a.id for a in moved} == {m.appointment_id for m in moves}
    assert db.session.get(Appointment, second).start_at == next(
        m.start for m in moves if m.appointment_id == second
    )
    assert count(AttentionFlag) == 0
    assert attention_list.attention_list(actor=world["desk"], now=NOW) == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "replan"))
    assert entry is not None and entry.entity_id == world["enrolment"].id
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "sessions_moved"))
    assert message is not None and message.to_email == world["client"].email
    new_day = db.session.get(Appointment, second).start_at.astimezone(BERLIN)
    assert f"{new_day:%a} {new_day.day} {new_day:%b}" in message.body
    assert "(was Mon 28 Dec" in message.body
    assert "Avoid sun" in message.body or "No uv" in message.body
    # Reminders follow the new date.
    reminder = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.kind == "reminder", OutboxMessage.appointment_id == second
        )
    )
    assert reminder is not None
    assert reminder.due_at.astimezone(BERLIN).date() == new_day.date() - timedelta(days=1)


def test_accept_replan_writes_nothing_when_one_move_clashes(world) -> None:
    first, second, third = world["ids"]
    flag(second)
    other = f.make_client()
    clash = local(date(2026, 12, 29), 10)
    enrol.book_course(
        actor=world["desk"],
        course_code="peel3",
        client_id=other.id,
        sessions=[SessionRequest(clash, world["lena"].id)],
        now=NOW,
    )
    before = starts(world["ids"])
    messages = count(OutboxMessage)
    moves = [
        ReplanRequest(third, local(date(2027, 1, 19), 10), world["lena"].id),  # fine alone
        ReplanRequest(second, clash, world["lena"].id),  # Lena is taken
    ]
    with pytest.raises(Conflict):
        attention_list.accept_replan(
            actor=world["desk"], enrolment_id=world["enrolment"].id, moves=moves, now=NOW
        )
    assert starts(world["ids"]) == before
    assert count(AttentionFlag) == 1
    assert count(OutboxMessage) == messages
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "replan")) is None


def test_accept_replan_judges_the_moves_together(world) -> None:
    """Each move alone keeps spacing; together session 2 ends too close to session 3."""
    _, second, third = world["ids"]
    before = starts(world["ids"])
    moves = [
        ReplanRequest(second, local(date(2027, 1, 8), 10)),  # 32 days after session 1
        ReplanRequest(third, local(date(2027, 1, 15), 10)),  # 7 days after the new session 2
    ]
    with pytest.raises(RuleViolation) as refused:
        attention_list.accept_replan(
            actor=world["desk"], enrolment_id=world["enrolment"].id, moves=moves, now=NOW
        )
    codes = {v.code for v in refused.value.violations}
    assert "spacing_too_close" in codes or "spacing_too_far" in codes
    assert starts(world["ids"]) == before


def test_accept_replan_refuses_sessions_of_another_enrolment_or_past_ones(world) -> None:
    other = f.make_client()
    theirs = enrol.book_course(
        actor=world["desk"],
        course_code="peel3",
        client_id=other.id,
        sessions=[SessionRequest(local(MONDAYS[0], 12), world["lena"].id)],
        now=NOW,
    )
    foreign = theirs.appointments[0].id
    with pytest.raises(InvalidRequest):
        attention_list.accept_replan(
            actor=world["desk"],
            enrolment_id=world["enrolment"].id,
            moves=[ReplanRequest(foreign, local(date(2026, 12, 8), 12))],
            now=NOW,
        )
    later = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    with pytest.raises(Conflict):
        attention_list.accept_replan(
            actor=world["desk"],
            enrolment_id=world["enrolment"].id,
            moves=[ReplanRequest(world["ids"][0], local(date(2026, 12, 11), 10))],
            now=later,
        )
    with pytest.raises(NotFound):
        attention_list.accept_replan(
            actor=world["desk"],
            enrolment_id=99999,
            moves=[ReplanRequest(world["ids"][0], local(date(2026, 12, 8), 10))],
            now=NOW,
        )
    with pytest.raises(PermissionDenied):
        attention_list.accept_replan(
            actor=f.client_actor(world["client"]),
            enrolment_id=world["enrolment"].id,
            moves=[ReplanRequest(world["ids"][0], local(date(2026, 12, 8), 10))],
            now=NOW,
        )


def test_accept_replan_keeps_the_flag_of_a_session_that_still_breaks_a_rule(world) -> None:
    first, second, third = world["ids"]
    take_off(world["lena"].id, MONDAYS[2])
    flag(second)  # a stale flag: session 2 holds where it is
    flag(third)  # Lena is off that day
    attention_list.accept_replan(
        actor=world["desk"],
        enrolment_id=world["enrolment"].id,
        moves=[ReplanRequest(first, local(date(2026, 12, 8), 10))],
        now=NOW,
    )
    left = set(db.session.scalars(select(AttentionFlag.appointment_id)))
    assert left == {third}


def test_reading_flags_walks_the_flags_not_the_appointments(world) -> None:
    """SQLite's query plans: each statement that reads the flags looks sessions up by key,
    so its cost grows with the flags, not with the appointments table."""
    flag(world["ids"][1])
    seen: list[tuple[str, object]] = []

    def record_statement(conn, cursor, statement, parameters, *args) -> None:
        # The flags, and the sessions they point to (the re-plan reads a few days of the
        # calendar and the client's sessions through their own bounded indexes).
        if "attention_flags" in statement or "appointments.id IN (" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record_statement)
    try:
        assert attention_list.count_attention(actor=world["desk"], now=NOW) == 1
        assert len(attention_list.attention_list(actor=world["desk"], now=NOW)) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", record_statement)
    assert len(seen) >= 3  # the count, the flags, their sessions (and what they load)
    for statement, parameters in seen:
        plan = " | ".join(
            row[3]
            for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            )
        )
        assert "SCAN appointments" not in plan, plan
        assert "start_at" not in plan, plan


def test_a_stale_flag_gets_a_replan_that_moves_nothing_and_accepting_clears_it(world) -> None:
    second = world["ids"][1]
    flag(second)  # nothing broke it: the change was undone before anyone looked
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    assert item.replan.ok and item.replan.moves == ()
    before = starts(world["ids"])
    assert (
        attention_list.accept_replan(
            actor=world["desk"], enrolment_id=world["enrolment"].id, moves=[], now=NOW
        )
        == []
    )
    assert starts(world["ids"]) == before
    assert count(AttentionFlag) == 0
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "sessions_moved")
        )
        == 0
    )


def test_when_no_replan_keeps_the_rules_the_list_says_why(world) -> None:
    # Lena, the only practitioner, is off for every day session 2 could move to.
    db.session.add(
        TimeOff(
            practitioner_id=world["lena"].id,
            start_on=date(2026, 12, 14),
            end_on=date(2027, 2, 28),
        )
    )
    f.commit()
    flag(world["ids"][1])
    flag(world["ids"][2])
    items = attention_list.attention_list(actor=world["desk"], now=NOW)
    assert len(items) == 2
    replan = items[0].replan
    assert not replan.ok and replan.moves == ()
    assert replan.problems and all(v.message for v in replan.problems)


def test_accepting_the_same_replan_twice_tells_the_client_once(world) -> None:
    take_off(world["lena"].id, MONDAYS[1])
    flag(world["ids"][1])
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    moves = [
        ReplanRequest(m.appointment_id, m.slot.start, m.slot.practitioner_id)
        for m in item.replan.moves
    ]
    for _ in range(2):
        attention_list.accept_replan(
            actor=world["desk"], enrolment_id=world["enrolment"].id, moves=moves, now=NOW
        )
    told = select(func.count()).select_from(OutboxMessage)
    assert db.session.scalar(told.where(OutboxMessage.kind == "sessions_moved")) == 1


def test_the_message_names_the_new_practitioner(world) -> None:
    mira = f.make_practitioner(name="Mira")
    second = world["ids"][1]
    attention_list.accept_replan(
        actor=world["desk"],
        enrolment_id=world["enrolment"].id,
        moves=[ReplanRequest(second, local(MONDAYS[1], 12), mira.id)],
        now=NOW,
    )
    moved = db.session.get(Appointment, second)
    assert moved.practitioner_id == mira.id
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "sessions_moved"))
    assert "with Mira" in message.body and "with Lena" not in message.body
