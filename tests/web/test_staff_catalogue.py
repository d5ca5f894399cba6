"""Catalogue editing: who may, the rule sentence, bad values next to their field, retiring."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEntry, Course, Enrolment, Procedure, Restriction
from clinic.services.catalogue import catalogue_queries
from tests import factories as f
from tests.clock import local, next_monday
from tests.web.conftest import ALL_ROLES

EDITORS = {"admin", "practitioner"}
PAGES = [
    "/staff/catalogue",
    "/staff/catalogue/course/new",
    "/staff/catalogue/course/peel_course",
    "/staff/catalogue/procedure/new",
    "/staff/catalogue/procedure/peel",
    "/staff/catalogue/restriction/new",
    "/staff/catalogue/restriction/no_uv",
]


def course_data(**overrides) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "tca_course",
        "name": "Medium TCA peel",
        "procedure": "peel",
        "sessions": "2",
        "min_interval_days": "42",
        "max_interval_days": "120",
        "aftercare-0-restriction": "no_makeup",
        "aftercare-0-hours": "168",
        "aftercare-1-restriction": "no_uv",
        "aftercare-1-hours": "672",
        "precare-0-restriction": "no_uv",
        "precare-0-hours": "336",
        "contraindications-0-code": "isotretinoin",
        "contraindications-0-lookback_days": "180",
        "months": ["1", "2", "3", "10", "11", "12"],
        # The TCA peel for skin types I to IV (a browser sends the ticked boxes).
        "phototypes": ["1", "2", "3", "4"],
        "submit": "Save the course",
    }
    data.update(overrides)
    return data


@pytest.fixture
def catalogue(clinic):
    f.make_restriction("no_makeup", "makeup", "No makeup")
    return clinic


def errors(page: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)]


def sentence(page: str) -> str:
    return html.unescape(re.search(r'id="rule-sentence">([^<]*)<', page).group(1))


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("url", PAGES)
def test_catalogue_pages_are_for_cosmetologists_and_admins(
    client, login_as, catalogue, role, url
) -> None:
    login_as(role)
    assert client.get(url).status_code == (200 if role in EDITORS else 403)


@pytest.mark.parametrize("role", ["receptionist", "client"])
def test_saving_is_forbidden_to_other_roles(client, login_as, catalogue, role) -> None:
    login_as(role)
    response = client.post("/staff/catalogue/course/new", data=course_data())
    assert response.status_code == 403
    assert db.session.scalar(select(Course).where(Course.code == "tca_course")) is None


def test_cosmetologist_creates_a_course_with_every_field(client, login_as, catalogue) -> None:
    login_as("practitioner")
    response = client.post(
        "/staff/catalogue/course/new", data=course_data(ideal_interval_days="60")
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "tca_course"))
    assert (course.sessions, course.min_interval_days, course.max_interval_days) == (2, 42, 120)
    assert course.ideal_interval_days == 60
    assert [(c.restriction.code, c.hours) for c in course.aftercare] == [
        ("no_makeup", 168),
        ("no_uv", 672),
    ]
    assert [(c.restriction.code, c.hours) for c in course.precare] == [("no_uv", 336)]
    assert [(c.code, c.lookback_days) for c in course.contraindications] == [("isotretinoin", 180)]
    assert course.months == [1, 2, 3, 10, 11, 12]
    assert course.phototypes == [1, 2, 3, 4]
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.entity == "course"))
    assert (audit.action, audit.detail["code"]) == ("create", "tca_course")


def test_course_form_shows_the_rule_in_a_sentence(client, login_as, catalogue) -> None:
    login_as("practitioner")
    data = course_data()
    data.pop("submit")
    page = client.post(
        "/staff/catalogue/course/new", data={**data, "preview": "Preview the rule"}
    ).get_data(as_text=True)
    assert sentence(page) == (
        "2 sessions, 42 to 120 days apart; after each: no makeup 7 days, no uv 4 weeks; "
        "before each: no uv 2 weeks; not with isotretinoin (Roaccutane) in the last 180 days; "
        "only October to March; skin types I to IV only"
    )
    assert db.session.scalar(select(Course).where(Course.code == "tca_course")) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sessions": "0"}, "Number of sessions must be from 1 to 30; got 0."),
        ({"sessions": "31"}, "Number of sessions must be from 1 to 30; got 31."),
        ({"sessions": ""}, "Give the number of sessions."),
        ({"sessions": "six"}, "Not a valid integer value."),
        ({"min_interval_days": "-1"}, "Minimum interval (days) must be from 0 to 3650; got -1."),
        (
            {"min_interval_days": "30", "max_interval_days": "10"},
            "The maximum interval (10 days) is shorter than the minimum (30 days).",
        ),
        (
            {"ideal_interval_days": "30"},
            "The ideal interval (30 days) is shorter than the minimum (42 days).",
        ),
        (
            {"ideal_interval_days": "121"},
            "The ideal interval (121 days) is longer than the maximum (120 days).",
        ),
        ({"aftercare-0-hours": "0"}, "Hours must be from 1 to 8760; got 0."),
        ({"aftercare-0-hours": ""}, "Hours must be a whole number."),
        ({"aftercare-1-restriction": "no_such"}, "Not a valid choice."),
        ({"contraindications-0-lookback_days": "-5"}, "Look-back (days) must be from 0 to 3650"),
        ({"contraindications-0-code": "bad code!"}, "A code is letters, digits"),
        ({"months": []}, "Give at least one month"),
        ({"phototypes": []}, "Give at least one skin type"),
        ({"code": "bad code"}, "A code is letters, digits"),
        ({"code": "peel_course"}, "A course with the code 'peel_course' exists already."),
        ({"procedure": ""}, "Choose the procedure."),
        ({"name": ""}, "Give the name."),
        # A course's name is an email's subject: one line of plain text (issue 15).
        ({"name": "TCA\r\nBcc: everyone@example.com"}, "Use one line of plain text"),
    ],
)
def test_course_form_refuses_impossible_values_next_to_the_field(
    client, login_as, catalogue, overrides, message
) -> None:
    login_as("practitioner")
    response = client.post("/staff/catalogue/course/new", data=course_data(**overrides))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert any(e.startswith(message) for e in errors(page)), errors(page)
    assert db.session.scalar(select(Course).where(Course.code == "tca_course")) is None


def test_course_form_refuses_aftercare_that_makes_the_course_unbookable(
    client, login_as, catalogue
) -> None:
    login_as("practitioner")
    data = course_data(**{"aftercare-1-restriction": "no_resurfacing", "aftercare-1-hours": "3000"})
    response = client.post("/staff/catalogue/course/new", data=data)
    assert response.status_code == 422
    assert "blocks the next session beyond the maximum interval" in response.get_data(as_text=True)


def test_edit_keeps_the_code_and_replaces_the_rules(client, login_as, catalogue) -> None:
    login_as("admin")
    form = client.get("/staff/catalogue/course/peel_course").get_data(as_text=True)
    assert 'name="code" readonly' in form or "readonly" in form
    data = course_data(code="renamed", name="Glycolic peel, 4 sessions", sessions="4")
    response = client.post("/staff/catalogue/course/peel_course", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    course = db.session.scalar(select(Course).where(Course.code == "peel_course"))
    assert (course.name, course.sessions) == ("Glycolic peel, 4 sessions", 4)
    assert db.session.scalar(select(Course).where(Course.code == "renamed")) is None


def test_retiring_a_course_keeps_existing_enrolments(client, login_as, catalogue) -> None:
    enrolment = catalogue.book(local(next_monday(), 10))
    login_as("practitioner")
    response = client.post("/staff/catalogue/course/peel_course/retire")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Course.retired).where(Course.code == "peel_course"))
    assert db.session.get(Enrolment, enrolment.id).status == "active"
    assert "peel_course" not in [c.code for c in catalogue_queries.list_courses()]
    client.post("/staff/catalogue/course/peel_course/retire", data={"restore": "1"})
    db.session.expire_all()
    assert not db.session.scalar(select(Course.retired).where(Course.code == "peel_course"))


def test_editing_a_retired_course_keeps_it_retired(client, login_as, catalogue) -> None:
    login_as("practitioner")
    client.post("/staff/catalogue/course/peel_course/retire")
    client.post("/staff/catalogue/course/peel_course", data=course_data(code="peel_course"))
    db.session.expire_all()
    assert db.session.scalar(select(Course.retired).where(Course.code == "peel_course"))


def test_catalogue_form_refuses_a_post_without_csrf_token(
    client, login_as, catalogue, csrf_on
) -> None:
    login_as("practitioner")
    assert client.post("/staff/catalogue/course/new", data=course_data()).status_code == 400
    assert client.post("/staff/catalogue/course/peel_course/retire").status_code == 400
    assert db.session.scalar(select(Course).where(Course.code == "tca_course")) is None


def test_unknown_record_is_not_found(client, login_as, catalogue) -> None:
    login_as("admin")
    assert client.get("/staff/catalogue/course/nope").status_code == 404
    assert client.get("/staff/catalogue/widget/new").status_code == 404


# --- procedures and restrictions ---------------------------------------------------------------


def procedure_data(**overrides) -> dict[str, object]:
    f.make_device()
    data: dict[str, object] = {
        "code": "co2",
        "name": "Fractional CO2 laser",
        "duration_min": "60",
        "buffer_min": "30",
        "qualification": "laser",
        "device_kind": "co2_laser",
        "blocked_by": ["no_resurfacing", "no_uv"],
        "price": "350.00",
        "submit": "Save the procedure",
    }
    data.update(overrides)
    return data


def test_create_a_procedure_with_device_and_blocking_restrictions(
    client, login_as, catalogue
) -> None:
    login_as("practitioner")
    response = client.post("/staff/catalogue/procedure/new", data=procedure_data())
    assert response.status_code == 302
    p = db.session.scalar(select(Procedure).where(Procedure.code == "co2"))
    assert (p.duration_min, p.buffer_min, p.qualification, p.device_kind) == (
        60,
        30,
        "laser",
        "co2_laser",
    )
    assert [r.code for r in p.blocked_by] == ["no_resurfacing", "no_uv"]


def test_procedure_form_shows_its_rule(client, login_as, catalogue) -> None:
    login_as("practitioner")
    data = procedure_data()
    data.pop("submit")
    page = client.post(
        "/staff/catalogue/procedure/new", data={**data, "preview": "Preview"}
    ).get_data(as_text=True)
    assert sentence(page) == (
        "60 minutes plus 30 minutes' buffer; needs a practitioner qualified for laser and "
        "a co2_laser device; not while no_resurfacing, no_uv is in force"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"duration_min": "0"}, "Duration (minutes) must be from 1 to 720; got 0."),
        ({"duration_min": ""}, "Give the duration in minutes."),
        ({"buffer_min": "-5"}, "Buffer (minutes) must be from 0 to 240; got -5."),
        ({"price": "-3"}, "The price is a non-negative amount"),
        ({"qualification": "two words"}, "A code is letters, digits"),
        ({"device_kind": "xray"}, "Not a valid choice."),
        ({"blocked_by": ["nope"]}, "'nope' is not a valid choice for this field."),
    ],
)
def test_procedure_form_refuses_impossible_values(
    client, login_as, catalogue, overrides, message
) -> None:
    login_as("practitioner")
    response = client.post("/staff/catalogue/procedure/new", data=procedure_data(**overrides))
    assert response.status_code == 422
    assert any(e.startswith(message) for e in errors(response.get_data(as_text=True)))
    assert db.session.scalar(select(Procedure).where(Procedure.code == "co2")) is None


def test_create_and_retire_a_restriction(client, login_as, catalogue) -> None:
    login_as("admin")
    response = client.post(
        "/staff/catalogue/restriction/new",
        data={"code": "no_gym", "text": "No gym or sweating", "kind": "other", "submit": "Save"},
    )
    assert response.status_code == 302
    client.post("/staff/catalogue/restriction/no_gym/retire")
    row = db.session.scalar(select(Restriction).where(Restriction.code == "no_gym"))
    db.session.refresh(row)
    assert (row.text, row.retired) == ("No gym or sweating", True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": ""}, "Give a code, e.g. no_uv."),
        ({"code": "no uv!"}, "A code is letters, digits"),
        ({"text": ""}, "Give the text the client reads."),
        ({"text": "x" * 301}, "Field cannot be longer than 300 characters."),
        ({"kind": "moon"}, "Not a valid choice."),
    ],
)
def test_restriction_form_refuses_bad_values(
    client, login_as, catalogue, overrides, message
) -> None:
    login_as("admin")
    data = {"code": "no_gym", "text": "No gym", "kind": "other", "submit": "Save", **overrides}
    response = client.post("/staff/catalogue/restriction/new", data=data)
    assert response.status_code == 422
    assert any(e.startswith(message) for e in errors(response.get_data(as_text=True)))
