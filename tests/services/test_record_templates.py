"""Each procedure's treatment-record template: in the catalogue file, and its defaults."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from clinic.demo import demo_catalogue
from clinic.extensions import db
from clinic.models import Procedure
from clinic.services.catalogue import export_catalogue, import_catalogue
from clinic.services.clinical import record_templates
from clinic.services.core.errors import InvalidData


@pytest.fixture
def data(app) -> dict[str, Any]:
    return demo_catalogue()


def _procedure(code: str) -> Procedure:
    return db.session.scalar(select(Procedure).where(Procedure.code == code))


def test_a_procedures_record_fields_are_imported_and_exported(data) -> None:
    import_catalogue(copy.deepcopy(data))

    co2 = _procedure("co2_laser")
    assert [f["code"] for f in co2.record_template] == ["energy", "density", "spot_size", "passes"]
    assert _procedure("glycolic_peel").record_template is None
    exported = {p["code"]: p for p in export_catalogue()["procedures"]}
    assert exported["tca_peel"]["record_fields"][2]["choices"] == ["I", "II", "III"]
    assert "record_fields" not in exported["glycolic_peel"]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ([{"code": "Fluence!", "label": "Fluence", "kind": "number"}], "record_fields[0].code"),
        ([{"code": "fluence", "label": "", "kind": "number"}], "record_fields[0].label"),
        ([{"code": "fluence", "label": "Fluence", "kind": "slider"}], "record_fields[0].kind"),
        ([{"code": "acid", "label": "Acid", "kind": "choice"}], "record_fields[0].choices"),
        ([{"code": "reaction", "label": "Reaction", "kind": "text"}], "record_fields[0].code"),
        (
            [
                {"code": "a", "label": "A", "kind": "text"},
                {"code": "a", "label": "B", "kind": "text"},
            ],
            "record_fields[1].code",
        ),
        ("fluence", "record_fields"),
    ],
)
def test_a_bad_record_field_is_refused_with_its_path(data, fields, path) -> None:
    data["procedures"][0]["record_fields"] = fields

    with pytest.raises(InvalidData) as refused:
        import_catalogue(data)

    fields_named = [e["field"] for e in refused.value.errors]
    assert f"procedures[0].{path}" in fields_named, refused.value.errors
    assert _procedure("co2_laser") is None


@pytest.mark.parametrize(
    ("device_kind", "qualification", "codes"),
    [
        ("co2_laser", "laser", ["fluence", "spot_size", "passes"]),
        (None, "laser", ["fluence", "spot_size", "passes"]),
        (None, "peel", ["acid", "concentration", "exposure"]),
        (None, "massage", []),
    ],
)
def test_a_procedure_without_a_template_gets_the_default_of_its_kind(
    device_kind, qualification, codes
) -> None:
    template = record_templates.template_of(
        None, device_kind=device_kind, qualification=qualification
    )
    assert [f["code"] for f in template] == codes


def test_the_pages_lines_read_back_as_the_same_template() -> None:
    template = [
        {"code": "fluence", "label": "Fluence", "kind": "number", "unit": "J/cm²"},
        {"code": "acid", "label": "Acid", "kind": "choice", "choices": ["glycolic", "TCA"]},
        {"code": "note", "label": "Cooling", "kind": "text"},
    ]
    lines = record_templates.as_lines(template)
    assert lines.splitlines()[1] == "acid; Acid; choice; glycolic | TCA"
    assert record_templates.from_lines(lines) == template
    assert record_templates.template_problems(template) == []
