"""The flask commands: catalogue import/export, users create, demo."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from clinic.demo import CATALOGUE_PATH, demo_catalogue
from clinic.extensions import db
from clinic.models import Appointment, ClinicSettings, Course, User


def test_catalogue_import_then_export_to_stdout_gives_the_same_file(runner) -> None:
    imported = runner.invoke(args=["catalogue", "import", str(CATALOGUE_PATH)])
    exported = runner.invoke(args=["catalogue", "export"])

    assert imported.exit_code == 0, imported.output
    assert "courses: 6 created" in imported.output
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
