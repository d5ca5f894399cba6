"""Hardening: cookies, password hashing, rate limits, headers, CSRF, secrets, health check."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from clinic import create_app
from clinic.extensions import db, limiter
from clinic.models import User
from config import DEV_SECRET
from tests import factories as f
from tests.routes import all_routes

ROOT = Path(__file__).resolve().parent.parent
REAL_SECRET = "a-real-secret-of-the-clinic-0123456789"


@pytest.fixture
def make_app(migrated_template: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """An app of any configuration on a fresh copy of the migrated SQLite database."""
    made: list[Flask] = []

    def make(config_name: str = "testing", **overrides: object) -> Flask:
        path = tmp_path / f"db{len(made)}.db"
        shutil.copy(migrated_template, path)
        overrides.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{path}")
        app = create_app(config_name, **overrides)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _cookie(response, name: str = "session") -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, response.headers
    return headers[0]


def test_session_cookie_is_httponly_and_samesite_lax(client) -> None:
    f.make_user("client", email="c@example.com", password="password123")
    response = client.post("/login", data={"email": "c@example.com", "password": "password123"})
    assert response.status_code == 302
    cookie = _cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development runs on plain http://127.0.0.1


def test_session_cookie_is_secure_in_production(make_app) -> None:
    app = make_app("production", SECRET_KEY=REAL_SECRET)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    # The login form stores its CSRF token in the session, so the page sets the cookie.
    response = app.test_client().get("/login", base_url="https://clinic.example")
    cookie = _cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_stored_as_scrypt_hashes(app) -> None:
    user = f.make_user("client", password="correct horse battery")
    stored = db.session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("scrypt:")
    assert "correct horse" not in stored
    assert user.check_password("correct horse battery")
    assert not user.check_password("correct horse battery!")


def test_login_is_rate_limited_with_a_clear_message(make_app) -> None:
    app = make_app("testing", RATELIMIT_ENABLED=True)
    web = app.test_client()
    with app.app_context():
        f.make_user("client", email="victim@example.com", password="password123")
    wrong = {"email": "victim@example.com", "password": "guess"}
    answers = [web.post("/login", data=wrong).status_code for _ in range(10)]
    assert answers == [422] * 10
    blocked = web.post("/login", data={"email": "victim@example.com", "password": "password123"})
    assert blocked.status_code == 429
    assert "Too many login attempts" in blocked.get_data(as_text=True)
    # Only attempts count: the form itself can still be shown.
    assert web.get("/login").status_code == 200
    limiter.reset()


def test_token_endpoint_is_rate_limited_with_a_json_error(make_app) -> None:
    app = make_app("testing", RATELIMIT_ENABLED=True)
    api = app.test_client()
    wrong = {"email": "nobody@example.com", "password": "guess"}
    answers = [api.post("/api/v1/token", json=wrong).status_code for _ in range(10)]
    assert answers == [401] * 10
    blocked = api.post("/api/v1/token", json=wrong)
    assert blocked.status_code == 429
    [error] = blocked.get_json()["errors"]
    assert error["code"] == "too_many_requests"
    assert error["message"].startswith("Too many attempts from your address")
    limiter.reset()


def test_login_is_not_rate_limited_when_disabled_for_tests(client) -> None:
    # TestConfig turns limits off so that other tests can log in freely; this test keeps the
    # rate-limit test above honest (it is the setting, not luck, that makes the difference).
    wrong = {"email": "nobody@example.com", "password": "guess"}
    assert {client.post("/login", data=wrong).status_code for _ in range(12)} == {422}


CSP_REQUIRED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


@pytest.mark.parametrize("path", ["/login", "/courses", "/no-such-page", "/healthz"])
def test_security_headers_are_on_every_response(client, path) -> None:
    response = client.get(path)
    csp = dict(
        (part.split()[0], " ".join(part.split()[1:]))
        for part in response.headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    for directive, value in CSP_REQUIRED.items():
        assert csp.get(directive) == value, (directive, csp)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_templates_have_no_inline_scripts_or_event_handlers() -> None:
    # The CSP would block them in the browser; this finds them before a user does.
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# RFC 8058's one-click unsubscribe: a mail provider posts it without a cookie or a form, and the
# signed token in its URL is what it carries instead (clinic/auth/message_routes.py).
CSRF_EXEMPT = {"POST auth.unsubscribe"}


def test_every_form_refuses_a_post_without_its_csrf_token(make_app) -> None:
    app = make_app("testing", WTF_CSRF_ENABLED=True)
    web = app.test_client()
    with app.app_context():
        admin_id = f.make_user("admin").id
        with web.session_transaction() as session:
            f.log_in(session, admin_id)
    unsafe = [
        r
        for r in all_routes(app)
        if r.method in ("POST", "PUT", "PATCH", "DELETE") and not r.url.startswith("/api/")
    ]
    assert unsafe, "no forms found"
    let_through = []
    for route in unsafe:
        if route.key in CSRF_EXEMPT:
            continue
        response = web.open(route.url, method=route.method, data={"anything": "1"})
        if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
            let_through.append((route.key, response.status_code))
    assert let_through == []


# Started in one child process: each secret is put in its environment and `config` read again
# (it reads the environment on import), then the production app is built, as a server would.
_STARTS = """
import importlib, json, os, sys
import config
from clinic import create_app
answers = []
for secret in json.loads(sys.argv[1]):
    if secret is None:
        os.environ.pop("SECRET_KEY", None)
    else:
        os.environ["SECRET_KEY"] = secret
    importlib.reload(config)
    try:
        create_app("production")
        answers.append("started")
    except RuntimeError as refused:
        answers.append(str(refused))
print(json.dumps(answers))
"""


def _start_in_production(env: dict[str, str], secrets: list[str | None]) -> list[str]:
    """What starting the production app says for each secret (None: no SECRET_KEY at all)."""
    done = subprocess.run(
        [sys.executable, "-c", _STARTS, json.dumps(secrets)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers: list[str] = json.loads(done.stdout.splitlines()[-1])
    return answers


def test_app_refuses_to_start_in_production_without_a_real_secret_key(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'prod.db'}"
    unset, *weak, real = _start_in_production(env, [None, "", DEV_SECRET, "changeme", REAL_SECRET])
    assert "SECRET_KEY must be set" in unset
    assert all("SECRET_KEY must be set" in answer for answer in weak), weak
    assert real == "started"


def test_healthz_answers_ok_when_the_database_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_the_database_does_not(tmp_path) -> None:
    unreachable = tmp_path / "no-such-dir" / "clinic.db"  # SQLite cannot create it
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{unreachable}")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


def test_healthz_needs_no_login_and_says_nothing_more(client) -> None:
    body = client.get("/healthz").get_data(as_text=True)
    assert "sqlite" not in body.lower() and "version" not in body.lower()


def test_nul_characters_are_refused_before_any_view(client) -> None:
    form = client.post("/login", data={"email": "a\x00@example.com", "password": "x"})
    assert form.status_code == 400 and b"NUL" in form.data
    api = client.post(
        "/api/v1/token",
        data=b'{"email": "a\\u0000@x.com", "password": "x"}',
        content_type="application/json",
    )
    assert api.status_code == 400 and api.json["errors"][0]["message"].startswith("Text may not")
    assert client.get("/courses?q=ok").status_code == 200


def test_nul_characters_in_a_query_or_a_multipart_form_are_refused_too(client) -> None:
    # The guard parses the query and the form only when there are any: both still count.
    assert client.get("/courses?q=a%00b").status_code == 400
    multipart = client.post(
        "/login",
        data={"email": "a\x00@example.com", "password": "x"},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 400 and b"NUL" in multipart.data
    assert client.get("/healthz").status_code == 200


def test_a_request_without_a_session_cookie_gets_none_and_a_signed_one_still_counts(
    client,
) -> None:
    # clinic.security.CookieSession skips building the signer when there is no cookie.
    assert "Set-Cookie" not in client.get("/healthz").headers
    with client.session_transaction() as session:
        session["probe"] = "kept"
    with client.session_transaction() as session:
        assert session["probe"] == "kept"
    client.set_cookie("session", "forged.value.sig")
    with client.session_transaction() as session:
        assert "probe" not in session
