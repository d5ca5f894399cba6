"""A service's refusal on a form: next to the field it names, the rest on top (clinic/form_errors.py)."""

from __future__ import annotations

import pytest
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField

from clinic.form_errors import Problem, place_errors
from clinic.scheduling import Violation
from clinic.services.core.errors import (
    Conflict,
    InvalidData,
    InvalidRequest,
    NotFound,
    RuleViolation,
)


class ClientForm(FlaskForm):
    name = StringField("Name")
    practitioner = IntegerField("Practitioner")


@pytest.fixture
def form(app):
    with app.test_request_context("/", method="POST"):
        yield ClientForm(meta={"csrf": False})


def test_a_named_field_gets_the_message(form) -> None:
    top = place_errors(form, InvalidRequest("Give a name.", field="name"))
    assert top == []
    assert form.name.errors == ["Give a name."]


def test_a_service_name_is_mapped_to_the_forms_field(form) -> None:
    refusal = NotFound("No such practitioner.", field="preferences.practitioner")
    top = place_errors(form, refusal, {"preferences.practitioner": "practitioner"})
    assert top == []
    assert form.practitioner.errors == ["No such practitioner."]


@pytest.mark.parametrize("field", [None, "phone", "validate", "meta"])
def test_a_message_without_a_field_of_the_form_goes_on_top(form, field) -> None:
    top = place_errors(form, InvalidRequest("Not now.", field=field))
    assert top == [Problem("Not now.")]
    assert str(top[0]) == "Not now."
    assert not form.name.errors and not form.practitioner.errors


def test_each_error_of_invalid_data_finds_its_field(form) -> None:
    refusal = InvalidData(
        [{"field": "name", "message": "Too long."}, {"field": "$", "message": "Bad file."}]
    )
    assert place_errors(form, refusal) == [Problem("Bad file.")]
    assert form.name.errors == ["Too long."]


def test_a_path_finds_its_field_through_a_function(form) -> None:
    refusal = InvalidData([{"field": "hours.name[0]", "message": "Closes before it opens."}])
    place_errors(form, refusal, lambda path: getattr(form, path.split(".")[1].split("[")[0]))
    assert form.name.errors == ["Closes before it opens."]


@pytest.mark.parametrize(
    "refusal",
    [
        RuleViolation(
            [
                Violation("spacing_too_close", "Too close.", 2),
                Violation("conflicts_with_client_plans", "Your holiday.", 3, soft=True),
            ]
        ),
        Conflict(
            "Too close.",
            violations=[
                Violation("spacing_too_close", "Too close.", 2),
                Violation("conflicts_with_client_plans", "Your holiday.", 3, soft=True),
            ],
        ),
    ],
)
def test_every_broken_rule_goes_on_top_with_its_session(form, refusal) -> None:
    assert place_errors(form, refusal) == [
        Problem("Too close.", soft=False, session=2, code="spacing_too_close"),
        Problem("Your holiday.", soft=True, session=3, code="conflicts_with_client_plans"),
    ]
