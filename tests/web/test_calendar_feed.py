"""The client's calendar feed (issue 22): a secret URL made on the profile, read without logging
in by a phone's calendar, following moves, revocable and renewable."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import g
from flask.testing import FlaskClient
from icalendar import Calendar

from clinic.extensions import db
from clinic.models import Client
from clinic.services.courses import moves
from tests import factories as f
from tests.clock import BERLIN, local, next_monday

URL = re.compile(r'value="(http://localhost/calendar/[^"]+\.ics)"')


def _feed_url(web: FlaskClient) -> str:
    page = web.post("/profile/calendar-feed")
    assert page.status_code == 200
    found = URL.search(page.get_data(as_text=True))
    assert found is not None
    return found.group(1).removeprefix("http://localhost")


def _read(app, url: str):
    g.pop("_login_user", None)
    return app.test_client().get(url)  # a phone: no login, no cookie


def _sessions(body: bytes) -> list:
    events = Calendar.from_ical(body).walk("VEVENT")
    return [e for e in events if "categories" not in e]


def test_a_client_makes_a_feed_that_reads_without_login_and_is_not_stored(
    app, client, clinic, login_as
) -> None:
    user = login_as("client", name="Fay Feed")
    monday = next_monday(2)
    clinic.book(local(monday, 10), local(monday + timedelta(days=14), 10), client=user.client)

    url = _feed_url(client)
    answer = _read(app, url)

    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    assert "no-store" in answer.headers["Cache-Control"]
    cal = Calendar.from_ical(answer.data)
    assert str(cal["method"]) == "PUBLISH"
    assert "refresh-interval" in cal
    assert len(_sessions(answer.data)) == 2
    # Only its hash is kept; the profile never shows the secret again.
    secret = url.removeprefix("/calendar/").removesuffix(".ics")
    row = db.session.get(Client, user.client.id)
    assert row is not None and row.calendar_feed_hash not in (None, secret)
    assert secret not in client.get("/profile").get_data(as_text=True)


def test_the_feed_after_a_move_shows_the_moved_session_once(app, client, clinic, login_as) -> None:
    user = login_as("client", name="Fay Feed")
    monday = next_monday(2)
    enrolment = clinic.book(
        local(monday, 10), local(monday + timedelta(days=21), 10), client=user.client
    )
    url = _feed_url(client)
    [first, second] = _sessions(_read(app, url).data)
    moved = min(enrolment.appointments, key=lambda a: a.start_at)

    moves.move_appointment(
        actor=clinic.desk, appointment_id=moved.id, start=local(monday + timedelta(days=1), 11)
    )
    after = _sessions(_read(app, url).data)

    assert len(after) == 2
    [again] = [e for e in after if str(e["uid"]) == str(first["uid"])]
    assert again.decoded("dtstart") == local(monday + timedelta(days=1), 11).astimezone(BERLIN)
    assert int(again["sequence"]) > int(first["sequence"])
    assert [str(e["uid"]) for e in after].count(str(second["uid"])) == 1


def test_a_revoked_or_renewed_feed_answers_404(app, client, clinic, login_as) -> None:
    user = login_as("client", name="Fay Feed")
    clinic.book(local(next_monday(2), 10), client=user.client)
    old = _feed_url(client)

    new = _feed_url(client)  # a new address ends the old one
    assert old != new
    assert _read(app, old).status_code == 404
    assert _read(app, new).status_code == 200

    g.pop("_login_user", None)
    with client.session_transaction() as sess:
        f.log_in(sess, user.id)
    assert client.post("/profile/calendar-feed/revoke").status_code == 302
    assert _read(app, new).status_code == 404
    assert _read(app, "/calendar/not-a-token.ics").status_code == 404
