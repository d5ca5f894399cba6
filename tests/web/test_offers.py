"""Offers that hold: the reschedule page and the proposal's "another time" list offer only
starts that "Confirm" then accepts, and say why when a day has none."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from clinic.extensions import db
from clinic.models import Appointment, ClientPeriod
from clinic.services.core.actors import actor_for
from clinic.services.courses import cancellation, enrol, moves
from clinic.services.courses.placing import SessionRequest
from tests import factories as f
from tests.clock import BERLIN, local, next_monday


@pytest.fixture
def me(clinic, login_as):
    user = login_as("client", name="Mia Me")
    user.client.screening_confirmed_at = datetime.now(UTC)
    f.commit()
    return user.client


def booked(clinic, me, step: int = 21):
    """Six peels `step` days apart from a Monday two weeks ahead, at 10:00."""
    monday = next_monday(2)
    return clinic.book(*(local(monday + timedelta(days=step * i), 10) for i in range(6)), client=me)


def offered_moves(client, appointment: Appointment, day) -> tuple[list[datetime], str]:
    page = client.get(f"/my/appointments/{appointment.id}/move?day={day.isoformat()}")
    assert page.status_code == 200
    text = unescape(page.text)
    direct = text.split("Possible if later sessions move too")[0]
    starts = re.findall(r'name="start" value="([^"]+)"', direct)
    return [datetime.fromisoformat(s) for s in starts], text


def test_a_day_that_crowds_the_next_session_offers_its_times_with_the_replan(
    app, client, clinic, me
) -> None:
    enrolment = booked(clinic, me, step=14)
    second, third = enrolment.appointments[1], enrolment.appointments[2]
    day = third.start_at.astimezone(BERLIN).date() - timedelta(days=3)
    starts, text = offered_moves(client, second, day)
    assert starts == []
    assert "Possible if later sessions move too" in text
    assert "must be at least 14 days before the next session" in text
    later = re.findall(r'name="start" value="([^"]+)"', text.split("later sessions move too")[1])
    assert later
    response = client.post(f"/my/appointments/{second.id}/move", data={"start": later[0]})
    assert response.status_code == 422 and "affects later sessions" in response.text


def test_a_day_that_breaks_spacing_offers_no_move_and_says_why(app, client, clinic, me) -> None:
    enrolment = booked(clinic, me)
    second = enrolment.appointments[1]
    too_close = next_monday(2) + timedelta(days=7)  # a week after session 1; the course needs 14
    starts, text = offered_moves(client, second, too_close)
    assert starts == []
    assert "No time on" in text and "at least 14 days after" in text


def test_a_move_is_not_offered_inside_another_sessions_restriction(app, client, clinic, me) -> None:
    # A laser session three days before: its "no resurfacing" for 72 hours blocks a peel.
    laser = f.make_procedure(code="laser", name="Laser", qualification="laser", blocked_by=[])
    f.make_course(
        code="laser_course",
        name="Laser",
        procedure=laser,
        sessions=1,
        aftercare=[("no_resurfacing", "other", 72)],
        contraindications=[],
    )
    enrolment = booked(clinic, me)
    monday = next_monday(2)
    enrol.book_course(
        actor=clinic.desk,
        course_code="laser_course",
        client_id=me.id,
        sessions=[SessionRequest(local(monday + timedelta(days=25), 10), clinic.practitioner.id)],
    )
    target = monday + timedelta(days=28)
    starts, _ = offered_moves(client, enrolment.appointments[1], target)
    assert starts and min(starts) == local(target, 10)  # 09:00-09:45 fall inside the window
    actor = actor_for(me.user)
    refused = moves.preview_move(
        actor=actor, appointment_id=enrolment.appointments[1].id, start=local(target, 9)
    )
    assert [v.code for v in refused.violations] == ["restriction_conflict"]


def test_a_move_into_the_clients_sun_holiday_is_not_offered(app, client, clinic, me) -> None:
    enrolment = booked(clinic, me)
    target = next_monday(2) + timedelta(days=22)
    # The peel's week without sun from the target day runs into the holiday.
    me.periods.append(
        ClientPeriod(
            kind="sun_exposure",
            start_on=target + timedelta(days=5),
            end_on=target + timedelta(days=12),
        )
    )
    f.commit()
    starts, text = offered_moves(client, enrolment.appointments[1], target)
    assert starts == []
    assert "No time on" in text and "runs into your" in text


@pytest.mark.parametrize("days_after", [1, 2, 7])
def test_every_offered_move_is_accepted_at_confirm(app, client, clinic, me, days_after) -> None:
    second_practitioner = f.make_practitioner(name="Lena Laser")
    enrolment = booked(clinic, me)
    second = enrolment.appointments[1]
    # Dana is busy with another client at 13:00 on the day: Lena's times remain on offer.
    day = second.start_at.astimezone(BERLIN).date() + timedelta(days=days_after)
    other = f.make_client()
    clinic.book(local(day, 13), client=other)
    starts, _ = offered_moves(client, second, day)
    assert starts, "the day has times that fit"
    actor = actor_for(me.user)
    for start in starts:
        preview = moves.preview_move(actor=actor, appointment_id=second.id, start=start)
        assert preview.ok, (start, preview.violations)
    assert second_practitioner.id  # a second practitioner exists on this day
    moved = client.post(f"/my/appointments/{second.id}/move", data={"start": starts[-1]})
    assert moved.status_code == 302


def plan(client) -> list[str]:
    response = client.post(
        "/courses/peel_course/plan",
        data={"earliest": next_monday().isoformat(), "practitioner": "0", "how_many": "all"},
    )
    assert response.status_code == 302, response.text
    page = client.get(response.headers["Location"])
    return re.findall(r'name="s" value="([^"]+)"', page.text)


def swap_choices(client, values: list[str], k: int, day) -> tuple[list[list[str]], str]:
    query = "&".join(f"s={v}" for v in values)
    page = client.get(f"/courses/peel_course/swap?{query}&k={k}&day={day.isoformat()}")
    assert page.status_code == 200
    text = unescape(page.text)
    links = re.findall(
        r'role="button" class="outline" href="(/courses/peel_course/review[^"]+)"', text
    )
    return [re.findall(r"s=([^&]+)", link) for link in links], text


def test_another_time_that_breaks_spacing_is_not_offered(app, client, me) -> None:
    values = plan(client)
    choices, text = swap_choices(client, values, 2, next_monday() + timedelta(days=3))
    assert choices == []
    assert "No time on" in text and "at least 14 days after" in text


def test_every_other_time_offered_is_booked_at_confirm(app, client, clinic, me) -> None:
    values = plan(client)
    day = next_monday() + timedelta(days=14)  # sessions 1 and 3 are 14 days either side
    clinic.book(local(day, 11), client=f.make_client())  # someone else's session that day
    choices, _ = swap_choices(client, values, 2, day)
    assert choices
    desk = clinic.desk
    for chosen in choices:
        response = client.post("/courses/peel_course/book", data={"s": chosen})
        assert response.status_code == 302, (chosen, response.text)
        mine = db.session.scalars(
            db.select(Appointment).where(
                Appointment.client_id == me.id, Appointment.status == "booked"
            )
        ).first()
        assert mine is not None
        cancellation.cancel_enrolment(actor=desk, enrolment_id=mine.enrolment_id)
