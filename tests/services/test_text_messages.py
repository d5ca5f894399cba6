"""Text messages and the client's choices in the outbox: the HTTP gateway backend against a
small gateway the tests start on loopback, one claim/retry/back-off for both channels, the
cut of a text to two SMS parts, and queued messages following a change of choices."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import MessageChoice, OutboxMessage
from clinic.services.messages import sending, texts
from clinic.services.messages.choices import Choice
from clinic.services.people import message_choices
from tests import factories as f
from tests.clock import NOW, local
from tests.services.test_outbox import Recorder, fresh, start_server

MOBILE = "+4915123456789"
TOKEN = "gateway-test-token"  # noqa: S105 - the test gateway's


class Gateway(ThreadingHTTPServer):
    """An SMS gateway on loopback: answers `refuse` (a status) to the first `refusals`
    requests, then accepts; keeps every accepted request."""

    def __init__(self, refusals: int = 0, refuse: int = 503) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.refusals, self.refuse = refusals, refuse
        self.accepted: list[dict[str, str]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/messages"


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.headers_seen.append(dict(self.headers))
            if self.headers["Authorization"] != f"Bearer {TOKEN}":
                status = 401
            elif self.server.refusals > 0:
                self.server.refusals -= 1
                status = self.server.refuse
            else:
                self.server.accepted.append(body)
                status = 202
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "x"}' if status == 202 else b'{"error": "try later"}')

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway(refusals=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, Recorder]]:
    controller, recorder = start_server()
    yield controller.port, recorder
    controller.stop()


def sender(gateway: Gateway, token: str = TOKEN) -> texts.HttpGateway:
    return texts.HttpGateway(gateway.url, token, "Clinic")


def texting_client(**overrides: object):  # type: ignore[no-untyped-def]
    client = f.make_client(phone=MOBILE, **overrides)
    for topic in ("reminders", "care", "changes"):
        db.session.add(MessageChoice(client_id=client.id, topic=topic, email=False, text=True))
    f.commit()
    return client


def book_for(client, *starts, **course):  # type: ignore[no-untyped-def]
    """The client's course booked by the client at `starts` (choices made before)."""
    f.make_clinic()
    f.make_practitioner()
    the_course = f.make_course(**course)
    return f.book(
        *starts,
        client=client,
        practitioner=None,
        by=f.client_actor(client),
        course_code=the_course.code,
        now=NOW,
    )


def queue_texts(n: int) -> list[int]:
    client = texting_client()
    ids = []
    for i in range(n):
        message = OutboxMessage(
            kind="reminder",
            channel="text",
            to_phone=MOBILE,
            to_email=client.email,
            client_id=client.id,
            subject=f"Text {i}",
            body="Hello Ada,\n\nsee you tomorrow.",
            due_at=NOW,
            status="queued",
            attempts=0,
            last_error="",
        )
        db.session.add(message)
        f.commit()
        ids.append(message.id)
    f.commit()  # end the read transaction: SQLite would keep its snapshot
    return ids


def test_a_text_refused_once_is_retried_and_sent_once_with_two_senders_running(
    app, gateway
) -> None:
    ids = queue_texts(6)
    barrier = threading.Barrier(2)
    reports: list[sending.SendReport] = []
    errors: list[BaseException] = []

    def run(moment) -> None:  # type: ignore[no-untyped-def]
        try:
            with app.app_context():
                barrier.wait()
                reports.append(sending.send_due(moment, "127.0.0.1", 1, texts=sender(gateway)))
                db.session.remove()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    for moment in (NOW, NOW + timedelta(minutes=5)):  # the refused one waits for its back-off
        threads = [threading.Thread(target=run, args=(moment,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    references = sorted(body["reference"] for body in gateway.accepted)
    assert references == sorted(f"outbox-{i}" for i in ids)  # each once, none lost
    assert sum(r.sent for r in reports) == 6 and sum(r.failed for r in reports) == 1
    assert all(fresh(i).status == "sent" for i in ids)
    retried = [fresh(i) for i in ids if fresh(i).attempts == 2]
    assert len(retried) == 1 and retried[0].last_error == ""
    first = gateway.accepted[0]
    assert first["to"] == MOBILE and first["from"] == "Clinic"
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for h in gateway.headers_seen)
    assert {h["Idempotency-Key"] for h in gateway.headers_seen} == set(references)


def test_a_temporary_refusal_keeps_the_text_queued_with_its_error(app, gateway) -> None:
    [mid] = queue_texts(1)
    report = sending.send_due(NOW, "127.0.0.1", 1, texts=sender(gateway))
    assert (report.sent, report.failed, report.given_up) == (0, 1, 0)
    message = fresh(mid)
    assert (message.status, message.attempts) == ("queued", 1)
    assert "HTTP 503" in message.last_error


def test_a_refusal_for_good_marks_the_text_failed_at_once(app, gateway) -> None:
    [mid] = queue_texts(1)
    report = sending.send_due(NOW, "127.0.0.1", 1, texts=sender(gateway, token="wrong"))
    assert (report.failed, report.given_up) == (1, 1)
    message = fresh(mid)
    assert (message.status, message.attempts) == ("failed", 1)
    assert "HTTP 401" in message.last_error


def test_texts_wait_queued_while_no_gateway_is_configured(app, smtp) -> None:
    [mid] = queue_texts(1)
    port, recorder = smtp
    report = sending.send_due(NOW, "127.0.0.1", port)
    assert (report.sent, report.failed) == (0, 0) and recorder.received == []
    assert (fresh(mid).status, fresh(mid).attempts) == ("queued", 0)


def test_a_booking_goes_by_the_channels_the_client_chose(app) -> None:
    client = f.make_client(email="ada@example.com", phone=MOBILE)
    message_choices.set_message_choices(
        actor=f.client_actor(client),
        choices={
            "reminders": Choice(email=False, text=True),
            "care": Choice(email=False, text=False),
            "changes": Choice(email=True, text=True),
        },
        now=NOW,
    )
    start = local(2026, 12, 1, 10)
    book_for(
        client, start, start + timedelta(days=14), sessions=2, aftercare=[("no_uv", "sun", 168)]
    )
    rows = db.session.execute(
        select(OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.to_phone)
    ).all()
    assert sorted(rows) == [
        ("booking_confirmation", "email", ""),
        ("booking_confirmation", "text", MOBILE),
        ("reminder", "text", MOBILE),
        ("reminder", "text", MOBILE),
    ]  # care switched off: no restriction notices at all


def test_a_client_without_a_mobile_number_gets_email(app) -> None:
    client = f.make_client(phone="+49301234567")  # a landline takes no texts
    db.session.add(MessageChoice(client_id=client.id, topic="changes", email=False, text=True))
    f.commit()
    book_for(client, local(2026, 12, 1, 10))
    channels = db.session.scalars(
        select(OutboxMessage.channel).where(OutboxMessage.kind == "booking_confirmation")
    ).all()
    assert channels == ["email"]


def test_queued_messages_follow_a_change_of_choices_and_of_phone(app) -> None:
    client = f.make_client(phone=MOBILE)
    start = local(2026, 12, 1, 10)
    book_for(client, start, start + timedelta(days=14), sessions=2)

    def reminders() -> list[tuple[str, str]]:
        db.session.expire_all()
        return sorted(
            (channel, phone)
            for channel, phone in db.session.execute(
                select(OutboxMessage.channel, OutboxMessage.to_phone).where(
                    OutboxMessage.kind == "reminder"
                )
            )
        )

    assert reminders() == [("email", ""), ("email", "")]
    actor = f.client_actor(client)
    message_choices.set_message_choices(
        actor=actor, choices={"reminders": Choice(email=True, text=True)}, now=NOW
    )
    assert reminders() == [("email", ""), ("email", ""), ("text", MOBILE), ("text", MOBILE)]
    message_choices.set_message_choices(
        actor=actor, choices={"reminders": Choice(email=False, text=True)}, now=NOW
    )
    assert reminders() == [("text", MOBILE), ("text", MOBILE)]
    # The phone removed: the texts go by email instead.
    from clinic.services.people import clients

    clients.update_profile(actor=actor, name=client.name, phone="")
    assert reminders() == [("email", ""), ("email", "")]


def test_changes_cannot_be_switched_off_and_texts_need_a_mobile_number(app) -> None:
    client = f.make_client(phone="")
    actor = f.client_actor(client)
    with pytest.raises(message_choices.InvalidData) as refused:
        message_choices.set_message_choices(
            actor=actor,
            choices={
                "changes": Choice(email=False, text=False),
                "care": Choice(email=True, text=True),
            },
        )
    by_field = {e["field"]: e["message"] for e in refused.value.errors}
    assert "always reach you" in by_field["changes_email"]
    assert "need a mobile phone number" in by_field["care_text"]
    assert db.session.scalars(select(MessageChoice)).all() == []


def test_emails_carry_the_choices_link_and_one_click_unsubscribe_where_allowed(app, smtp) -> None:
    client = f.make_client(email="ada@example.com")
    start = local(2026, 12, 1, 10)
    book_for(client, start)
    port, recorder = smtp
    links = sending.Links(
        choices=lambda cid: f"https://clinic.example/c/{cid}",
        unsubscribe=lambda cid, topic: f"https://clinic.example/u/{cid}/{topic}",
    )
    sending.send_due(start, "127.0.0.1", port, links=links)  # the confirmation and reminder
    emails = {message_from_bytes(raw)["Subject"].split(":")[0]: message_from_bytes(raw)
              for raw in recorder.received}  # fmt: skip
    reminder, confirmation = emails["Tomorrow"], emails["Your booking"]
    assert reminder["List-Unsubscribe"] == f"<https://clinic.example/u/{client.id}/reminders>"
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert confirmation["List-Unsubscribe"] is None  # changes cannot be switched off
    for email in (reminder, confirmation):
        body = next(p for p in email.walk() if p.get_content_type() == "text/plain")
        assert f"https://clinic.example/c/{client.id}" in body.get_payload(decode=True).decode()


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character counts twice
        ("€" * 81, 2),
        ("ü" * 160, 1),  # in the GSM alphabet
        ("ł" * 70, 1),  # not in it: UCS-2
        ("ł" * 71, 2),
        ("ł" * 135, 3),
    ],
)
def test_sms_parts_counts_as_the_networks_do(text: str, parts: int) -> None:
    assert texts.sms_parts(text) == parts


def test_a_long_message_is_cut_at_a_word_to_two_parts() -> None:
    body = "Hello Ada,\n\n" + "\n".join(f"  - line {i} of the care dates" for i in range(40))
    short = texts.short_text("Your booking: Peel", body)
    assert texts.sms_parts(short) == 2 and short.endswith("...")
    assert short.startswith("Your booking: Peel: line 0 of the care dates line 1")
    assert "Hello" not in short
    polish = texts.short_text("Wizyta", "Hello Ada,\n\n" + "źdźbło " * 40)
    assert texts.sms_parts(polish) <= 2 and polish.endswith("...")
    assert texts.short_text("Tomorrow", "x", own="Peel tomorrow 10:30") == "Peel tomorrow 10:30"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://gateway.example/send", "gateway"])
def test_the_gateway_takes_only_a_web_address(url) -> None:
    with pytest.raises(ValueError, match="http"):
        texts.HttpGateway(url=url, token="t", sender="Clinic")
