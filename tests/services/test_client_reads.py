"""A client as the checks read it (services/world/client_reads.py): the state of many clients
read at once (`client_states`, a fixed number of statements) is each client's state read the
straightforward way, through the ORM one client at a time, whatever their sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, or_, select
from sqlalchemy.orm import selectinload

from clinic.extensions import db
from clinic.models import LOOKBACK, RESTRICTING_STATUSES, Appointment, Client, Enrolment, Room
from clinic.scheduling import BookedSession, ClientState, ConditionState, DeclaredPeriod
from clinic.services.core.errors import NotFound
from clinic.services.world import client_reads, course_catalogue
from clinic.services.world.aftercare import rules_from_record, rules_record
from tests import factories as f

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CLIENTS = 4
STATUSES = ["booked", "booked", "done", "cancelled", "no_show"]


@pytest.fixture
def world(app):
    f.make_clinic()
    practitioner = f.make_practitioner()
    peel = f.make_course()
    laser = f.make_course(
        code="laser_course",
        name="Laser, 3 sessions",
        sessions=3,
        procedure=f.make_procedure(code="laser", name="Laser", duration_min=30, blocked_by=[]),
        aftercare=[("no_uv", "sun", 72)],
    )
    clients = [
        f.make_client(
            email=f"c{i}@clinic.test",
            conditions={"pregnancy": (i % 2 == 0, None)} if i else {},
            periods=[
                ("sun_exposure", date(2027, 1, 10 + i), date(2027, 1, 20)),
                ("needs_makeup", date(2026, 12, 1), date(2026, 12, 1 + i)),
            ][: i % 3],
        ).id
        for i in range(CLIENTS)
    ]
    enrolments = []
    for i, client_id in enumerate(clients):
        for course in (peel, laser):
            rules = rules_record(course_catalogue.course_rules(course))
            if i % 2:  # booked under other rules than the course's now
                rules = {**rules, "min_interval_days": rules["min_interval_days"] + 7}
            e = Enrolment(client_id=client_id, course_id=course.id, rules=rules)
            db.session.add(e)
            enrolments.append(e)
    f.commit()
    return {
        "clients": clients,
        "enrolments": [(e.id, e.client_id) for e in enrolments],
        "practitioner": practitioner.id,
        "room": db.session.scalar(select(Room.id)),
    }


def straightforward(client_id: int, now: datetime, enrolments: set[int]) -> ClientState:
    """The client's state read one client at a time through the ORM, as client_state did
    before it read many at once (ties of start in order of id)."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound("There is no such client.")
    recent = Appointment.start_at >= now - LOOKBACK
    appointments = db.session.scalars(
        select(Appointment)
        .options(selectinload(Appointment.enrolment).selectinload(Enrolment.course))
        .where(
            Appointment.client_id == client_id,
            Appointment.status.in_(RESTRICTING_STATUSES),
            or_(recent, Appointment.enrolment_id.in_(enrolments)) if enrolments else recent,
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    return ClientState(
        id=client.id,
        conditions={c.code: ConditionState(c.present, c.last_on) for c in client.conditions},
        periods=tuple(DeclaredPeriod(p.kind, p.start_on, p.end_on, p.note) for p in client.periods),
        sessions=tuple(
            BookedSession(
                a.id,
                a.enrolment_id,
                a.session,
                a.start_at,
                a.end_at,
                rules_from_record(
                    a.enrolment.rules,
                    course_catalogue.procedure_rules(a.enrolment.course.procedure),
                ),
            )
            for a in appointments
        ),
    )


# (enrolment index, days from now, status): the look-back's edge and both sides of it.
SESSIONS = st.lists(
    st.tuples(
        st.integers(0, 2 * CLIENTS - 1),
        st.sampled_from([-500, -367, -366, -365, -200, -3, 0, 2, 30, 90]),
        st.sampled_from(STATUSES),
    ),
    max_size=14,
)
CONCERNED = st.dictionaries(
    st.integers(0, CLIENTS - 1), st.sets(st.integers(0, 2 * CLIENTS - 1), max_size=3), min_size=1
)


def _add_sessions(world, sessions: list[tuple[int, int, str]]) -> None:
    db.session.execute(delete(Appointment))
    numbers: dict[int, int] = {}
    for k, (which, days, status) in enumerate(sessions):
        enrolment_id, client_id = world["enrolments"][which]
        numbers[enrolment_id] = numbers.get(enrolment_id, 0) + 1
        # Two sessions of a client may start at the same instant (k % 3 == 0 ones).
        start = NOW + timedelta(days=days, hours=0 if k % 3 == 0 else k)
        db.session.add(
            Appointment(
                enrolment_id=enrolment_id,
                session=numbers[enrolment_id],
                client_id=client_id,
                practitioner_id=world["practitioner"],
                room_id=world["room"],
                start_at=start,
                end_at=start + timedelta(minutes=45),
                busy_until_at=start + timedelta(minutes=60),
                status=status,
            )
        )
    f.commit()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sessions=SESSIONS, concerned=CONCERNED)
def test_many_clients_read_at_once_are_each_read_on_its_own(world, sessions, concerned) -> None:
    _add_sessions(world, sessions)
    # Enrolments of any client, as a caller might name them: another client's bring nothing.
    wanted = {
        world["clients"][c]: {world["enrolments"][e][0] for e in es} for c, es in concerned.items()
    }
    expected = {c: straightforward(c, NOW, es) for c, es in wanted.items()}
    db.session.rollback()  # a transaction of its own, nothing kept from the reference's

    assert client_reads.client_states(wanted, NOW) == expected
    db.session.rollback()
    for c, es in wanted.items():
        assert client_reads.client_state(c, NOW, enrolments=es) == expected[c]
    db.session.rollback()


def test_many_clients_cost_the_statements_of_two(world) -> None:
    _add_sessions(world, [(e, d, "booked") for e in range(2 * CLIENTS) for d in (-3, 30)])

    def statements(clients: list[int]) -> int:
        seen: list[str] = []

        def note(conn, cursor, statement, parameters, context, executemany) -> None:
            seen.append(statement)

        db.session.rollback()
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            states = client_reads.client_states({c: set() for c in clients}, NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        assert all(len(states[c].sessions) == 4 for c in clients)  # two enrolments, two each
        return len(seen)

    assert statements(world["clients"]) == statements(world["clients"][:2])


def test_a_client_that_does_not_exist_is_not_found_among_others(world) -> None:
    with pytest.raises(NotFound):
        client_reads.client_states({world["clients"][0]: set(), 10_000: set()}, NOW)
