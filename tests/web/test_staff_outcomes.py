"""Reception marks sessions done or no-show straight from the week calendar."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, ClinicSettings
from clinic.services.courses import outcomes
from tests import clock
from tests import factories as f
from tests.clock import local, next_monday

LINK = "http://localhost/my/sessions"


@pytest.fixture
def held(clinic):
    """Session 1 last Monday (started, no outcome yet) and session 2 two weeks later."""
    monday = clock.monday(-1)
    enrolment = clinic.book(
        local(monday, 10),
        local(monday + timedelta(days=14), 10),
        now=local(monday, 8),
    )
    first, second = sorted(enrolment.appointments, key=lambda a: a.session)
    return {"monday": monday, "first": first.id, "second": second.id}


def week(client, monday: date) -> str:
    return client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)


def outcome_forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]+)" class="outcome-buttons">', html)


def test_a_started_session_has_done_and_no_show_buttons(client, login_as, held) -> None:
    login_as("receptionist")
    html = week(client, held["monday"])
    assert outcome_forms(html) == [f"/staff/appointments/{held['first']}/outcome"]
    assert 'aria-label="Mark 10:00 Anna Client done"' in html
    assert 'aria-label="Mark 10:00 Anna Client a no-show"' in html
    # The session to come has none.
    assert outcome_forms(week(client, held["monday"] + timedelta(days=14))) == []


@pytest.mark.parametrize(("status", "shown"), [("done", "done"), ("no_show", "no-show")])
def test_a_button_records_the_outcome_and_returns_to_the_week(
    client, login_as, held, status, shown
) -> None:
    login_as("receptionist")
    monday = held["monday"]
    response = client.post(
        f"/staff/appointments/{held['first']}/outcome",
        data={"status": status, "week": monday.isoformat(), "by": "practitioner"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/staff/calendar?day={monday}&view=week&by=practitioner"
    )
    assert db.session.get(Appointment, held["first"]).status == status
    html = week(client, monday)
    assert f"Glycolic peel · 1/6 · buffer to 11:00 · {shown}</small>" in html
    assert f'<li class="status-{status}">' in html
    assert outcome_forms(html) == []


def test_the_practitioner_of_the_session_marks_it_from_their_week(
    client, login_as, clinic, held
) -> None:
    login_as("practitioner", practitioner=clinic.practitioner)
    assert len(outcome_forms(week(client, held["monday"]))) == 1
    response = client.post(
        f"/staff/appointments/{held['first']}/outcome",
        data={"status": "done", "week": held["monday"].isoformat(), "by": "practitioner"},
    )
    assert response.status_code == 302
    assert db.session.get(Appointment, held["first"]).status == "done"


def test_a_session_not_yet_started_is_refused_on_the_week_page(client, login_as, held) -> None:
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{held['second']}/outcome",
        data={"status": "done", "week": next_monday().isoformat(), "by": "practitioner"},
    )
    assert response.status_code == 422
    assert "only once it has started" in response.get_data(as_text=True)
    assert db.session.get(Appointment, held["second"]).status == "booked"


@pytest.mark.usefixtures("csrf_on")
def test_the_buttons_carry_the_csrf_token_and_a_post_without_it_is_refused(
    client, login_as, held
) -> None:
    login_as("receptionist")
    html = week(client, held["monday"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    url = f"/staff/appointments/{held['first']}/outcome"
    form = {"status": "done", "week": held["monday"].isoformat(), "by": "practitioner"}
    assert client.post(url, data=form).status_code == 400
    assert db.session.get(Appointment, held["first"]).status == "booked"
    assert client.post(url, data={**form, "csrf_token": token.group(1)}).status_code == 302
    assert db.session.get(Appointment, held["first"]).status == "done"


@pytest.mark.parametrize(("uses_up", "counts"), [(False, "0 of 7 held"), (True, "0 of 6 held")])
def test_my_sessions_counts_the_make_up_after_a_no_show(client, clinic, held, uses_up, counts):
    settings = db.session.scalar(select(ClinicSettings))
    settings.no_show_uses_session = uses_up
    f.commit()
    outcomes.record_outcome(
        actor=clinic.desk, appointment_id=held["first"], status="no_show", sessions_link=LINK
    )
    with client.session_transaction() as sess:
        f.log_in(sess, clinic.client.user_id)
    page = client.get("/my/sessions").get_data(as_text=True)
    to_book = 4 if uses_up else 5
    assert f"{counts}, 1 missed, 1 booked, {to_book} to book; next session on" in page
    assert "You missed your Glycolic peel session" in page  # the message, still to be sent


def test_a_stale_button_says_what_happened_and_changes_nothing(client, login_as, held) -> None:
    login_as("receptionist")
    form = {"week": held["monday"].isoformat(), "by": "practitioner", "seen": "booked"}
    url = f"/staff/appointments/{held['first']}/outcome"
    assert client.post(url, data={**form, "status": "done"}).status_code == 302
    stale = client.post(url, data={**form, "status": "no_show"})
    assert stale.status_code == 409
    assert "just marked done by someone else" in stale.get_data(as_text=True)
    assert db.session.get(Appointment, held["first"]).status == "done"


def test_a_bad_button_value_is_refused_on_the_week_page(client, login_as, held) -> None:
    login_as("receptionist")
    response = client.post(
        f"/staff/appointments/{held['first']}/outcome",
        data={"status": "maybe", "week": held["monday"].isoformat(), "by": "practitioner"},
    )
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.get(Appointment, held["first"]).status == "booked"
