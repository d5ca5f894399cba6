"""The worker's memory of catalogue and calendar: kept while nothing changed, dropped when
anything did, whoever wrote it and however, and never filled from a transaction that wrote."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from clinic.extensions import db
from clinic.models import Appointment, CacheVersions, Enrolment, Holiday
from clinic.scheduling.timeutil import local_date
from clinic.services import booking, cache
from clinic.services import snapshot as snap
from clinic.services.booking import CoursePlan, SessionRequest
from tests import factories as f

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def setup(app):
    f.make_clinic()
    practitioner = f.make_practitioner()
    course = f.make_course()
    db.session.commit()
    return {"practitioner": practitioner, "course": course, "desk": f.actor("receptionist")}


def plan(setup, client_id: int) -> CoursePlan:
    found = booking.plan_course_for(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client_id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    db.session.commit()
    return found


def book_first_session(setup, client_id: int, p: CoursePlan) -> None:
    """Book a course's first session for `client_id` at the start `p` proposed."""
    booking.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client_id,
        sessions=[SessionRequest(first_start(p), setup["practitioner"].id)],
        now=NOW,
    )


def first_start(p: CoursePlan) -> datetime:
    return p.sessions[0].slot.start


def counters() -> tuple[int, int, int]:
    row = db.session.execute(
        select(CacheVersions.catalogue, CacheVersions.occupancy, CacheVersions.clients)
    ).one()
    db.session.commit()
    return row.catalogue, row.occupancy, row.clients


def test_triggers_move_the_occupancy_counter_on_a_booking_and_the_catalogue_on_an_edit(
    setup,
) -> None:
    catalogue, occupancy, clients = counters()
    client = f.make_client()
    before = plan(setup, client.id)
    book_first_session(setup, client.id, before)
    after_booking = counters()
    assert after_booking[0] == catalogue and after_booking[1] > occupancy
    assert after_booking[2] > clients  # make_client
    db.session.add(Holiday(day=date(2026, 12, 24), name="Christmas Eve"))
    db.session.commit()
    after_edit = counters()
    assert after_edit[0] > catalogue and after_edit[1:] == after_booking[1:]
    client.name = "Renamed"
    db.session.commit()
    assert counters()[:2] == after_edit[:2] and counters()[2] > after_edit[2]


def test_a_plan_after_a_booking_sees_the_booking(setup) -> None:
    first, second = f.make_client(), f.make_client()
    db.session.commit()
    before = plan(setup, second.id)
    assert plan(setup, second.id) == before  # from the worker's memory
    book_first_session(setup, first.id, before)
    # One practitioner: the start the first client took is no longer free.
    assert first_start(plan(setup, second.id)) != first_start(before)


def test_a_plan_after_a_catalogue_edit_sees_the_edit(setup) -> None:
    client = f.make_client()
    db.session.commit()
    before = plan(setup, client.id)
    day = local_date(first_start(before), snap.clinic_tz())
    db.session.add(Holiday(day=day, name="Closed"))
    db.session.commit()
    after = plan(setup, client.id)
    assert local_date(first_start(after), snap.clinic_tz()) != day


def test_a_write_in_plain_sql_also_counts(setup) -> None:
    first, second = f.make_client(), f.make_client()
    db.session.commit()
    before = plan(setup, second.id)
    book_first_session(setup, first.id, before)
    assert first_start(plan(setup, second.id)) != first_start(before)
    db.session.execute(text("UPDATE appointments SET status = 'cancelled'"))
    db.session.commit()
    assert plan(setup, second.id) == before


def test_what_a_transaction_reads_after_writing_is_its_own_and_not_kept(setup) -> None:
    first, second = f.make_client(), f.make_client()
    db.session.commit()
    before = plan(setup, second.id)
    slot = before.sessions[0].slot
    enrolment = Enrolment(client_id=first.id, course_id=setup["course"].id)
    db.session.add(enrolment)
    db.session.flush()
    db.session.add(
        Appointment(
            enrolment_id=enrolment.id,
            session=1,
            client_id=first.id,
            practitioner_id=slot.practitioner_id,
            room_id=slot.room_id,
            device_id=slot.device_id,
            start_at=slot.start,
            end_at=slot.end,
            busy_until_at=slot.end,
            status="booked",
        )
    )
    db.session.flush()
    held = snap._held()
    assert not held.shared
    day = local_date(slot.start, snap.clinic_tz())
    busy = held.calendar.book.busy("p", slot.practitioner_id, day)
    assert (slot.start, slot.end) in busy  # the transaction sees its own write
    db.session.rollback()
    assert plan(setup, second.id) == before  # and nobody else ever does


def test_each_app_keeps_its_own_memory(setup, app) -> None:
    client = f.make_client()
    db.session.commit()
    plan(setup, client.id)
    kept = app.extensions["clinic.cache"]
    assert isinstance(kept, cache.WorkerCache)
    assert kept.catalogue is not None and kept.calendar is not None
    assert kept.calendar.versions == cache.Versions(*counters())


def test_without_the_counters_row_nothing_is_kept_and_plans_still_work(setup) -> None:
    client = f.make_client()
    before = plan(setup, client.id)
    db.session.execute(text("DELETE FROM cache_versions"))
    db.session.commit()
    assert plan(setup, client.id) == before
    db.session.execute(text("SELECT 1"))
    assert not snap._held().shared


def test_a_pending_change_counts_as_a_write_and_is_not_kept(setup) -> None:
    snap.clinic_rules()
    db.session.commit()
    snap.settings().slot_minutes = 30  # not flushed yet
    assert snap.clinic_rules().slot_minutes == 30
    assert not snap._held().shared
    db.session.rollback()
    assert snap.clinic_rules().slot_minutes == 15
    assert snap._held().shared


def test_a_calendar_read_after_writing_is_dropped_from_the_worker(setup, app) -> None:
    client = f.make_client()
    db.session.commit()
    held = snap._held()
    assert held.shared
    db.session.execute(text("UPDATE appointments SET note = 'x' WHERE id = -1"))
    held.calendar.book.day(date(2026, 12, 2))  # a snapshot taken before writing, used after
    assert app.extensions["clinic.cache"].calendar is None
    db.session.rollback()
    assert client.id and snap._held().shared


def test_a_plan_after_a_screening_change_sees_it(setup) -> None:
    from clinic.models import ClientCondition
    from clinic.services.errors import RuleViolation

    client = f.make_client()
    db.session.commit()
    plan(setup, client.id)
    plan(setup, client.id)  # the client's facts now from the worker's memory
    db.session.add(ClientCondition(client_id=client.id, code="pregnancy", present=True))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        plan(setup, client.id)
    assert refused.value.violations[0].code == "contraindicated"


def test_each_read_of_the_catalogue_gives_the_same_rules_object_until_an_edit(setup) -> None:
    # The engine's caches are keyed by the rules: equal rules read twice are one object (an
    # equal copy would make every cache look-up compare the whole course).
    course = setup["course"]
    first = snap.course_rules(snap.get_course(course.code))
    db.session.expire_all()
    again = snap.course_rules(snap.get_course(course.code))
    assert again is first
    assert again.procedure is snap.procedure_rules(snap.get_procedure(course.procedure.code))
    course.max_interval_days = (course.max_interval_days or 0) + 7
    db.session.commit()
    edited = snap.course_rules(snap.get_course(course.code))
    assert edited is not first
    assert edited.max_interval_days == first.max_interval_days + 7
