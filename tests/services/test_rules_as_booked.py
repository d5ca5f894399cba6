"""Rules as booked: an enrolment keeps the course rules it was booked under (DOMAIN.md "A
course over its lifetime"); a template edit changes new bookings; staff may move a booked
course to the current rules, checked like a move of its sessions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from clinic import create_app
from clinic.extensions import db
from clinic.models import AuditEntry, Course, Enrolment, OutboxMessage
from clinic.services import catalogue
from clinic.services.catalogue import catalogue_admin
from clinic.services.core.errors import PermissionDenied, RuleViolation
from clinic.services.courses import enrol, moves, outcomes
from clinic.services.courses.placing import SessionRequest
from clinic.services.lifetime.rules_as_booked import adopt_current_rules
from clinic.services.staffing import rooms
from clinic.services.world import aftercare, course_catalogue
from clinic.services.world.progress import enrolment_progress
from tests import factories as f
from tests.clock import BERLIN, NOW, local

# Tuesdays 14 days apart: the glycolic course's minimum as it was booked.
EVERY_14 = [local(2026, 12, 1, 10) + timedelta(days=14 * k) for k in range(6)]


@pytest.fixture
def setup(app: Flask) -> dict[str, Any]:
    f.make_clinic()
    practitioner = f.make_practitioner()
    course = f.make_course()
    return {
        "practitioner": practitioner,
        "course": course,
        "client": f.make_client(),
        "desk": f.actor("receptionist"),
        "editor": f.actor("admin"),
    }


def book(setup: dict[str, Any], starts: list[datetime], client_id: int | None = None) -> int:
    enrolment = enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client_id or setup["client"].id,
        sessions=[SessionRequest(s, setup["practitioner"].id) for s in starts],
        now=NOW,
    )
    return enrolment.id


def edit_course(setup: dict[str, Any], **changes: Any) -> None:
    values = catalogue_admin.as_values(catalogue_admin.get_record("course", "peel_course"))
    values.update(changes)
    catalogue_admin.save(actor=setup["editor"], kind="course", values=values, create=False)


def session(enrolment_id: int, number: int) -> Any:
    enrolment = db.session.get(Enrolment, enrolment_id)
    assert enrolment is not None
    return next(a for a in enrolment.appointments if a.session == number)


def test_booking_keeps_the_rules_it_was_booked_under(setup) -> None:
    eid = book(setup, EVERY_14[:1])
    enrolment = db.session.get(Enrolment, eid)
    course = course_catalogue.course_rules(course_catalogue.get_course("peel_course"))
    assert enrolment.rules == aftercare.rules_record(course)
    assert enrolment.rules["min_interval_days"] == 14
    assert "procedure" not in enrolment.rules  # the procedure stays the live one


def test_a_booked_course_keeps_its_spacing_when_the_template_minimum_grows(setup) -> None:
    eid = book(setup, EVERY_14)
    edit_course(setup, min_interval_days=21)

    # Session 6 moved by one hour on its day: still 14 days after session 5, as booked.
    moved = moves.move_appointment(
        actor=setup["desk"],
        appointment_id=session(eid, 6).id,
        start=EVERY_14[5] + timedelta(hours=1),
        now=NOW,
    )
    assert moved.appointment.start_at == EVERY_14[5] + timedelta(hours=1)
    assert aftercare.enrolment_rules(db.session.get(Enrolment, eid)).min_interval_days == 14

    # A new enrolment is planned with the new minimum.
    plan = enrol.plan_course_for(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=f.make_client().id,
        earliest=date(2026, 12, 1),
        now=NOW,
    )
    starts = [p.slot.start.astimezone(BERLIN).date() for p in plan.sessions]
    gaps = [(b - a).days for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 21


def test_the_progress_of_a_booked_course_counts_the_sessions_it_was_booked_for(setup) -> None:
    eid = book(setup, EVERY_14[:2])
    edit_course(setup, sessions=8)
    progress = enrolment_progress(db.session.get(Enrolment, eid))
    assert (progress.total, progress.booked, progress.remaining) == (6, 2, 4)


def test_editing_aftercare_hours_keeps_booked_and_past_windows_and_changes_new_ones(setup) -> None:
    eid = book(setup, EVERY_14[:2])
    outcomes.record_outcome(
        actor=setup["desk"],
        appointment_id=session(eid, 1).id,
        status="done",
        now=EVERY_14[0] + timedelta(hours=1),
    )
    past, booked = (
        aftercare.aftercare_for(session(eid, 1)),
        aftercare.aftercare_for(session(eid, 2)),
    )
    edit_course(
        setup,
        aftercare=[
            {"restriction": "no_uv", "hours": 336},
            {"restriction": "no_resurfacing", "hours": 336},
        ],
    )

    assert aftercare.aftercare_for(session(eid, 1)) == past
    assert aftercare.aftercare_for(session(eid, 2)) == booked
    sun = {w.code: w.window for w in booked}["no_uv"]
    assert sun.end - sun.start == timedelta(hours=168)

    other = book(setup, [local(2026, 12, 2, 10)], client_id=f.make_client().id)
    new = {w.code: w.window for w in aftercare.aftercare_for(session(other, 1))}["no_uv"]
    assert new.end - new.start == timedelta(hours=336)


def test_the_edit_notice_counts_booked_courses_with_sessions_to_come(setup) -> None:
    book(setup, EVERY_14[:2])
    book(setup, [local(2026, 12, 2, 10)], client_id=f.make_client().id)
    finished = book(setup, [local(2026, 11, 26, 10)], client_id=f.make_client().id)
    assert finished  # its only session is over by `later`: it counts for nothing
    later = local(2026, 11, 27, 8)

    before = catalogue_admin.booked_courses_notice("peel_course", saved=False, now=later)
    assert before.startswith("2 booked courses keep the rules they were booked under")
    assert catalogue_admin.booked_courses_notice("peel_course", saved=True, now=later) == (
        aftercare.kept_rules_notice(0)
    )
    edit_course(setup, max_interval_days=35)
    after = catalogue_admin.booked_courses_notice("peel_course", saved=True, now=later)
    assert after == (
        "2 booked courses keep the rules they were booked under; this change applies to new "
        "bookings. Move a booked course to the new rules from its page."
    )


def test_an_import_that_changes_a_course_says_how_many_booked_courses_keep_their_rules(
    setup,
) -> None:
    book(setup, EVERY_14[4:5])  # in 2027: still to come by the import's own clock
    values = catalogue_admin.as_values(db.session.scalar(select(Course)))
    report = catalogue.import_catalogue({"courses": [{**values, "min_interval_days": 21}]})
    assert report.booked == {"peel_course": 1}
    assert any("1 booked course keeps the rules it was booked under" in s for s in report.summary())

    again = catalogue.import_catalogue({"courses": [{**values, "min_interval_days": 21}]})
    assert again.booked == {}


def test_adopting_the_current_rules_is_refused_with_each_sessions_sentences(setup) -> None:
    eid = book(setup, EVERY_14)
    kept = db.session.get(Enrolment, eid).rules
    edit_course(setup, min_interval_days=21)

    preview = adopt_current_rules(actor=setup["desk"], enrolment_id=eid, now=NOW)
    assert preview.differs and not preview.ok
    # Each session is 14 days from its neighbours: every one breaks the new minimum of 21.
    assert [c.appointment.session for c in preview.broken] == [1, 2, 3, 4, 5, 6]

    with pytest.raises(RuleViolation) as refused:
        adopt_current_rules(actor=setup["desk"], enrolment_id=eid, now=NOW, confirm=True)
    assert {v.code for v in refused.value.violations} == {"spacing_too_close"}
    assert {v.session for v in refused.value.violations} == {1, 2, 3, 4, 5, 6}
    assert all("21" in v.message for v in refused.value.violations)
    db.session.expire_all()
    assert db.session.get(Enrolment, eid).rules == kept
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "adopt_rules")) is None


def test_adopting_the_current_rules_writes_them_when_every_session_holds(setup) -> None:
    eid = book(setup, EVERY_14[:3])
    edit_course(setup, aftercare=[{"restriction": "no_uv", "hours": 240}])

    change = adopt_current_rules(actor=setup["desk"], enrolment_id=eid, now=NOW, confirm=True)

    assert change.ok and change.differs
    db.session.expire_all()
    enrolment = db.session.get(Enrolment, eid)
    current = course_catalogue.course_rules(course_catalogue.get_course("peel_course"))
    assert enrolment.rules == aftercare.rules_record(current)
    windows = aftercare.aftercare_for(session(eid, 3))
    assert [(w.code, w.window.end - w.window.start) for w in windows] == [
        ("no_uv", timedelta(hours=240))
    ]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "adopt_rules"))
    assert entry is not None and entry.entity_id == eid
    # The client's care timeline follows: 10 days of no sun, no resurfacing.
    notices = db.session.scalars(
        select(OutboxMessage.due_at).where(OutboxMessage.kind == "care_timeline")
    ).all()
    assert max(d.astimezone(BERLIN).date() for d in notices) == date(2027, 1, 8)
    again = adopt_current_rules(actor=setup["desk"], enrolment_id=eid, now=NOW)
    assert not again.differs


def test_adopting_unchanged_rules_keeps_a_session_booked_with_an_override(setup) -> None:
    """The client's sun holiday overlaps session 2's aftercare; reception booked it anyway,
    with a reason. The session holds as it was booked, under the same rules as now."""
    client = f.make_client(periods=[("sun_exposure", date(2026, 12, 20), date(2026, 12, 21))])
    enrolment = enrol.book_course(
        actor=setup["desk"],
        course_code="peel_course",
        client_id=client.id,
        sessions=[SessionRequest(s, setup["practitioner"].id) for s in EVERY_14[:3]],
        override_reason="She will stay in the shade",
        now=NOW,
    )
    preview = adopt_current_rules(actor=setup["desk"], enrolment_id=enrolment.id, now=NOW)
    assert not preview.differs and preview.ok, [c.violations for c in preview.broken]
    change = adopt_current_rules(
        actor=setup["desk"], enrolment_id=enrolment.id, now=NOW, confirm=True
    )
    assert change.ok


def test_adopting_the_current_rules_is_refused_while_a_session_is_in_a_closed_room(
    setup,
) -> None:
    eid = book(setup, EVERY_14[:2])
    room = session(eid, 2).room_id
    rooms.set_active(
        actor=setup["editor"], kind="room", record_id=room, active=False, confirm=True, now=NOW
    )
    with pytest.raises(RuleViolation) as refused:
        adopt_current_rules(actor=setup["desk"], enrolment_id=eid, now=NOW, confirm=True)
    assert {v.code for v in refused.value.violations} == {"room_unavailable"}


def test_only_reception_moves_a_booked_course_to_the_current_rules(setup) -> None:
    eid = book(setup, EVERY_14[:1])
    with pytest.raises(PermissionDenied):
        adopt_current_rules(actor=f.actor("practitioner"), enrolment_id=eid, confirm=True)
    with pytest.raises(PermissionDenied):
        adopt_current_rules(actor=f.client_actor(setup["client"]), enrolment_id=eid)


# --- migration 0008 ---------------------------------------------------------------------------


INSERT_ENROLMENT = (
    "INSERT INTO enrolments (client_id, course_id, status, created_at)"
    " VALUES (:c, :k, 'active', :t)"
)


OLD_CATALOGUE = [
    "INSERT INTO restrictions (id, code, text, kind, retired) VALUES"
    " (1, 'no_uv', 'no uv', 'sun', 0), (2, 'no_resurfacing', 'no resurfacing', 'other', 0),"
    " (3, 'no_retinoids', 'no retinoids', 'other', 0)",
    "INSERT INTO procedures (id, code, name, duration_min, buffer_min, qualification,"
    " device_kind, price, description, retired)"
    " VALUES (1, 'peel', 'Glycolic peel', 45, 15, 'peel', NULL, 80, '', 0)",
    "INSERT INTO procedure_blocked_by (procedure_id, restriction_id) VALUES (1, 2)",
    "INSERT INTO courses (id, code, name, procedure_id, sessions, min_interval_days,"
    " max_interval_days, months_mask, retired)"
    " VALUES (1, 'peel_course', 'Glycolic peel, 6 sessions', 1, 6, 14, 28, 511, 0)",
    "INSERT INTO course_restrictions (course_id, restriction_id, phase, hours) VALUES"
    " (1, 1, 'after', 168), (1, 2, 'after', 336), (1, 3, 'before', 120)",
    "INSERT INTO course_contraindications (course_id, code, lookback_days) VALUES"
    " (1, 'pregnancy', 0), (1, 'isotretinoin', 180)",
]


@pytest.fixture
def at_0007(tmp_path: Path) -> Iterator[Flask]:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="0007")
        yield app
        db.session.remove()
        db.engine.dispose()


def test_migration_0008_fills_the_rules_of_enrolments_booked_before_it(at_0007) -> None:
    from flask_migrate import upgrade

    # The catalogue as rows of revision 0007, written by SQL: the models have columns added
    # since. The factories' peel course, with a pre-care rule and January to September.
    for statement in OLD_CATALOGUE:
        db.session.execute(text(statement))
    course_id = db.session.scalar(text("SELECT id FROM courses WHERE code = 'peel_course'"))
    # The client as a row of revision 0007 (the model has columns added since).
    client_id = db.session.execute(
        text(
            "INSERT INTO clients (name, email, phone, notes, created_at)"
            " VALUES ('Old client', 'old@example.com', '', '', :t) RETURNING id"
        ),
        {"t": NOW.replace(tzinfo=None)},
    ).scalar_one()
    row = {"c": client_id, "k": course_id, "t": NOW.replace(tzinfo=None)}
    db.session.execute(text(INSERT_ENROLMENT), row)
    db.session.commit()
    db.session.remove()

    upgrade()

    rules = db.session.scalar(text("SELECT rules FROM enrolments"))
    expected = aftercare.rules_record(
        course_catalogue.course_rules(course_catalogue.get_course("peel_course"))
    )
    assert expected["months"] == list(range(1, 10))
    # Migration 0008 predates the phototypes; a record without them treats every skin type
    # (aftercare.rules_from_record).
    assert json.loads(rules) == {k: v for k, v in expected.items() if k != "phototypes"}
    assert aftercare.same_rules(json.loads(rules), expected)
    assert {c["phase"] for c in expected["care"]} == {"after", "before"}
    db.session.remove()
    with pytest.raises(IntegrityError):
        db.session.execute(text(INSERT_ENROLMENT), row)
        db.session.flush()
    db.session.rollback()
