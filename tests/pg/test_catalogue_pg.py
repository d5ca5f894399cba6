"""The catalogue file on PostgreSQL (issue 15): a NUL in a text, which PostgreSQL cannot store,
is a listed error with its path, never the driver's traceback; nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clinic.demo import demo_catalogue
from clinic.extensions import db
from clinic.models import ClinicSettings, Course
from clinic.services import catalogue
from clinic.services.core.errors import InvalidData
from clinic.services.staffing import catalogue_file


def with_nul() -> bytes:
    data = demo_catalogue()
    data["courses"][1]["name"] = "Peel\u0000 course"
    data["restrictions"][0]["text"] = "No sun\u0000"
    return json.dumps(data).encode()


def nothing_written() -> bool:
    db.session.rollback()
    return all(
        db.session.scalar(select(func.count()).select_from(t)) == 0
        for t in (ClinicSettings, Course)
    )


def test_a_nul_in_a_text_is_a_listed_error_on_postgresql(app) -> None:
    with pytest.raises(InvalidData) as refused:
        catalogue_file.import_catalogue_file(catalogue.read_file(with_nul()))
    found = {(e["field"], e["code"]) for e in refused.value.errors}
    assert {
        ("courses[1].name", "control_character"),
        ("restrictions[0].text", "control_character"),
    } <= found
    assert nothing_written()


def test_the_command_lists_a_nul_and_exits_1_on_postgresql(app, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_bytes(with_nul())
    result = app.test_cli_runner().invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "courses[1].name: Use one line of plain text" in result.output
    assert "[control_character]" in result.output
    assert nothing_written()


def test_the_demo_file_imports_on_postgresql_and_again_changes_nothing(app) -> None:
    raw = json.dumps(demo_catalogue()).encode()
    report, _ = catalogue_file.import_catalogue_file(catalogue.read_file(raw))
    assert report.counts["courses"].created == len(demo_catalogue()["courses"])
    again, _ = catalogue_file.import_catalogue_file(catalogue.read_file(raw))
    assert not again.changed
    assert catalogue.export_catalogue() == demo_catalogue()
