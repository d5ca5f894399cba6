"""The health screening, declared periods and the catalogue as a client sees it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import (
    AuditEntry,
    Client,
    ClientCondition,
    ClientPeriod,
    Course,
    phototypes_to_mask,
)
from clinic.services.core.cache import catalogue_changed
from tests import factories as f
from tests.clock import next_monday, today


@pytest.fixture
def me(clinic, login_as):
    """The logged-in client (the `clinic` fixture has the peel course and a practitioner)."""
    user = login_as("client", name="Mia Me")
    return user.client


def confirm(client, **answers: str):
    return client.post("/my/screening", data={"confirm": "y", **answers})


def test_the_screening_asks_in_plain_words_about_standard_and_clinic_conditions(
    app, client, me
) -> None:
    f.make_course(
        code="micro",
        name="Microcurrent",
        procedure=f.make_procedure(code="microcurrent", name="Microcurrent"),
        contraindications=[("metal_implants", 0)],
    )
    page = client.get("/my/screening")
    assert page.status_code == 200
    for words in [
        "I take isotretinoin (Roaccutane) now",
        "Or the date of my last dose",
        "I am pregnant or breastfeeding now",
        "I have rosacea now",
        "I have an active cold sore (herpes) now",
        "I have active skin inflammation now",
        "I have a recent tan now",
        "I have a pacemaker now",
        "I have metal implants now",
        "Some courses need 180 days after it.",
    ]:
        assert words in page.text


def test_saving_the_screening_confirms_it_and_audits_each_change(app, client, me) -> None:
    last_dose = (today() - timedelta(days=30)).isoformat()
    assert confirm(client, isotretinoin_last=last_dose, rosacea_present="y").status_code == 302
    db.session.expire_all()
    assert me.screening_confirmed_at is not None
    rows = {c.code: (c.present, c.last_on) for c in me.conditions}
    assert rows == {"isotretinoin": (False, date.fromisoformat(last_dose)), "rosacea": (True, None)}
    assert confirm(client, isotretinoin_last=last_dose).status_code == 302  # rosacea gone
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "screening").order_by(AuditEntry.id)
    ).all()
    assert set(entries[0].detail["changes"]) == {"isotretinoin", "rosacea"}
    assert entries[1].detail["changes"] == {
        "rosacea": {"before": {"present": True, "last_date": None}, "after": None}
    }
    assert (
        db.session.scalar(select(ClientCondition.code).where(ClientCondition.code == "rosacea"))
        is None
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"isotretinoin_last": "2026-02-30"}, "Give a date like 2026-12-24."),
        ({"isotretinoin_last": "yesterday"}, "Give a date like 2026-12-24."),
        ({"isotretinoin_last": "2999-01-01"}, "This date is in the future"),
        ({"pregnancy_last": "1850-01-01"}, "This date is too long ago"),
    ],
)
def test_the_screening_refuses_bad_dates_next_to_the_field(app, client, me, data, message) -> None:
    response = confirm(client, **data)
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    db.session.expire_all()
    assert me.screening_confirmed_at is None and me.conditions == []


def test_the_screening_must_be_confirmed_with_the_box(app, client, me) -> None:
    response = client.post("/my/screening", data={"rosacea_present": "y"})
    assert response.status_code == 422
    assert "Please tick the box to confirm your answers." in response.text
    db.session.expire_all()
    assert me.conditions == []


def test_planning_needs_a_screening_first(app, client, me) -> None:
    response = client.post(
        "/courses/peel_course/plan", data={"earliest": next_monday().isoformat()}
    )
    assert response.status_code == 422
    assert "fill in and confirm your health screening" in response.text


def test_planning_needs_the_screening_confirmed_again_when_it_is_too_old(app, client, me) -> None:
    me.screening_confirmed_at = datetime.now(UTC) - timedelta(days=181)
    f.commit()
    assert "too old" in client.get("/my/screening").text
    response = client.post(
        "/courses/peel_course/plan", data={"earliest": next_monday().isoformat()}
    )
    assert response.status_code == 422
    assert "older than the clinic accepts" in response.text


def test_the_catalogue_shows_price_sessions_spacing_and_daily_life(app, client) -> None:
    f.make_clinic()
    f.make_course(
        aftercare=[("no_makeup", "makeup", 24), ("no_uv", "sun", 168)],
        precare=[("no_actives", "other", 120)],
    )
    page = client.get("/courses")
    assert "80.00 €" in page.text and "480.00 € for all 6" in page.text
    assert "6 sessions, 14 to 28 days apart" in page.text
    assert "no makeup for 24 hours, no uv for 7 days" in page.text
    assert "no actives for 5 days" in page.text
    assert "Create an account" in page.text


def test_a_course_the_screening_rules_out_says_why_and_from_when(app, client, me) -> None:
    last_dose = today() - timedelta(days=30)
    confirm(client, isotretinoin_last=last_dose.isoformat())
    page = client.get("/courses")
    assert "Your screening rules this course out for now" in page.text
    assert "needs 180 days after isotretinoin (Roaccutane)" in page.text
    when = last_dose + timedelta(days=180)
    assert f"It would be possible from <strong>{when.day} {when:%B %Y}</strong>" in page.text


def test_a_present_condition_rules_a_course_out_without_a_date(app, client, me) -> None:
    confirm(client, pregnancy_present="y")
    page = client.get("/courses")
    assert "is not possible while you have pregnancy or breastfeeding" in page.text
    assert "Plan this course" not in page.text


def test_the_screening_asks_the_skin_type_in_plain_words_and_a_course_outside_says_so(
    app, client, me
) -> None:
    course = db.session.scalar(select(Course).where(Course.code == "peel_course"))
    course.phototypes_mask = phototypes_to_mask([1, 2, 3, 4])
    catalogue_changed()
    db.session.commit()
    page = client.get("/my/screening").text
    assert "How does your skin react to the sun?" in page
    assert "Type I: always burns, never tans" in page
    assert "I am not sure" in page

    assert confirm(client, phototype="6").status_code == 302
    assert db.session.get(Client, me.id).phototype == 6
    chosen = re.findall(r"<input checked[^>]*>", client.get("/my/screening").text)
    assert [c for c in chosen if 'name="phototype"' in c and 'value="6"' in c], chosen
    courses = client.get("/courses").text
    assert "is not offered for skin type VI (never burns, deeply pigmented skin)" in courses
    assert "Plan this course" not in courses
    # "Not sure" keeps the skin type recorded; a value outside I-VI is refused at the field.
    assert confirm(client, phototype="").status_code == 302
    assert db.session.get(Client, me.id).phototype == 6
    refused = confirm(client, phototype="7")
    assert refused.status_code == 422
    assert "Not a valid choice" in refused.text


def test_a_declared_period_is_listed_and_can_be_removed(app, client, me) -> None:
    start = today() + timedelta(days=20)
    response = client.post(
        "/my/periods",
        data={
            "kind": "sun_exposure",
            "start": start.isoformat(),
            "end": (start + timedelta(days=7)).isoformat(),
            "note": "Crete",
        },
    )
    assert response.status_code == 302
    page = client.get("/my/periods")
    assert "Beach holiday" in page.text and "(Crete)" in page.text
    period = db.session.scalar(select(ClientPeriod))
    assert client.post(f"/my/periods/{period.id}/delete").status_code == 302
    assert db.session.scalar(select(ClientPeriod)) is None
    assert {e.action for e in db.session.scalars(select(AuditEntry))} >= {
        "add_period",
        "remove_period",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": ""}, "Choose a beach holiday or a wedding or event."),
        ({"kind": "ski_trip"}, "Not a valid choice"),
        ({"start": ""}, "Give the first day."),
        ({"end": "31/12/2026"}, "Give a date like 2026-12-24."),
        ({"end": "START-1"}, "The last day is before the first day."),
        ({"start": "PAST-10", "end": "PAST-3"}, "This period is already over."),
        ({"end": "START+400"}, "A period can last at most a year"),
        ({"note": "x" * 201}, "Field cannot be longer than 200 characters."),
    ],
)
def test_a_declared_period_refuses_bad_input(app, client, me, data, message) -> None:
    start = today() + timedelta(days=10)
    values = {
        "kind": "needs_makeup",
        "start": start.isoformat(),
        "end": (start + timedelta(days=1)).isoformat(),
    } | data
    for key, value in values.items():
        if value.startswith("START"):
            values[key] = (start + timedelta(days=int(value[5:]))).isoformat()
        elif value.startswith("PAST"):
            values[key] = (today() - timedelta(days=int(value[5:]))).isoformat()
    response = client.post("/my/periods", data=values)
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(ClientPeriod)) is None


def test_a_client_cannot_remove_another_clients_period(app, client, me) -> None:
    other = f.make_client(
        periods=[("sun_exposure", today() + timedelta(days=5), today() + timedelta(days=9))]
    )
    period_id = other.periods[0].id
    assert client.post(f"/my/periods/{period_id}/delete").status_code == 404
    assert db.session.get(ClientPeriod, period_id) is not None
