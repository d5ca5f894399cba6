"""Offers that hold: `move_offers`, `proposal_offers` and `availability(client_id=...)` offer
only what the change's own check accepts, and read the database once per day, not per start."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clinic.services.core.errors import NotFound
from clinic.services.courses import cancellation, enrol, moves, reads
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.clock import NOW, local
from tests.services.test_snapshot_queries import statements

MONDAY = date(2026, 12, 7)


@pytest.fixture
def setup(app):
    f.make_clinic()
    dana = f.make_practitioner(name="Dana")
    lena = f.make_practitioner(name="Lena")
    f.make_course()
    laser = f.make_procedure(code="laser", name="Laser", qualification="laser", blocked_by=[])
    f.make_course(
        code="laser_course",
        name="Laser",
        procedure=laser,
        sessions=1,
        aftercare=[("no_resurfacing", "other", 72)],
        contraindications=[],
    )
    client = f.make_client()
    desk = f.actor("receptionist")
    peels = enrol.book_course(
        actor=desk,
        course_code="peel_course",
        client_id=client.id,
        sessions=[
            SessionRequest(local(MONDAY + timedelta(days=21 * i), 10), dana.id) for i in range(6)
        ],
        now=NOW,
    )
    # A laser on Friday of week 4: no resurfacing (so no peel) until Monday 10:00.
    enrol.book_course(
        actor=desk,
        course_code="laser_course",
        client_id=client.id,
        sessions=[SessionRequest(local(MONDAY + timedelta(days=25), 10), dana.id)],
        now=NOW,
    )
    # Dana is busy with someone else at 14:00 that Monday: Lena's time stays on offer.
    enrol.book_course(
        actor=desk,
        course_code="laser_course",
        client_id=f.make_client().id,
        sessions=[SessionRequest(local(MONDAY + timedelta(days=28), 14), dana.id)],
        now=NOW,
    )
    return {"client": client, "desk": desk, "peels": peels, "dana": dana, "lena": lena}


@pytest.mark.parametrize("role", ["client", "receptionist"])
def test_every_offered_move_is_accepted_and_every_refused_start_is_left_out(setup, role) -> None:
    actor = f.client_actor(setup["client"]) if role == "client" else setup["desk"]
    second = setup["peels"].appointments[1]
    day = MONDAY + timedelta(days=28)
    offer = moves.move_offers(actor=actor, appointment_id=second.id, day=day, now=NOW)
    offered = {slot.start for slot in offer.slots}
    assert offer.why_none is None
    assert min(offered) == local(day, 10)  # 09:00-09:45 fall inside the laser's window
    for hour in range(9, 19):
        for minute in (0, 15, 30, 45):
            start = local(day, hour, minute)
            preview = moves.preview_move(
                actor=actor, appointment_id=second.id, start=start, now=NOW
            )
            assert preview.ok == (start in offered), (start, preview.violations)
    at_two = next(s for s in offer.slots if s.start == local(day, 14))
    assert at_two.practitioner_id == setup["lena"].id


def test_starts_that_push_later_sessions_are_offered_apart_with_their_replan(setup) -> None:
    peels = enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=f.make_client().id,
        sessions=[
            SessionRequest(local(MONDAY + timedelta(days=14 * i), 10), setup["lena"].id)
            for i in range(6)
        ],
        now=NOW,
    )
    second = peels.appointments[1]
    day = MONDAY + timedelta(days=22)  # 6 days before session 3: spacing needs 14
    offer = moves.move_offers(actor=setup["desk"], appointment_id=second.id, day=day, now=NOW)
    assert offer.slots == () and offer.also
    assert "at least 14 days before the next session" in (offer.why_none or "")
    for slot in offer.also:
        preview = moves.preview_move(
            actor=setup["desk"], appointment_id=second.id, start=slot.start, now=NOW
        )
        assert not preview.ok and preview.affected and preview.replan, slot.start
        assert preview.refusal(accept_replan=True) is None


def test_a_day_with_no_move_says_which_rule(setup) -> None:
    second = setup["peels"].appointments[1]
    day = MONDAY + timedelta(days=7)
    offer = moves.move_offers(actor=setup["desk"], appointment_id=second.id, day=day, now=NOW)
    assert offer.slots == ()
    assert offer.why_none is not None
    assert offer.why_none.startswith("No time on Mon 14 Dec 2026 fits: Session 2 must be at least")


def test_a_holiday_says_the_clinic_is_closed(setup) -> None:
    second = setup["peels"].appointments[1]
    sunday = MONDAY + timedelta(days=27)
    offer = moves.move_offers(actor=setup["desk"], appointment_id=second.id, day=sunday, now=NOW)
    assert offer.slots == () and offer.why_none == "The clinic is closed on Sun 3 Jan 2027."


def test_offers_read_the_database_once_for_the_whole_day(setup) -> None:
    second = setup["peels"].appointments[1]
    day = MONDAY + timedelta(days=28)
    moves.move_offers(actor=setup["desk"], appointment_id=second.id, day=day, now=NOW)
    with statements() as seen:
        offer = moves.move_offers(actor=setup["desk"], appointment_id=second.id, day=day, now=NOW)
    assert len(offer.slots) > 20
    assert len(seen) <= 8, seen  # the session, the client, the day's book: never per start


def test_another_time_for_a_proposed_session_keeps_the_other_sessions(setup) -> None:
    client = f.make_client()
    actor = f.client_actor(client)
    starts = [local(MONDAY + timedelta(days=14 * i), 9) for i in range(6)]
    sessions = [SessionRequest(s, setup["dana"].id) for s in starts]
    day = MONDAY + timedelta(days=14)
    offer = enrol.proposal_offers(
        actor=actor,
        course_code="peel_course",
        client_id=None,
        sessions=sessions,
        number=2,
        day=day,
        now=NOW,
    )
    assert offer.slots
    for slot in offer.slots:
        asked = list(sessions)
        asked[1] = SessionRequest(slot.start, slot.practitioner_id)
        enrolment = enrol.book_course(
            actor=actor, course_code="peel_course", client_id=None, sessions=asked, now=NOW
        )
        cancellation.cancel_enrolment(actor=setup["desk"], enrolment_id=enrolment.id, now=NOW)
    too_close = enrol.proposal_offers(
        actor=actor,
        course_code="peel_course",
        client_id=None,
        sessions=sessions,
        number=2,
        day=day + timedelta(days=1),
        now=NOW,
    )
    assert too_close.slots == () and "at least 14 days after" in (too_close.why_none or "")
    with pytest.raises(NotFound):
        enrol.proposal_offers(
            actor=actor,
            course_code="peel_course",
            client_id=None,
            sessions=sessions,
            number=7,
            day=day,
            now=NOW,
        )


def test_availability_for_a_client_judges_the_next_session_of_their_course(setup) -> None:
    client = f.make_client()
    desk = setup["desk"]
    enrol.book_course(
        actor=desk,
        course_code="peel_course",
        client_id=client.id,
        sessions=[SessionRequest(local(MONDAY, 9), setup["lena"].id)],
        now=NOW,
    )
    asked = dict(procedure_code="peel", actor=desk, client_id=client.id, now=NOW)
    assert reads.availability(day=MONDAY + timedelta(days=13), **asked) == []
    offered = reads.availability(day=MONDAY + timedelta(days=14), **asked)
    free = reads.availability(procedure_code="peel", day=MONDAY + timedelta(days=14))
    assert offered == free  # nothing else of theirs stands in the way that day
