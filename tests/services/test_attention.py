"""Changes of the world (services/attention.py): a change that would break booked sessions
is shown first and saves nothing; confirmed, it flags exactly the sessions it breaks; undoing
the cause clears the flags."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import AttentionFlag, TimeOff
from clinic.services import attention, booking, staffing
from clinic.services.booking import SessionRequest
from clinic.services.clinic_setup import clinic_tz
from tests import factories as f

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def booked(app):
    f.make_clinic()
    practitioner = f.make_practitioner(name="Lena")
    f.make_course()
    client = f.make_client()
    desk = f.actor("receptionist")
    plan = booking.plan_course_for(
        actor=desk,
        course_code="peel_course",
        client_id=client.id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    enrolment = booking.book_course(
        actor=desk,
        course_code="peel_course",
        client_id=client.id,
        sessions=[SessionRequest(p.slot.start, p.slot.practitioner_id) for p in plan.sessions],
        now=NOW,
    )
    return {
        "practitioner": practitioner,
        "appointments": list(enrolment.appointments),
        "admin": f.actor("admin"),
    }


def _day(a) -> date:
    return a.start_at.astimezone(clinic_tz()).date()


def flags() -> dict[int, list[str]]:
    rows = db.session.scalars(select(AttentionFlag)).all()
    return {r.appointment_id: [e["code"] for e in r.errors] for r in rows}


def time_off_count() -> int:
    return db.session.scalar(select(func.count()).select_from(TimeOff))


def test_time_off_over_a_session_is_shown_first_and_saves_nothing(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    change = staffing.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        now=NOW,
    )
    assert not change.saved and change.needs_confirmation
    assert [b.appointment_id for b in change.broken] == [second.id]
    assert change.broken[0].violations[0].code == "practitioner_unavailable"
    assert change.broken[0].practitioner_name == "Lena"
    assert time_off_count() == 0
    assert flags() == {}


def test_confirmed_time_off_flags_exactly_the_broken_session(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    change = staffing.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        confirm=True,
        now=NOW,
    )
    assert change.saved
    assert time_off_count() == 1
    assert flags() == {second.id: ["practitioner_unavailable"]}
    flag = db.session.get(AttentionFlag, second.id)
    assert flag is not None and "Time off for Lena" in flag.cause


def test_removing_the_time_off_clears_the_flag(booked) -> None:
    second = booked["appointments"][1]
    day = _day(second)
    staffing.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=day,
        end_on=day,
        confirm=True,
        now=NOW,
    )
    row = db.session.scalar(select(TimeOff))
    change = staffing.remove_time_off(actor=booked["admin"], time_off_id=row.id, now=NOW)
    assert change.saved and change.broken == ()
    assert flags() == {}


def test_time_off_breaking_nothing_is_saved_without_asking(booked) -> None:
    free = date(2026, 11, 30)  # a Monday before the course starts
    change = staffing.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=free,
        end_on=free,
        now=NOW,
    )
    assert change.saved and change.broken == ()
    assert time_off_count() == 1


def test_a_flag_outside_the_scope_is_left_alone(booked) -> None:
    first, second, third = booked["appointments"][:3]
    for a in (second, third):
        staffing.add_time_off(
            actor=booked["admin"],
            practitioner_id=booked["practitioner"].id,
            start_on=_day(a),
            end_on=_day(a),
            confirm=True,
            now=NOW,
        )
    assert set(flags()) == {second.id, third.id}
    row = db.session.scalar(select(TimeOff).where(TimeOff.start_on == _day(second)))
    staffing.remove_time_off(actor=booked["admin"], time_off_id=row.id, now=NOW)
    assert set(flags()) == {third.id}
    attention.forget([third.id])
    db.session.commit()
    assert flags() == {}


def flag_second(booked) -> int:
    second = booked["appointments"][1]
    staffing.add_time_off(
        actor=booked["admin"],
        practitioner_id=booked["practitioner"].id,
        start_on=_day(second),
        end_on=_day(second),
        confirm=True,
        now=NOW,
    )
    assert set(flags()) == {second.id}
    return second.id


def test_cancelling_a_flagged_session_drops_its_flag(booked) -> None:
    second = flag_second(booked)
    booking.cancel_appointment(actor=booked["admin"], appointment_id=second, now=NOW)
    assert flags() == {}


def test_moving_a_flagged_session_drops_its_flag(booked) -> None:
    second = flag_second(booked)
    appointment = booked["appointments"][1]
    other = f.make_practitioner(name="Jonas")
    booking.move_appointment(
        actor=booked["admin"],
        appointment_id=second,
        start=appointment.start_at,
        practitioner_id=other.id,
        now=NOW,
    )
    assert flags() == {}


def test_cancelling_the_course_drops_every_flag(booked) -> None:
    flag_second(booked)
    enrolment_id = booked["appointments"][0].enrolment_id
    booking.cancel_enrolment(actor=booked["admin"], enrolment_id=enrolment_id, now=NOW)
    assert flags() == {}
