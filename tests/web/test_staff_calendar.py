"""The reception calendar: who may see it, what it shows, how many queries it costs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g, url_for
from sqlalchemy import event

from clinic.extensions import db
from clinic.models import AttentionFlag, TimeOff
from tests import factories as f
from tests.clock import local, next_monday
from tests.web.conftest import ALL_ROLES, Clinic, quick_user

ALLOWED = {"admin", "receptionist", "practitioner"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_calendar_is_for_staff_only(client, login_as, clinic, role) -> None:
    login_as(role)
    response = client.get("/staff/calendar")
    assert response.status_code == (200 if role in ALLOWED else 403)


def test_calendar_sends_anonymous_visitors_to_login(client, clinic) -> None:
    response = client.get("/staff/calendar")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_day_view_shows_client_procedure_session_and_buffer(client, login_as, clinic) -> None:
    monday = next_monday()
    clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10))
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}").get_data(as_text=True)
    assert "Dana Derm" in html
    assert "10:00–10:45 Anna Client" in html
    assert "Glycolic peel · session 1 of 6" in html
    assert "Buffer until 11:00" in html


def test_week_view_lists_the_sessions_of_each_day(client, login_as, clinic) -> None:
    monday = next_monday()
    clinic.book(local(monday + timedelta(days=2), 11))
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    assert f"Week of {monday:%a} {monday.day}" in html
    assert "11:00 Anna Client" in html and "1/6" in html


def test_week_view_links_each_session_to_its_appointment_page(
    app, client, login_as, clinic
) -> None:
    monday = next_monday()
    first = clinic.book(local(monday, 10)).appointments[0].id
    later = clinic.book(local(monday + timedelta(days=3), 12), client=f.make_client())
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    with app.test_request_context():
        for appointment_id in (first, later.appointments[0].id):
            href = url_for("staff.show_appointment", appointment_id=appointment_id)
            assert f'<a href="{href}">' in html


def test_week_view_shows_buffer_and_outcome_of_each_session(client, login_as, clinic) -> None:
    monday = next_monday()
    enrolment = clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10))
    enrolment.appointments[0].status = "no_show"
    f.commit()
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    assert '<li class="status-no_show">' in html
    assert "Glycolic peel · 1/6 · buffer to 11:00 · no-show</small>" in html


def test_week_view_escapes_what_staff_typed(client, login_as, clinic) -> None:
    clinic.client.name = '<b>Ann & "Co"</b>'
    clinic.course.procedure.name = "Peel <i>deep</i>"
    f.commit()
    monday = next_monday()
    clinic.book(local(monday, 10))
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    assert "10:00 &lt;b&gt;Ann &amp; &#34;Co&#34;&lt;/b&gt;</a>" in html
    assert "Peel &lt;i&gt;deep&lt;/i&gt; · 1/6" in html
    assert "<b>Ann" not in html and "<i>deep" not in html


def test_week_view_marks_time_off_and_days_not_worked(client, login_as, clinic) -> None:
    monday = next_monday()
    wednesday = monday + timedelta(days=2)
    db.session.add(
        TimeOff(
            practitioner_id=clinic.practitioner.id,
            start_on=wednesday,
            end_on=wednesday,
            note="Training",
        )
    )
    f.commit()
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    row = html[html.index("Dana Derm") :]
    cells = [c.split(">", 1)[0] for c in row.split("<td ")[1:8]]
    # Mon, Tue worked; Wed off; Thu, Fri worked; Sat, Sun not worked (Mon-Fri hours).
    assert cells == ['class=""'] * 2 + ['class="off"'] + ['class=""'] * 2 + ['class="closed"'] * 2
    assert '<small class="badge off">Training</small>' in row


def test_practitioner_sees_only_their_own_row_in_week_view(client, login_as, clinic) -> None:
    monday = next_monday()
    clinic.book(local(monday, 10))
    login_as("practitioner", name="Other Practitioner")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    assert "Other Practitioner" in html
    assert "Dana Derm" not in html and "Anna Client" not in html


def test_day_view_shows_time_off(client, login_as, clinic) -> None:
    monday = next_monday()
    db.session.add(
        TimeOff(
            practitioner_id=clinic.practitioner.id, start_on=monday, end_on=monday, note="Course"
        )
    )
    f.commit()
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}").get_data(as_text=True)
    assert 'class="slot off"' in html and "Course" in html


def test_device_view_has_a_column_per_device(client, login_as, clinic) -> None:
    f.make_device(code="CO2-1")
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={next_monday()}&by=device").get_data(as_text=True)
    assert "Fractional CO2 laser" in html and "co2_laser" in html


def test_practitioner_sees_only_their_own_column(client, login_as, clinic) -> None:
    monday = next_monday()
    clinic.book(local(monday, 10))
    login_as("practitioner", name="Other Practitioner")
    html = client.get(f"/staff/calendar?day={monday}").get_data(as_text=True)
    assert "Other Practitioner" in html
    assert "Dana Derm" not in html and "Anna Client" not in html


def test_bad_date_shows_today_with_a_message(client, login_as, clinic) -> None:
    login_as("receptionist")
    response = client.get("/staff/calendar?day=2026-02-31")
    assert response.status_code == 422
    assert "is not a date; showing today instead." in response.get_data(as_text=True)


def test_previous_and_next_links_move_by_a_week_in_week_view(client, login_as, clinic) -> None:
    monday = next_monday()
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={monday}&view=week").get_data(as_text=True)
    assert f"day={monday - timedelta(days=7)}&amp;view=week" in html
    assert f"day={monday + timedelta(days=7)}&amp;view=week" in html


def _queries(client, url: str) -> int:
    # A request of its own, as in production: the test's app context (its session and the
    # logged-in user kept in `g`) outlives requests.
    f.commit()
    g.pop("_login_user", None)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_week_view_costs_the_same_queries_for_one_or_many_appointments(
    client, login_as, clinic
) -> None:
    monday = next_monday()
    login_as("receptionist")
    url = f"/staff/calendar?day={monday}&view=week"
    first = _queries(client, url)  # reads the catalogue into the worker's memory
    clinic.book(local(monday, 9))
    one = _queries(client, url)
    for hour in (11, 13, 15):
        clinic.book(local(monday + timedelta(days=1), hour), client=f.make_client())
    many = _queries(client, url)
    again = _queries(client, url)
    assert first <= 25  # login, settings, hours, holidays, practitioners, appointments
    # BEGIN on SQLite, the user (with the catalogue's version), the window's appointments,
    # and the navigation's count of sessions needing attention.
    assert again == many == one == 4


def test_week_view_shows_a_client_renamed_since_it_was_last_shown(client, login_as, clinic) -> None:
    monday = next_monday()
    login_as("receptionist")
    clinic.book(local(monday, 9))
    url = f"/staff/calendar?day={monday}&view=week"
    old = clinic.client.name
    assert old in client.get(url).get_data(as_text=True)
    clinic.client.name = "Renamed Person"
    f.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Renamed Person" in page and old not in page


def _week_table(html: str) -> dict[str, list[list[tuple[str, str, str, str]]]]:
    """The week view as data: each row's name, then per day its sessions as (status, link,
    "HH:MM client", the line under it)."""
    table = html[html.index('<table class="calendar week-view">') :]
    table = table[table.index("<tbody>") : table.index("</tbody>")]
    rows = {}
    for row in table.split('<tr><th scope="row">')[1:]:
        name = row.split("<", 1)[0]
        cells = row.split("<td ")[1:]
        rows[name] = [
            re.findall(
                r'<li class="status-(\w+)"><a href="([^"]*)">([^<]*)</a><br>\s*<small>([^<]*)</small>',
                cell,
            )
            for cell in cells
        ]
    return rows


def _seed_week(clinic: Clinic) -> dict[str, object]:
    """Two practitioners' week: a done session, a no-show, a flagged booked one, a cancelled
    one (not shown) and a second session in the week after (not shown)."""
    monday = next_monday()
    eve = f.make_practitioner(name="Eve Laser")
    ben = quick_user("client", name="Ben Second").client
    cleo = quick_user("client", name="Cleo Third").client
    dora = quick_user("client", name="Dora Fourth").client
    done = clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10))
    no_show = clinic.book(local(monday + timedelta(days=1), 9), client=cleo)
    flagged = f.book(
        local(monday + timedelta(days=2), 14, 30), client=ben, practitioner=eve, by=clinic.desk
    )
    cancelled = clinic.book(local(monday + timedelta(days=3), 11), client=dora)
    done.appointments[0].status = "done"
    no_show.appointments[0].status = "no_show"
    cancelled.appointments[0].status = "cancelled"
    db.session.add(
        AttentionFlag(
            appointment_id=flagged.appointments[0].id,
            errors=[{"code": "practitioner_unavailable", "message": "Away."}],
            cause="time off",
        )
    )
    f.commit()
    return {
        "monday": monday,
        "eve": eve,
        "ids": [e.appointments[0].id for e in (done, no_show, flagged)],
    }


def test_week_view_shows_each_session_its_client_status_and_flags_count(
    app, client, login_as, clinic
) -> None:
    seeded = _seed_week(clinic)
    done, no_show, flagged = seeded["ids"]  # type: ignore[misc]
    login_as("receptionist")
    html = client.get(f"/staff/calendar?day={seeded['monday']}&view=week").get_data(as_text=True)
    with app.test_request_context():
        link = {i: url_for("staff.show_appointment", appointment_id=i) for i in seeded["ids"]}
    empty: list[tuple[str, str, str, str]] = []
    assert _week_table(html) == {
        "Dana Derm": [
            [
                (
                    "done",
                    link[done],
                    "10:00 Anna Client",
                    "Glycolic peel · 1/6 · buffer to 11:00 · done",
                )
            ],
            [
                (
                    "no_show",
                    link[no_show],
                    "09:00 Cleo Third",
                    "Glycolic peel · 1/6 · buffer to 10:00 · no-show",
                )
            ],
            *[empty] * 5,
        ],
        "Eve Laser": [
            empty,
            empty,
            [
                (
                    "booked",
                    link[flagged],
                    "14:30 Ben Second",
                    "Glycolic peel · 1/6 · buffer to 15:30",
                )
            ],
            *[empty] * 4,
        ],
    }
    assert "Attention (1)</a>" in html  # the flagged session, in the navigation


def test_week_view_shows_a_practitioner_their_own_sessions_only(client, login_as, clinic) -> None:
    seeded = _seed_week(clinic)
    login_as("practitioner", practitioner=seeded["eve"])
    html = client.get(f"/staff/calendar?day={seeded['monday']}&view=week").get_data(as_text=True)
    table = _week_table(html)
    assert list(table) == ["Eve Laser"]
    assert [[label for _, _, label, _ in cell] for cell in table["Eve Laser"]] == [
        [],
        [],
        ["14:30 Ben Second"],
        *[[]] * 4,
    ]
    assert "Attention (1)</a>" in html
