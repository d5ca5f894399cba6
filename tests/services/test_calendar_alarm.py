"""The calendar alarm a client chooses (issue 22: "a VALARM the evening before and one at a
time the client chooses"): stored with their message choices, rung by their calendar files."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from flask import current_app
from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import MessageChoice
from clinic.services.core.errors import InvalidData
from clinic.services.messages import calendar_files
from clinic.services.messages.choices import Choice
from clinic.services.people import message_choices
from tests import factories as f
from tests.clock import BERLIN, NOW, local

FIRST = local(2027, 1, 5, 10)


def alarms_of(ics: bytes) -> list[datetime]:
    [event] = [e for e in Calendar.from_ical(ics).walk("VEVENT") if "categories" not in e]
    start = event.decoded("dtstart")
    return sorted(start + alarm.decoded("trigger") for alarm in event.walk("VALARM"))


def choose(client_id: int, **reminders: object) -> None:
    actor = f.actor("receptionist")
    choices = message_choices.get_message_choices(actor=actor, client_id=client_id)
    choices["reminders"] = replace(choices["reminders"], **reminders)  # type: ignore[arg-type]
    message_choices.set_message_choices(actor=actor, client_id=client_id, choices=choices)


@pytest.mark.parametrize("hours", [1, 2, 3, 24])
def test_a_chosen_alarm_rings_that_many_hours_before_besides_the_evening_one(app, hours) -> None:
    booked = f.make_booked_course(FIRST, now=NOW)
    choose(booked.client.id, alarm_hours=hours)

    expected = sorted([datetime(2027, 1, 4, 18, tzinfo=BERLIN), FIRST - timedelta(hours=hours)])
    assert alarms_of(calendar_files.appointment_ics(booked.sessions[0])) == expected
    assert alarms_of(calendar_files.feed_ics(booked.client.id)) == expected


def test_without_a_choice_only_the_evening_alarm_rings(app) -> None:
    booked = f.make_booked_course(FIRST, now=NOW)
    other = f.make_client(email="other@example.com")
    choose(other.id, alarm_hours=2)  # another client's choice is not this one's

    assert alarms_of(calendar_files.appointment_ics(booked.sessions[0])) == [
        datetime(2027, 1, 4, 18, tzinfo=BERLIN)
    ]


@pytest.mark.parametrize(
    ("topic", "hours"), [("reminders", 5), ("reminders", -1), ("care", 2), ("changes", 24)]
)
def test_an_alarm_other_than_the_offered_ones_is_refused(app, topic, hours) -> None:
    person = f.make_client()
    choices = {topic: Choice(alarm_hours=hours)}
    with pytest.raises(InvalidData) as refused:
        message_choices.set_message_choices(
            actor=f.actor("receptionist"), client_id=person.id, choices=choices
        )
    assert [e["field"] for e in refused.value.errors] == ["alarm_hours"]
    assert db.session.scalars(select(MessageChoice)).all() == []


def test_one_click_unsubscribe_from_reminders_keeps_the_calendar_alarm(app) -> None:
    person = f.make_client()
    choose(person.id, alarm_hours=3)
    token = message_choices.choices_token(person.id, current_app.config["SECRET_KEY"])

    message_choices.unsubscribe(
        token=token, secret=current_app.config["SECRET_KEY"], topic="reminders"
    )

    db.session.expire_all()
    row = db.session.get(MessageChoice, (person.id, "reminders"))
    assert row is not None and (row.email, row.alarm_hours) == (False, 3)
