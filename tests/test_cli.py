"""The flask commands: catalogue import/export, users create, demo."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clinic.demo import CATALOGUE_PATH, demo_catalogue
from clinic.extensions import db
from clinic.models import (
    Appointment,
    AttentionFlag,
    AuditEntry,
    CatalogueVersion,
    ClinicSettings,
    Course,
    User,
    WorkingHours,
)
from clinic.services.staffing import catalogue_file, practitioners, time_off
from tests import factories as f
from tests.clock import local as at_local
from tests.clock import next_monday


def test_catalogue_import_then_export_to_stdout_gives_the_same_file(runner) -> None:
    imported = runner.invoke(args=["catalogue", "import", str(CATALOGUE_PATH)])
    exported = runner.invoke(args=["catalogue", "export"])

    assert imported.exit_code == 0, imported.output
    assert "courses: 7 created" in imported.output
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output) == demo_catalogue()


def test_catalogue_import_twice_says_nothing_changed(runner) -> None:
    runner.invoke(args=["catalogue", "import", str(CATALOGUE_PATH)])

    again = runner.invoke(args=["catalogue", "import", str(CATALOGUE_PATH)])

    assert again.exit_code == 0
    assert "Nothing to change." in again.output


def test_catalogue_export_writes_a_file(runner, tmp_path: Path) -> None:
    runner.invoke(args=["catalogue", "import", str(CATALOGUE_PATH)])
    target = tmp_path / "out.json"

    result = runner.invoke(args=["catalogue", "export", str(target)])

    assert result.exit_code == 0
    assert json.loads(target.read_text()) == demo_catalogue()


def test_catalogue_import_of_a_bad_file_lists_every_error_and_writes_nothing(
    runner, tmp_path: Path
) -> None:
    data = demo_catalogue()
    data["courses"][0]["sessions"] = 0
    data["clinic"]["timezone"] = "Nowhere/Special"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))

    result = runner.invoke(args=["catalogue", "import", str(bad)])

    assert result.exit_code != 0
    assert "courses[0].sessions" in result.output
    assert "clinic.timezone" in result.output
    assert "nothing was written" in result.output
    assert db.session.scalar(select(func.count()).select_from(ClinicSettings)) == 0
    assert db.session.scalar(select(func.count()).select_from(Course)) == 0


def test_catalogue_import_of_malformed_json_fails(runner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"clinic": ')

    result = runner.invoke(args=["catalogue", "import", str(bad)])

    assert result.exit_code != 0
    assert "not valid JSON" in result.output


def test_users_create_makes_an_account_and_refuses_a_second(runner) -> None:
    args = ["users", "create", "Desk@Example.org", "--role", "receptionist"]

    created = runner.invoke(args=[*args, "--password", "long-password"])
    again = runner.invoke(args=[*args, "--password", "long-password"])
    short = runner.invoke(
        args=["users", "create", "x@example.org", "--role", "admin", "--password", "short"]
    )

    assert created.exit_code == 0, created.output
    assert "Created receptionist desk@example.org" in created.output
    assert again.exit_code != 0 and "exists already" in again.output
    assert short.exit_code != 0 and "8 characters" in short.output
    assert db.session.scalar(select(User.role).where(User.email == "desk@example.org")) == (
        "receptionist"
    )


def test_users_create_refuses_a_name_with_a_line_break(runner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "x@example.org",
            "--role",
            "admin",
            "--password",
            "long-password",
            "--name",
            "Desk\nBcc: everyone@example.com",
        ]
    )
    assert result.exit_code == 1 and "Use one line of plain text" in result.output
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_demo_prints_logins_and_is_idempotent(runner) -> None:
    first = runner.invoke(args=["demo"])
    appointments = db.session.scalar(select(func.count()).select_from(Appointment))
    second = runner.invoke(args=["demo"])

    assert first.exit_code == 0, first.output
    assert "admin@demo.clinic / demo-admin" in first.output
    assert "reception@demo.clinic / demo-reception" in first.output
    assert "anna.weber@demo.clinic / demo-practitioner" in first.output
    assert "sophie.braun@demo.clinic / demo-client" in first.output
    assert "Open http://127.0.0.1:5000" in first.output
    assert appointments > 0
    assert second.exit_code == 0, second.output
    assert "0 accounts and 0 appointments created" in second.output
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == appointments


# --- an import that breaks booked sessions ------------------------------------------------------


@pytest.fixture
def booked_file(app, tmp_path: Path):
    """Two booked Monday sessions and a file that takes Mondays out of the practitioner's
    hours."""
    monday = next_monday(3)
    booked = f.make_booked_course(
        *(at_local(monday + timedelta(days=14 * i), 10) for i in range(2)),
        practitioner=dict(name="Lena"),
        client=dict(name="Carla Client"),
    )
    enrolment = booked.enrolment
    values = practitioners.practitioner_values(booked.practitioner)
    values["hours"] = {d: [["09:00", "17:00"]] for d in ("tue", "wed", "thu", "fri")}
    path = tmp_path / "no_mondays.json"
    path.write_text(json.dumps({"practitioners": [values]}))
    return path, [a.id for a in enrolment.appointments]


def _state() -> tuple[int | None, ...]:
    db.session.expire_all()
    return (
        db.session.scalar(select(CatalogueVersion.version)),
        db.session.scalar(select(func.count()).select_from(WorkingHours)),
        db.session.scalar(select(func.count()).select_from(AttentionFlag)),
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def test_catalogue_import_prints_and_flags_the_sessions_it_breaks(runner, booked_file) -> None:
    path, ids = booked_file
    result = runner.invoke(args=["catalogue", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "The import breaks 2 booked sessions:" in result.output
    assert result.output.count("Carla Client: Glycolic peel, 6 sessions, session") == 2
    assert "practitioner_unavailable" in result.output
    assert "They are flagged for the attention list." in result.output
    assert set(db.session.scalars(select(AttentionFlag.appointment_id))) == set(ids)
    assert db.session.scalar(select(func.count()).select_from(WorkingHours)) == 4


def test_catalogue_import_dry_run_prints_the_same_and_writes_nothing(runner, booked_file) -> None:
    path, _ = booked_file
    before = _state()
    result = runner.invoke(args=["catalogue", "import", "--dry-run", str(path)])

    assert result.exit_code == 0, result.output
    assert "practitioners: 0 created, 1 updated" in result.output
    assert "The import would break 2 booked sessions:" in result.output
    assert "Dry run: nothing was written." in result.output
    assert _state() == before


def test_catalogue_import_that_breaks_nothing_says_so(runner, booked_file, tmp_path) -> None:
    path = tmp_path / "room.json"
    path.write_text(json.dumps({"rooms": [{"code": "R3", "name": "Room 3"}]}))
    result = runner.invoke(args=["catalogue", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "No booked session breaks." in result.output


def test_a_dry_run_of_the_unchanged_catalogue_names_no_session_flagged_before(
    runner, booked_file, tmp_path
) -> None:
    """The practitioner's day off flagged the first session before; importing the exported
    catalogue again (a no-op) breaks nothing itself, and says so."""
    _, ids = booked_file
    first = min(
        db.session.scalars(select(Appointment).where(Appointment.id.in_(ids))),
        key=lambda a: a.start_at,
    )
    day = first.start_at.astimezone(at_local(next_monday(), 0).tzinfo).date()
    change = time_off.add_time_off(
        actor=f.actor("admin"),
        practitioner_id=first.practitioner_id,
        start_on=day,
        end_on=day,
        confirm=True,
    )
    assert {b.appointment_id for b in change.broken} == {first.id}
    path = tmp_path / "exported.json"
    assert runner.invoke(args=["catalogue", "export", str(path)]).exit_code == 0
    before = _state()

    result = runner.invoke(args=["catalogue", "import", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated" in result.output
    assert "No booked session breaks." in result.output
    assert "would break" not in result.output
    assert _state() == before

    # The admin's upload of the same file saves without asking, and keeps the flag.
    report, upload = catalogue_file.import_catalogue(
        actor=f.actor("admin"), data=json.loads(path.read_text())
    )
    assert upload.saved and not upload.needs_confirmation and upload.broken == ()
    assert set(db.session.scalars(select(AttentionFlag.appointment_id))) == {first.id}
