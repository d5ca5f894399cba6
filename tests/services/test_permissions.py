"""Who may do what: the permission predicates as tables (clinic/services/permissions.py)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from clinic.services.core import permissions as p
from clinic.services.core.actors import Actor
from clinic.services.core.errors import Conflict, PermissionDenied, RuleViolation
from tests import factories as f
from tests.clock import NOW

ROLES = ("admin", "receptionist", "practitioner", "client")


def actor(role: str) -> Actor:
    return Actor(
        user_id=1,
        role=role,
        client_id=10 if role == "client" else None,
        practitioner_id=20 if role == "practitioner" else None,
    )


def appointment(
    *, client_id: int = 10, practitioner_id: int = 20, status: str = "booked", hours: int = 48
) -> SimpleNamespace:
    return SimpleNamespace(
        session=1,
        client_id=client_id,
        practitioner_id=practitioner_id,
        status=status,
        start_at=NOW + timedelta(hours=hours),
    )


@pytest.mark.parametrize(
    ("predicate", "allowed"),
    [
        (p.is_admin, {"admin"}),
        (p.is_desk, {"admin", "receptionist"}),
        (p.is_staff, {"admin", "receptionist", "practitioner"}),
        (p.is_practitioner, {"practitioner"}),
        (p.is_client, {"client"}),
        (p.can_edit_catalogue, {"admin", "practitioner"}),
    ],
)
def test_role_predicates(predicate, allowed) -> None:
    assert {role for role in ROLES if predicate(actor(role))} == allowed
    assert not predicate(SimpleNamespace())  # an anonymous visitor has no role


@pytest.mark.parametrize(
    ("role", "client_id", "allowed"),
    [
        ("admin", 99, True),
        ("receptionist", 99, True),
        ("receptionist", None, True),
        ("practitioner", 10, False),
        ("practitioner", None, False),
        ("client", None, True),
        ("client", 10, True),
        ("client", 99, False),
    ],
)
def test_can_book_for(role: str, client_id: int | None, allowed: bool) -> None:
    assert p.can_book_for(actor(role), client_id) is allowed


@pytest.mark.parametrize(
    ("role", "client_id", "practitioner_id", "allowed"),
    [
        ("receptionist", 99, 98, True),
        ("admin", 99, 98, True),
        ("practitioner", 99, 20, True),
        ("practitioner", 10, 98, False),
        ("client", 10, 98, True),
        ("client", 99, 20, False),
    ],
)
def test_can_see_appointment(
    role: str, client_id: int, practitioner_id: int, allowed: bool
) -> None:
    seen = appointment(client_id=client_id, practitioner_id=practitioner_id)
    assert p.can_see_appointment(actor(role), seen) is allowed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "status", "hours", "refused"),
    [
        ("client", "booked", 48, None),
        ("client", "booked", 24, None),  # exactly the notice
        ("client", "booked", 23, RuleViolation),
        ("client", "booked", -1, RuleViolation),  # begun already
        ("receptionist", "booked", 1, None),  # staff change any time
        ("admin", "booked", -1, None),
        ("practitioner", "booked", 48, PermissionDenied),
        ("client", "cancelled", 48, Conflict),
        ("receptionist", "done", -1, Conflict),
        ("receptionist", "no_show", -1, Conflict),
    ],
)
def test_change_refusal(app, role: str, status: str, hours: int, refused: type | None) -> None:
    f.make_clinic(client_change_notice_hours=24)
    session = appointment(status=status, hours=hours)
    refusal = p.change_refusal(actor(role), session, NOW)  # type: ignore[arg-type]
    if refused is None:
        assert refusal is None
        assert p.can_change(actor(role), session, NOW)  # type: ignore[arg-type]
    else:
        assert type(refusal) is refused
        assert not p.can_change(actor(role), session, NOW)  # type: ignore[arg-type]
    if refused is RuleViolation:
        assert [v.code for v in refusal.violations] == ["too_late_to_change"]  # type: ignore[union-attr]


def test_change_refusal_without_now_leaves_the_notice_to_the_engine(app) -> None:
    f.make_clinic(client_change_notice_hours=24)
    assert p.change_refusal(actor("client"), appointment(hours=1), None) is None  # type: ignore[arg-type]


def test_the_sql_forms_of_who_sees_what_agree_with_the_python_ones(app) -> None:
    """`visible_appointments` and `treated_by` are the SQL of `can_see_appointment` and
    `practitioner_treats`: for every role, the same sessions and clients."""
    from sqlalchemy import select

    from clinic.extensions import db
    from clinic.models import Appointment, Client, Enrolment, Room
    from clinic.services.core.actors import actor_for
    from clinic.services.world.aftercare import rules_record
    from clinic.services.world.course_catalogue import course_rules

    course = f.make_course()
    room = Room(code="R1", name="Room 1")
    db.session.add(room)
    anna, ben = f.make_practitioner(), f.make_practitioner()
    first, second, third = f.make_client(), f.make_client(), f.make_client()
    start = NOW + timedelta(days=3)
    pairs = [(first, anna), (first, ben), (second, ben), (third, ben)]
    for i, (client, practitioner) in enumerate(pairs):
        enrolment = Enrolment(
            client_id=client.id, course_id=course.id, rules=rules_record(course_rules(course))
        )
        db.session.add(enrolment)
        db.session.flush()
        at = start + timedelta(days=i)
        db.session.add(
            Appointment(
                enrolment_id=enrolment.id,
                session=1,
                client_id=client.id,
                practitioner_id=practitioner.id,
                room_id=room.id,
                start_at=at,
                end_at=at + timedelta(hours=1),
                busy_until_at=at + timedelta(hours=1),
                status="booked",
            )
        )
    f.commit()
    anna_user = f.make_user("practitioner")
    anna.user_id = anna_user.id
    f.commit()
    actors = [
        f.actor("receptionist"),
        f.actor("admin"),
        actor_for(anna_user),
        f.client_actor(first),
        f.client_actor(third),
    ]
    everything = db.session.scalars(select(Appointment)).all()
    clients = db.session.scalars(select(Client)).all()
    for who in actors:
        in_sql = set(db.session.scalars(select(Appointment.id).where(p.visible_appointments(who))))
        in_python = {a.id for a in everything if p.can_see_appointment(who, a)}
        assert in_sql == in_python, who.role
        if p.is_practitioner(who):
            treated = set(db.session.scalars(select(Client.id).where(p.treated_by(who))))
            assert treated == {c.id for c in clients if p.practitioner_treats(who, c.id)}
            assert treated == {first.id}
    assert len(everything) == 4
