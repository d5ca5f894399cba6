"""The outbox: what is queued after a booking, and sending through a real (local) SMTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OutboxMessage
from clinic.services.courses import cancellation
from clinic.services.messages import sending
from tests import factories as f
from tests.clock import BERLIN, NOW, local
from tests.ports import free_port


class Recorder:
    """An SMTP handler that keeps what it receives, or refuses every message (`refuse`), or
    answers `busy` (a temporary refusal) while `busy` is set."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.busy = ""
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return "554 Transaction failed: refused by the test"
        if self.busy:
            return self.busy
        with self.lock:
            self.received.append(envelope.content)
        return "250 Message accepted"


def start_server(refuse: bool = False) -> tuple[Controller, Recorder]:
    recorder = Recorder(refuse)
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, recorder


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    controller, recorder = start_server()
    yield controller.port, recorder
    controller.stop()


@pytest.fixture
def refusing_smtp() -> Iterator[int]:
    controller, _ = start_server(refuse=True)
    yield controller.port
    controller.stop()


def queue_plain(n: int = 1, due: datetime = NOW) -> list[int]:
    ids = []
    for i in range(n):
        message = OutboxMessage(
            kind="password_reset",
            to_email=f"someone{i}@example.com",
            subject=f"Message {i}",
            body="Hello",
            due_at=due,
            status="queued",
            attempts=0,
            last_error="",
        )
        db.session.add(message)
        f.commit()
        ids.append(message.id)
    f.commit()  # end the read transaction: SQLite would keep its lock
    return ids


def fresh(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    message = db.session.get(OutboxMessage, message_id)
    assert message is not None
    return message


def test_send_due_sends_a_queued_message_and_marks_it_sent(app, smtp) -> None:
    port, recorder = smtp
    [mid] = queue_plain()
    report = sending.send_due(NOW, "127.0.0.1", port, sender="clinic@test.example")
    assert report.sent == 1
    assert len(recorder.received) == 1
    email = message_from_bytes(recorder.received[0])
    assert email["To"] == "someone0@example.com"
    assert email["From"] == "clinic@test.example"
    message = fresh(mid)
    assert (message.status, message.sent_at, message.attempts) == ("sent", NOW, 1)
    assert sending.send_due(NOW + timedelta(minutes=1), "127.0.0.1", port).sent == 0


def test_send_due_leaves_a_message_not_yet_due_alone(app, smtp) -> None:
    port, recorder = smtp
    [mid] = queue_plain(due=NOW + timedelta(hours=1))
    assert sending.send_due(NOW, "127.0.0.1", port).sent == 0
    assert recorder.received == []
    assert fresh(mid).status == "queued"


def test_each_message_is_sent_once_when_two_senders_run_at_once(app, smtp) -> None:
    port, recorder = smtp
    ids = queue_plain(12)
    barrier = threading.Barrier(2)
    reports: list[sending.SendReport] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            with app.app_context():
                barrier.wait()
                reports.append(sending.send_due(NOW, "127.0.0.1", port))
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    subjects = sorted(message_from_bytes(raw)["Subject"] for raw in recorder.received)
    assert subjects == sorted(f"Message {i}" for i in range(12))
    assert sum(r.sent for r in reports) == 12
    assert all(fresh(mid).status == "sent" for mid in ids)


def test_a_refused_send_stays_queued_with_its_error_and_is_retried_later(
    app, refusing_smtp, smtp
) -> None:
    [mid] = queue_plain()
    report = sending.send_due(NOW, "127.0.0.1", refusing_smtp)
    assert (report.sent, report.failed) == (0, 1)
    message = fresh(mid)
    assert (message.status, message.attempts) == ("queued", 1)
    assert "554" in message.last_error
    # Not retried at once (it waits a little), but on a later run through a working server.
    port, recorder = smtp
    assert sending.send_due(NOW + timedelta(seconds=30), "127.0.0.1", port).sent == 0
    assert sending.send_due(NOW + timedelta(minutes=5), "127.0.0.1", port).sent == 1
    assert len(recorder.received) == 1
    assert (fresh(mid).status, fresh(mid).attempts) == ("sent", 2)


def test_an_unreachable_server_leaves_the_message_queued(app) -> None:
    [mid] = queue_plain()
    report = sending.send_due(NOW, "127.0.0.1", free_port())
    assert report.failed == 1
    message = fresh(mid)
    assert message.status == "queued"
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()


def test_a_message_that_keeps_failing_is_marked_failed_after_the_last_attempt(app) -> None:
    [mid] = queue_plain()
    port = free_port()
    moment = NOW
    for _ in range(sending.MAX_ATTEMPTS):
        sending.send_due(moment, "127.0.0.1", port)
        moment += timedelta(hours=2)
    message = fresh(mid)
    assert (message.status, message.attempts) == ("failed", sending.MAX_ATTEMPTS)


@pytest.fixture
def booked(app):
    start = local(2026, 12, 1, 10)
    booked = f.make_booked_course(
        start,
        start + timedelta(days=14),
        course=dict(
            sessions=2,
            aftercare=[("no_uv", "sun", 168), ("no_makeup", "makeup", 24)],
            precare=[("no_actives", "other", 120)],
        ),
        client=dict(email="ada@example.com", name="Ada"),
        by_client=True,
        now=NOW,
    )
    return booked.client, booked.enrolment


def test_a_booking_confirmation_lists_each_session_with_aftercare_and_attaches_the_ics(
    booked, smtp
) -> None:
    client, enrolment = booked  # booking queued the confirmation in its own transaction
    confirmation = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")
    )
    assert confirmation is not None and confirmation.to_email == "ada@example.com"
    assert "Tue 1 Dec 2026, 10:00" in confirmation.body
    assert "until Wed 2 Dec 2026, 10:00" in confirmation.body  # no makeup 24 h
    assert "from Thu 26 Nov 2026" in confirmation.body  # actives stopped 5 days before
    port, recorder = smtp
    sending.send_due(NOW, "127.0.0.1", port)
    [raw] = recorder.received
    parts = list(message_from_bytes(raw).walk())
    attachment = next(p for p in parts if p.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    starts = sorted(e.decoded("dtstart") for e in calendar.walk("VEVENT") if "categories" not in e)
    assert starts[0] == datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)


def test_reminders_and_the_care_timeline_follow_the_sessions(booked) -> None:
    client, enrolment = booked
    reminders = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.due_at)
    ).all()
    assert [r.due_at for r in reminders] == [
        datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN),
        datetime(2026, 12, 14, 10, 0, tzinfo=BERLIN),
    ]
    # Told in the reminder: no makeup (a day) and no sun after session 1 (it ends before
    # session 2's care, so the client regains it in between).
    assert "No makeup until Wed 2 Dec 2026, 10:00" in reminders[0].body
    assert "No uv until Tue 8 Dec 2026, 10:00" in reminders[0].body

    def timeline() -> list[tuple[date, str]]:
        return [
            (m.due_at.astimezone(BERLIN).date(), m.subject)
            for m in db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "care_timeline")
                .order_by(OutboxMessage.due_at)
            )
        ]

    # The days no actives opens before each session; no sun ends for good after the last.
    assert timeline() == [
        (date(2026, 11, 26), "Your pre-care starts today (Thu 26 Nov 2026)"),
        (date(2026, 12, 10), "Your pre-care starts today (Thu 10 Dec 2026)"),
        (date(2026, 12, 22), "Your aftercare ends today (Tue 22 Dec 2026)"),
    ]

    # Cancelling the second session replaces its reminder and its care days, and says so.
    second = [a for a in enrolment.appointments if a.session == 2][0]
    cancellation.cancel_appointment(actor=f.client_actor(client), appointment_id=second.id, now=NOW)
    kinds = db.session.scalars(
        select(OutboxMessage.kind).where(OutboxMessage.kind != "booking_confirmation")
    ).all()
    # The course has a session to book again: the client hears when it is due.
    assert sorted(kinds) == [
        "care_timeline",
        "care_timeline",
        "next_session_due",
        "reminder",
        "sessions_cancelled",
    ]
    assert timeline()[-1] == (date(2026, 12, 8), "Your aftercare ends today (Tue 8 Dec 2026)")


def test_the_cli_sends_what_is_due_through_the_configured_server(app, runner, smtp) -> None:
    port, recorder = smtp
    queue_plain(2, due=datetime.now(UTC) - timedelta(minutes=1))
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_SENDER="desk@clinic.example")
    result = runner.invoke(args=["messages", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 2, failed 0" in result.output
    assert len(recorder.received) == 2


def test_the_cli_keeps_messages_queued_without_an_smtp_server(app, runner) -> None:
    [mid] = queue_plain(due=datetime.now(UTC) - timedelta(minutes=1))
    app.config["SMTP_HOST"] = ""
    result = runner.invoke(args=["messages", "send"])
    assert result.exit_code == 0 and "/dev/outbox" in result.output
    assert fresh(mid).status == "queued"


def test_a_message_that_cannot_be_built_is_marked_failed_and_the_run_goes_on(app, smtp) -> None:
    # A subject with a line break (a course name stored before names refused them) cannot be
    # an email header: that message fails for good, with its reason; the others are sent.
    port, recorder = smtp
    ids = queue_plain(3)
    bad = fresh(ids[1])
    bad.subject = "Your booking: Peel\r\nBcc: everyone@example.com"
    f.commit()
    report = sending.send_due(NOW, "127.0.0.1", port)
    assert (report.sent, report.failed) == (2, 1)
    subjects = sorted(message_from_bytes(raw)["Subject"] for raw in recorder.received)
    assert subjects == ["Message 0", "Message 2"]
    message = fresh(ids[1])
    assert (message.status, message.attempts) == ("failed", 1)
    assert "could not be built" in message.last_error
    assert "linefeed or carriage return" in message.last_error
    # Failed for good: a later run does not try it again.
    later = sending.send_due(NOW + timedelta(hours=2), "127.0.0.1", port)
    assert (later.sent, later.failed) == (0, 0)
    assert len(recorder.received) == 2


def test_a_booking_of_a_course_with_a_line_break_in_its_name_stops_no_other_mail(
    app, runner, smtp
) -> None:
    f.make_booked_course(
        local(2026, 12, 1, 10),
        course=dict(name="Peel\r\nBcc: everyone@example.com", sessions=1),
        client=dict(email="ada@example.com", name="Ada"),
        by_client=True,
        now=NOW,
    )
    queue_plain(2, due=NOW)
    port, recorder = smtp
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    result = runner.invoke(args=["messages", "send"])
    assert result.exit_code == 0, result.output
    assert "failed 1 (1 marked failed" in result.output
    # The messages queued after it are sent (and the reminders the booking queued, now due).
    sent_to = {message_from_bytes(raw)["To"] for raw in recorder.received}
    assert {"someone0@example.com", "someone1@example.com"} <= sent_to
    confirmation = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")
    )
    assert confirmation is not None and confirmation.status == "failed"
    assert "Subject" in confirmation.last_error


def test_a_server_refusing_for_a_while_then_accepting_delivers_the_message(app, smtp) -> None:
    port, recorder = smtp
    [mid] = queue_plain()
    recorder.busy = "451 4.3.0 Try again later"
    report = sending.send_due(NOW, "127.0.0.1", port)
    assert (report.sent, report.failed) == (0, 1)
    message = fresh(mid)
    assert (message.status, message.attempts) == ("queued", 1)
    assert "451" in message.last_error and "Try again later" in message.last_error
    recorder.busy = ""
    assert sending.send_due(NOW + timedelta(minutes=5), "127.0.0.1", port).sent == 1
    [raw] = recorder.received
    assert message_from_bytes(raw)["Subject"] == "Message 0"
    message = fresh(mid)
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
