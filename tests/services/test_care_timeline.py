"""The care timeline (issue 22): what a client is told between booking and the end of a
course, and when; counted on the demo catalogue's glycolic course."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import Appointment, OutboxMessage
from clinic.services.courses import cancellation, course_rest, moves, outcomes
from clinic.services.courses.enrol import SessionRequest
from clinic.services.messages.wording import session_title
from tests import factories as f
from tests.clock import NOW, local, local_day

# The demo catalogue's glycolic course (clinic/demo/catalogue.json): five aftercare and two
# pre-care windows, the no-sun one running from the pre-care into the aftercare.
GLYCOLIC = dict(
    sessions=6,
    min_interval_days=14,
    max_interval_days=28,
    aftercare=[
        ("no_uv", "sun", 168),
        ("no_makeup", "makeup", 24),
        ("no_actives", "other", 168),
        ("no_sauna", "other", 48),
        ("no_resurfacing", "other", 336),
    ],
    precare=[("no_uv", "sun", 336), ("no_retinoids", "other", 120)],
)


def three_weeks_apart(first=None, n: int = 6):
    first = first or local(2027, 1, 4, 10)  # a Monday, six weeks after NOW
    return [first + timedelta(days=21 * i) for i in range(n)]


@pytest.fixture
def glycolic(app):
    return f.make_booked_course(
        *three_weeks_apart(),
        course=GLYCOLIC,
        client=dict(email="ada@example.com", name="Ada"),
        now=NOW,
    )


def queued() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "queued")
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
    )


def test_a_six_session_course_queues_at_most_16_messages_and_two_a_day(glycolic) -> None:
    messages = queued()
    per_day = Counter(local_day(m.due_at) for m in messages)
    assert len(messages) <= 16, Counter(m.kind for m in messages)
    assert max(per_day.values()) <= 2, per_day


def of_kind(kind: str) -> list[OutboxMessage]:
    return [m for m in queued() if m.kind == kind]


def test_the_care_timeline_tells_at_most_one_care_message_a_day(glycolic) -> None:
    per_day = Counter(local_day(m.due_at) for m in of_kind("care_timeline"))
    assert per_day and max(per_day.values()) == 1


def test_no_care_message_tells_an_end_that_the_next_session_contradicts(glycolic) -> None:
    starts = three_weeks_apart()
    ends = [m for m in of_kind("care_timeline") if "end today" in m.body]
    # Sun, actives and resurfacing end after the last session only: nothing ends in between.
    assert [local_day(m.due_at) for m in ends] == [
        local_day(starts[-1] + timedelta(days=7)),
        local_day(starts[-1] + timedelta(days=14)),
    ]
    assert "No uv: until today" in ends[0].body and "No actives: until today" in ends[0].body
    assert all("No uv" not in m.body for m in ends[1:])


def test_the_morning_a_pre_care_window_opens_says_what_starts_and_until_when(glycolic) -> None:
    opening = [m for m in of_kind("care_timeline") if "from today" in m.body]
    # No sun opens once (14 days before session 1) and runs through the course; no
    # retinoids opens five days before each session.
    assert len(opening) == 1 + 6
    first_sun, first_retinoids = opening[0], opening[1]
    assert local_day(first_sun.due_at) == local_day(local(2026, 12, 21, 8))
    assert "No uv: from today until Mon 26 Apr 2027, 10:00, through your sessions" in (
        first_sun.body
    )
    assert "session 1 of 6) on Mon 4 Jan 2027, 10:00" in first_retinoids.body
    assert "No retinoids: from today until the session" in first_retinoids.body


def test_the_day_before_message_says_what_to_do_bring_and_what_follows(glycolic) -> None:
    reminder = of_kind("reminder")[1]  # session 2, Mon 25 Jan 2027
    assert "Before it:" in reminder.body and "No retinoids until the session" in reminder.body
    assert "Please bring" in reminder.body
    # A day or two after it: told here, never on a day of its own.
    assert "No makeup until Tue 26 Jan 2027, 10:00" in reminder.body
    assert "No sauna until Wed 27 Jan 2027, 10:00" in reminder.body
    # No sun runs on into the next session's pre-care: told until the end of the course.
    assert "No uv until Mon 26 Apr 2027, 10:00 (it goes on" in reminder.body


def test_a_course_with_sessions_left_to_book_is_told_when_the_next_is_due(app) -> None:
    first, second, *_ = three_weeks_apart()
    booked = f.make_booked_course(
        first, second, course=GLYCOLIC, client=dict(email="ada@example.com"), now=NOW
    )
    [nudge] = of_kind("next_session_due")
    assert local_day(nudge.due_at) == local_day(second + timedelta(days=14))
    assert "4 sessions still to book" in nudge.body and "Mon 22 Feb 2027" in nudge.body
    # Once every session is booked, no nudge.
    course_rest.book_rest(
        actor=booked.desk,
        enrolment_id=booked.enrolment.id,
        sessions=[SessionRequest(s, booked.practitioner.id) for s in three_weeks_apart()[2:]],
        now=NOW,
    )
    assert of_kind("next_session_due") == []


def calendar_of(message: OutboxMessage) -> Calendar:
    assert message.ics is not None
    return Calendar.from_ical(message.ics)


def session_events(cal: Calendar) -> list[Any]:
    """The sessions' events (a care window's carries CATEGORIES)."""
    return [e for e in cal.walk("VEVENT") if "categories" not in e]


def test_a_move_by_reception_tells_the_client_once_with_the_new_dates_and_the_ics(
    glycolic,
) -> None:
    second = glycolic.sessions[1]
    was = [m.due_at for m in of_kind("reminder")]
    new_start = local(2027, 1, 26, 10)  # a day later
    moves.move_appointment(actor=glycolic.desk, appointment_id=second.id, start=new_start, now=NOW)
    [told] = of_kind("sessions_moved")
    assert told.client_id == glycolic.client.id and told.appointment_id == second.id
    assert "now Tue 26 Jan 2027, 10:00 (was Mon 25 Jan 2027, 10:00)" in told.body
    assert "the clinic has had to move" in told.body
    starts = [e.decoded("dtstart") for e in calendar_of(told).walk("VEVENT")]
    assert new_start in starts
    # Its reminder is replaced, not dropped: one a session, the second's a day later.
    reminders = [m.due_at for m in of_kind("reminder")]
    assert len(reminders) == len(was) and reminders[1] == was[1] + timedelta(days=1)


def test_a_cancel_by_reception_tells_the_client_once_with_the_reason(glycolic) -> None:
    third = glycolic.sessions[2]
    cancellation.cancel_appointment(
        actor=glycolic.desk, appointment_id=third.id, now=NOW, reason="Your practitioner is ill."
    )
    [told] = of_kind("sessions_cancelled")
    assert told.subject == "A session of your Glycolic peel, 6 sessions is cancelled"
    assert "the clinic has cancelled this session" in told.body
    assert "session 3 of 6" in told.body and "Mon 15 Feb 2027, 10:00" in told.body
    assert "The reason given: Your practitioner is ill." in told.body
    assert "Your next session stays as booked" in told.body
    # A cancel a calendar app acts on: the session's event taken away by METHOD:CANCEL.
    cal = calendar_of(told)
    assert str(cal["method"]) == "CANCEL"
    [event] = session_events(cal)
    assert str(event["status"]) == "CANCELLED"
    assert len(of_kind("reminder")) == 5


def test_cancelling_the_course_tells_every_session_instead_of_dropping_its_messages(
    glycolic,
) -> None:
    cancellation.cancel_enrolment(actor=glycolic.desk, enrolment_id=glycolic.enrolment.id, now=NOW)
    kinds = Counter(m.kind for m in queued())
    assert kinds == {"booking_confirmation": 1, "sessions_cancelled": 1}
    [told] = of_kind("sessions_cancelled")
    assert told.subject == "Cancelled: Glycolic peel, 6 sessions"
    assert all(f"session {i} of 6" in told.body for i in range(1, 7))
    assert "The reason given" not in told.body  # none was given
    cal = calendar_of(told)
    assert str(cal["method"]) == "CANCEL"
    assert [str(e["status"]) for e in session_events(cal)] == ["CANCELLED"] * 6


def test_a_cancel_reason_longer_than_the_limit_is_refused_and_nothing_changes(glycolic) -> None:
    from clinic.services.core.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="at most 500"):
        cancellation.cancel_appointment(
            actor=glycolic.desk, appointment_id=glycolic.ids[0], now=NOW, reason="x" * 501
        )
    assert of_kind("sessions_cancelled") == []
    assert db.session.get(Appointment, glycolic.ids[0]).status == "booked"


def test_a_make_up_is_named_a_make_up_and_counts_stay_within_the_course(app) -> None:
    first, second = three_weeks_apart(n=2)
    booked = f.make_booked_course(
        first, second, course=dict(sessions=2), client=dict(email="ada@example.com"), now=NOW
    )
    outcomes.record_outcome(
        actor=booked.desk,
        appointment_id=booked.ids[0],
        status="done",
        now=first + timedelta(hours=1),
    )
    outcomes.record_outcome(
        actor=booked.desk,
        appointment_id=booked.ids[1],
        status="no_show",
        now=second + timedelta(hours=1),
    )
    rest = course_rest.book_rest(
        actor=booked.desk,
        enrolment_id=booked.enrolment.id,
        sessions=[SessionRequest(second + timedelta(days=2), booked.practitioner.id)],
        now=second + timedelta(hours=2),
    )
    [make_up] = rest.appointments
    assert make_up.session == 3  # stored after the missed one
    assert session_title(make_up) == "Glycolic peel, session 2 of 2 (make-up for session 2)"
    [confirmation] = [m for m in of_kind("booking_confirmation") if "more sessions" in m.body]
    assert "session 2 of 2 (make-up for session 2)" in confirmation.body
    assert "session 3 of 2" not in (confirmation.ics or "")


def test_a_no_show_is_told_with_the_missed_session_marked_in_its_calendar_file(glycolic) -> None:
    first = glycolic.sessions[0]
    outcomes.record_outcome(
        actor=glycolic.desk,
        appointment_id=first.id,
        status="no_show",
        now=first.start_at + timedelta(hours=1),
    )
    [told] = of_kind("missed_session")
    # The missed session and the care it would have brought, all cancelled in the calendar.
    events = calendar_of(told).walk("VEVENT")
    assert {str(e["status"]) for e in events} == {"CANCELLED"}
    assert any(str(e["summary"]).startswith("Missed: ") for e in events)
