"""The worker's memory of the catalogue: kept while the catalogue's version stays, read
afresh after a catalogue edit, never filled from a transaction that wrote the catalogue; and
nothing else kept between requests, so bookings write no shared row."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import event, select, text

from clinic.extensions import db
from clinic.models import CATALOGUE_TABLES, Appointment, CatalogueVersion, Holiday
from clinic.scheduling.timeutil import local_date
from clinic.services.core import cache, clinic_setup
from clinic.services.courses import enrol
from clinic.services.courses.placing import CoursePlan, SessionRequest
from clinic.services.staffing import opening_hours
from clinic.services.world import client_reads, course_catalogue
from clinic.services.world.snapshot import load_snapshot
from tests import factories as f
from tests.clock import NOW

# Tables every request reads afresh: appointments, clients and their records, accounts,
# messages and the audit trail. A new table belongs here or in CATALOGUE_TABLES.
NOT_KEPT = {
    "alembic_version",
    "catalogue_version",
    "occupancy_changes",
    "users",
    "clients",
    "client_conditions",
    "client_periods",
    "enrolments",
    "appointments",
    "audit_entries",
    "api_tokens",
    "outbox_messages",
    "attention_flags",
    "login_sessions",
    "client_consents",
    "treatment_records",
    "photos",
    "photo_consents",
    "stored_blobs",
    "message_choices",
}


@pytest.fixture
def setup(app):
    f.make_clinic()
    practitioner = f.make_practitioner()
    course = f.make_course()
    f.commit()
    return {"practitioner": practitioner, "course": course, "desk": f.actor("receptionist")}


def plan(setup, client_id: int) -> CoursePlan:
    found = enrol.plan_course_for(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client_id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    f.commit()
    return found


def book_first_session(setup, client_id: int, p: CoursePlan) -> None:
    """Book a course's first session for `client_id` at the start `p` proposed."""
    enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client_id,
        sessions=[SessionRequest(first_start(p), setup["practitioner"].id)],
        now=NOW,
    )


def first_start(p: CoursePlan) -> datetime:
    return p.sessions[0].slot.start


def version() -> int:
    found = db.session.scalar(select(CatalogueVersion.version))
    f.commit()
    assert found is not None
    return found


def memory(app) -> cache.Catalogue | None:
    return app.extensions["clinic.catalogue_memory"].catalogue


def test_every_table_is_either_kept_by_the_workers_or_read_by_each_request(app) -> None:
    tables = set(db.metadata.tables) | {"alembic_version"}
    assert tables == CATALOGUE_TABLES | NOT_KEPT, "classify the new table in models/versions.py"
    assert not CATALOGUE_TABLES & NOT_KEPT


def test_the_kept_catalogue_is_read_from_catalogue_tables_only(setup, app) -> None:
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, many) -> None:
        statements.append(statement.lower())

    cache.forget()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        load_snapshot()
        course_catalogue.course("peel_course")
        clinic_setup.resource_codes()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    read = {t for t in db.metadata.tables if any(f" {t}" in s for s in statements)}
    assert read and read <= CATALOGUE_TABLES | {"catalogue_version"}, read


def test_bookings_and_client_edits_move_no_shared_row_but_a_catalogue_edit_does(setup) -> None:
    before = version()
    client = f.make_client()
    book_first_session(setup, client.id, plan(setup, client.id))
    client.name = "Renamed"
    f.commit()
    assert version() == before
    opening_hours.add_holiday(actor=f.actor("admin"), day=date(2026, 12, 24), name="Christmas Eve")
    assert version() == before + 1


def test_a_catalogue_write_without_saying_so_is_refused_at_commit(setup) -> None:
    db.session.add(Holiday(day=date(2026, 12, 24), name="Christmas Eve"))
    with pytest.raises(RuntimeError, match="catalogue_changed"):
        db.session.commit()  # not f.commit(), which says so
    db.session.rollback()
    assert db.session.scalar(select(Holiday.id)) is None


def test_a_plan_after_a_booking_sees_the_booking(setup) -> None:
    first, second = f.make_client(), f.make_client()
    f.commit()
    before = plan(setup, second.id)
    book_first_session(setup, first.id, before)
    # One practitioner: the start the first client took is no longer free.
    assert first_start(plan(setup, second.id)) != first_start(before)


def test_a_plan_after_a_catalogue_edit_sees_the_edit(setup, app) -> None:
    client = f.make_client()
    f.commit()
    before = plan(setup, client.id)
    kept = memory(app)
    assert kept is not None and plan(setup, client.id) == before
    assert memory(app) is kept  # the second plan used the worker's memory
    day = local_date(first_start(before), clinic_setup.clinic_tz())
    opening_hours.add_holiday(actor=f.actor("admin"), day=day, name="Closed")
    after = plan(setup, client.id)
    assert local_date(first_start(after), clinic_setup.clinic_tz()) != day
    assert memory(app) is not kept


def test_a_booking_changed_in_plain_sql_is_seen_by_the_next_plan(setup) -> None:
    first, second = f.make_client(), f.make_client()
    f.commit()
    before = plan(setup, second.id)
    book_first_session(setup, first.id, before)
    assert first_start(plan(setup, second.id)) != first_start(before)
    db.session.execute(text("UPDATE appointments SET status = 'cancelled'"))
    f.commit()
    assert plan(setup, second.id) == before


def test_a_transaction_that_changed_the_catalogue_reads_its_own_and_keeps_none(setup, app) -> None:
    clinic_setup.clinic_rules()
    f.commit()
    kept = memory(app)
    assert kept is not None
    cache.catalogue_changed()
    clinic_setup.settings().slot_minutes = 30
    assert clinic_setup.clinic_rules().slot_minutes == 30  # its own, uncommitted catalogue
    assert memory(app) is kept
    db.session.rollback()
    assert clinic_setup.clinic_rules().slot_minutes == 15
    assert memory(app) is kept


def test_without_the_version_row_nothing_is_kept_and_plans_still_work(setup, app) -> None:
    client = f.make_client()
    before = plan(setup, client.id)
    db.session.execute(text("DELETE FROM catalogue_version"))
    f.commit()
    cache.forget()
    assert plan(setup, client.id) == before
    assert memory(app) is None


def test_a_plan_after_a_screening_change_sees_it(setup) -> None:
    from clinic.models import ClientCondition
    from clinic.services.core.errors import RuleViolation

    client = f.make_client()
    f.commit()
    plan(setup, client.id)
    db.session.add(ClientCondition(client_id=client.id, code="pregnancy", present=True))
    f.commit()
    with pytest.raises(RuleViolation) as refused:
        plan(setup, client.id)
    assert refused.value.violations[0].code == "contraindicated"


def test_a_session_read_after_a_write_in_the_same_transaction_is_seen(setup) -> None:
    client = f.make_client()
    p = plan(setup, client.id)
    book_first_session(setup, client.id, p)
    assert client_reads.client_state(
        client.id, NOW, enrolments=()
    ).sessions  # has_sessions read after the write
    assert db.session.scalar(select(Appointment.id)) is not None


def test_each_read_of_the_catalogue_gives_the_same_rules_object_until_an_edit(setup) -> None:
    # The engine's caches are keyed by the rules: equal rules read twice are one object (an
    # equal copy would make every cache look-up compare the whole course).
    course = setup["course"]
    first = course_catalogue.course_rules(course_catalogue.get_course(course.code))
    db.session.expire_all()
    again = course_catalogue.course_rules(course_catalogue.get_course(course.code))
    assert again is first
    assert again.procedure is course_catalogue.procedure_rules(
        course_catalogue.get_procedure(course.procedure.code)
    )
    course.max_interval_days = (course.max_interval_days or 0) + 7
    cache.catalogue_changed()
    f.commit()
    edited = course_catalogue.course_rules(course_catalogue.get_course(course.code))
    assert edited is not first
    assert edited.max_interval_days == first.max_interval_days + 7
