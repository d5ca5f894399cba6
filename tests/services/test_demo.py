"""The demo clinic: loads twice without change, and its appointments obey the clinic's rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.demo import demo_catalogue, load_demo
from clinic.extensions import db
from clinic.models import (
    Appointment,
    Client,
    ClinicSettings,
    Enrolment,
    Holiday,
    OpeningHours,
    Practitioner,
    User,
)
from clinic.scheduling.timeutil import add_wall_hours
from clinic.services.catalogue import import_catalogue
from clinic.services.core.errors import InvalidRequest
from clinic.services.people.accounts import authenticate
from tests.clock import BERLIN

WINTER = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SUMMER = datetime(2027, 6, 16, 9, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_load_demo_creates_logins_that_work(app) -> None:
    result = load_demo(WINTER)

    roles = [login.role for login in result.logins]
    assert roles.count("admin") == 1 and roles.count("receptionist") == 1
    assert roles.count("practitioner") == 4 and roles.count("client") == 20
    for login in result.logins:
        assert authenticate(login.email, login.password) is not None, login.email
    assert all(p.user_id is not None for p in db.session.scalars(select(Practitioner)))
    assert db.session.scalar(select(func.count()).where(Client.user_id.is_(None))) == 0


def test_load_demo_twice_changes_nothing(app) -> None:
    first = load_demo(WINTER)
    counts = {m.__name__: count(m) for m in (User, Client, Enrolment, Appointment)}

    second = load_demo(WINTER + timedelta(days=3))

    assert first.appointments_created > 50
    assert second.accounts_created == 0 and second.appointments_created == 0
    assert not second.catalogue.changed
    assert {m.__name__: count(m) for m in (User, Client, Enrolment, Appointment)} == counts


def test_demo_has_screening_conditions_and_declared_plans(app) -> None:
    load_demo(WINTER)

    laura = db.session.scalar(select(Client).where(Client.email == "laura.hoffmann@demo.clinic"))
    assert [(c.code, c.present) for c in laura.conditions] == [("isotretinoin", False)]
    assert (WINTER.date() - laura.conditions[0].last_on).days == 60
    lea = db.session.scalar(select(Client).where(Client.email == "lea.richter@demo.clinic"))
    assert [p.kind for p in lea.periods] == ["sun_exposure"]


def test_demo_refuses_a_database_holding_another_clinic(app) -> None:
    data = demo_catalogue()
    data["clinic"]["name"] = "Real Clinic"
    import_catalogue(data)

    with pytest.raises(InvalidRequest):
        load_demo(WINTER)

    assert count(User) == 0
    assert db.session.scalar(select(ClinicSettings.name)) == "Real Clinic"


def _of_client(client_id: int) -> list[Appointment]:
    return list(db.session.scalars(select(Appointment).where(Appointment.client_id == client_id)))


def _overlapping(spans: list[tuple[datetime, datetime]]) -> bool:
    spans = sorted(spans)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("now", [WINTER, SUMMER], ids=["winter", "summer"])
def test_demo_appointments_never_collide_and_keep_the_rules(app, now) -> None:
    load_demo(now)
    appointments = list(db.session.scalars(select(Appointment)))
    assert len(appointments) > 50

    held: dict[tuple[str, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    for a in appointments:
        held[("practitioner", a.practitioner_id)].append((a.start_at, a.busy_until_at))
        held[("room", a.room_id)].append((a.start_at, a.busy_until_at))
        if a.device_id is not None:
            held[("device", a.device_id)].append((a.start_at, a.busy_until_at))
        held[("client", a.client_id)].append((a.start_at, a.end_at))
    assert [key for key, spans in held.items() if _overlapping(spans)] == []

    opening = list(db.session.scalars(select(OpeningHours)))
    holidays = set(db.session.scalars(select(Holiday.day)))
    for a in appointments:
        start, busy = a.start_at.astimezone(BERLIN), a.busy_until_at.astimezone(BERLIN)
        day = start.date()
        assert day not in holidays
        assert busy.date() == day
        assert any(
            h.weekday == day.weekday() and h.opens <= start.time() and busy.time() <= h.closes
            for h in opening
        ), a.id
        assert any(
            h.weekday == day.weekday() and h.starts <= start.time() and busy.time() <= h.ends
            for h in a.practitioner.hours
        ), a.id
        assert not any(t.start_on <= day <= t.end_on for t in a.practitioner.time_off)
        assert a.practitioner.qualification_codes.count(a.enrolment.course.procedure.qualification)
        assert (a.device is not None) == (a.enrolment.course.procedure.device_kind is not None)
        assert day.month in a.enrolment.course.months
        assert a.status == ("done" if a.start_at < now else "booked")
        assert not a.start_at < now < a.busy_until_at

    for enrolment in db.session.scalars(select(Enrolment)):
        course = enrolment.course
        days = [a.start_at.astimezone(BERLIN).date() for a in enrolment.appointments]
        assert [a.session for a in enrolment.appointments] == list(range(1, len(days) + 1))
        for earlier, later in zip(days, days[1:], strict=False):
            gap = (later - earlier).days
            assert gap >= course.min_interval_days
            assert course.max_interval_days is None or gap <= course.max_interval_days
        for a in enrolment.appointments:
            for b in _of_client(enrolment.client_id):
                blocked = {r.code for r in b.enrolment.course.procedure.blocked_by}
                for care in course.aftercare:
                    if care.restriction.code in blocked and b.id != a.id:
                        until = add_wall_hours(a.start_at, care.hours, BERLIN)
                        assert not a.start_at <= b.start_at < until, (a.id, b.id)
        for condition in enrolment.client.conditions:
            assert not (
                condition.present and condition.code in {c.code for c in course.contraindications}
            )
        procedure = course.procedure
        if procedure.patch_test_procedure is not None and enrolment.appointments:
            # Each course that needs a patch test has one in its window before session 1.
            first = enrolment.appointments[0].start_at
            tests = [
                b.start_at
                for b in _of_client(enrolment.client_id)
                if b.enrolment.course.procedure.code == procedure.patch_test_procedure
            ]
            assert any(
                timedelta(hours=procedure.patch_test_min_hours)
                <= first - t
                <= timedelta(days=procedure.patch_test_max_days)
                for t in tests
            ), (enrolment.id, tests)


def test_demo_in_summer_books_no_winter_only_course(app) -> None:
    load_demo(SUMMER)

    codes = {e.course.code for e in db.session.scalars(select(Enrolment))}
    assert "massage_course" in codes
    assert not codes & {"co2_course", "tca_course"}
