"""Issue 15, defects 1 and 2: the login's `next` stays on this site, and a session ends on
the server when it is logged out, when the password changes and when an admin ends it."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import event, insert, text

from clinic.auth.access import is_local_path
from clinic.extensions import db
from clinic.models import Client
from clinic.services.people import passwords
from tests import factories as f

PASSWORD = "password123"

# Each of these, as `?next=`, must land on this site (a browser drops tabs and newlines from
# a URL and reads a backslash as a slash), and none may be a 500.
PAYLOADS = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%0d%0a/evil.example",
    "%09//evil.example",
    "/%20/evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "/%5cevil.example",
    "/%5c%5cevil.example",
    "\\\\evil.example",
    "%2f%2fevil.example",
    "/%2f/evil.example",
    "https://evil.example",
    "https:evil.example",
    "https:/evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "/%E3%80%80/evil.example",  # ideographic space
    "/%E2%80%8B/evil.example",  # zero-width space
    "/%C2%A0/evil.example",  # no-break space
    "/%EF%BC%8F/evil.example",  # fullwidth solidus
    "/%7f/evil.example",
    "/ /evil.example",
    "@evil.example",
    "evil.example",
    ".evil.example",
    "%2e%2e//evil.example",
]


def _as_a_browser_reads(location: str) -> str:
    """The URL a browser follows: control characters and spaces dropped, backslashes as
    slashes (the WHATWG URL parser's leniency that open redirects rely on)."""
    return re.sub(r"[\x00-\x20\x7f]", "", location).replace("\\", "/")


def _stays_here(location: str) -> bool:
    followed = urlsplit(urljoin("http://localhost/login", _as_a_browser_reads(location)))
    return followed.scheme == "http" and followed.netloc == "localhost"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_login_never_sends_a_user_off_site_whatever_next_says(
    client: FlaskClient, payload: str
) -> None:
    user = f.make_user("client", password=PASSWORD)
    response = client.post(
        f"/login?next={payload}", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code in (302, 303), (payload, response.status_code)
    location = response.headers["Location"]
    assert _stays_here(location), (payload, location)
    assert location == "/my/sessions", (payload, location)


def test_login_with_a_nul_in_next_is_refused_not_followed(client: FlaskClient) -> None:
    # Every request with a NUL is refused before its view (clinic/security.py).
    user = f.make_user("client", password=PASSWORD)
    response = client.post(
        "/login?next=/%00/evil.example", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_login_keeps_a_next_that_is_not_utf8_as_a_path_here(client: FlaskClient) -> None:
    # Werkzeug leaves bytes that are not UTF-8 percent-encoded: a path on this site.
    user = f.make_user("client", password=PASSWORD)
    response = client.post(
        "/login?next=/%ff/evil.example", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/%FF/evil.example"


@pytest.mark.parametrize(
    "target",
    ["/my/sessions", "/@evil.example", "/staff/calendar?day=2027-01-04&view=week"],
)
def test_login_follows_next_on_this_site(client: FlaskClient, target: str) -> None:
    user = f.make_user("client", password=PASSWORD)
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


# --- sessions end on the server ---------------------------------------------------------------


def _log_in(app: Flask, email: str) -> FlaskClient:
    """A browser of its own, logged in through the form."""
    g.pop("_login_user", None)
    web = app.test_client()
    response = web.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return web


def _cookie(web: FlaskClient) -> str:
    cookie = web.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _opens(app: Flask, cookie: str, path: str = "/my/sessions") -> bool:
    """Whether a browser with just this session cookie gets the page (not the login)."""
    g.pop("_login_user", None)  # Flask-Login's cache lives in the test's app context
    web = app.test_client()
    web.set_cookie("session", cookie)
    response = web.get(path)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def _token(web: FlaskClient, email: str, password: str = PASSWORD) -> str:
    response = web.post("/api/v1/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    token: str = response.json["token"]
    return token


def _api_status(app: Flask, token: str) -> int:
    g.pop("_login_user", None)
    response = app.test_client().get(
        "/api/v1/courses", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def test_a_session_cookie_saved_before_logout_opens_nothing_after_it(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    web = _log_in(app, user.email)
    saved = _cookie(web)
    assert _opens(app, saved)
    assert web.post("/logout").status_code == 302
    assert not _opens(app, saved)


def test_logout_ends_only_that_session(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    phone = _cookie(_log_in(app, user.email))
    laptop = _log_in(app, user.email)
    laptop.post("/logout")
    assert _opens(app, phone)


def test_a_password_reset_ends_every_session_and_token_issued_before_it(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    web = _log_in(app, user.email)
    saved = _cookie(web)
    token = _token(web, user.email)
    assert _opens(app, saved) and _api_status(app, token) == 200
    link = passwords.reset_token(user, app.config["SECRET_KEY"])
    g.pop("_login_user", None)
    response = app.test_client().post(
        f"/password/reset/{link}", data={"password": "a-new-password", "confirm": "a-new-password"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert not _opens(app, saved)
    assert _api_status(app, token) == 401
    # The new password works, and a token asked for with it too.
    fresh = app.test_client().post(
        "/login", data={"email": user.email, "password": "a-new-password"}
    )
    assert fresh.status_code == 302
    assert _api_status(app, _token(app.test_client(), user.email, "a-new-password")) == 200


def test_a_password_change_ends_the_other_sessions_and_tokens_but_not_its_own(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    other = _cookie(_log_in(app, user.email))
    token = _token(app.test_client(), user.email)
    web = _log_in(app, user.email)
    g.pop("_login_user", None)
    response = web.post(
        "/password/change",
        data={"current": PASSWORD, "password": "a-new-password", "confirm": "a-new-password"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _opens(app, _cookie(web))
    assert not _opens(app, other)
    assert _api_status(app, token) == 401


def test_a_password_change_with_a_wrong_current_password_changes_nothing(app: Flask) -> None:
    user = f.make_user("client", password=PASSWORD)
    other = _cookie(_log_in(app, user.email))
    web = _log_in(app, user.email)
    g.pop("_login_user", None)
    response = web.post(
        "/password/change",
        data={
            "current": "not-the-password",
            "password": "a-new-password",
            "confirm": "a-new-password",
        },
    )
    assert response.status_code == 422
    assert "The current password is not right." in response.get_data(as_text=True)
    assert _opens(app, other)
    assert _log_in(app, user.email)  # the old password still works


def test_an_admin_ends_a_staff_members_sessions_and_tokens(app: Flask) -> None:
    admin = f.make_user("admin", password=PASSWORD)
    desk = f.make_user("receptionist", password=PASSWORD)
    desk_cookie = _cookie(_log_in(app, desk.email))
    desk_token = _token(app.test_client(), desk.email)
    assert _opens(app, desk_cookie, "/staff/calendar")
    web = _log_in(app, admin.email)
    g.pop("_login_user", None)
    page = web.get("/staff/admin").get_data(as_text=True)
    assert f'action="/staff/admin/users/{desk.id}/logins/end"' in page
    response = web.post(f"/staff/admin/users/{desk.id}/logins/end")
    assert response.status_code == 302
    assert not _opens(app, desk_cookie, "/staff/calendar")
    assert _api_status(app, desk_token) == 401
    assert _opens(app, _cookie(web), "/staff/admin")  # the admin's own session stays


def test_only_an_admin_ends_someone_elses_sessions(app: Flask) -> None:
    desk = f.make_user("receptionist", password=PASSWORD)
    other = f.make_user("receptionist", password=PASSWORD)
    other_cookie = _cookie(_log_in(app, other.email))
    web = _log_in(app, desk.email)
    g.pop("_login_user", None)
    assert web.post(f"/staff/admin/users/{other.id}/logins/end").status_code == 403
    assert _opens(app, other_cookie, "/staff/calendar")


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\x0b/evil.example",
        "/\x0c/evil.example",
        "/\x1f/evil.example",
        "/\u2028/evil.example",  # line separator
        "/\u200b/evil.example",  # zero-width space
        "/\u202e/evil.example",  # right-to-left override
        "/\uff0f/evil.example",  # fullwidth solidus
        "/\u3000/evil.example",
        "/\\evil.example",
        "/ok\\..\\..\\evil",
        "//evil.example",
        "/%2F/evil.example/\\",
        "http://localhost/my/sessions",
        "https:evil.example",
        "mailto:a@evil.example",
        "",
        "my/sessions",
    ],
)
def test_is_local_path_refuses_what_a_browser_could_read_as_another_site(target: str) -> None:
    assert not is_local_path(target)


@pytest.mark.parametrize(
    "target", ["/", "/my/sessions", "/staff/calendar?day=2027-01-04&view=week", "/@x", "/a:b"]
)
def test_is_local_path_takes_paths_here(target: str) -> None:
    assert is_local_path(target)


def test_a_logged_in_page_loads_its_user_and_login_in_one_statement(
    app: Flask, client: FlaskClient, login_as
) -> None:
    login_as("client")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    g.pop("_login_user", None)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get("/profile").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    about_the_user = [s for s in statements if "login_sessions" in s or "FROM users" in s]
    assert len(about_the_user) == 1
    assert "login_sessions" in about_the_user[0] and "FROM users" in about_the_user[0]


def test_a_logged_in_page_finds_its_user_by_index_when_most_clients_have_no_account(
    app: Flask, client: FlaskClient, login_as
) -> None:
    # Clients booked at the desk have no account: SQLite's statistics then say every
    # clients.user_id is the same (NULL), and a statement reading whole client rows by
    # user_id made it scan the table on every page (issue 20).
    rows = [
        {"name": f"Walk-in {i}", "email": f"walk-in-{i}@example.com", "phone": "", "notes": ""}
        for i in range(300)
    ]
    db.session.execute(insert(Client), rows)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    login_as("practitioner")
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, *args) -> None:  # type: ignore[no-untyped-def]
        if "login_sessions" in statement:
            seen.append((statement, parameters))

    g.pop("_login_user", None)
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert client.get("/staff/calendar").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = seen
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    steps = [str(step[-1]) for step in plan]
    assert any("clients" in step for step in steps), steps
    assert not [step for step in steps if step.startswith("SCAN") and "catalogue" not in step]
