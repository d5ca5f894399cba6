"""Every change told, end to end (issue 22): a course booked by reception, a session moved by
reception, then the whole course cancelled, sent by `flask messages send` through the tests'
real SMTP server (aiosmtpd): exactly one email per change, counted, whose calendar files a
phone can follow (the move as the same UID with a higher SEQUENCE, the cancel as
METHOD:CANCEL), and nothing more, not even later: the course's reminders and care messages
are withdrawn with it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OutboxMessage
from clinic.services.courses import cancellation, moves
from clinic.services.messages import sending
from tests import factories as f
from tests.clock import local, next_monday
from tests.services.test_outbox import Recorder, start_server

COURSE = "Glycolic peel, 3 sessions"
REASON = "Your practitioner is away for the season"


@pytest.fixture
def smtp(app: Flask) -> Iterator[Recorder]:
    controller, recorder = start_server()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_SENDER="desk@clinic.example"
    )
    yield recorder
    controller.stop()


def send(runner: FlaskCliRunner, recorder: Recorder) -> list[EmailMessage]:
    """Run the real sender once; the emails the server received in that run."""
    before = len(recorder.received)
    result = runner.invoke(args=["messages", "send"])
    assert result.exit_code == 0, result.output
    assert "failed 0" in result.output, result.output
    return [parse(raw) for raw in recorder.received[before:]]


def parse(raw: bytes) -> EmailMessage:
    email = message_from_bytes(raw, policy=default)
    assert isinstance(email, EmailMessage)
    return email


def text_of(email: EmailMessage) -> str:
    body = email.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def calendar_of(email: EmailMessage) -> Calendar:
    [part] = [p for p in email.walk() if p.get_content_type() == "text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


def sessions_of(cal: Calendar) -> dict[str, Any]:
    """The session events (care windows carry CATEGORIES) by UID."""
    return {str(e["uid"]): e for e in cal.walk("VEVENT") if "categories" not in e}


def test_a_course_booked_moved_and_cancelled_by_reception_delivers_one_email_per_change(
    app: Flask, runner: FlaskCliRunner, smtp: Recorder
) -> None:
    # Against the real clock (the sender's): sessions weeks ahead, so nothing else is due yet.
    first = local(next_monday(4), 10)
    starts = [first + timedelta(days=14 * i) for i in range(3)]
    booked = f.make_booked_course(
        *starts,
        course=dict(
            name=COURSE,
            sessions=3,
            precare=[("no_retinoids", "other", 120)],
        ),
        client=dict(email="ada@example.com", name="Ada"),
    )
    third = booked.sessions[2]

    [booking] = send(runner, smtp)
    assert booking["To"] == "ada@example.com"
    assert booking["Subject"] == f"Your booking: {COURSE}"
    booked_cal = calendar_of(booking)
    assert str(booked_cal["method"]) == "REQUEST"
    assert len(sessions_of(booked_cal)) == 3
    # A change cannot be switched off: no one-click unsubscribe on it.
    assert booking["List-Unsubscribe"] is None
    # The care timeline is queued for later: the day-before reminders and pre-care mornings.
    waiting = Counter(
        db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.status == "queued")).all()
    )
    assert waiting["reminder"] == 3 and waiting["care_timeline"] >= 3

    moves.move_appointment(
        actor=booked.desk, appointment_id=third.id, start=starts[2] + timedelta(days=1)
    )
    [moved] = send(runner, smtp)
    assert moved["Subject"] == f"New dates for your {COURSE}"
    assert "(was " in text_of(moved)
    moved_cal = calendar_of(moved)
    assert str(moved_cal["method"]) == "REQUEST"
    was, now_ = sessions_of(booked_cal), sessions_of(moved_cal)
    assert set(now_) == set(was)  # the same sessions, known to the phone by their UIDs
    [uid] = [u for u in now_ if now_[u].decoded("dtstart") != was[u].decoded("dtstart")]
    assert now_[uid].decoded("dtstart") == starts[2] + timedelta(days=1)
    assert int(now_[uid]["sequence"]) > int(was[uid]["sequence"])

    cancellation.cancel_enrolment(
        actor=booked.desk, enrolment_id=booked.enrolment.id, reason=REASON
    )
    [cancelled] = send(runner, smtp)
    assert cancelled["Subject"] == f"Cancelled: {COURSE}"
    assert f"The reason given: {REASON}" in text_of(cancelled)
    cancel_cal = calendar_of(cancelled)
    assert str(cancel_cal["method"]) == "CANCEL"
    gone = sessions_of(cancel_cal)
    assert set(gone) == set(was)
    assert {str(e["status"]) for e in gone.values()} == {"CANCELLED"}
    assert int(gone[uid]["sequence"]) > int(now_[uid]["sequence"])

    # Nothing else is left to send, not even after the last session's date.
    assert (
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "queued")).all()
        == []
    )
    later = datetime.now(UTC) + timedelta(days=120)
    assert sending.send_due(later, "127.0.0.1", app.config["SMTP_PORT"]).sent == 0
    subjects = Counter(message_from_bytes(raw)["Subject"] for raw in smtp.received)
    assert subjects == {
        f"Your booking: {COURSE}": 1,
        f"New dates for your {COURSE}": 1,
        f"Cancelled: {COURSE}": 1,
    }
