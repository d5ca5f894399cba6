"""Two app servers, one database: two gunicorn servers (two ports, standing for two machines)
on one PostgreSQL and one Redis, as a clinic chain runs them (README "Production").

The booking race holds across both servers, login attempts are counted once across both
(`RATELIMIT_STORAGE_URI=redis://...`), and `flask messages send` run on both machines at once
sends each message once.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import OutboxMessage
from tests import factories as f
from tests.clock import monday
from tests.conftest import one_window
from tests.pg.http import Server, at_once, gunicorn
from tests.pg.test_client_changes_race import (
    _NoRedirect,
    book_three,
    call,
    desk_token,
    spacing_breaks,
)
from tests.pg.test_race_http import at
from tests.services.test_outbox import queue_plain
from tests.services.test_outbox import start_server as start_smtp

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 12
LOGIN_LIMIT = 10  # clinic/auth/routes.py and clinic/api/routes.py: 10 per minute
MESSAGES = 60


@pytest.fixture(scope="module")
def servers(pg_url: str, redis_url: str) -> Iterator[tuple[Server, Server]]:
    """Two servers as two machines behind one load balancer: one database, one Redis for the
    rate limits, one SECRET_KEY (a session cookie from one is good on the other)."""
    env = {"SECRET_KEY": secrets.token_hex(32), "RATELIMIT_STORAGE_URI": redis_url}
    with ExitStack() as stack:
        one = stack.enter_context(gunicorn(pg_url, env=env, workers=2))
        two = stack.enter_context(gunicorn(pg_url, env=env, workers=2))
        yield one, two


@pytest.fixture
def clinic(app):
    f.make_clinic()
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


def test_moves_of_neighbouring_sessions_through_two_servers_never_break_spacing(
    clinic, servers: tuple[Server, Server]
) -> None:
    # As tests/pg/test_client_changes_race.py, but session 2 moves through one server and
    # session 3 through the other: only the database can serialise them.
    one, two = servers
    rounds = []
    for r in range(ROUNDS):
        ids = book_three(clinic, r, (0, 14, 35))
        first = monday(3 + 7 * (r // 8))
        hour = 9 + r % 8
        later, earlier = at(first + timedelta(days=18), hour), at(first + timedelta(days=31), hour)
        rounds.append((ids, later, earlier))
    token = clinic["token"]
    path = "/api/v1/appointments/{}"
    for ids, later, earlier in rounds:
        answers = at_once(
            [
                functools.partial(call, one, "PATCH", path.format(ids[1]), token, {"start": later}),
                functools.partial(
                    call, two, "PATCH", path.format(ids[2]), token, {"start": earlier}
                ),
            ]
        )
        statuses = sorted(status for status, _ in answers)
        assert statuses[0] == 200 and statuses[1] in (409, 422), answers
    assert spacing_breaks() == []


def _post_form(server: Server, path: str, cookie: str, form: dict[str, str]) -> int:
    request = urllib.request.Request(
        server.base + path,
        data=urllib.parse.urlencode(form).encode(),
        method="POST",
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code


def test_failed_logins_split_over_two_servers_are_counted_once(
    app, servers: tuple[Server, Server]
) -> None:
    f.make_user("client", email="ada@example.com")
    f.commit()
    one, two = servers
    # The API: 10 wrong passwords a minute from one address, whichever server answers.
    body = {"email": "ada@example.com", "password": "not-the-password"}
    with one_window():
        api = [
            call((one, two)[i % 2], "POST", "/api/v1/token", "", body)[0]
            for i in range(LOGIN_LIMIT + 4)
        ]
        assert api == [401] * LOGIN_LIMIT + [429] * 4, api
    # The login form: the page from one server, the attempts alternately to both.
    with urllib.request.urlopen(one.base + "/login", timeout=30) as page:  # noqa: S310
        html = page.read().decode()
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert csrf is not None, html[:300]
    form = {"csrf_token": csrf.group(1), "email": "ada@example.com", "password": "wrong-one"}
    with one_window():
        pages = [
            _post_form((one, two)[i % 2], "/login", cookie, form) for i in range(LOGIN_LIMIT + 4)
        ]
        assert pages == [422] * LOGIN_LIMIT + [429] * 4, pages


def test_messages_send_on_two_machines_at_once_sends_each_message_once(app, pg_url) -> None:
    ids = queue_plain(MESSAGES, due=datetime.now(UTC) - timedelta(minutes=1))
    db.session.remove()
    controller, recorder = start_smtp()
    env = {
        **os.environ,
        "CLINIC_ENV": "production",
        "DATABASE_URL": pg_url,
        "SECRET_KEY": secrets.token_hex(32),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(controller.port),
    }
    flask = [sys.executable, "-m", "flask", "--app", "clinic", "messages", "send"]
    try:
        runs = [
            subprocess.Popen(  # noqa: S603 - our own command
                [*flask, "--limit", str(MESSAGES)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=180)[0].decode() for run in runs]
    finally:
        controller.stop()
    assert all(run.returncode == 0 for run in runs), outputs
    sent = Counter(message_from_bytes(m)["To"] for m in recorder.received)
    assert len(recorder.received) == MESSAGES, (sent.most_common(3), outputs)
    assert set(sent.values()) == {1}
    statuses = db.session.scalars(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids)))
    assert Counter(statuses) == {"sent": MESSAGES}
