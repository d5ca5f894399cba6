"""The attention list and accepting a re-plan, against a real (SQLite) database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, AuditEntry, OutboxMessage, Room, TimeOff
from clinic.services.core.actors import actor_for
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.courses import cancellation, course_rest, enrol, moves
from clinic.services.courses.placing import SessionRequest
from clinic.services.lifetime import attention_list
from clinic.services.lifetime.attention_list import ReplanRequest
from clinic.services.people import declared_periods
from clinic.services.staffing import rooms, time_off
from tests import factories as f
from tests.clock import BERLIN, NOW, local

# Three Mondays 21 days apart (the course: 14 to 28 days).
MONDAYS = (date(2026, 12, 7), date(2026, 12, 28), date(2027, 1, 18))


@pytest.fixture
def world(app):
    booked = f.make_booked_course(
        *(local(d, 10) for d in MONDAYS),
        practitioner=dict(name="Lena"),
        course=dict(code="peel3", name="Glycolic peel, 3 sessions", sessions=3),
        client=dict(name="Carla"),
        now=NOW,
    )
    return {
        "lena": booked.practitioner,
        "client": booked.client,
        "desk": booked.desk,
        "admin": f.actor("admin"),
        "enrolment": booked.enrolment,
        "ids": booked.ids,
    }


def take_off(world, first: date, last: date | None = None, now: datetime = NOW) -> set[int]:
    """Lena's days off over booked sessions, through the service (confirmed): the sessions it
    breaks are judged and flagged as in the clinic. Returns the flagged ones."""
    change = time_off.add_time_off(
        actor=world["admin"],
        practitioner_id=world["lena"].id,
        start_on=first,
        end_on=last or first,
        confirm=True,
        now=now,
    )
    assert change.saved
    return {b.appointment_id for b in change.broken}


def undo_unjudged(practitioner_id: int, day: date) -> None:
    """The time off goes without a change of the world judging it (as a release before the
    flags did): its flag is stale, the session holds where it is."""
    db.session.execute(
        db.delete(TimeOff).where(
            TimeOff.practitioner_id == practitioner_id, TimeOff.start_on == day
        )
    )
    f.commit()


def seen(item_moves) -> list[ReplanRequest]:
    """The re-plan as the list drew it, with each session as it was seen."""
    return [
        ReplanRequest(m.appointment_id, m.slot.start, m.slot.practitioner_id, seen=m.seen)
        for m in item_moves
    ]


def flagged() -> set[int]:
    return set(db.session.scalars(select(AttentionFlag.appointment_id)))


def starts(ids: list[int]) -> list[datetime]:
    return [db.session.get(Appointment, i).start_at for i in ids]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_attention_list_shows_a_flagged_session_with_its_errors_and_a_replan(world) -> None:
    second = world["ids"][1]
    assert take_off(world, MONDAYS[1]) == {second}
    items = attention_list.attention_list(actor=world["desk"], now=NOW)
    assert [i.appointment.id for i in items] == [second]
    item = items[0]
    assert item.appointment.client.name == "Carla"
    assert item.appointment.enrolment_id == world["enrolment"].id
    assert [e.code for e in item.errors] == ["practitioner_unavailable"]
    assert all(e.message for e in item.errors)
    assert item.cause == "Time off for Lena, Mon 28 Dec 2026"
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
    take_off(world, MONDAYS[1])
    take_off(world, MONDAYS[0])
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
    take_off(world, MONDAYS[0])
    take_off(world, MONDAYS[2])
    cancellation.cancel_appointment(actor=world["desk"], appointment_id=third, now=NOW)
    later = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # session 1 is past by then
    assert attention_list.attention_list(actor=world["desk"], now=later) == []
    assert attention_list.count_attention(actor=world["desk"], now=later) == 0
    assert take_off(world, MONDAYS[1], now=later) == {second}
    assert attention_list.count_attention(actor=world["desk"], now=later) == 1


def test_attention_list_is_for_staff_only(world) -> None:
    take_off(world, MONDAYS[0])
    with pytest.raises(PermissionDenied):
        attention_list.attention_list(actor=f.client_actor(world["client"]), now=NOW)
    with pytest.raises(PermissionDenied):
        attention_list.count_attention(actor=f.client_actor(world["client"]), now=NOW)


def test_a_practitioner_sees_only_flags_of_their_own_sessions(world) -> None:
    take_off(world, MONDAYS[0])
    me = f.actor("practitioner")
    assert attention_list.attention_list(actor=me, now=NOW) == []
    lena_user = f.make_user("practitioner")
    world["lena"].user_id = lena_user.id
    f.commit()
    lena = actor_for(lena_user)
    assert [i.appointment.id for i in attention_list.attention_list(actor=lena, now=NOW)] == [
        world["ids"][0]
    ]
    # The navigation's count says the same, per actor.
    assert attention_list.count_attention(actor=lena, now=NOW) == 1
    assert attention_list.count_attention(actor=me, now=NOW) == 0
    assert attention_list.count_attention(actor=world["desk"], now=NOW) == 1


def test_accept_replan_moves_the_sessions_clears_flags_and_tells_the_client(world) -> None:
    second = world["ids"][1]
    take_off(world, MONDAYS[1])
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    moves = seen(item.replan.moves)
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
    take_off(world, MONDAYS[1])
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
    take_off(world, MONDAYS[1])
    undo_unjudged(world["lena"].id, MONDAYS[1])  # a stale flag: session 2 holds where it is
    take_off(world, MONDAYS[2])  # Lena is off that day
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
    take_off(world, MONDAYS[1])
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
    assert take_off(world, MONDAYS[1]) == {world["ids"][1]}
    undo_unjudged(world["lena"].id, MONDAYS[1])  # undone before anyone looked
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
    assert take_off(world, date(2026, 12, 14), date(2027, 2, 28)) == set(world["ids"][1:])
    items = attention_list.attention_list(actor=world["desk"], now=NOW)
    assert len(items) == 2
    replan = items[0].replan
    assert not replan.ok and replan.moves == ()
    assert replan.problems and all(v.message for v in replan.problems)


def test_accepting_the_same_replan_twice_tells_the_client_once(world) -> None:
    """Without the sessions as seen (an API caller that sends none), the second accept moves
    nothing; with them it is refused, as the sessions moved (see the test after the next)."""
    take_off(world, MONDAYS[1])
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


def test_accepting_the_same_replan_twice_with_what_was_seen_is_refused_the_second_time(
    world,
) -> None:
    take_off(world, MONDAYS[1])
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    asked = seen(item.replan.moves)
    attention_list.accept_replan(
        actor=world["desk"], enrolment_id=world["enrolment"].id, moves=asked, now=NOW
    )
    with pytest.raises(Conflict) as refused:
        attention_list.accept_replan(
            actor=world["desk"], enrolment_id=world["enrolment"].id, moves=asked, now=NOW
        )
    assert refused.value.code == "appointment_changed"


# --- one judge of a booked session, end to end -------------------------------------------------


def close_room_of(world, appointment_id: int) -> int:
    """Take the room a session is booked in out of use (confirmed): returns the room."""
    room_id = db.session.get(Appointment, appointment_id).room_id
    change = rooms.set_active(
        actor=world["admin"], kind="room", record_id=room_id, active=False, confirm=True, now=NOW
    )
    assert change.saved
    return room_id


def test_accepting_a_replan_that_moves_nothing_keeps_the_flag_of_a_session_in_a_closed_room(
    world,
) -> None:
    room = close_room_of(world, world["ids"][1])
    in_room = {
        a.id for a in db.session.scalars(select(Appointment).where(Appointment.room_id == room))
    }
    assert in_room and flagged() == in_room
    before = starts(world["ids"])
    attention_list.accept_replan(
        actor=world["desk"], enrolment_id=world["enrolment"].id, moves=[], now=NOW
    )
    # Still booked in the closed room: nothing holds, no flag goes.
    assert flagged() == in_room
    assert starts(world["ids"]) == before


def test_the_replan_of_a_session_in_a_closed_room_moves_it_to_another_room(world) -> None:
    room = close_room_of(world, world["ids"][1])
    items = attention_list.attention_list(actor=world["desk"], now=NOW)
    replan = items[0].replan
    assert replan.ok and replan.moves
    attention_list.accept_replan(
        actor=world["desk"],
        enrolment_id=world["enrolment"].id,
        moves=seen(replan.moves),
        now=NOW,
    )
    assert flagged() == set()
    rooms = set(
        db.session.scalars(select(Appointment.room_id).where(Appointment.id.in_(world["ids"])))
    )
    assert room not in rooms and db.session.get(Room, room).active is False


def test_a_session_booked_with_an_override_stays_off_the_list_through_world_changes(
    world,
) -> None:
    """Carla's sun holiday overlaps session 2's aftercare: reception booked it anyway, with a
    reason. Her next declared holiday breaks session 3 (flagged) but not session 2 again, and
    the re-plan moves session 3 only."""
    carla = f.make_client(
        name="Clara", periods=[("sun_exposure", date(2027, 1, 2), date(2027, 1, 3))]
    )
    booked = enrol.book_course(
        actor=world["desk"],
        course_code="peel3",
        client_id=carla.id,
        sessions=[SessionRequest(local(d, 12), world["lena"].id) for d in MONDAYS[:2]],
        override_reason="Client will stay in the shade",
        now=NOW,
    )
    course_rest.book_rest(
        actor=world["desk"],
        enrolment_id=booked.id,
        sessions=[SessionRequest(local(MONDAYS[2], 12), world["lena"].id)],
        now=NOW,
    )
    db.session.expire_all()
    ids = [a.id for a in sorted(booked.appointments, key=lambda a: a.session)]
    assert [bool(db.session.get(Appointment, i).override_reason) for i in ids] == [
        True,
        True,
        False,
    ]
    _, change = declared_periods.add_period(
        actor=world["desk"],
        client_id=carla.id,
        kind="sun_exposure",
        start_on=date(2027, 1, 20),
        end_on=date(2027, 1, 22),
        now=NOW,
    )
    assert {b.appointment_id for b in change.broken} == {ids[2]}
    assert flagged() == {ids[2]}
    [item] = attention_list.attention_list(actor=world["desk"], client_id=carla.id, now=NOW)
    assert [e.code for e in item.errors] == ["conflicts_with_client_plans"]
    assert [m.appointment_id for m in item.replan.moves] == [ids[2]]
    assert item.replan.stays == (1, 2)
    attention_list.accept_replan(
        actor=world["desk"], enrolment_id=booked.id, moves=seen(item.replan.moves), now=NOW
    )
    assert flagged() == set()
    assert starts(ids[:2]) == [local(MONDAYS[0], 12), local(MONDAYS[1], 12)]


def test_a_practitioners_list_proposes_the_replan_reception_sees(world) -> None:
    """Session 2 is Mira's and session 3 Lena's, and both are off: Lena's list shows her own
    session only, but its re-plan is the clinic's, which must move session 2 as well."""
    mira = f.make_practitioner(name="Mira")
    tuesdays = [d + timedelta(days=1) for d in MONDAYS]
    other = f.make_client(name="Olga")
    booked = enrol.book_course(
        actor=world["desk"],
        course_code="peel3",
        client_id=other.id,
        sessions=[
            SessionRequest(local(tuesdays[0], 10), world["lena"].id),
            SessionRequest(local(tuesdays[1], 10), mira.id),
            SessionRequest(local(tuesdays[2], 10), world["lena"].id),
        ],
        now=NOW,
    )
    ids = [a.id for a in sorted(booked.appointments, key=lambda a: a.session)]
    time_off.add_time_off(
        actor=world["admin"],
        practitioner_id=mira.id,
        start_on=tuesdays[1],
        end_on=tuesdays[1],
        confirm=True,
        now=NOW,
    )
    assert take_off(world, tuesdays[2]) == {ids[2]}
    lena_user = f.make_user("practitioner")
    world["lena"].user_id = lena_user.id
    f.commit()
    mine = attention_list.attention_list(actor=actor_for(lena_user), now=NOW)
    assert [i.appointment.id for i in mine] == [ids[2]]
    desk = attention_list.attention_list(actor=world["desk"], client_id=other.id, now=NOW)
    assert [i.appointment.id for i in desk] == ids[1:]
    assert mine[0].replan == desk[0].replan
    assert [m.appointment_id for m in mine[0].replan.moves] == ids[1:]


def test_accepting_a_stale_replan_is_refused_when_the_client_moved_the_session(world) -> None:
    """Reception reads the list; Carla then moves session 2 herself (its flag goes); reception
    accepts the re-plan it read: refused, naming what changed, and her move stays."""
    second = world["ids"][1]
    take_off(world, MONDAYS[1])
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    asked = seen(item.replan.moves)
    assert [m.appointment_id for m in asked] == [second]
    hers = local(date(2026, 12, 29), 11)
    moves.move_appointment(
        actor=f.client_actor(world["client"]), appointment_id=second, start=hers, now=NOW
    )
    assert flagged() == set()
    messages = count(OutboxMessage)
    with pytest.raises(Conflict) as refused:
        attention_list.accept_replan(
            actor=world["desk"], enrolment_id=world["enrolment"].id, moves=asked, now=NOW
        )
    assert refused.value.code == "appointment_changed"
    assert "Session 2 was just moved to Tue 29 Dec" in refused.value.message
    assert refused.value.affected == [second]
    db.session.expire_all()
    assert db.session.get(Appointment, second).start_at == hers
    assert count(OutboxMessage) == messages
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "replan")) is None


def test_accepting_a_stale_replan_is_refused_when_the_session_was_cancelled(world) -> None:
    take_off(world, MONDAYS[1])
    [item] = attention_list.attention_list(actor=world["desk"], now=NOW)
    cancellation.cancel_appointment(actor=world["desk"], appointment_id=world["ids"][1], now=NOW)
    with pytest.raises(Conflict) as refused:
        attention_list.accept_replan(
            actor=world["desk"],
            enrolment_id=world["enrolment"].id,
            moves=seen(item.replan.moves),
            now=NOW,
        )
    assert refused.value.code == "appointment_changed"
    assert "Session 2 was just cancelled" in refused.value.message
