"""The rest of a course: planning and booking an enrolment's remaining sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, AuditEntry, Course, Enrolment, OutboxMessage
from clinic.services.core.actors import actor_for
from clinic.services.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.courses import cancellation, course_rest, enrol, outcomes
from clinic.services.courses.placing import SessionRequest
from tests import factories as f

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # a Wednesday


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def local_day(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date()


@pytest.fixture
def setup(app):
    f.make_clinic()
    practitioner = f.make_practitioner()
    f.make_course()  # 6 sessions, 14 to 28 days apart
    client = f.make_client()
    return {"practitioner": practitioner, "client": client, "desk": f.actor("receptionist")}


FIRST = (local(2026, 12, 1, 10),)


def first_only(setup, starts=FIRST, now=NOW) -> Enrolment:
    return enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=setup["client"].id,
        sessions=[SessionRequest(s, setup["practitioner"].id) for s in starts],
        now=now,
    )


def appointments(enrolment_id: int) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.enrolment_id == enrolment_id)
            .order_by(Appointment.session)
        )
    )


def practitioner_actor(practitioner):
    user = f.make_user("practitioner")
    practitioner.user_id = user.id
    f.commit()
    return actor_for(user)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_plan_rest_proposes_every_remaining_session_spaced_from_the_last_booked(setup) -> None:
    enrolment = first_only(setup)
    plan = course_rest.plan_rest(actor=setup["desk"], enrolment_id=enrolment.id, now=NOW)
    assert [p.session for p in plan.sessions] == [2, 3, 4, 5, 6]
    gap = (local_day(plan.sessions[0].slot.start) - date(2026, 12, 1)).days
    assert 14 <= gap <= 28
    assert all(p.care for p in plan.sessions)


def test_plan_rest_with_count_one_proposes_the_next_session(setup) -> None:
    enrolment = first_only(setup)
    plan = course_rest.plan_rest(actor=setup["desk"], enrolment_id=enrolment.id, count=1, now=NOW)
    assert [p.session for p in plan.sessions] == [2]


def test_book_rest_numbers_the_new_sessions_and_tells_only_them(setup) -> None:
    client = setup["client"]
    enrolment = first_only(setup)
    plan = course_rest.plan_rest(
        actor=f.client_actor(client), enrolment_id=enrolment.id, count=2, now=NOW
    )
    booked = course_rest.book_rest(
        actor=f.client_actor(client),
        enrolment_id=enrolment.id,
        sessions=[SessionRequest(p.slot.start, p.slot.practitioner_id) for p in plan.sessions],
        now=NOW,
    )
    assert [a.session for a in booked.appointments] == [2, 3]
    rows = appointments(enrolment.id)
    assert [a.session for a in rows] == [1, 2, 3]
    assert rows[1].start_at == plan.sessions[0].slot.start
    assert count(Enrolment) == 1
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "booking_confirmation")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    assert "session 2 of" in message.body and "session 3 of" in message.body
    assert "session 1 of" not in message.body
    assert message.ics is not None and "session 1 of" not in message.ics
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "book_sessions")).one()
    assert audit.entity_id == enrolment.id
    assert course_rest.enrolment_state(enrolment).progress.remaining == 3


def test_book_rest_refuses_a_session_too_close_to_the_last_booked(setup) -> None:
    enrolment = first_only(setup)
    with pytest.raises(RuleViolation) as refused:
        course_rest.book_rest(
            actor=setup["desk"],
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(local(2026, 12, 10, 10))],  # 9 days; the minimum is 14
            now=NOW,
        )
    assert {v.code for v in refused.value.violations} == {"spacing_too_close"}
    assert count(Appointment) == 1


def test_book_rest_writes_nothing_when_one_session_breaks_a_rule(setup) -> None:
    enrolment = first_only(setup)
    good = local(2026, 12, 15, 10)
    too_close = local(2026, 12, 18, 10)
    with pytest.raises(RuleViolation) as refused:
        course_rest.book_rest(
            actor=setup["desk"],
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(good), SessionRequest(too_close)],
            now=NOW,
        )
    assert [v.session for v in refused.value.violations] == [3]
    assert count(Appointment) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "book_sessions")
        )
        == 0
    )


def test_plan_rest_spaces_from_the_last_held_session_after_a_no_show(setup) -> None:
    desk = setup["desk"]
    past = datetime(2026, 10, 28, 8, 0, tzinfo=UTC)
    enrolment = first_only(setup, (local(2026, 11, 2, 10), local(2026, 11, 16, 10)), now=past)
    held, missed = appointments(enrolment.id)
    outcomes.record_outcome(actor=desk, appointment_id=held.id, status="done", now=NOW)
    outcomes.record_outcome(actor=desk, appointment_id=missed.id, status="no_show", now=NOW)

    state = course_rest.enrolment_state(db.session.get(Enrolment, enrolment.id))
    assert state.progress.remaining == 5  # 4 still to come and a make-up for the no-show
    plan = course_rest.plan_rest(actor=desk, enrolment_id=enrolment.id, count=1, now=NOW)
    assert plan.sessions[0].session == 3
    # Spaced from 2 November (held), not 16 November (missed): before 30 November.
    assert local_day(plan.sessions[0].slot.start) < date(2026, 11, 30)
    booked = course_rest.book_rest(
        actor=desk,
        enrolment_id=enrolment.id,
        sessions=[SessionRequest(local(2026, 11, 27, 10))],
        now=NOW,
    )
    assert [a.session for a in booked.appointments] == [3]


def test_more_sessions_than_remain_are_refused(setup) -> None:
    enrolment = first_only(setup)
    with pytest.raises(InvalidRequest) as too_many:
        course_rest.plan_rest(actor=setup["desk"], enrolment_id=enrolment.id, count=6, now=NOW)
    assert too_many.value.field == "count"
    starts = [local(2026, 12, 15, 10) + timedelta(days=14 * i) for i in range(6)]
    with pytest.raises(InvalidRequest) as refused:
        course_rest.book_rest(
            actor=setup["desk"],
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(s) for s in starts],
            now=NOW,
        )
    assert refused.value.field == "sessions"
    assert count(Appointment) == 1


def test_another_clients_enrolment_is_not_found(setup) -> None:
    enrolment = first_only(setup)
    stranger = f.client_actor(f.make_client())
    with pytest.raises(NotFound):
        course_rest.get_enrolment(actor=stranger, enrolment_id=enrolment.id)
    with pytest.raises(NotFound):
        course_rest.plan_rest(actor=stranger, enrolment_id=enrolment.id, now=NOW)
    with pytest.raises(NotFound):
        course_rest.book_rest(
            actor=stranger,
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(local(2026, 12, 15, 10))],
            now=NOW,
        )
    assert count(Appointment) == 1


def test_a_practitioner_sees_an_enrolment_they_treat_but_books_nothing(setup) -> None:
    enrolment = first_only(setup)
    pract = practitioner_actor(setup["practitioner"])
    assert course_rest.get_enrolment(actor=pract, enrolment_id=enrolment.id).id == enrolment.id
    with pytest.raises(PermissionDenied):
        course_rest.plan_rest(actor=pract, enrolment_id=enrolment.id, now=NOW)
    other = practitioner_actor(f.make_practitioner())
    with pytest.raises(NotFound):
        course_rest.get_enrolment(actor=other, enrolment_id=enrolment.id)


def test_new_sessions_follow_the_last_one_and_skip_its_number(setup) -> None:
    starts = (local(2026, 12, 1, 10), local(2026, 12, 15, 10), local(2026, 12, 29, 10))
    enrolment = first_only(setup, starts)
    cancellation.cancel_appointment(
        actor=setup["desk"], appointment_id=appointments(enrolment.id)[1].id, now=NOW
    )
    state = course_rest.enrolment_state(db.session.get(Enrolment, enrolment.id))
    assert (state.next_session, state.progress.remaining) == (4, 4)
    with pytest.raises(RuleViolation) as refused:
        course_rest.book_rest(
            actor=setup["desk"],
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(local(2026, 12, 15, 10))],  # in the gap left by session 2
            now=NOW,
        )
    assert refused.value.violations[0].code == "session_order"
    booked = course_rest.book_rest(
        actor=setup["desk"],
        enrolment_id=enrolment.id,
        sessions=[SessionRequest(local(2027, 1, 12, 10))],
        now=NOW,
    )
    assert [a.session for a in booked.appointments] == [4]


def test_a_cancelled_enrolment_takes_no_more_sessions(setup) -> None:
    enrolment = first_only(setup)
    cancellation.cancel_enrolment(actor=setup["desk"], enrolment_id=enrolment.id, now=NOW)
    with pytest.raises(Conflict) as closed:
        course_rest.plan_rest(actor=setup["desk"], enrolment_id=enrolment.id, now=NOW)
    assert closed.value.code == "enrolment_closed"


def test_plan_rest_refuses_an_earliest_date_in_the_past(setup) -> None:
    enrolment = first_only(setup)
    with pytest.raises(InvalidRequest) as refused:
        course_rest.plan_rest(
            actor=setup["desk"], enrolment_id=enrolment.id, earliest=date(2026, 11, 1), now=NOW
        )
    assert refused.value.field == "earliest"


@pytest.fixture
def sun_peel(setup):
    """3 peels 14 to 60 days apart, each needing 14 days without sun before it."""
    peel = db.session.scalar(select(Course).where(Course.code == "peel_course"))
    f.make_course(
        code="sun_peel",
        name="Peel, no sun before",
        procedure=peel.procedure,
        sessions=3,
        max_interval_days=60,
        precare=[("no_uv", "sun", 336)],
    )
    return setup


def test_pre_care_already_begun_is_refused_unless_staff_confirm_it(sun_peel) -> None:
    desk, client = sun_peel["desk"], sun_peel["client"]
    enrolment = enrol.book_course(
        actor=desk,
        course_code="sun_peel",
        client_id=client.id,
        sessions=[SessionRequest(local(2026, 11, 2, 10), sun_peel["practitioner"].id)],
        now=datetime(2026, 10, 1, 8, 0, tzinfo=UTC),
    )
    plan = course_rest.plan_rest(actor=desk, enrolment_id=enrolment.id, count=1, now=NOW)
    assert plan.sessions[0].slot.start - timedelta(days=14) >= NOW  # never proposes one begun

    begun = [SessionRequest(local(2026, 12, 1, 10))]  # its pre-care began on 17 November
    with pytest.raises(RuleViolation) as refused:
        course_rest.book_rest(
            actor=f.client_actor(client), enrolment_id=enrolment.id, sessions=begun, now=NOW
        )
    assert [v.code for v in refused.value.violations] == ["precare_not_kept"]
    with pytest.raises(PermissionDenied):
        course_rest.book_rest(
            actor=f.client_actor(client),
            enrolment_id=enrolment.id,
            sessions=begun,
            precare_confirmed=True,
            now=NOW,
        )
    assert count(Appointment) == 1
    course_rest.book_rest(
        actor=desk, enrolment_id=enrolment.id, sessions=begun, precare_confirmed=True, now=NOW
    )
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "book_sessions")).one()
    assert entry.detail["precare_confirmed"] == [2]
