"""A client plans, books, moves and cancels a course through the pages; never anyone else's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from clinic.extensions import db
from clinic.models import Appointment, ClinicSettings, Enrolment, OutboxMessage
from clinic.services.courses import enrol
from clinic.services.courses.placing import SessionRequest
from tests import clock
from tests import factories as f
from tests.clock import BERLIN, local, next_monday


@pytest.fixture
def me(clinic, login_as):
    user = login_as("client", name="Mia Me")
    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()
    return user.client


def plan(client, **data):
    return client.post(
        "/courses/peel_course/plan",
        data={"earliest": next_monday().isoformat(), "practitioner": "0", "how_many": "all"} | data,
    )


def proposal(client, **data) -> tuple[str, list[str]]:
    response = plan(client, **data)
    assert response.status_code == 302, response.text
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.text, re.findall(r'name="s" value="([^"]+)"', page.text)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_planning_proposes_every_session_with_its_aftercare_and_a_calendar(app, client, me) -> None:
    text, values = proposal(client)
    assert len(values) == 6
    monday = next_monday()
    assert f"Session 1 of 6</strong>: Mon {monday.day} {monday:%b %Y}, 09:00" in text
    assert "No uv until" in text and "No resurfacing until" in text
    assert '<table class="month">' in text and 'class="session"' in text
    assert count(Appointment) == 0  # nothing booked yet


def test_planning_respects_a_declared_beach_holiday(app, client, me) -> None:
    monday = next_monday()
    holiday = (monday + timedelta(days=16), monday + timedelta(days=23))
    client.post(
        "/my/periods",
        data={
            "kind": "sun_exposure",
            "start": holiday[0].isoformat(),
            "end": holiday[1].isoformat(),
        },
    )
    _, values = proposal(client)
    for value in values:
        start = datetime.strptime(value.split("-")[0], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        no_sun_until = (start + timedelta(days=7)).astimezone(BERLIN).date()
        assert no_sun_until < holiday[0] or start.astimezone(BERLIN).date() > holiday[1]


def test_booking_only_the_first_session_proposes_one(app, client, me) -> None:
    _, values = proposal(client, how_many="first")
    assert len(values) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"earliest": ""}, "Give the earliest day you could start."),
        ({"earliest": "next week"}, "Give a date like 2026-12-24."),
        (
            {"earliest": "2020-01-06"},
            "6 January 2020 has already passed; choose today or a later day.",
        ),
        ({"time_from": "15:00", "time_to": "11:00"}, "must be later than"),
        ({"time_from": "25:00"}, "Not a valid choice"),
        ({"practitioner": "999"}, "Not a valid choice"),
        ({"weekdays": "9"}, "is not a valid choice"),
    ],
)
def test_planning_refuses_bad_wishes_with_their_message(app, client, me, data, message) -> None:
    response = plan(client, **data)
    assert response.status_code == 422
    assert message in unescape(response.text)


def test_planning_says_which_rule_makes_it_impossible(app, client, me) -> None:
    response = plan(client, weekdays="6")  # the practitioner never works on Sunday
    assert response.status_code == 422
    assert "This is not possible yet" in response.text


def test_a_plan_that_starts_next_season_says_why_above_the_review(app, client, clinic, me) -> None:
    # A one-month season, asked for its 20th: two sessions 14 days apart no longer fit in it.
    today = clock.today()
    month_start = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    db.session.query(ClinicSettings).one().horizon_days = 800
    clinic.course.sessions = 2
    clinic.course.months_mask = 1 << (month_start.month - 1)
    f.commit()
    response = plan(client, earliest=month_start.replace(day=20).isoformat())
    assert response.status_code == 302, response.text
    page = unescape(client.get(response.headers["Location"]).text)
    assert "must start by" in page and "the plan starts in the next season" in page


def test_swapping_a_session_offers_the_free_times_of_a_day(app, client, me) -> None:
    text, values = proposal(client)
    swap = unescape(re.findall(r'href="(/courses/peel_course/swap[^"]+)"', text)[1])
    page = client.get(swap)
    assert page.status_code == 200 and "that fit the plan" in page.text
    day = next_monday() + timedelta(days=14)  # the only day 14 days from sessions 1 and 3
    other_day = client.get(swap + f"&day={day.isoformat()}")
    links = re.findall(r'class="outline" href="(/courses/peel_course/review[^"]+)"', other_day.text)
    choice = unescape(links[2])  # 09:30
    review = client.get(choice)
    assert f"Session 2 of 6</strong>: Mon {day.day} {day:%b %Y}, 09:30" in review.text
    bad = client.get(swap + "&day=someday")
    assert bad.status_code == 422 and "Give a date like" in bad.text


def test_confirming_books_all_sessions_at_once_and_queues_the_confirmation(app, client, me) -> None:
    _, values = proposal(client)
    response = client.post("/courses/peel_course/book", data={"s": values})
    assert response.status_code == 302
    assert count(Appointment) == 6 and count(Enrolment) == 1
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert {"booking_confirmation", "reminder", "care_timeline"} <= kinds, kinds
    page = client.get("/my/sessions")
    assert "Session 2 of 6" in page.text and "0 of 6 held, 6 booked, 0 to book" in page.text
    assert "No uv until" in page.text
    assert "Messages we will send you" in page.text


def test_confirming_a_proposal_that_breaks_a_rule_books_nothing(app, client, me) -> None:
    monday = next_monday()
    starts = [local(monday, 10), local(monday + timedelta(days=3), 10)]  # 3 days apart
    values = [f"{s.astimezone(UTC):%Y%m%dT%H%MZ}-0" for s in starts]
    response = client.post("/courses/peel_course/book", data={"s": values})
    assert response.status_code == 422
    assert "must be at least 14 days after" in response.text
    assert count(Appointment) == 0


@pytest.mark.parametrize("values", [["garbage"], ["20261301T0900Z-1"], []])
def test_a_garbled_proposal_is_refused(app, client, me, values) -> None:
    response = client.post("/courses/peel_course/book", data={"s": values})
    assert response.status_code == 400
    assert count(Appointment) == 0


def booked(clinic, me, weeks: int = 2, step: int = 21):
    monday = next_monday(weeks)
    starts = [local(monday + timedelta(days=step * i), 10) for i in range(6)]
    return clinic.book(*starts, client=me)


def test_each_session_and_the_whole_calendar_download_as_ics(app, client, clinic, me) -> None:
    enrolment = booked(clinic, me)
    first = enrolment.appointments[0]
    response = client.get(f"/my/appointments/{first.id}.ics")
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = list(calendar.walk("VEVENT"))
    session = next(e for e in events if "session 1 of 6" in str(e["summary"]))
    assert session.decoded("dtstart") == local(next_monday(2), 10)
    assert session["dtstart"].params["TZID"] == "Europe/Berlin"
    assert calendar.walk("VTIMEZONE")
    no_uv = next(e for e in events if "No uv" in str(e["summary"]))
    assert no_uv.decoded("dtend") == local(next_monday(2) + timedelta(days=7), 10)
    whole = Calendar.from_ical(client.get("/my/calendar.ics").data)
    assert len([e for e in whole.walk("VEVENT") if "categories" not in e]) == 6


def test_moving_a_session_within_the_rules(app, client, clinic, me) -> None:
    enrolment = booked(clinic, me)
    second = enrolment.appointments[1]
    target = local(second.start_at.astimezone(BERLIN).date() + timedelta(days=1), 11)
    page = client.get(f"/my/appointments/{second.id}/move?day={target.date().isoformat()}")
    assert page.status_code == 200 and "11:00" in page.text
    response = client.post(f"/my/appointments/{second.id}/move", data={"start": target.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, second.id).start_at == target


def test_a_move_that_breaks_the_next_session_warns_and_offers_a_replan(
    app, client, clinic, me
) -> None:
    enrolment = booked(clinic, me, step=14)
    second, third = enrolment.appointments[1], enrolment.appointments[2]
    target = local(third.start_at.astimezone(BERLIN).date() - timedelta(days=3), 10)
    url = f"/my/appointments/{second.id}/move"
    response = client.post(url, data={"start": target.isoformat()})
    assert response.status_code == 422
    assert "affects later sessions" in response.text
    assert f"Session 3 of 6 on {third.start_at.astimezone(BERLIN):%a} " in response.text
    assert "Move and re-plan the later sessions" in response.text
    db.session.expire_all()
    assert db.session.get(Appointment, second.id).start_at != target  # nothing changed yet
    accepted = client.post(url, data={"start": target.isoformat(), "accept_replan": "yes"})
    assert accepted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, second.id).start_at == target
    gap = db.session.get(Appointment, third.id).start_at.astimezone(BERLIN).date() - target.date()
    assert gap >= timedelta(days=14)


@pytest.mark.parametrize("start", ["", "tomorrow", "2026-12-01T10:00"])
def test_a_move_to_a_malformed_time_is_refused(app, client, clinic, me, start) -> None:
    enrolment = booked(clinic, me)
    response = client.post(
        f"/my/appointments/{enrolment.appointments[0].id}/move", data={"start": start}
    )
    assert response.status_code == 422 and "Choose one of the free times." in response.text


def test_cancelling_a_session_lifts_it(app, client, clinic, me) -> None:
    enrolment = booked(clinic, me)
    last = enrolment.appointments[-1]
    assert client.get(f"/my/appointments/{last.id}/cancel").status_code == 200
    assert client.post(f"/my/appointments/{last.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, last.id).status == "cancelled"


def test_changes_inside_the_notice_say_please_call_the_clinic(app, client, clinic, me) -> None:
    # A notice longer than the time until the session: the real clock need not be near it.
    settings = db.session.scalar(select(ClinicSettings))
    settings.client_change_notice_hours = 24 * 60
    f.commit()
    start = local(next_monday(2), 10)
    appointment = clinic.book(start, client=me).appointments[0]
    page = client.get("/my/sessions")
    assert "please call the clinic" in page.text
    assert f"/my/appointments/{appointment.id}/move" not in page.text
    move = client.post(
        f"/my/appointments/{appointment.id}/move",
        data={"start": (start + timedelta(days=1)).isoformat()},
    )
    assert move.status_code == 422 and "please call the clinic" in move.text
    cancel = client.post(f"/my/appointments/{appointment.id}/cancel")
    assert cancel.status_code == 422 and "please call the clinic" in cancel.text
    db.session.expire_all()
    moved = db.session.get(Appointment, appointment.id)
    assert (moved.status, moved.start_at) == ("booked", start)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/my/appointments/{id}.ics"),
        ("get", "/my/appointments/{id}/move"),
        ("post", "/my/appointments/{id}/move"),
        ("get", "/my/appointments/{id}/cancel"),
        ("post", "/my/appointments/{id}/cancel"),
    ],
)
def test_a_client_never_reaches_another_clients_session(
    app, client, clinic, me, method, path
) -> None:
    theirs = booked(clinic, clinic.client, weeks=3)
    appointment = theirs.appointments[0]
    url = path.format(id=appointment.id)
    response = getattr(client, method)(url, data={"start": local(next_monday(5), 10).isoformat()})
    assert response.status_code == 404
    assert clinic.client.name not in response.text
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == "booked"
    assert "Anna Client" not in client.get("/my/sessions").text
    calendar = Calendar.from_ical(client.get("/my/calendar.ics").data)
    assert list(calendar.walk("VEVENT")) == []


def test_unknown_ids_are_not_found(app, client, me) -> None:
    assert client.get("/my/appointments/99999/move").status_code == 404
    assert client.get("/courses/no_such_course/plan").status_code == 404


def test_past_dates_are_not_offered_for_a_move(app, client, clinic, me) -> None:
    enrolment = booked(clinic, me)
    yesterday = date.today() - timedelta(days=1)
    page = client.get(
        f"/my/appointments/{enrolment.appointments[0].id}/move?day={yesterday.isoformat()}"
    )
    assert 'aria-label="Move to' not in page.text
    assert f.day  # the factories module stays imported for readers of this file


def test_booking_a_course_again_links_to_the_one_already_booked(app, client, me) -> None:
    monday = next_monday()
    first = [f"{local(monday, 11).astimezone(UTC):%Y%m%dT%H%MZ}-0"]
    again = [f"{local(monday, 14).astimezone(UTC):%Y%m%dT%H%MZ}-0"]
    assert client.post("/courses/peel_course/book", data={"s": first}).status_code == 302
    enrolment = db.session.scalar(select(Enrolment.id))
    response = client.post("/courses/peel_course/book", data={"s": again})
    assert response.status_code == 422
    assert "already booked on" in response.text
    assert f'href="/my/sessions#enrolment-{enrolment}"' in response.text
    assert count(Appointment) == 1


def test_my_sessions_never_show_a_pre_care_date_already_past(app, client, clinic, me) -> None:
    f.make_course(
        code="sun_peel",
        name="Peel, no sun before",
        procedure=clinic.course.procedure,
        sessions=2,
        precare=[("no_uv", "sun", 336)],
    )
    soon = datetime.now(UTC).date() + timedelta(days=2)
    while soon.weekday() > 4:
        soon += timedelta(days=1)
    enrol.book_course(
        actor=clinic.desk,
        course_code="sun_peel",
        client_id=me.id,
        sessions=[SessionRequest(local(soon, 11), clinic.practitioner.id)],
        precare_confirmed=True,
    )
    page = client.get("/my/sessions")
    assert "No uv until the session" in page.text
    assert "No uv from" not in page.text


@pytest.mark.parametrize("weekdays", [["false"], ["9"]])
def test_planning_with_malformed_weekdays_is_refused_not_a_500(app, client, me, weekdays) -> None:
    response = plan(client, weekdays=weekdays)
    assert response.status_code == 422
    assert "Invalid choice" in response.text or "not a valid choice" in response.text
    assert count(Appointment) == 0
