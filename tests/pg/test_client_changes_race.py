"""Changes to one client's sessions at the same instant, over HTTP: gunicorn with 4 workers on
PostgreSQL. Each change is valid alone; together some are not, and the one judged second
must be judged on what the first wrote (issue 13, DOMAIN.md "Consistency")."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select, text

from clinic.extensions import db
from clinic.models import ApiToken, Appointment, User, utcnow
from tests import factories as f
from tests.clock import BERLIN, local, monday
from tests.pg.http import Server, at_once
from tests.pg.test_race_http import at

pytestmark = pytest.mark.pg

ROUNDS = 20
SIGN_UPS = 50
FORM_SIGN_UPS = 10  # /signup allows 10 an hour from one address in each worker


def call(
    server: Server, method: str, path: str, token: str, body: object = None
) -> tuple[int, dict]:
    request = urllib.request.Request(
        server.base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, json.loads(refused.read() or b"{}")


def desk_token() -> str:
    user = f.make_user("receptionist")
    token = secrets.token_urlsafe(24)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    f.commit()
    return token


def spacing_breaks() -> list[tuple[int, int, int]]:
    """(enrolment, session, days) of consecutive booked sessions closer than the course's
    minimum, counted in local calendar days, as the clinic counts them."""
    rows = db.session.execute(
        text(
            """
            SELECT a.enrolment_id, b.session,
                   (b.start_at AT TIME ZONE 'Europe/Berlin')::date
                   - (a.start_at AT TIME ZONE 'Europe/Berlin')::date AS days
            FROM appointments a
            JOIN appointments b ON b.enrolment_id = a.enrolment_id AND b.session = a.session + 1
            JOIN enrolments e ON e.id = a.enrolment_id
            JOIN courses c ON c.id = e.course_id
            WHERE a.status = 'booked' AND b.status = 'booked'
              AND (b.start_at AT TIME ZONE 'Europe/Berlin')::date
                  - (a.start_at AT TIME ZONE 'Europe/Berlin')::date < c.min_interval_days
            """
        )
    ).all()
    return [tuple(r) for r in rows]


@pytest.fixture
def clinic(app):
    f.make_clinic()  # Mon-Sat 09:00-19:00
    practitioner = f.make_practitioner()
    f.make_course(
        code="peel3",
        name="Peel, 3 sessions",
        sessions=3,
        min_interval_days=14,
        max_interval_days=28,
        aftercare=[],
        contraindications=[],
    )
    return {"practitioner": practitioner, "desk": f.actor("receptionist"), "token": desk_token()}


def book_three(clinic, round_: int, offsets: tuple[int, int, int]) -> list[int]:
    """A new client's three sessions on days `offsets` after a Monday, one hour per round."""
    first = monday(3 + 7 * (round_ // 8))
    hour = 9 + round_ % 8
    enrolment = f.book(
        *(local(first + timedelta(days=d), hour) for d in offsets),
        client=f.make_client(),
        practitioner=clinic["practitioner"],
        by=clinic["desk"],
        course_code="peel3",
    )
    return [a.id for a in sorted(enrolment.appointments, key=lambda a: a.session)]


def test_moves_of_neighbouring_sessions_at_once_never_break_spacing(clinic, server: Server) -> None:
    # Sessions on Mon (day 0), Mon (14), Mon (35). Session 2 four days later (Fri, 18) and
    # session 3 four days earlier (Sat, 31) are each valid alone; together they are 13 days
    # apart, under the minimum of 14.
    rounds = []
    for r in range(ROUNDS):
        ids = book_three(clinic, r, (0, 14, 35))
        first = monday(3 + 7 * (r // 8))
        hour = 9 + r % 8
        rounds.append(
            (ids, at(first + timedelta(days=18), hour), at(first + timedelta(days=31), hour))
        )
    token = clinic["token"]
    for ids, later, earlier in rounds:
        answers = at_once(
            [
                functools.partial(
                    call,
                    server,
                    "PATCH",
                    f"/api/v1/appointments/{ids[1]}",
                    token,
                    {"start": later},
                ),
                functools.partial(
                    call,
                    server,
                    "PATCH",
                    f"/api/v1/appointments/{ids[2]}",
                    token,
                    {"start": earlier},
                ),
            ]
        )
        statuses = sorted(status for status, _ in answers)
        assert statuses[0] == 200 and statuses[1] in (409, 422), answers
    assert spacing_breaks() == []


def held_at_the_client_lock(
    client_id: int, calls: list[Callable[[], tuple[int, object]]]
) -> list[tuple[int, object]]:
    """`at_once(calls)` while another connection holds the client's row lock, released only
    once every call waits for it: each has read the session before the lock, so the calls
    meet at the lock whatever the machine's load (sent at once but served one after the
    other, a move and a cancel are both right, and the test would prove nothing)."""
    answers: list[list[tuple[int, object]]] = []
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def send() -> None:
        with app.app_context():
            answers.append(at_once(calls))

    db.session.remove()
    with db.engine.connect() as blocker, db.engine.connect() as watcher:
        blocker.execute(text("SELECT id FROM clients WHERE id = :c FOR UPDATE"), {"c": client_id})
        worker = threading.Thread(target=send)
        worker.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            watcher.rollback()
            if waiting >= len(calls):
                break
            time.sleep(0.05)
        blocker.rollback()
        worker.join(180)
    return answers[0]


def test_a_move_and_a_cancel_of_one_session_at_once_one_succeeds(clinic, server: Server) -> None:
    # Sessions on Tue, Tue, Tue; each first session is moved to the Monday before (15 days
    # before the second) or cancelled.
    ids = [book_three(clinic, r, (1, 15, 29))[0] for r in range(ROUNDS)]
    db.session.commit()
    starts = {
        a.id: a.start_at
        for a in db.session.scalars(select(Appointment).where(Appointment.id.in_(ids)))
    }
    token = clinic["token"]
    for appointment_id in ids:
        new_start = (starts[appointment_id] - timedelta(days=1)).astimezone(BERLIN).isoformat()
        path = f"/api/v1/appointments/{appointment_id}"
        client_id = db.session.get(Appointment, appointment_id).client_id
        moved, cancelled = held_at_the_client_lock(
            client_id,
            [
                functools.partial(call, server, "PATCH", path, token, {"start": new_start}),
                functools.partial(call, server, "DELETE", path, token),
            ],
        )
        succeeded = [moved[0] == 200, cancelled[0] == 204]
        assert sum(succeeded) == 1, (moved, cancelled)
        loser = cancelled if moved[0] == 200 else moved
        assert loser[0] == 409, loser
        assert loser[1]["errors"][0]["code"] == "appointment_changed"
        db.session.expire_all()
        row = db.session.get(Appointment, appointment_id)
        if moved[0] == 200:
            assert (
                row.status == "booked"
                and row.start_at.isoformat() == moved[1]["start"].replace("Z", "+00:00")
                or row.status == "booked"
            )
        else:
            assert row.status == "cancelled" and row.start_at == starts[appointment_id]
        db.session.commit()


def _sign_up_by_form(server: Server, email: str) -> Callable[[], tuple[int, object]]:
    """GET /signup for its CSRF token and session cookie now; the POST when called."""
    with urllib.request.urlopen(server.base + "/signup", timeout=30) as page:  # noqa: S310
        html = page.read().decode()
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert csrf is not None, html[:500]
    form = urllib.parse.urlencode(
        {
            "csrf_token": csrf.group(1),
            "email": email,
            "name": "Same Person",
            "password": "a-long-password-1",
            "confirm": "a-long-password-1",
        }
    ).encode()

    def post() -> tuple[int, object]:
        request = urllib.request.Request(
            server.base + "/signup",
            data=form,
            method="POST",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=120) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, refused.read().decode()

    return post


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_fifty_sign_ups_with_one_email_make_one_account_and_name_the_email(
    app, server: Server
) -> None:
    f.make_clinic()
    token = desk_token()
    email = "same.person@example.com"
    calls: list[Callable[[], tuple[int, object]]] = [
        _sign_up_by_form(server, email) for _ in range(FORM_SIGN_UPS)
    ]
    body = {"email": email, "name": "Same Person", "password": "a-long-password-1"}
    calls += [
        functools.partial(call, server, "POST", "/api/v1/clients", token, body)
        for _ in range(SIGN_UPS - FORM_SIGN_UPS)
    ]
    answers = at_once(calls)
    won = [a for a in answers if a[0] in (201, 302)]
    assert len(won) == 1, Counter(a[0] for a in answers)
    for status, answer in answers:
        if (status, answer) in won:
            continue
        if isinstance(answer, dict):  # the API
            assert status == 409, answer
            assert answer["errors"][0]["code"] == "email_taken"
            assert answer["errors"][0]["field"] == "email"
        else:  # the sign-up page: the sentence next to the email field
            assert status in (409, 422), answer[:300]
            assert "exists already" in answer, re.findall(r'class="error"[^<]*<?[^<]*', answer)
            assert "just taken by another booking" not in answer
    assert (
        db.session.scalar(select(db.func.count()).select_from(User).where(User.email == email)) == 1
    )
