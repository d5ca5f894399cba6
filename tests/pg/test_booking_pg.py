"""Booking on PostgreSQL: the database itself refuses double bookings, under real concurrency.

The services check every rule before they write, but two requests can pass that check at the
same instant. These tests make that happen (threads held at a barrier right after the check,
or a snapshot that does not yet see the other booking) and assert that the exclusion
constraints of migration 0003 refuse the loser, which the service reports as a 409 `Conflict`
with the rule's code, writing nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from clinic.extensions import db
from clinic.models import Appointment, AuditEntry, Course, Enrolment
from clinic.models.calendar import EXCLUSIONS
from clinic.services.core.errors import Conflict
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from clinic.services.world import course_catalogue
from clinic.services.world import snapshot as occupancy_source
from clinic.services.world.aftercare import rules_record
from tests import factories as f
from tests.clock import NOW, local

pytestmark = pytest.mark.pg


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def clinic(app):
    f.make_clinic()
    return {
        "practitioner": f.make_practitioner(),
        "course": f.make_course(),
        "desk": f.actor("receptionist"),
    }


@pytest.fixture
def laser(app):
    """A CO2 laser course; one device shared by two practitioners (and two rooms)."""
    f.make_clinic()
    f.make_device()
    procedure = f.make_procedure(
        code="co2",
        name="CO2 laser resurfacing",
        duration_min=60,
        qualification="laser",
        device_kind="co2_laser",
        price=Decimal("250.00"),
    )
    f.make_course(
        code="co2_course",
        name="CO2 laser, 3 sessions",
        procedure=procedure,
        sessions=3,
        min_interval_days=28,
        max_interval_days=90,
        aftercare=[],
        contraindications=[],
    )
    return {
        "anna": f.make_practitioner(qualifications=["laser"]),
        "ben": f.make_practitioner(qualifications=["laser"]),
        "desk": f.actor("receptionist"),
    }


@pytest.fixture
def stale_calendar(monkeypatch):
    """The check sees an empty calendar, as a request does whose check ran before the other
    booking committed: only the database can refuse now."""
    monkeypatch.setattr(occupancy_source, "_occupancy_loader", lambda tz: lambda first, last: [])
    monkeypatch.setattr(occupancy_source, "_ranges_loader", lambda tz: lambda ranges: [])


def test_migrations_at_head_match_the_models_on_postgresql(app) -> None:
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []


def test_exclusion_constraints_are_those_the_model_declares(app) -> None:
    # Autogenerate does not compare exclusion constraints, so this test does.
    rows = db.session.execute(
        text(
            "SELECT conname, condeferred FROM pg_constraint "
            "WHERE contype = 'x' AND conrelid = 'appointments'::regclass"
        )
    ).all()
    assert {name for name, _ in rows} == set(EXCLUSIONS)
    assert all(deferred for _, deferred in rows)


def _raw_appointment(enrolment: Enrolment, start: datetime, **overrides) -> Appointment:
    values = dict(
        enrolment_id=enrolment.id,
        session=1,
        client_id=enrolment.client_id,
        practitioner_id=overrides.pop("practitioner_id"),
        room_id=overrides.pop("room_id", 1),
        start_at=start,
        end_at=start + timedelta(minutes=45),
        busy_until_at=start + timedelta(minutes=60),
        status="booked",
    )
    values.update(overrides)
    return Appointment(**values)


def _enrolment(client_id: int, course_id: int) -> Enrolment:
    course = course_catalogue.course_rules(db.session.get(Course, course_id))
    enrolment = Enrolment(client_id=client_id, course_id=course_id, rules=rules_record(course))
    db.session.add(enrolment)
    f.commit()
    return enrolment


def test_database_refuses_an_overlapping_practitioner_without_any_service_check(clinic) -> None:
    pid, course_id = clinic["practitioner"].id, clinic["course"].id
    first = _enrolment(f.make_client().id, course_id)
    second = _enrolment(f.make_client().id, course_id)
    start = local(2026, 12, 1, 10)
    db.session.add(_raw_appointment(first, start, practitioner_id=pid, room_id=1))
    f.commit()
    # In the buffer of the first (10:45-11:00), in another room, for another client.
    db.session.add(
        _raw_appointment(
            second, start + timedelta(minutes=50), practitioner_id=pid, room_id=2, session=1
        )
    )
    with pytest.raises(IntegrityError) as refused:
        f.commit()
    assert isinstance(refused.value.orig, psycopg.errors.ExclusionViolation)
    assert refused.value.orig.diag.constraint_name == "ex_appointments_practitioner_busy"
    db.session.rollback()
    assert count(Appointment) == 1


def test_back_to_back_and_cancelled_appointments_do_not_collide(clinic) -> None:
    pid, course_id = clinic["practitioner"].id, clinic["course"].id
    first = _enrolment(f.make_client().id, course_id)
    second = _enrolment(f.make_client().id, course_id)
    third = _enrolment(f.make_client().id, course_id)
    start = local(2026, 12, 1, 10)
    db.session.add(_raw_appointment(first, start, practitioner_id=pid))
    # Starts exactly when the first one's buffer ends: ranges are half-open.
    db.session.add(_raw_appointment(second, start + timedelta(minutes=60), practitioner_id=pid))
    # Same time as the first, but cancelled: it holds nothing.
    db.session.add(_raw_appointment(third, start, practitioner_id=pid, status="cancelled"))
    f.commit()
    assert count(Appointment) == 3


def test_a_transaction_may_swap_two_sessions_because_the_check_is_deferred(clinic) -> None:
    pid = clinic["practitioner"].id
    client = f.make_client()
    enrolment = _enrolment(client.id, clinic["course"].id)
    a = _raw_appointment(enrolment, local(2026, 12, 1, 10), practitioner_id=pid, session=1)
    b = _raw_appointment(enrolment, local(2026, 12, 15, 10), practitioner_id=pid, session=2)
    db.session.add_all([a, b])
    f.commit()
    # Each UPDATE alone collides with the other row; the final state does not.
    a_times = (a.start_at, a.end_at, a.busy_until_at)
    a.start_at, a.end_at, a.busy_until_at = b.start_at, b.end_at, b.busy_until_at
    db.session.flush()
    b.start_at, b.end_at, b.busy_until_at = a_times
    f.commit()
    db.session.expire_all()
    assert db.session.get(Appointment, a.id).start_at == local(2026, 12, 15, 10)


def test_same_last_slot_booked_by_many_threads_at_once_gives_one_booking(
    app, clinic, monkeypatch
) -> None:
    threads = 12
    clients = [f.make_client().id for _ in range(threads)]
    desk, pid = clinic["desk"], clinic["practitioner"].id
    start = local(2026, 12, 1, 10)
    # Every thread passes the service's check before any of them writes.
    barrier = threading.Barrier(threads, timeout=30)
    real_check = enrol.check_course

    def check_then_wait(**kwargs):
        result = real_check(**kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(enrol, "check_course", check_then_wait)
    outcomes: list[object] = [None] * threads

    def book(i: int) -> None:
        with app.app_context():
            try:
                outcomes[i] = enrol.book_course(
                    actor=desk,
                    course_code="peel_course",
                    client_id=clients[i],
                    sessions=[SessionRequest(start, pid)],
                    now=NOW,
                ).id
            except Exception as exc:  # collected and asserted below
                outcomes[i] = exc

    workers = [threading.Thread(target=book, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    booked = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(booked) == 1, outcomes
    assert len(refused) == threads - 1, outcomes
    assert {c.code for c in refused} <= {
        "practitioner_unavailable",
        "room_unavailable",
        "client_double_booked",
        "slot_taken",
    }
    db.session.expire_all()
    assert count(Appointment) == 1
    assert count(Enrolment) == 1


def test_device_shared_by_two_practitioners_is_refused_by_the_check(laser) -> None:
    start = local(2026, 12, 1, 10)
    enrol.book_course(
        actor=laser["desk"],
        course_code="co2_course",
        client_id=f.make_client().id,
        sessions=[SessionRequest(start, laser["anna"].id)],
        now=NOW,
    )
    with pytest.raises(Conflict) as taken:
        enrol.book_course(
            actor=laser["desk"],
            course_code="co2_course",
            client_id=f.make_client().id,
            sessions=[SessionRequest(start + timedelta(minutes=30), laser["ben"].id)],
            now=NOW,
        )
    assert [v.code for v in taken.value.violations] == ["device_unavailable"]
    assert count(Appointment) == 1


def test_device_shared_by_two_practitioners_is_refused_by_the_database(
    laser, stale_calendar
) -> None:
    start = local(2026, 12, 1, 10)
    enrol.book_course(
        actor=laser["desk"],
        course_code="co2_course",
        client_id=f.make_client().id,
        sessions=[SessionRequest(start, laser["anna"].id)],
        now=NOW,
    )
    with pytest.raises(Conflict) as taken:
        enrol.book_course(
            actor=laser["desk"],
            course_code="co2_course",
            client_id=f.make_client().id,
            sessions=[SessionRequest(start + timedelta(minutes=30), laser["ben"].id)],
            now=NOW,
        )
    assert taken.value.code == "device_unavailable"
    assert taken.value.status == 409
    assert count(Appointment) == 1


def _course_with_third_session_taken(laser) -> list[SessionRequest]:
    anna = laser["anna"].id
    starts = [local(2026, 12, 1, 10), local(2027, 1, 5, 10), local(2027, 2, 9, 10)]
    enrol.book_course(
        actor=laser["desk"],
        course_code="co2_course",
        client_id=f.make_client().id,
        sessions=[SessionRequest(starts[2], anna)],
        now=NOW,
    )
    return [SessionRequest(s, anna) for s in starts]


def test_course_whose_third_session_collides_writes_nothing(laser) -> None:
    sessions = _course_with_third_session_taken(laser)
    before = (count(Enrolment), count(Appointment), count(AuditEntry))
    with pytest.raises(Conflict) as taken:
        enrol.book_course(
            actor=laser["desk"],
            course_code="co2_course",
            client_id=f.make_client().id,
            sessions=sessions,
            now=NOW,
        )
    assert taken.value.violations[0].session == 3
    assert (count(Enrolment), count(Appointment), count(AuditEntry)) == before


def test_course_whose_third_session_collides_in_a_race_writes_nothing(
    laser, stale_calendar
) -> None:
    sessions = _course_with_third_session_taken(laser)
    before = (count(Enrolment), count(Appointment), count(AuditEntry))
    with pytest.raises(Conflict) as taken:
        enrol.book_course(
            actor=laser["desk"],
            course_code="co2_course",
            client_id=f.make_client().id,
            sessions=sessions,
            now=NOW,
        )
    # The practitioner and the device are both held; either constraint may speak first.
    assert taken.value.code in ("practitioner_unavailable", "device_unavailable")
    assert isinstance(taken.value.__cause__, IntegrityError)
    db.session.expire_all()
    assert (count(Enrolment), count(Appointment), count(AuditEntry)) == before
