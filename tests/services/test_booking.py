"""Booking services against a real (SQLite) database: atomic writes and rule codes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, AuditEntry, Enrolment, OutboxMessage
from clinic.scheduling import Preferences
from clinic.services.core.cache import catalogue_changed
from clinic.services.core.errors import (
    AlreadyEnrolled,
    Conflict,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from clinic.services.courses import cancellation, enrol, moves, outcomes, reads
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.clock import BERLIN, NOW, local


@pytest.fixture
def setup(app):
    f.make_clinic()
    practitioner = f.make_practitioner()
    course = f.make_course()
    client = f.make_client()
    return {
        "practitioner": practitioner,
        "course": course,
        "client": client,
        "desk": f.actor("receptionist"),
    }


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_plan_then_book_writes_every_session_in_one_enrolment(setup) -> None:
    plan, enrolment = f.plan_then_book(
        actor=setup["desk"], client_id=setup["client"].id, earliest=date(2026, 12, 1), now=NOW
    )
    assert len(plan.sessions) == 6
    rows = db.session.scalars(
        select(Appointment).where(Appointment.enrolment_id == enrolment.id)
    ).all()
    assert [a.session for a in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].start_at == plan.sessions[0].slot.start
    assert rows[0].busy_until_at - rows[0].end_at == timedelta(minutes=15)
    assert (
        db.session.scalar(select(AuditEntry.action).where(AuditEntry.entity_id == enrolment.id))
        == "book"
    )


def test_book_course_writes_nothing_when_one_session_breaks_spacing(setup) -> None:
    starts = [local(2026, 12, 1, 10), local(2026, 12, 10, 10)]  # 9 days apart, min is 14
    with pytest.raises(RuleViolation) as refused:
        enrol.book_course(
            actor=setup["desk"],
            course_code="peel_course",
            client_id=setup["client"].id,
            sessions=[SessionRequest(s) for s in starts],
            now=NOW,
        )
    codes = {v.code for v in refused.value.violations}
    assert "spacing_too_close" in codes
    assert count(Appointment) == 0 and count(Enrolment) == 0


def test_book_course_is_a_conflict_when_the_slot_is_taken(setup) -> None:
    other = f.make_client()
    start = local(2026, 12, 1, 10)
    pid = setup["practitioner"].id
    enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=other.id,
        sessions=[SessionRequest(start, pid)],
        now=NOW,
    )
    with pytest.raises(Conflict) as taken:
        enrol.book_course(
            actor=setup["desk"],
            course_code="peel_course",
            client_id=setup["client"].id,
            sessions=[SessionRequest(start, pid)],
            now=NOW,
        )
    assert taken.value.violations[0].code in ("practitioner_unavailable", "room_unavailable")
    assert count(Appointment) == 1


def test_client_cannot_book_for_another_client(setup) -> None:
    me = f.make_client()
    with pytest.raises(NotFound):
        enrol.book_course(
            actor=f.client_actor(me),
            course_code="peel_course",
            client_id=setup["client"].id,
            sessions=[SessionRequest(local(2026, 12, 1, 10))],
            now=NOW,
        )
    assert count(Appointment) == 0


def test_client_plans_are_refused_for_client_and_overridable_by_staff_with_a_reason(setup) -> None:
    client = f.make_client(periods=[("sun_exposure", date(2026, 12, 3), date(2026, 12, 6))])
    start = [SessionRequest(local(2026, 12, 1, 10))]  # no sun for 7 days after covers the holiday
    with pytest.raises(RuleViolation) as refused:
        enrol.book_course(
            actor=f.client_actor(client),
            course_code="peel_course",
            client_id=None,
            sessions=start,
            now=NOW,
        )
    assert [v.code for v in refused.value.violations] == ["conflicts_with_client_plans"]
    with pytest.raises(PermissionDenied):
        enrol.book_course(
            actor=f.client_actor(client),
            course_code="peel_course",
            client_id=None,
            sessions=start,
            override_reason="I will stay inside",
            now=NOW,
        )
    enrolment = enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client.id,
        sessions=start,
        override_reason="Client stays in the shade",
        now=NOW,
    )
    assert enrolment.appointments[0].override_reason == "Client stays in the shade"
    detail = db.session.scalar(
        select(AuditEntry.detail).where(AuditEntry.entity_id == enrolment.id)
    )
    assert detail["override_reason"] == "Client stays in the shade"


def test_plan_explains_a_present_contraindication(setup) -> None:
    client = f.make_client(conditions={"pregnancy": (True, None)})
    with pytest.raises(RuleViolation) as refused:
        enrol.plan_course_for(
            actor=setup["desk"],
            course_code="peel_course",
            client_id=client.id,
            earliest=date(2026, 12, 1),
            now=NOW,
        )
    assert refused.value.violations[0].code == "contraindicated"


def test_plan_starts_after_the_contraindication_lookback(setup) -> None:
    client = f.make_client(conditions={"isotretinoin": (False, date(2026, 8, 1))})
    plan = enrol.plan_course_for(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client.id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    assert plan.sessions[0].slot.start.astimezone(BERLIN).date() >= date(2027, 1, 28)


def book_plan(setup, earliest=date(2026, 12, 1)):
    _, enrolment = f.plan_then_book(
        actor=setup["desk"],
        client_id=setup["client"].id,
        earliest=earliest,
        now=NOW,
        preferences=Preferences(),
    )
    return enrolment


def test_move_that_breaks_the_next_session_lists_it_and_changes_nothing(setup) -> None:
    enrolment = book_plan(setup)
    second, third = enrolment.appointments[1], enrolment.appointments[2]
    before = (second.start_at, third.start_at)
    new_start = second.start_at + timedelta(days=10)  # leaves session 3 only 4 days later
    with pytest.raises(RuleViolation) as refused:
        moves.move_appointment(
            actor=setup["desk"], appointment_id=second.id, start=new_start, now=NOW
        )
    assert refused.value.affected == [third.id]
    assert {v.code for v in refused.value.violations} >= {"spacing_too_close"}
    assert refused.value.replan and refused.value.replan[0].session == 3
    db.session.expire_all()
    assert (
        db.session.get(Appointment, second.id).start_at,
        db.session.get(Appointment, third.id).start_at,
    ) == before


def test_move_with_accepted_replan_moves_the_rest_in_one_go(setup) -> None:
    enrolment = book_plan(setup)
    second = enrolment.appointments[1]
    new_start = second.start_at + timedelta(days=10)
    outcome = moves.move_appointment(
        actor=setup["desk"], appointment_id=second.id, start=new_start, accept_replan=True, now=NOW
    )
    assert outcome.appointment.start_at == new_start
    tz = BERLIN
    days = [
        a.start_at.astimezone(tz).date()
        for a in db.session.get(Enrolment, enrolment.id).appointments
    ]
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    assert all(14 <= g <= 28 for g in gaps), gaps


def test_cancel_lifts_the_restriction_of_that_session(setup) -> None:
    laser = f.make_procedure(code="laser", name="Laser resurfacing", qualification="laser")
    f.make_course(
        code="laser_once",
        name="Laser",
        procedure=laser,
        sessions=1,
        aftercare=[],
        contraindications=[],
    )
    peel = enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=setup["client"].id,
        sessions=[SessionRequest(local(2026, 12, 1, 10))],
        now=NOW,
    )
    laser_start = [
        SessionRequest(local(2026, 12, 8, 10))
    ]  # inside the peel's 14 days of no resurfacing
    with pytest.raises(RuleViolation) as refused:
        enrol.book_course(
            actor=setup["desk"],
            course_code="laser_once",
            client_id=setup["client"].id,
            sessions=laser_start,
            now=NOW,
        )
    assert refused.value.violations[0].code == "restriction_conflict"
    cancellation.cancel_appointment(
        actor=setup["desk"], appointment_id=peel.appointments[0].id, now=NOW
    )
    booked = enrol.book_course(
        actor=setup["desk"],
        course_code="laser_once",
        client_id=setup["client"].id,
        sessions=laser_start,
        now=NOW,
    )
    assert booked.appointments[0].status == "booked"


def test_client_cannot_cancel_inside_the_notice_but_staff_can(setup) -> None:
    client = setup["client"]
    enrolment = enrol.book_course(
        actor=f.client_actor(client),
        course_code="peel_course",
        client_id=None,
        sessions=[SessionRequest(local(2026, 12, 1, 10))],
        now=NOW,
    )
    appointment_id = enrolment.appointments[0].id
    late = local(2026, 11, 30, 12)
    with pytest.raises(RuleViolation) as refused:
        cancellation.cancel_appointment(
            actor=f.client_actor(client), appointment_id=appointment_id, now=late
        )
    assert refused.value.violations[0].code == "too_late_to_change"
    assert (
        cancellation.cancel_appointment(
            actor=setup["desk"], appointment_id=appointment_id, now=late
        ).status
        == "cancelled"
    )


def test_no_show_starts_no_restriction(setup) -> None:
    laser = f.make_procedure(code="laser", name="Laser resurfacing", qualification="laser")
    f.make_course(
        code="laser_once",
        name="Laser",
        procedure=laser,
        sessions=1,
        aftercare=[],
        contraindications=[],
    )
    peel = enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=setup["client"].id,
        sessions=[SessionRequest(local(2026, 12, 1, 10))],
        now=NOW,
    )
    after = local(2026, 12, 1, 12)
    outcomes.record_outcome(
        actor=setup["desk"], appointment_id=peel.appointments[0].id, status="no_show", now=after
    )
    booked = enrol.book_course(
        actor=setup["desk"],
        course_code="laser_once",
        client_id=setup["client"].id,
        sessions=[SessionRequest(local(2026, 12, 8, 10))],
        now=after,
    )
    assert booked.id


def test_availability_loads_only_the_weeks_it_looks_at(setup) -> None:
    slots = reads.availability(procedure_code="peel", day=date(2026, 12, 1))
    assert slots and all(s.start.astimezone(BERLIN).date() == date(2026, 12, 1) for s in slots)
    assert slots[0].start == local(2026, 12, 1, 9)


def test_course_of_a_retired_procedure_cannot_be_planned(setup) -> None:
    setup["course"].procedure.retired = True
    catalogue_changed()
    f.commit()
    with pytest.raises(NotFound):
        enrol.plan_course_for(
            actor=setup["desk"],
            course_code="peel_course",
            client_id=setup["client"].id,
            earliest=date(2026, 12, 1),
            now=NOW,
        )


def test_preview_of_a_move_that_breaks_the_next_session_names_it_and_writes_nothing(
    setup,
) -> None:
    enrolment = book_plan(setup)
    second, third = enrolment.appointments[1], enrolment.appointments[2]
    before = (second.start_at, third.start_at)
    new_start = second.start_at + timedelta(days=10)  # leaves session 3 only 4 days later

    preview = moves.preview_move(
        actor=setup["desk"], appointment_id=second.id, start=new_start, now=NOW
    )

    assert not preview.ok
    assert preview.slot is not None and preview.slot.start == new_start
    assert preview.affected == (third.id,)
    assert {v.code for v in preview.violations} >= {"spacing_too_close"}
    assert [p.session for p in preview.replan] == [3, 4, 5, 6]
    assert preview.refusal(accept_replan=True) is None
    refusal = preview.refusal()
    assert isinstance(refusal, RuleViolation)
    assert refusal.affected == [third.id] and list(refusal.replan) == list(preview.replan)
    db.session.expire_all()
    assert (
        db.session.get(Appointment, second.id).start_at,
        db.session.get(Appointment, third.id).start_at,
    ) == before

    # Accepting writes exactly the re-plan the preview offered.
    outcome = moves.move_appointment(
        actor=setup["desk"], appointment_id=second.id, start=new_start, accept_replan=True, now=NOW
    )
    assert [(a.session, a.start_at) for a in outcome.replanned] == [
        (p.session, p.slot.start) for p in preview.replan
    ]


def test_preview_of_a_move_that_breaks_nothing_has_its_slot_and_no_refusal(setup) -> None:
    enrolment = book_plan(setup)
    last = enrolment.appointments[-1]
    new_start = last.start_at + timedelta(days=1)

    preview = moves.preview_move(
        actor=setup["desk"], appointment_id=last.id, start=new_start, now=NOW
    )

    assert preview.ok and preview.refusal() is None
    assert preview.slot is not None and preview.slot.start == new_start
    assert preview.affected == () and preview.replan == ()
    db.session.expire_all()
    assert db.session.get(Appointment, last.id).start_at == last.start_at


# --- rule 12: one enrolment of a course at a time ----------------------------------------------


def _book_one(setup, start: datetime, actor=None):
    return enrol.book_course(
        actor=actor or setup["desk"],
        course_code="peel_course",
        client_id=setup["client"].id,
        sessions=[SessionRequest(start, setup["practitioner"].id)],
        now=NOW,
    )


def test_a_second_enrolment_of_a_course_with_sessions_to_come_is_refused(setup) -> None:
    first = _book_one(setup, local(2026, 12, 1, 10))
    # The same day, later: a second enrolment would dodge the course's spacing.
    with pytest.raises(AlreadyEnrolled) as refused:
        _book_one(setup, local(2026, 12, 1, 14))
    assert [v.code for v in refused.value.violations] == ["already_enrolled"]
    assert refused.value.enrolment_id == first.id
    assert refused.value.as_json()[0]["enrolment"] == first.id
    assert count(Enrolment) == 1 and count(Appointment) == 1


def test_a_course_cancelled_may_be_booked_again(setup) -> None:
    first = _book_one(setup, local(2026, 12, 1, 10))
    cancellation.cancel_enrolment(actor=setup["desk"], enrolment_id=first.id, now=NOW)
    again = _book_one(setup, local(2026, 12, 16, 10))
    assert again.id != first.id and count(Enrolment) == 2


def test_a_course_with_sessions_still_to_book_is_refused_after_a_held_one(setup) -> None:
    # Session 1 of 6 held and nothing booked: the other five go into that enrolment.
    first = _book_one(setup, local(2026, 12, 1, 10))
    later = local(2026, 12, 1, 11)
    outcomes.record_outcome(
        actor=setup["desk"], appointment_id=first.appointments[0].id, status="done", now=later
    )
    with pytest.raises(AlreadyEnrolled) as refused:
        enrol.book_course(
            actor=setup["desk"],
            course_code="peel_course",
            client_id=setup["client"].id,
            sessions=[SessionRequest(local(2026, 12, 16, 10), setup["practitioner"].id)],
            now=later,
        )
    assert refused.value.enrolment_id == first.id
    assert count(Enrolment) == 1


def test_a_course_whose_sessions_are_all_held_may_be_booked_again(setup) -> None:
    f.make_course(code="pair", name="Two peels", procedure=setup["course"].procedure, sessions=2)
    starts = [local(2026, 12, 1, 10), local(2026, 12, 15, 10)]
    first = enrol.book_course(
        actor=setup["desk"],
        course_code="pair",
        client_id=setup["client"].id,
        sessions=[SessionRequest(s, setup["practitioner"].id) for s in starts],
        now=NOW,
    )
    later = local(2026, 12, 15, 11)
    for a in first.appointments:
        outcomes.record_outcome(actor=setup["desk"], appointment_id=a.id, status="done", now=later)
    again = enrol.book_course(
        actor=setup["desk"],
        course_code="pair",
        client_id=setup["client"].id,
        sessions=[SessionRequest(local(2027, 1, 5, 10), setup["practitioner"].id)],
        now=later,
    )
    assert again.id != first.id and count(Enrolment) == 2


def test_a_single_session_course_may_be_booked_again_while_one_is_to_come(setup) -> None:
    f.make_course(
        code="taping",
        name="One peel",
        procedure=setup["course"].procedure,
        sessions=1,
        aftercare=[],
    )
    for day in (1, 8):
        enrol.book_course(
            actor=setup["desk"],
            course_code="taping",
            client_id=setup["client"].id,
            sessions=[SessionRequest(local(2026, 12, day, 10), setup["practitioner"].id)],
            now=NOW,
        )
    assert count(Enrolment) == 2


# --- rule 11: pre-care must be keepable -------------------------------------------------------


@pytest.fixture
def precare(setup):
    """A peel needing 14 days without sun before it; NOW is Wed 25 Nov 2026."""
    f.make_course(
        code="sun_peel",
        name="Peel, no sun before",
        procedure=setup["course"].procedure,
        sessions=2,
        precare=[("no_uv", "sun", 336)],
    )
    return setup


def _book_precare(setup, actor, **kwargs):
    return enrol.book_course(
        actor=actor,
        course_code="sun_peel",
        client_id=setup["client"].id,
        sessions=[SessionRequest(local(2026, 11, 26, 10), setup["practitioner"].id)],
        now=NOW,
        **kwargs,
    )


def test_a_session_whose_pre_care_has_begun_is_refused_with_the_earliest_date(precare) -> None:
    with pytest.raises(RuleViolation) as refused:
        _book_precare(precare, precare["desk"])
    (violation,) = refused.value.violations
    assert violation.code == "precare_not_kept"
    assert violation.earliest == date(2026, 12, 9)
    assert "9 December 2026" in violation.message
    assert count(Enrolment) == 0 and count(Appointment) == 0


def test_staff_confirming_the_pre_care_books_it_and_the_audit_names_them(precare) -> None:
    desk = precare["desk"]
    enrolment = _book_precare(precare, desk, precare_confirmed=True)
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "enrolment", AuditEntry.entity_id == enrolment.id
        )
    ).one()
    assert entry.actor_id == desk.user_id
    assert entry.detail["precare_confirmed"] == [1]
    # The confirmation tells no pre-care date already past ("Avoid sun from Thu 12 Nov").
    body = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.kind == "booking_confirmation")
    )
    assert "12 Nov" not in body
    assert "No uv until the session" in body


def test_a_client_cannot_confirm_the_pre_care_online(precare) -> None:
    with pytest.raises(PermissionDenied) as refused:
        _book_precare(precare, f.client_actor(precare["client"]), precare_confirmed=True)
    assert refused.value.field == "precare_confirmed"
    assert count(Enrolment) == 0


@pytest.mark.parametrize(
    ("day", "refused"),
    [(27, False), (26, True)],  # from Fri 27 Nov: later, then earlier
    ids=["moved_later", "moved_earlier"],
)
def test_moving_a_session_earlier_into_a_begun_pre_care_is_refused(precare, day, refused) -> None:
    desk = precare["desk"]
    # Booked on 10 Nov for 27 Nov, its 14 days without sun beginning on the 13th.
    booked_on = local(2026, 11, 10, 9)
    enrolment = enrol.book_course(
        actor=desk,
        course_code="sun_peel",
        client_id=precare["client"].id,
        sessions=[SessionRequest(local(2026, 11, 27, 10), precare["practitioner"].id)],
        now=booked_on,
    )
    appointment_id = enrolment.appointments[0].id
    start = local(2026, 11, day, 14 if day == 27 else 10)
    if refused:
        with pytest.raises(RuleViolation) as refusal:
            moves.move_appointment(actor=desk, appointment_id=appointment_id, start=start, now=NOW)
        assert [v.code for v in refusal.value.violations] == ["precare_not_kept"]
        assert db.session.get(Appointment, appointment_id).start_at == local(2026, 11, 27, 10)
        moves.move_appointment(
            actor=desk, appointment_id=appointment_id, start=start, precare_confirmed=True, now=NOW
        )
        detail = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "move")
        ).one()
        assert detail["precare_confirmed"] is True
    else:
        moves.move_appointment(actor=desk, appointment_id=appointment_id, start=start, now=NOW)
    assert db.session.get(Appointment, appointment_id).start_at == start
