"""Reception's attention list page, accepting a re-plan, and the count in the staff navigation."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from clinic.extensions import db
from clinic.models import Appointment, AttentionFlag, TimeOff
from clinic.services.courses import moves
from clinic.services.staffing import time_off
from tests import factories as f
from tests.clock import local, next_monday


def take_off(clinic, first: date, last: date | None = None) -> set[int]:
    """Dana's days off, through the service and confirmed: the sessions they break are
    flagged as in the clinic. Returns the flagged ones."""
    change = time_off.add_time_off(
        actor=f.actor("admin"),
        practitioner_id=clinic.practitioner.id,
        start_on=first,
        end_on=last or first,
        confirm=True,
    )
    assert change.saved
    return {b.appointment_id for b in change.broken}


@pytest.fixture
def flagged(clinic):
    """Two sessions of the peel course; Dana has since taken the day of the second off."""
    first, second = next_monday(2), next_monday(4)
    enrolment = clinic.book(local(first, 10), local(second, 10))
    ids = [a.id for a in sorted(enrolment.appointments, key=lambda a: a.session)]
    assert take_off(clinic, second) == {ids[1]}
    return {"enrolment": enrolment.id, "ids": ids, "second": second}


def off_text(day: date) -> str:
    """The judge's sentence for Dana's day off."""
    return f"Dana Derm is off on {day:%a} {day.day} {day:%b %Y}."


def test_attention_page_shows_the_flagged_session_and_its_replan(
    client, login_as, clinic, flagged
) -> None:
    login_as("receptionist")
    page = client.get("/staff/attention")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "Anna Client" in text and clinic.course.name in text
    assert "Session 2 of 6" in text
    assert off_text(flagged["second"]) in text
    assert f"Time off for Dana Derm, {flagged['second']:%a %d %b %Y}" in text
    assert "Proposed re-plan:" in text and "session 1 stays" in text
    assert re.search(
        r"Session 2: \w{3} \d+ \w{3} \d{4}, 10:00 with Dana Derm → .+ with Dana Derm", text
    )
    assert f"/staff/appointments/{flagged['ids'][1]}" in text
    assert f"/staff/clients/{clinic.client.id}" in text
    assert "Accept re-plan for Anna Client" in text


def test_accepting_the_replan_moves_the_session_and_clears_the_row(
    client, login_as, clinic, flagged
) -> None:
    login_as("receptionist")
    page = html.unescape(client.get("/staff/attention").get_data(as_text=True))
    moves = re.findall(r'name="move" value="([^"]+)"', page)
    assert len(moves) == 1
    response = client.post(
        f"/staff/enrolments/{flagged['enrolment']}/replan",
        data={"move": moves, "confirm": "1"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    moved = db.session.get(Appointment, flagged["ids"][1])
    assert moved.start_at.date() != flagged["second"]
    assert "Re-plan accepted for Anna Client" in text and "session 2 now" in text
    assert "Nothing needs attention." in text
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 0


def test_a_replan_overtaken_by_the_calendar_is_refused_on_the_page(
    client, login_as, clinic, flagged
) -> None:
    login_as("receptionist")
    page = html.unescape(client.get("/staff/attention").get_data(as_text=True))
    [move] = re.findall(r'name="move" value="([^"]+)"', page)
    _, start, *_ = move.split("|")
    # Someone books Dana at that very time for another client before the desk accepts.
    clinic.book(datetime.fromisoformat(start), client=f.make_client())
    response = client.post(
        f"/staff/enrolments/{flagged['enrolment']}/replan", data={"move": [move], "confirm": "1"}
    )
    assert response.status_code == 422
    assert "Not possible as it stands" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 1


def test_empty_attention_list_says_so(client, login_as, clinic) -> None:
    login_as("receptionist")
    assert "Nothing needs attention." in client.get("/staff/attention").get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("receptionist", 200), ("practitioner", 200), ("client", 403)],
)
def test_who_may_see_the_attention_list(client, login_as, clinic, role, status) -> None:
    login_as(role)
    assert client.get("/staff/attention").status_code == status


def test_a_practitioner_sees_the_list_without_the_accept_button(
    client, login_as, clinic, flagged
) -> None:
    login_as("practitioner", practitioner=clinic.practitioner)
    text = client.get("/staff/attention").get_data(as_text=True)
    assert "Session 2 of 6" in text and "Accept re-plan" not in text
    response = client.post(
        f"/staff/enrolments/{flagged['enrolment']}/replan", data={"move": [], "confirm": "1"}
    )
    assert response.status_code == 403


def test_accepting_needs_the_csrf_token(client, login_as, clinic, flagged, csrf_on) -> None:
    login_as("receptionist")
    response = client.post(f"/staff/enrolments/{flagged['enrolment']}/replan", data={"move": []})
    assert response.status_code == 400


def test_staff_navigation_counts_flagged_sessions_with_one_query(
    app, client, login_as, clinic, flagged
) -> None:
    login_as("receptionist")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        text = client.get("/staff/clients").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert "Attention (1)" in text
    assert len([s for s in statements if "attention_flags" in s]) == 1
    db.session.execute(db.delete(AttentionFlag))
    f.commit()
    text = client.get("/staff/clients").get_data(as_text=True)
    assert "Attention (" not in text and ">Attention<" in text


def test_a_stale_flag_is_cleared_with_one_button(client, login_as, clinic) -> None:
    enrolment = clinic.book(local(next_monday(2), 10), local(next_monday(4), 10))
    second = max(enrolment.appointments, key=lambda a: a.session)
    assert take_off(clinic, next_monday(4)) == {second.id}
    # The time off goes without a change of the world judging it: the flag is stale.
    db.session.execute(db.delete(TimeOff))
    f.commit()
    login_as("receptionist")
    text = client.get("/staff/attention").get_data(as_text=True)
    assert "Nothing needs to move" in text and "Clear the flag for Anna Client" in text
    response = client.post(
        f"/staff/enrolments/{enrolment.id}/replan", data={"confirm": "1"}, follow_redirects=True
    )
    assert "Nothing needs attention." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AttentionFlag)) == 0


def test_without_a_replan_the_page_says_to_handle_it_by_hand(
    client, login_as, clinic, flagged
) -> None:
    take_off(clinic, next_monday(2) + timedelta(days=1), next_monday(4) - timedelta(days=1))
    take_off(clinic, next_monday(4) + timedelta(days=1), next_monday(12))
    login_as("receptionist")
    text = client.get("/staff/attention").get_data(as_text=True)
    assert "No re-plan keeps every rule" in text and "Accept re-plan" not in text
    assert f"/staff/appointments/{flagged['ids'][1]}" in text


def test_the_session_page_says_it_needs_attention(client, login_as, clinic, flagged) -> None:
    login_as("receptionist")
    text = client.get(f"/staff/appointments/{flagged['ids'][1]}").get_data(as_text=True)
    assert "This session needs attention" in text and off_text(flagged["second"]) in text
    assert f"/staff/attention#enrolment-{flagged['enrolment']}" in text
    other = client.get(f"/staff/appointments/{flagged['ids'][0]}").get_data(as_text=True)
    assert "This session needs attention" not in other


def test_a_refused_replan_of_a_booking_not_listed_says_why(client, login_as, clinic) -> None:
    enrolment = clinic.book(local(next_monday(2), 10))
    other = clinic.book(local(next_monday(2), 12), client=f.make_client())
    login_as("receptionist")
    seen = f"booked|{local(next_monday(2), 12).isoformat()}|1"
    foreign = f"{other.appointments[0].id}|{local(next_monday(3), 10).isoformat()}|1|{seen}"
    response = client.post(
        f"/staff/enrolments/{enrolment.id}/replan", data={"move": [foreign], "confirm": "1"}
    )
    assert response.status_code == 422
    assert "is not a session of this course booking" in response.get_data(as_text=True)


def test_a_replan_is_refused_on_the_page_when_the_client_moved_the_session_since(
    client, login_as, clinic, flagged
) -> None:
    """Reception draws the list; the client moves the flagged session herself; reception's
    accept of the re-plan it saw is refused, naming what changed, and her move stays."""
    login_as("receptionist")
    page = html.unescape(client.get("/staff/attention").get_data(as_text=True))
    [move] = re.findall(r'name="move" value="([^"]+)"', page)
    hers = local(flagged["second"] + timedelta(days=1), 11)
    moves.move_appointment(
        actor=f.client_actor(clinic.client), appointment_id=flagged["ids"][1], start=hers
    )
    response = client.post(
        f"/staff/enrolments/{flagged['enrolment']}/replan", data={"move": [move], "confirm": "1"}
    )
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert f"Session 2 was just moved to {hers:%a} {hers.day} {hers:%b}" in text
    db.session.expire_all()
    assert db.session.get(Appointment, flagged["ids"][1]).start_at == hers


def test_a_move_without_what_the_page_saw_is_malformed(client, login_as, clinic, flagged) -> None:
    login_as("receptionist")
    page = html.unescape(client.get("/staff/attention").get_data(as_text=True))
    [move] = re.findall(r'name="move" value="([^"]+)"', page)
    bare = "|".join(move.split("|")[:3])
    response = client.post(
        f"/staff/enrolments/{flagged['enrolment']}/replan", data={"move": [bare], "confirm": "1"}
    )
    assert response.status_code == 400
