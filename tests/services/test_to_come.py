"""A session still to come (booked, not yet begun): one rule, in Python and in SQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.extensions import db
from clinic.models import APPOINTMENT_STATUSES, Appointment, Enrolment, Room
from clinic.services.world.aftercare import rules_record
from clinic.services.world.course_catalogue import course_rules
from tests import factories as f
from tests.clock import NOW


def test_to_come_is_booked_and_not_yet_begun_in_python_and_in_sql(app) -> None:
    course = f.make_course()
    practitioner = f.make_practitioner()
    client = f.make_client()
    room = Room(code="R1", name="Room 1")
    db.session.add(room)
    enrolment = Enrolment(
        client_id=client.id, course_id=course.id, rules=rules_record(course_rules(course))
    )
    db.session.add(enrolment)
    db.session.flush()
    # Every status, each an hour before, exactly at and an hour after `NOW`.
    offsets = (timedelta(hours=-1), timedelta(0), timedelta(hours=1))
    for i, (status, offset) in enumerate((s, o) for s in APPOINTMENT_STATUSES for o in offsets):
        start = NOW + offset + timedelta(days=i)  # a day apart: the client is in one at a time
        start = start - timedelta(days=i) if status == "booked" else start
        db.session.add(
            Appointment(
                enrolment_id=enrolment.id,
                session=i + 1,
                client_id=client.id,
                practitioner_id=practitioner.id,
                room_id=room.id,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                busy_until_at=start + timedelta(minutes=30),
                status=status,
            )
        )
    f.commit()
    rows = db.session.scalars(select(Appointment)).all()
    in_python = {a.id for a in rows if a.is_to_come(NOW)}
    in_sql = set(db.session.scalars(select(Appointment.id).where(Appointment.to_come(NOW))))
    assert in_python == in_sql
    assert {(a.status, a.start_at > NOW) for a in rows if a.id in in_python} == {("booked", True)}
    assert len(in_python) == 1  # the booked one an hour from now; not the one starting now
