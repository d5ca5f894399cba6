"""What the services read once per transaction, and how many statements a plan costs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import event, func, select

from clinic.extensions import db
from clinic.models import Appointment, AuditEntry, ClientPeriod, OutboxMessage
from clinic.services.core import clinic_setup, errors
from clinic.services.core.cache import catalogue_changed
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from clinic.services.messages import calendar_files
from clinic.services.world import client_reads
from tests import factories as f
from tests.clock import NOW


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def clinic(app):
    f.make_clinic()
    f.make_practitioner()
    f.make_course()
    return f.make_client()


def _settings_reads(seen: list[str]) -> int:
    return sum("FROM clinic_settings" in s for s in seen)


def test_settings_are_read_once_per_transaction(clinic) -> None:
    with statements() as seen:
        clinic_setup.settings()
        clinic_setup.clinic_tz()
        clinic_setup.clinic_rules()
    assert _settings_reads(seen) == 1


def test_settings_changed_and_committed_are_read_afresh(clinic) -> None:
    assert clinic_setup.clinic_tz().key == "Europe/Berlin"
    clinic_setup.settings().timezone = "Europe/Lisbon"
    catalogue_changed()
    f.commit()
    with statements() as seen:
        assert clinic_setup.clinic_tz().key == "Europe/Lisbon"
    assert _settings_reads(seen) == 1


def test_settings_changed_in_the_transaction_show_at_once(clinic) -> None:
    clinic_setup.settings().slot_minutes = 30
    assert clinic_setup.clinic_rules().slot_minutes == 30


def test_settings_are_read_again_after_a_rollback(clinic) -> None:
    clinic_setup.settings()
    db.session.rollback()
    with statements() as seen:
        clinic_setup.settings()
    assert _settings_reads(seen) == 1


def test_client_is_read_once_per_transaction(clinic) -> None:
    # The ORM row (for those that change or show it) and the plain facts (for the checks,
    # every plan) are each read once, however often asked.
    client_id = clinic.id
    f.commit()
    with statements() as seen:
        client_reads.get_client(client_id)
        client_reads.get_client(client_id)
        client_reads.client_state(client_id, NOW, enrolments=())
        client_reads.client_state(client_id, NOW, enrolments=())
        client_reads.require_client(client_id)
    assert sum("FROM clients " in s for s in seen) == 2


def test_client_facts_follow_a_write_in_the_same_transaction(clinic) -> None:
    before = client_reads.client_facts(clinic.id)
    assert before is not None and before.periods == ()
    clinic.periods.append(
        ClientPeriod(kind="sun_exposure", start_on=date(2030, 7, 1), end_on=date(2030, 7, 9))
    )
    clinic.periods.append(
        ClientPeriod(kind="needs_makeup", start_on=date(2030, 6, 1), end_on=date(2030, 6, 2))
    )
    after = client_reads.client_facts(clinic.id)
    assert after is not None
    assert [p.kind for p in after.periods] == ["needs_makeup", "sun_exposure"]


def test_anonymised_client_in_the_same_transaction_is_not_found(clinic) -> None:
    client_reads.get_client(clinic.id)
    clinic.anonymised_at = NOW
    with pytest.raises(errors.NotFound):
        client_reads.get_client(clinic.id)


def _plan(client_id: int) -> Callable[[], object]:
    desk = f.actor("receptionist")
    return lambda: enrol.plan_course_for(
        actor=desk,
        course_code="peel_course",
        client_id=client_id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )


def test_plan_reads_settings_and_client_once_within_a_statement_budget(clinic) -> None:
    plan = _plan(clinic.id)
    f.commit()
    with statements() as seen:
        plan()
    assert _settings_reads(seen) == 1
    assert sum("FROM clients " in s for s in seen) == 1
    # Measured: 25 on SQLite (its BEGIN and the cache counters included) for this clinic, whose
    # plan visits seven days, with nothing in the worker's cache yet.
    assert len(seen) <= 25


def test_plan_again_reads_no_catalogue_table_when_the_catalogue_did_not_change(clinic) -> None:
    plan = _plan(clinic.id)
    f.commit()
    first = plan()
    f.commit()
    with statements() as seen:
        again = plan()
    assert again == first
    # The catalogue and the days are the worker's (nothing changed: the change log says so);
    # the client is this transaction's own.
    read = " ".join(seen)
    for table in ("clinic_settings", "practitioners", "opening_hours", "courses", "rooms"):
        assert f"FROM {table}" not in read
    assert sum("FROM clients " in s for s in seen) == 1
    assert "FROM occupancy_changes" in read
    assert "appointments.busy_until_at >" not in read


# --- a booking does each thing once (issue 19) --------------------------------------------


@pytest.mark.parametrize("who", ["client", "receptionist"])
def test_a_six_session_booking_by_a_new_client_runs_at_most_27_statements(app, who) -> None:
    """A glycolic-style course (6 sessions 14 days apart, aftercare and pre-care) planned,
    then booked by a new client with a current screening, for itself or by reception. On
    main at 4bf8681 it ran 62 statements (SQLite): the new sessions read back three times,
    the client read before and after its lock, the calendar loaded once per session, a
    statement per queued message."""
    f.make_clinic()
    f.make_practitioner()
    f.make_course(
        aftercare=[
            ("no_uv", "sun", 168),
            ("no_makeup", "makeup", 24),
            ("no_resurfacing", "other", 336),
        ],
        precare=[("no_retinoids", "other", 120)],
    )
    client = f.make_client()
    client.screening_confirmed_at = NOW - timedelta(days=30)
    f.commit()
    client_id = client.id
    actor = f.client_actor(client) if who == "client" else f.actor("receptionist")
    plan = enrol.plan_course_for(
        actor=actor,
        course_code="peel_course",
        client_id=client_id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    asked = [SessionRequest(p.slot.start, p.slot.practitioner_id) for p in plan.sessions]
    f.commit()

    with statements() as seen:
        enrolment = enrol.book_course(
            actor=actor,
            course_code="peel_course",
            client_id=None if who == "client" else client_id,
            sessions=asked,
            now=NOW,
        )

    # What the booking did: the enrolment, its six sessions, the audit entry, and its
    # messages (the confirmation with its .ics, a reminder per session, the aftercare ends).
    rows = db.session.scalars(
        select(Appointment)
        .where(Appointment.enrolment_id == enrolment.id)
        .order_by(Appointment.session)
    ).all()
    assert [(a.session, a.start_at, a.status) for a in rows] == [
        (i, p.slot.start, "booked") for i, p in enumerate(plan.sessions, start=1)
    ]
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_id == enrolment.id)
        )
        == 1
    )
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.client_id == client_id).order_by(OutboxMessage.id)
    ).all()
    kinds = [m.kind for m in messages]
    assert kinds[0] == "booking_confirmation"
    body, ics = messages[0].body, messages[0].ics or ""
    assert all(f"(session {i} of 6)" in body for i in range(1, 7))
    assert body.count("  - No retinoids from") == 6 and body.count("  - No uv until") == 6
    # Each session, and its care windows merged across sessions into stretches (issue 22):
    # fewer events than a session's four windows each.
    assert 6 < ics.count("BEGIN:VEVENT") < 6 * 5
    assert {str(e["uid"]) for e in Calendar.from_ical(ics).walk("VEVENT")} >= {
        calendar_files._uid(a.id) for a in rows
    }
    assert [m.appointment_id for m in messages if m.kind == "reminder"] == [a.id for a in rows]
    # The care timeline: the day no retinoids opens before each session; no uv and no
    # resurfacing (14 days, sessions 14 days apart) end for good after the last session, no
    # makeup (a day) is told in the reminders (issue 22).
    assert kinds.count("care_timeline") == 6 + 2, kinds
    assert len(messages) == 1 + 6 + 6 + 2
    assert {m.status for m in messages} == {"queued"}

    # Each thing once: the client (after its lock: its row for the messages, its facts for the
    # checks), the settings, the catalogue's version, the calendar of the six days; nothing
    # read back that the booking wrote.
    assert sum("FROM clients " in s for s in seen) == 2
    assert _settings_reads(seen) == 1
    assert sum("FROM catalogue_version" in s for s in seen) == 1
    assert sum("appointments.busy_until_at >" in s for s in seen) == 1
    assert not any(
        s.startswith("SELECT") and "FROM enrolments WHERE enrolments.id" in s for s in seen
    )
    # 27: each queueing of the client's messages (the confirmation, then the reminders) asks
    # which channels the client chose (issue 22), after a write that forgets what was read.
    assert len(seen) <= 27, "\n".join(seen)


def test_settings_and_the_catalogue_version_are_not_read_again_after_a_write(clinic) -> None:
    client_id = clinic.id
    f.commit()
    with statements() as seen:
        clinic_setup.clinic_tz()
        clinic_setup.settings()
        client_reads.get_client(client_id)
        client_reads.get_client(client_id).phone = "+49 30 1234"
        db.session.flush()
        clinic_setup.clinic_tz()
        clinic_setup.settings()
        client_reads.get_client(client_id)
    assert _settings_reads(seen) == 1
    assert sum("FROM catalogue_version" in s for s in seen) == 1
    # What a write can change is read again (the client's row and whether it has sessions).
    assert sum("FROM clients " in s for s in seen) == 2


def test_occupancy_is_read_from_the_holding_index_alone(app) -> None:
    # SQLite uses a partial index only when the query's WHERE names the index's condition,
    # and a covering one only when every column read is in it.
    from clinic.services.world.snapshot import _occupancy_query

    clinic_setup.clinic_rules()
    query = _occupancy_query(date(2026, 12, 1), date(2026, 12, 4), clinic_setup.clinic_rules().tz)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    assert [row[-1] for row in plan] == [
        "SEARCH appointments USING COVERING INDEX ix_appointments_holding (start_at>? AND start_at<?)"
    ]


@pytest.mark.parametrize("by", ["practitioner", "device"])
def test_the_calendar_reads_its_appointments_from_the_holding_index_alone(app, by) -> None:
    # The week page names an appointment's end, client, enrolment and session besides what a
    # plan reads: the index carries them, so no appointment row is looked up in the table
    # (the enrolment and client are, by their primary keys).
    from clinic.services.courses import schedule

    query = schedule._queries().entries[(by, False)]
    compiled = query.compile(db.engine)
    plan = (
        db.session.connection()
        .exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}",
            tuple("2026-12-01" for _ in compiled.positiontup or ()),
        )
        .all()
    )
    steps = [row[-1] for row in plan]
    assert steps[0] == (
        "SEARCH appointments USING COVERING INDEX ix_appointments_holding (start_at>? AND start_at<?)"
    ), steps
    assert all("PRIMARY KEY" in step for step in steps[1:]), steps
