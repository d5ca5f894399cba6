"""Changes of the world on the pages (services/attention.py, clinic/world_pages.py): a staff
form that would break booked sessions lists them and saves nothing; "Save anyway" (confirm=1)
saves and flags them; a client's own change is kept, flags their sessions and lists them."""

from __future__ import annotations

import html
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import (
    AttentionFlag,
    Client,
    Holiday,
    OpeningHours,
    Practitioner,
    Procedure,
    Room,
    TimeOff,
    WorkingHours,
)
from clinic.services.staffing import practitioners
from tests import factories as f
from tests.clock import local, next_monday

BUTTON = "Save anyway and flag"


@pytest.fixture
def booked(clinic):
    """Three sessions of Anna's peel course, Mondays 10:00 two weeks apart."""
    monday = next_monday(3)
    enrolment = clinic.book(*(local(monday + timedelta(days=14 * i), 10) for i in range(3)))
    return {"clinic": clinic, "monday": monday, "appointments": list(enrolment.appointments)}


def flagged() -> set[int]:
    return set(db.session.scalars(select(AttentionFlag.appointment_id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_time_off_over_a_session_lists_it_then_confirm_saves_and_flags(
    client, login_as, booked
) -> None:
    login_as("admin")
    pid = booked["clinic"].practitioner.id
    day = booked["monday"].isoformat()
    url = f"/staff/admin/practitioners/{pid}/time-off"
    shown = client.post(url, data={"start_on": day, "end_on": day})
    assert shown.status_code == 200
    text = page(shown)
    assert "This time off would break 1 booked session" in text
    assert "Anna Client" in text and "practitioner_unavailable" in text and BUTTON in text
    assert count(TimeOff) == 0 and flagged() == set()

    saved = client.post(url, data={"start_on": day, "end_on": day, "confirm": "1"})
    assert saved.status_code == 302
    assert count(TimeOff) == 1
    assert flagged() == {booked["appointments"][0].id}
    assert "now on the attention list" in page(client.get(saved.location))


def test_a_holiday_lists_the_session_then_flags_it_and_removing_it_clears(
    client, login_as, booked
) -> None:
    login_as("admin")
    second = booked["appointments"][1]
    day = (booked["monday"] + timedelta(days=14)).isoformat()
    shown = client.post("/staff/admin/holidays", data={"day": day, "name": "Closed"})
    assert shown.status_code == 200 and BUTTON in page(shown)
    assert count(Holiday) == 0

    client.post("/staff/admin/holidays", data={"day": day, "name": "Closed", "confirm": "1"})
    assert count(Holiday) == 1 and flagged() == {second.id}
    holiday = db.session.scalar(select(Holiday))
    client.post(f"/staff/admin/holidays/{holiday.id}/remove")
    assert flagged() == set()


def test_closing_mondays_lists_every_monday_session(client, login_as, booked) -> None:
    login_as("admin")
    week = {d: "09:00-19:00" for d in ("tue", "wed", "thu", "fri", "sat")}
    shown = client.post("/staff/admin/opening-hours", data=week)
    assert shown.status_code == 200
    assert "These opening hours would break 3 booked sessions" in page(shown)
    assert count(OpeningHours) == 6

    client.post("/staff/admin/opening-hours", data={**week, "confirm": "1"})
    assert count(OpeningHours) == 5
    assert flagged() == {a.id for a in booked["appointments"]}


def test_a_room_out_of_use_asks_then_flags_and_back_in_use_clears(client, login_as, booked) -> None:
    login_as("admin")
    room_id = booked["appointments"][0].room_id
    in_room = {a.id for a in booked["appointments"] if a.room_id == room_id}
    url = f"/staff/admin/room/{room_id}/active"
    shown = client.post(url, data={"active": "0"})
    assert shown.status_code == 200 and BUTTON in page(shown)
    assert db.session.get(Room, room_id).active

    client.post(url, data={"active": "0", "confirm": "1"})
    assert flagged() == in_room
    client.post(url, data={"active": "1"})
    assert flagged() == set()


def _practitioner_data(hours: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "name": "Dana Derm",
        "email": "ignored@example.com",
        "qualifications": "peel, laser",
        **hours,
        **extra,
    }


def test_fewer_working_hours_list_the_sessions_first(client, login_as, booked) -> None:
    login_as("admin")
    pid = booked["clinic"].practitioner.id
    no_mondays = {d: "09:00-17:00" for d in ("tue", "wed", "thu", "fri")}
    url = f"/staff/admin/practitioners/{pid}"
    shown = client.post(url, data=_practitioner_data(no_mondays))
    assert shown.status_code == 200
    assert "This change of hours or qualifications would break 3" in page(shown)
    assert count(WorkingHours) == 5

    saved = client.post(url, data=_practitioner_data(no_mondays, confirm="1"))
    assert saved.status_code == 302
    assert count(WorkingHours) == 4
    assert flagged() == {a.id for a in booked["appointments"]}


def test_deactivating_a_practitioner_asks_first(client, login_as, booked) -> None:
    login_as("admin")
    pid = booked["clinic"].practitioner.id
    url = f"/staff/admin/practitioners/{pid}/active"
    shown = client.post(url, data={"active": "0"})
    assert shown.status_code == 200 and "Deactivating Dana Derm would break 3" in page(shown)
    assert db.session.get(Practitioner, pid).active

    client.post(url, data={"active": "0", "confirm": "1"})
    db.session.expire_all()
    assert not db.session.get(Practitioner, pid).active
    assert flagged() == {a.id for a in booked["appointments"]}


def test_a_procedure_edit_lists_the_sessions_first(client, login_as, booked) -> None:
    login_as("admin")
    data = {
        "code": "peel",
        "name": "Glycolic peel",
        "duration_min": "45",
        "buffer_min": "15",
        "qualification": "chemical_peel",
        "device_kind": "",
        "blocked_by": ["no_resurfacing"],
        "price": "80.00",
        "submit": "Save the procedure",
    }
    shown = client.post("/staff/catalogue/procedure/peel", data=data)
    assert shown.status_code == 200
    assert "This change to the procedure would break 3" in page(shown)
    assert db.session.scalar(select(Procedure.qualification)) == "peel"

    saved = client.post("/staff/catalogue/procedure/peel", data={**data, "confirm": "1"})
    assert saved.status_code == 302
    assert flagged() == {a.id for a in booked["appointments"]}


def test_an_import_lists_the_sessions_and_carries_the_file_to_confirm(
    client, login_as, booked
) -> None:
    login_as("admin")
    p = booked["clinic"].practitioner
    values = practitioners.practitioner_values(p)
    values["hours"] = {d: [["09:00", "17:00"]] for d in ("tue", "wed", "thu", "fri")}
    text = json.dumps({"practitioners": [values]})
    shown = client.post(
        "/staff/admin/catalogue",
        data={"file": (io.BytesIO(text.encode()), "catalogue.json")},
        content_type="multipart/form-data",
    )
    assert shown.status_code == 200
    body = page(shown)
    assert "This import would break 3" in body and 'name="text"' in body
    assert count(WorkingHours) == 5 and flagged() == set()

    saved = client.post(
        "/staff/admin/catalogue",
        # as a browser sends it: the file input empty, the file's text carried by the form
        data={"file": (io.BytesIO(b""), ""), "text": text, "confirm": "1"},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    assert count(WorkingHours) == 4
    assert flagged() == {a.id for a in booked["appointments"]}


def test_an_import_without_a_file_or_text_is_refused(client, login_as, booked) -> None:
    login_as("admin")
    refused = client.post("/staff/admin/catalogue", data={}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "Choose a file." in page(refused)


def _screening(pregnant: bool) -> dict[str, str]:
    data = {"confirm": "y"}
    if pregnant:
        data["pregnancy_present"] = "y"
    return data


def test_a_clients_new_condition_is_kept_and_lists_their_sessions(client, booked) -> None:
    me = booked["clinic"].client
    with client.session_transaction() as sess:
        f.log_in(sess, me.user_id)
    saved = client.post("/my/screening", data=_screening(True))
    assert saved.status_code == 302
    assert flagged() == {a.id for a in booked["appointments"]}
    text = page(client.get(saved.location))
    assert "3 of your booked sessions no longer fit" in text
    assert "the clinic will offer you new dates" in text
    assert text.count("Glycolic peel, 6 sessions, session") == 3
    mine = page(client.get("/my/sessions"))  # and their sessions page says so, session by session
    assert mine.count("This session no longer fits") == 3

    client.post("/my/screening", data=_screening(False))
    assert flagged() == set()
    assert "This session no longer fits" not in page(client.get("/my/sessions"))


def test_a_clients_period_is_kept_and_removing_it_clears(client, booked) -> None:
    me = booked["clinic"].client
    with client.session_transaction() as sess:
        f.log_in(sess, me.user_id)
    beach = (booked["monday"] + timedelta(days=2)).isoformat()  # within a week without sun
    saved = client.post("/my/periods", data={"kind": "sun_exposure", "start": beach, "end": beach})
    assert saved.status_code == 302
    assert flagged() == {booked["appointments"][0].id}
    assert "One of your booked sessions no longer fits" in page(client.get(saved.location))

    period = db.session.get(Client, me.id).periods[0]
    client.post(f"/my/periods/{period.id}/delete")
    assert flagged() == set()


def test_reception_recording_a_condition_sees_the_sessions_first(client, login_as, booked) -> None:
    login_as("receptionist")
    client_id = booked["clinic"].client.id
    url = f"/staff/clients/{client_id}/screening"
    shown = client.post(url, data=_screening(True))
    assert shown.status_code == 200
    assert "These answers would break 3" in page(shown)
    db.session.expire_all()
    assert db.session.get(Client, client_id).conditions == []

    saved = client.post(url, data={**_screening(True), "confirm": ["y", "1"]})
    assert saved.status_code == 302
    assert flagged() == {a.id for a in booked["appointments"]}


def test_a_change_breaking_nothing_is_saved_at_once(client, login_as, booked) -> None:
    login_as("admin")
    day = (booked["monday"] + timedelta(days=1)).isoformat()  # a Tuesday with no session
    saved = client.post("/staff/admin/holidays", data={"day": day, "name": "Closed"})
    assert saved.status_code == 302 and count(Holiday) == 1
    assert date.fromisoformat(day) == db.session.scalar(select(Holiday.day))
