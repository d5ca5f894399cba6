"""The rest of a course: planning and booking an enrolment's remaining sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

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
from clinic.services.courses import cancellation, course_rest, enrol, moves, outcomes, reads
from clinic.services.courses.placing import SessionRequest
from clinic.services.lifetime import attention_list
from clinic.services.staffing import time_off
from clinic.services.world import client_reads
from tests import factories as f
from tests.clock import BERLIN, NOW, local, local_day


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


# --- a lapsed course (issue 19, defect 4): spacing counts whatever the sessions' age ----------

NEXT = local(2026, 12, 1, 10)  # a Tuesday, six days after NOW


def held_long_ago(setup, days: int) -> Enrolment:
    """Session 1 held `days` local days before NOW's date (at 10:00, across DST changes)."""
    start = datetime.combine(local_day(NOW) - timedelta(days=days), time(10), BERLIN)
    enrolment = first_only(setup, (start.astimezone(UTC),), now=start - timedelta(days=30))
    [held] = appointments(enrolment.id)
    outcomes.record_outcome(actor=setup["desk"], appointment_id=held.id, status="done", now=NOW)
    return enrolment


@pytest.mark.parametrize("age", [300, 400])
def test_booking_the_rest_of_a_lapsed_course_is_refused_spacing_too_far(setup, age) -> None:
    enrolment = held_long_ago(setup, age)
    with pytest.raises(RuleViolation) as refused:
        course_rest.book_rest(
            actor=f.client_actor(setup["client"]),
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(NEXT)],
            now=NOW,
        )
    assert [(v.code, v.session, v.soft) for v in refused.value.violations] == [
        ("spacing_too_far", 2, True)
    ]
    assert count(Appointment) == 1


@pytest.mark.parametrize("age", [300, 400])
def test_staff_restart_a_lapsed_course_with_an_override_reason(setup, age) -> None:
    enrolment = held_long_ago(setup, age)
    booked = course_rest.book_rest(
        actor=setup["desk"],
        enrolment_id=enrolment.id,
        sessions=[SessionRequest(NEXT)],
        override_reason="Client back after a year; restarting knowingly",
        now=NOW,
    )
    [added] = booked.appointments
    assert (added.session, added.start_at) == (2, NEXT)
    assert added.override_reason == "Client back after a year; restarting knowingly"


def test_a_client_cannot_override_the_spacing_of_a_lapsed_course(setup) -> None:
    enrolment = held_long_ago(setup, 400)
    with pytest.raises(PermissionDenied):
        course_rest.book_rest(
            actor=f.client_actor(setup["client"]),
            enrolment_id=enrolment.id,
            sessions=[SessionRequest(NEXT)],
            override_reason="I know",
            now=NOW,
        )
    assert count(Appointment) == 1


@pytest.mark.parametrize("age", [300, 400])
def test_the_plan_for_the_rest_of_a_lapsed_course_is_refused_spacing_too_far(setup, age) -> None:
    enrolment = held_long_ago(setup, age)
    with pytest.raises(RuleViolation) as refused:
        course_rest.plan_rest(actor=setup["desk"], enrolment_id=enrolment.id, now=NOW)
    assert [v.code for v in refused.value.violations] == ["spacing_too_far"]


def test_a_restarted_course_is_moved_only_with_an_override(setup) -> None:
    enrolment = held_long_ago(setup, 400)
    reason = "Restarting knowingly"
    [session_2] = course_rest.book_rest(
        actor=setup["desk"],
        enrolment_id=enrolment.id,
        sessions=[SessionRequest(NEXT)],
        override_reason=reason,
        now=NOW,
    ).appointments
    later = local(2026, 12, 3, 10)
    with pytest.raises(RuleViolation) as refused:
        moves.move_appointment(
            actor=f.client_actor(setup["client"]),
            appointment_id=session_2.id,
            start=later,
            now=NOW,
        )
    assert [v.code for v in refused.value.violations] == ["spacing_too_far"]
    moved = moves.move_appointment(
        actor=setup["desk"],
        appointment_id=session_2.id,
        start=later,
        override_reason=reason,
        now=NOW,
    )
    assert moved.appointment.start_at == later


def test_availability_for_a_client_of_a_lapsed_course_offers_nothing(setup) -> None:
    held_long_ago(setup, 400)
    starts = reads.availability(
        actor=f.client_actor(setup["client"]),
        procedure_code="peel",
        day=local_day(NEXT),
        client_id=setup["client"].id,
        now=NOW,
    )
    assert starts == []


def test_client_state_reads_the_enrolments_own_old_sessions_only(setup) -> None:
    old = held_long_ago(setup, 400)
    massage = f.make_procedure(code="massage", name="Facial massage", qualification="peel")
    f.make_course(code="other_course", name="Facial massage", procedure=massage, aftercare=[])
    other = enrol.book_course(
        actor=setup["desk"],
        course_code="other_course",
        client_id=setup["client"].id,
        sessions=[SessionRequest(local(2025, 10, 14, 10), setup["practitioner"].id)],
        now=local(2025, 9, 1, 10),
    )
    state = client_reads.client_state(setup["client"].id, NOW, enrolments=(old.id,))
    assert {b.enrolment_id for b in state.sessions} == {old.id}
    assert other.id not in {
        b.enrolment_id
        for b in client_reads.client_state(setup["client"].id, NOW, enrolments=()).sessions
    }


def test_a_broken_restart_of_a_lapsed_course_gets_no_replan_that_hides_the_lapse(setup) -> None:
    enrolment = held_long_ago(setup, 400)
    [session_2] = course_rest.book_rest(
        actor=setup["desk"],
        enrolment_id=enrolment.id,
        sessions=[SessionRequest(NEXT)],
        override_reason="Restarting knowingly",
        now=NOW,
    ).appointments
    change = time_off.add_time_off(
        actor=f.actor("admin"),
        practitioner_id=setup["practitioner"].id,
        start_on=local_day(NEXT),
        end_on=local_day(NEXT),
        confirm=True,
        now=NOW,
    )
    # Its override stands for the spacing: only the time off breaks it.
    assert [(b.appointment_id, [v.code for v in b.violations]) for b in change.broken] == [
        (session_2.id, ["practitioner_unavailable"])
    ]
    [row] = attention_list.attention_list(actor=setup["desk"], now=NOW)
    # No new date keeps 14 to 28 days after a session 400 days ago: said, not re-planned.
    assert row.replan.moves == ()
    assert [v.code for v in row.replan.problems] == ["spacing_too_far"]
