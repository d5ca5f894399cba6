"""A catalogue file that is not a file we can read (issue 15): NUL in a text, bytes that are
not UTF-8, lists nested 100,000 deep. The command and the admin page list the errors, with
their JSON paths, and write nothing; never a traceback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clinic.demo import demo_catalogue
from clinic.extensions import db
from clinic.models import ClinicSettings, Course
from clinic.services import catalogue
from clinic.services.catalogue import schema
from clinic.services.core.errors import InvalidData
from clinic.services.staffing import catalogue_file
from tests.web.test_staff_admin import messages


def with_nul_in_a_course_name() -> bytes:
    data = demo_catalogue()
    data["courses"][1]["name"] = "Peel\u0000 course"
    return json.dumps(data).encode()  # the NUL as the JSON escape \u0000


def not_utf8() -> bytes:
    return json.dumps(demo_catalogue()).encode().replace(b"Weber", b"W\xe9ber", 1)


def nested(depth: int = 100_000) -> bytes:
    return b'{"courses": [' + b"[" * depth + b"]" * depth + b"]}"


# (file, the error's field, its code, words of its message)
BAD_FILES = {
    "nul_in_a_name": (
        with_nul_in_a_course_name,
        "courses[1].name",
        "control_character",
        "one line",
    ),
    "raw_nul_byte": (
        lambda: json.dumps(demo_catalogue()).encode().replace(b"Weber", b"We\x00ber", 1),
        "$",
        "malformed_json",
        "Invalid control character",
    ),
    "not_utf8": (not_utf8, "$", "not_utf8", "not UTF-8 text"),
    "nested_100000_deep": (nested, "courses[0]" + "[0]" * 18, "too_deep", "nested more than"),
    "huge_number": (
        lambda: b'{"courses": [{"sessions": ' + b"9" * 5000 + b"}]}",
        "$",
        "malformed_json",
        "digits",
    ),
}
CASES = [pytest.param(*case, id=name) for name, case in BAD_FILES.items()]


def nothing_written() -> bool:
    db.session.rollback()
    return all(
        db.session.scalar(select(func.count()).select_from(t)) == 0
        for t in (ClinicSettings, Course)
    )


@pytest.mark.parametrize(("make", "field", "code", "words"), CASES)
def test_a_bad_file_is_refused_with_its_path_and_nothing_is_written(
    app, make, field, code, words
) -> None:
    with pytest.raises(InvalidData) as refused:
        catalogue_file.import_catalogue_file(catalogue.read_file(make()))
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in refused.value.errors
    ], refused.value.errors
    assert any(words in e["message"] for e in refused.value.errors), refused.value.errors
    assert nothing_written()


@pytest.mark.parametrize(("make", "field", "code", "words"), CASES)
def test_the_command_lists_the_errors_and_exits_1(
    runner, tmp_path: Path, make, field, code, words
) -> None:
    path = tmp_path / "catalogue.json"
    path.write_bytes(make())
    result = runner.invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "nothing was written" in result.output
    assert f"  {field}: " in result.output and f"[{code}]" in result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert nothing_written()


@pytest.mark.parametrize(("make", "field", "code", "words"), CASES)
def test_the_admin_page_lists_the_errors(client, login_as, make, field, code, words) -> None:
    login_as("admin")
    response = client.post(
        "/staff/admin/catalogue",
        data={"file": (io.BytesIO(make()), "catalogue.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    shown = messages(response.get_data(as_text=True))
    assert any(words in m for m in shown), shown
    if field != "$":
        assert any(m.startswith(f"{field}: ") for m in shown), shown
    assert nothing_written()


def test_a_file_above_the_limit_is_refused_saying_the_limit(app, monkeypatch) -> None:
    monkeypatch.setattr(schema, "MAX_FILE_BYTES", 1000)
    with pytest.raises(InvalidData) as refused:
        catalogue.read_file(json.dumps(demo_catalogue()).encode())
    [error] = refused.value.errors
    assert error["code"] == "too_large" and "at most 1 kB" in error["message"]
    assert nothing_written()
